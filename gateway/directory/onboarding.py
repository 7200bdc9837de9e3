"""The rules of onboarding, pure: what a new tenant's ABN and time zone must be, what a password must be, and
how the links that let a person set a password are made and checked.

A link's token is not random-and-stored: it is an HMAC of the token's id under a key derived from the
gateway's secret. The database keeps only a SHA-256 of it (the table alone opens no account), and the
email sender, composing the email after commit, makes the same token again from the id, so the token is
never written anywhere but into the email. (Rotating JWT_SECRET therefore voids links not yet used: the
person asks for a new one.)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from stdnum.au import abn as au_abn

from common.contracts import problems
from common.problems import Conflict, Forbidden, RuleBroken

LinkPurpose = Literal["invitation", "reset"]
# An invitation waits a week for someone to open their email; a reset is asked for by someone at it now.
LINK_LIFETIME: dict[LinkPurpose, timedelta] = {"invitation": timedelta(days=7), "reset": timedelta(hours=1)}
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


class EmailTaken(Conflict):
    problem = problems.EMAIL_TAKEN


class PasswordLinkInvalid(RuleBroken):
    problem = problems.PASSWORD_LINK_INVALID


class ServiceClientUnbound(Forbidden):
    problem = problems.SERVICE_CLIENT_UNBOUND


def australian_business_number(value: str) -> str:
    """The ABN as it is written (`53 004 085 616`); a ValueError names what is wrong with it."""
    return str(au_abn.format(au_abn.validate(value)))


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def iana_time_zone(value: str) -> str:
    """A real IANA time zone name (`Australia/Sydney`), as given; a ValueError otherwise."""
    if value not in _zones():
        raise ValueError("not an IANA time zone name, such as Australia/Sydney")
    return value


def link_key(secret: str) -> bytes:
    """The key password links are made with, kept apart from the same secret's use for access tokens."""
    return hmac.new(secret.encode(), b"sms-credits password links", hashlib.sha256).digest()


def link_token(key: bytes, token_id: uuid.UUID) -> str:
    """The token a link carries for this id: unguessable without the key, the same every time."""
    digest = hmac.new(key, token_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> bytes:
    """What is stored of a token, and looked up when one is presented."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class PasswordLink:
    id: uuid.UUID
    user_id: uuid.UUID
    purpose: LinkPurpose
    expires_at: datetime
    used_at: datetime | None


def link_expiry(purpose: LinkPurpose, now: datetime) -> datetime:
    return now + LINK_LIFETIME[purpose]


def require_usable(link: PasswordLink | None, person_active: bool, now: datetime) -> PasswordLink:
    """A link sets a password once, before it expires, for a person still active. What is wrong is said
    plainly: whoever holds the link already knows whose it is."""
    if link is None or not person_active:
        raise PasswordLinkInvalid("This link is not valid. Ask for a new one.")
    if link.used_at is not None:
        raise PasswordLinkInvalid("This link was already used. Ask for a new one to set the password again.")
    if link.expires_at <= now:
        raise PasswordLinkInvalid("This link has expired. Ask for a new one.")
    return link
