"""The gateway's emails: an invitation to set a password, and a password reset. Owed in the shared email
outbox (`common.mail`) in the transaction that makes the link; composed when sent, with the link's token
made again from its id (`onboarding.link_token`): the token is in the email and nowhere else."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Literal

import asyncpg

from common import mail
from common.runtime import CleanupCtx
from gateway.directory import store
from gateway.directory.onboarding import LINK_LIFETIME, LinkPurpose, link_key, link_token
from gateway.settings import GatewaySettings

EmailKind = Literal["invitation", "password_reset"]
KIND_OF: dict[LinkPurpose, EmailKind] = {"invitation": "invitation", "reset": "password_reset"}
PRODUCT = "SMS Credits"


def composer(key: bytes, public_base_url: str) -> mail.Composer:
    """Builds each owed email; `key` is the one the links were made with."""
    base = public_base_url.rstrip("/")

    async def compose(pool: asyncpg.Pool, row: asyncpg.Record) -> EmailMessage:
        async with pool.acquire() as conn:
            link = await store.password_link_to_send(conn, row["subject_id"])
        if link is None:
            raise LookupError(f"email {row['id']} names no password link")
        url = f"{base}/set-password?token={link_token(key, link['id'])}"
        if row["kind"] == "invitation":
            return invitation(link["name"], link["tenant_name"], url)
        return password_reset(link["name"], url)

    return compose


def invitation(name: str, tenant_name: str | None, url: str) -> EmailMessage:
    days = LINK_LIFETIME["invitation"].days
    message = EmailMessage()
    message["Subject"] = f"You are invited to {PRODUCT}" + (f" for {tenant_name}" if tenant_name else "")
    message.set_content(
        f"Hello {name},\n\n"
        f"An account on {PRODUCT}{' for ' + tenant_name if tenant_name else ''} was made for you. "
        "Set your password to sign in:\n\n"
        f"{url}\n\n"
        f"The link works once, for {days} days.\n"
    )
    return message


def password_reset(name: str, url: str) -> EmailMessage:
    minutes = int(LINK_LIFETIME["reset"].total_seconds() // 60)
    message = EmailMessage()
    message["Subject"] = f"Set a new {PRODUCT} password"
    message.set_content(
        f"Hello {name},\n\n"
        f"Someone (we hope you) asked to set a new password for your {PRODUCT} account. "
        "To choose one, open:\n\n"
        f"{url}\n\n"
        f"The link works once, for {minutes} minutes. If you did not ask, ignore this email: your "
        "password stays as it is.\n"
    )
    return message


def sender_ctx(settings: GatewaySettings) -> CleanupCtx:
    """Send the owed emails beside the server (with no SMTP_HOST they wait in the outbox)."""
    return mail.sender_ctx(settings, composer(link_key(settings.jwt_secret), settings.public_base_url))
