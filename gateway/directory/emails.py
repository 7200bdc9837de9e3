"""The gateway's emails: an invitation to set a password, and a password reset. Owed in the shared email
outbox (`common.mail`) in the transaction that makes the link; composed when sent, with the link's token
made again from its id (`onboarding.link_token`): the token is in the email and nowhere else."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Literal

import asyncpg

from common import mail
from common.runtime import CleanupCtx
from gateway.directory import mode_requests, store
from gateway.directory.onboarding import LINK_LIFETIME, LinkPurpose, link_key, link_token
from gateway.settings import GatewaySettings

EmailKind = Literal["invitation", "password_reset"]
KIND_OF: dict[LinkPurpose, EmailKind] = {"invitation": "invitation", "reset": "password_reset"}
PRODUCT = "SMS Credits"


def composer(key: bytes, public_base_url: str) -> mail.Composer:
    """Builds each owed email; `key` is the one the links were made with."""
    base = public_base_url.rstrip("/")

    async def compose(pool: asyncpg.Pool, row: asyncpg.Record) -> EmailMessage:
        if row["kind"] in ("credit_mode_requested", "credit_mode_decided"):
            return await credit_mode_request_email(pool, row, base)
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


async def credit_mode_request_email(pool: asyncpg.Pool, row: asyncpg.Record, base: str) -> EmailMessage:
    """To each operator, a new credit mode request (the subject is their notice); to the master who asked,
    the decision (the subject is the request)."""
    async with pool.acquire() as conn:
        if row["kind"] == "credit_mode_requested":
            request = await mode_requests.request_of_notice(conn, row["subject_id"])
        else:
            request = await mode_requests.get(conn, row["subject_id"])
    if request is None:
        raise LookupError(f"email {row['id']} names no credit mode request")
    if row["kind"] == "credit_mode_requested":
        return credit_mode_requested(request, f"{base}/admin/credit-mode-requests")
    return credit_mode_decided(request, f"{base}/credits")


def _mode_name(mode: str) -> str:
    return "Shared System Credits" if mode == "shared" else "Individual User SMS Credits"


def credit_mode_requested(request: mode_requests.ModeRequest, url: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"{request.tenant_name} asks to switch to {_mode_name(request.mode)}"
    message.set_content(
        f"{request.requested_by_name} ({request.requested_by_email}) of {request.tenant_name} asks to switch "
        f"their credit mode from {_mode_name(request.previous_mode)} to {_mode_name(request.mode)}.\n\n"
        f"Their reason: {request.reason}\n\n"
        f"Approve or reject it, with a note, at:\n\n{url}\n"
    )
    return message


def credit_mode_decided(request: mode_requests.ModeRequest, url: str) -> EmailMessage:
    approved = request.status == "approved"
    message = EmailMessage()
    message["Subject"] = (f"Your organisation now uses {_mode_name(request.mode)}" if approved
                          else f"Your request to switch to {_mode_name(request.mode)} was not approved")
    outcome = (f"was approved: your organisation now uses {_mode_name(request.mode)}." if approved
               else f"was not approved: your organisation stays on {_mode_name(request.previous_mode)}.")
    note = f"\nThe operator's note: {request.note}\n" if request.note else ""
    message.set_content(
        f"Hello {request.requested_by_name},\n\n"
        f"Your request for {request.tenant_name} to switch to {_mode_name(request.mode)} {outcome}\n{note}\n"
        f"See your accounts in Manage SMS Credits:\n\n{url}\n"
    )
    return message


def sender_ctx(settings: GatewaySettings) -> CleanupCtx:
    """Send the owed emails beside the server (with no SMTP_HOST they wait in the outbox)."""
    return mail.sender_ctx(settings, composer(link_key(settings.jwt_secret), settings.public_base_url))
