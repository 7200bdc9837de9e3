"""Billing's email sender: the shared outbox sender (`common.mail`) with billing's messages. `emails.store.owe`
writes the email in the transaction that makes it due (a payment, a refund, a declined top-up); the sender
delivers it after commit, composing it then from the stored purchase or refund."""

from __future__ import annotations

from email.message import EmailMessage

import asyncpg

from common import mail
from common.runtime import CleanupCtx
from services.billing.emails import messages
from services.billing.settings import BillingSettings


def _composer(settings: BillingSettings) -> mail.Composer:
    async def compose(pool: asyncpg.Pool, row: asyncpg.Record) -> EmailMessage:
        return await messages.compose(pool, row, settings)

    return compose


class EmailSender(mail.EmailSender):
    def __init__(self, settings: BillingSettings) -> None:
        super().__init__(settings, _composer(settings))


def sender_ctx(settings: BillingSettings) -> CleanupCtx:
    """Send what is due every EMAIL_POLL_SECONDS beside the server; with no SMTP host, emails wait."""
    return mail.sender_ctx(settings, _composer(settings))
