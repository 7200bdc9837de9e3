"""What an alert email says, and the gateway's one email sender, which composes these beside the
directory's (invitations, resets, credit mode requests): one sender, so no email is claimed twice."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

import asyncpg

from common import mail
from common.accounts import owner_of
from common.runtime import CleanupCtx
from gateway.alerts import store
from gateway.alerts.store import AlertEmail
from gateway.directory import emails as directory_emails
from gateway.directory.domain import Person
from gateway.directory.onboarding import link_key
from gateway.settings import GatewaySettings

KINDS = frozenset({"balance_low", "balance_recovered"})


def recipients(people: Sequence[Person], account_code: str) -> list[Person]:
    """The account's holder (User Credits) and the tenant's masters, active ones, each once."""
    holder = owner_of(account_code)
    chosen = {p.id: p for p in people if p.active and (p.is_master or p.id == holder)}
    return sorted(chosen.values(), key=lambda p: (p.id != holder, p.name))


def headline(email: AlertEmail) -> str:
    """'Ben Carter's SMS credits are low: 40 left (below Low, 50)', or '... are back above Low'."""
    whose = f"{email.account_name}'s SMS credits" if email.account_name else "Your organisation's System Credits"
    if email.kind == "balance_low":
        return f"{whose} are low: {email.available:,} left (below {email.level}, {email.threshold:,})"
    return f"{whose} are back above {email.level}"


def alert_message(email: AlertEmail, base_url: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = headline(email)
    if email.kind == "balance_low":
        advice = "Buy credits, or move some to the account, in Manage SMS Credits:"
    else:
        advice = (f"{email.available:,} credits are available now ({email.level} is {email.threshold:,}). "
                  "See the account in Manage SMS Credits:")
    message.set_content(f"Hello {email.recipient_name},\n\n{headline(email)}.\n\n{advice}\n\n{base_url}/credits\n")
    return message


def composer(settings: GatewaySettings) -> mail.Composer:
    """The alert emails composed here, every other kind by the directory's composer."""
    others = directory_emails.composer(link_key(settings.jwt_secret), settings.public_base_url)
    base = settings.public_base_url.rstrip("/")

    async def compose(pool: asyncpg.Pool, row: asyncpg.Record) -> EmailMessage:
        if row["kind"] not in KINDS:
            return await others(pool, row)
        async with pool.acquire() as conn:
            email = await store.alert_email(conn, row["subject_id"])
        if email is None:
            raise LookupError(f"email {row['id']} names no balance alert")
        return alert_message(email, base)

    return compose


def sender_ctx(settings: GatewaySettings) -> CleanupCtx:
    """Send the gateway's owed emails, alerts included (with no SMTP_HOST they wait in the outbox)."""
    return mail.sender_ctx(settings, composer(settings))
