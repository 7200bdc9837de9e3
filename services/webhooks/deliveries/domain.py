"""The rules of deliveries, pure: the retry schedule, the Standard Webhooks signature, and which events
reach webhooks.

Signature (https://www.standardwebhooks.com): `webhook-signature` holds `v1,<base64 HMAC-SHA256>` of
`{webhook-id}.{webhook-timestamp}.{body}` under each secret valid now (two during a rotation's overlap),
space-separated; the key is the base64-decoded part of the secret after `whsec_`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from common.contracts import problems
from common.contracts.events import Event
from common.problems import NotFound
from services.webhooks.endpoints.domain import PUBLIC_TYPES, SECRET_PREFIX

# Seconds to wait after each failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 14 h, 14 h,
# eleven attempts over 69.6 hours (about three days), after which the delivery has failed. Multiplied by
# WEBHOOK_RETRY_SCALE (1 in production; tests run the whole schedule in a few seconds).
RETRY_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 50400, 50400)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1


class DeliveryNotFound(NotFound):
    problem = problems.WEBHOOK_DELIVERY_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("No such delivery of this webhook.")


class NotForWebhooks(Exception):
    """An event no webhook can receive: not a public type, or naming no tenant."""


def retry_delay(failed_attempts: int, scale: float = 1.0) -> float | None:
    """Seconds until the next attempt after `failed_attempts` failures in a row, or None: give up."""
    if failed_attempts < 1:
        raise ValueError("a delay follows a failed attempt")
    if failed_attempts > len(RETRY_SCHEDULE):
        return None
    return RETRY_SCHEDULE[failed_attempts - 1] * scale


# Where a replay's `since` is taken to lie, whatever was sent: no delivery is older than the first, nor
# newer than the last, and Postgres's own range ends before Python's (year 1 at +14:00 is out of it).
_FIRST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)


def replay_from(since: datetime) -> datetime:
    """`since` within what Postgres stores (a moment with no zone is UTC)."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return min(max(since, _FIRST_MOMENT), _LAST_MOMENT)


def tenant_of(event: Event) -> uuid.UUID:
    """The tenant whose endpoints an event goes to (every public payload names it)."""
    if event.type not in PUBLIC_TYPES:
        raise NotForWebhooks(f"{event.type} is not a public event type")
    try:
        return uuid.UUID(str(event.data["tenant_id"]))
    except (KeyError, ValueError) as exc:
        raise NotForWebhooks(f"{event.type} {event.id} names no tenant") from exc


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secrets: Sequence[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,` signature per secret, space-separated."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()
        for secret in secrets
    )


def webhook_headers(secrets: Sequence[str], webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt. The id is the event's, the same on every attempt and replay, so a
    receiver de-duplicates by it."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secrets, webhook_id, timestamp, body),
        "Content-Type": "application/json",
        "User-Agent": "sms-credits-webhooks/1",
    }


# Anything that looks like a URL in an error message: scheme, `://`, and all up to a space or a quote.
_ANY_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*")
_CUT = "/..."


def origin_of(url: str) -> str:
    """`scheme://host:port` of a URL: what may be shown of it. Its path and query may not, since a receiver
    may take its credential there (Slack-style hooks: `https://hooks.example.com/services/T0/B0/secret`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<url>"
    if not parts.scheme or not parts.netloc:
        return "<url>"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def without_url_secrets(text: str, url: str) -> str:
    """An error message fit to log and store: every URL in it cut to its origin, and the webhook URL's own
    path and query removed wherever they appear on their own (an HTTP library's message may quote either)."""
    text = _ANY_URL.sub(lambda found: origin_of(found.group()) + _CUT, text)
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    path_and_query = f"{parts.path}?{parts.query}" if parts.query else parts.path
    for piece in sorted({path_and_query, parts.path, parts.query}, key=len, reverse=True):
        if len(piece) > 1:
            text = text.replace(piece, _CUT)
    return text
