"""Email from an outbox, for every process that sends email (billing's invoices, the gateway's invitations).

`owe` writes the email in the transaction that makes it due (a payment, a refund, an invitation), so it
exists if and only if that change does; the sender delivers it after commit and marks it sent only once
the SMTP server accepted it. What an email says is not stored: the process that owes it composes it when
it is sent, from the facts the row names (`kind`, `subject_id`), so an invoice PDF is rendered from the
stored purchase and an invitation carries a link made from a secret that never reaches the database.

Lost: never (the row outlives any crash). Doubled: only if the process dies between the server's
acceptance and our mark, and then the copy carries the same Message-ID, which mail systems use to
recognise it as the same message. A claimed row is leased (its next attempt pushed back) so that two
processes never send it at the same time.

Each process that sends email keeps its own `email_outbox` table, in its own database and migrations, with
the columns the SQL here uses (see services/billing/migrations/0003_real_billing.sql): the kinds it may
hold are that process's business, checked by its table.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Literal, Protocol

import aiosmtplib
import asyncpg
from aiohttp import web
from pydantic import Field, SecretStr

from common.logs import get_logger
from common.runtime import DB, CleanupCtx, periodic
from common.settings import ServiceSettings

log = get_logger(__name__)

_BATCH = 20
_MAX_ATTEMPTS = 20

# Builds the message of one outbox row (its From, To and Message-ID are set by the sender).
Composer = Callable[[asyncpg.Pool, asyncpg.Record], Awaitable[EmailMessage]]


class SmtpSettings(Protocol):
    """What sending needs: where the SMTP server is, who the mail is from, how often to try."""

    smtp_host: str | None
    smtp_port: int
    smtp_security: Literal["starttls", "tls", "none"]
    smtp_username: str | None
    smtp_password: SecretStr | None
    smtp_timeout_seconds: float
    email_from: str
    email_retry_seconds: float
    email_poll_seconds: float


class MailSettings(ServiceSettings):
    """The settings of a service that sends email, read from the same variables in every process."""

    # Email over SMTP. With no host, emails wait in the outbox until one is configured.
    smtp_host: str | None = Field(default=None, validation_alias="SMTP_HOST")
    smtp_port: int = Field(default=587, validation_alias="SMTP_PORT", ge=1, le=65535)
    # starttls: upgrade a plain connection (port 587); tls: TLS from the start (465); none: local relays.
    smtp_security: Literal["starttls", "tls", "none"] = Field(default="starttls", validation_alias="SMTP_SECURITY")
    smtp_username: str | None = Field(default=None, validation_alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(default=None, validation_alias="SMTP_PASSWORD")
    smtp_timeout_seconds: float = Field(default=30.0, validation_alias="SMTP_TIMEOUT_SECONDS", gt=0)
    email_from: str = Field(default="SMS Credits <no-reply@sms-credits.example>", validation_alias="EMAIL_FROM")
    email_retry_seconds: float = Field(default=60.0, validation_alias="EMAIL_RETRY_SECONDS", gt=0)
    email_poll_seconds: float = Field(default=2.0, validation_alias="EMAIL_POLL_SECONDS", gt=0)


async def owe(
    conn: asyncpg.Connection, kind: str, subject_id: uuid.UUID, recipient: str, tenant_id: uuid.UUID | None = None
) -> None:
    """Owe one email of this kind about this subject, in the caller's transaction; owing it again
    changes nothing."""
    await conn.execute(
        """INSERT INTO email_outbox (id, tenant_id, kind, subject_id, recipient) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (kind, subject_id) DO NOTHING""",
        uuid.uuid4(), tenant_id, kind, subject_id, recipient,
    )


async def claim_due(conn: asyncpg.Connection, batch: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Take due emails and push their next attempt back (the lease, growing with each attempt)."""
    return await conn.fetch(
        """UPDATE email_outbox e
           SET attempts = e.attempts + 1,
               next_attempt_at = now() + make_interval(secs => $2 * least(e.attempts + 1, 10))
           WHERE e.id IN (
               SELECT id FROM email_outbox
               WHERE sent_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= now()
               ORDER BY next_attempt_at LIMIT $1
               FOR UPDATE SKIP LOCKED)
           RETURNING e.*""",
        batch, lease_seconds,
    )


async def mark_sent(conn: asyncpg.Connection, email_id: uuid.UUID) -> None:
    await conn.execute("UPDATE email_outbox SET sent_at = now(), last_error = NULL WHERE id = $1", email_id)


async def record_failure(conn: asyncpg.Connection, email_id: uuid.UUID, error: str, give_up: bool) -> None:
    await conn.execute(
        """UPDATE email_outbox SET last_error = $2, abandoned_at = CASE WHEN $3 THEN now() END
           WHERE id = $1""",
        email_id, error, give_up,
    )


class EmailSender:
    def __init__(self, settings: SmtpSettings, compose: Composer) -> None:
        self._settings = settings
        self._compose = compose
        self._domain = parseaddr(settings.email_from)[1].rpartition("@")[2] or "sms-credits.invalid"

    async def send_due(self, pool: asyncpg.Pool) -> int:
        """Send what is due now; answers how many the server accepted."""
        async with pool.acquire() as conn:
            due = await claim_due(conn, _BATCH, self._settings.email_retry_seconds)
        sent = 0
        for row in due:
            sent += await self._send_one(pool, row)
        return sent

    async def _send_one(self, pool: asyncpg.Pool, row: asyncpg.Record) -> int:
        try:
            message = await self._compose(pool, row)
            message["From"] = self._settings.email_from
            message["To"] = row["recipient"]
            message["Message-ID"] = f"<{row['id']}@{self._domain}>"
            await self._deliver(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._record_failure(pool, row, f"{type(exc).__name__}: {exc}"[:500])
            return 0
        async with pool.acquire() as conn:
            await mark_sent(conn, row["id"])
        log.info("email_sent", email_id=str(row["id"]), kind=row["kind"], attempts=row["attempts"])
        return 1

    async def _deliver(self, message: EmailMessage) -> None:
        settings = self._settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )

    async def _record_failure(self, pool: asyncpg.Pool, row: asyncpg.Record, error: str) -> None:
        give_up = row["attempts"] >= _MAX_ATTEMPTS
        async with pool.acquire() as conn:
            await record_failure(conn, row["id"], error, give_up)
        # The error names the server's complaint, never the credentials.
        (log.error if give_up else log.warning)(
            "email_abandoned" if give_up else "email_not_sent",
            email_id=str(row["id"]), kind=row["kind"], attempts=row["attempts"], error=error,
        )


def sender_ctx(settings: SmtpSettings, compose: Composer) -> CleanupCtx:
    """Send what is due every EMAIL_POLL_SECONDS beside the server; a failed round (the database or a
    bug) does not stop every later email. With no SMTP host, emails wait in the outbox."""
    if not settings.smtp_host:
        return _disabled
    sender = EmailSender(settings, compose)

    async def send_due(app: web.Application) -> None:
        await sender.send_due(app[DB])

    return periodic("email-sender", settings.email_poll_seconds, send_due)


async def _disabled(_: web.Application) -> AsyncIterator[None]:
    log.warning("email_disabled", reason="SMTP_HOST is not set; emails wait in the outbox")
    yield
