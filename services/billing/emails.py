"""Emails from an outbox: `owe` writes the email in the transaction that makes it due (a payment, a
refund, a declined top-up), so it exists if and only if that change does; the sender delivers it
after commit and marks it sent only once the SMTP server accepted it.

Lost: never (the row outlives any crash). Doubled: only if the process dies between the server's
acceptance and our mark, and then the copy carries the same Message-ID, which mail systems use to
recognise it as the same message. A claimed row is leased (its next attempt pushed back) so that two
billing processes never send it at the same time.
"""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Literal

import aiosmtplib
import asyncpg
from aiohttp import web

from common.logs import get_logger
from common.runtime import DB
from services.billing import email_messages
from services.billing.settings import BillingSettings

log = get_logger(__name__)

EmailKind = Literal["tax_invoice", "adjustment_note", "top_up_failed"]
_BATCH = 20
_MAX_ATTEMPTS = 20


async def owe(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, kind: EmailKind, subject_id: uuid.UUID, recipient: str
) -> None:
    """Owe one email of this kind about this purchase or refund; owing it again changes nothing."""
    await conn.execute(
        """INSERT INTO email_outbox (id, tenant_id, kind, subject_id, recipient) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (kind, subject_id) DO NOTHING""",
        uuid.uuid4(), tenant_id, kind, subject_id, recipient,
    )


async def _claim_due(conn: asyncpg.Connection, lease_seconds: float) -> list[asyncpg.Record]:
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
        _BATCH, lease_seconds,
    )


class EmailSender:
    def __init__(self, settings: BillingSettings) -> None:
        self._settings = settings
        self._domain = parseaddr(settings.email_from)[1].rpartition("@")[2] or "sms-credits.invalid"

    async def send_due(self, pool: asyncpg.Pool) -> int:
        """Send what is due now; answers how many the server accepted."""
        async with pool.acquire() as conn:
            due = await _claim_due(conn, self._settings.email_retry_seconds)
        sent = 0
        for row in due:
            sent += await self._send_one(pool, row)
        return sent

    async def _send_one(self, pool: asyncpg.Pool, row: asyncpg.Record) -> int:
        try:
            message = await email_messages.compose(pool, row, self._settings)
            message["From"] = self._settings.email_from
            message["To"] = row["recipient"]
            message["Message-ID"] = f"<{row['id']}@{self._domain}>"
            await self._deliver(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._record_failure(pool, row, f"{type(exc).__name__}: {exc}"[:500])
            return 0
        async with pool.acquire() as conn:
            await conn.execute("UPDATE email_outbox SET sent_at = now(), last_error = NULL WHERE id = $1", row["id"])
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
            await conn.execute(
                """UPDATE email_outbox SET last_error = $2, abandoned_at = CASE WHEN $3 THEN now() END
                   WHERE id = $1""",
                row["id"], error, give_up,
            )
        # The error names the server's complaint, never the credentials.
        (log.error if give_up else log.warning)(
            "email_abandoned" if give_up else "email_not_sent",
            email_id=str(row["id"]), kind=row["kind"], attempts=row["attempts"], error=error,
        )

    async def run(self, app: web.Application) -> None:
        if not self._settings.smtp_host:
            log.warning("email_disabled", reason="SMTP_HOST is not set; emails wait in the outbox")
            return
        while True:
            try:
                await self.send_due(app[DB])
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("email_sender_retrying", error=str(exc))
            except Exception:
                # A bug must not stop every later email: log it and carry on.
                log.exception("email_sender_crashed")
            await asyncio.sleep(self._settings.email_poll_seconds)
