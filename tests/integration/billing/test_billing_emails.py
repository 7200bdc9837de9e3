"""The tax invoice by email, from the outbox: owed in the paying transaction, sent after commit."""

from __future__ import annotations

import io

from aiohttp.test_utils import unused_port
from pypdf import PdfReader

from services.billing.emails.sender import EmailSender
from tests.integration.billing.conftest import StartBilling
from tests.integration.billing.harness import Billing, invoice_number
from tests.integration.billing.mail_support import Mailbox
from tests.support import eventually


async def test_a_paid_purchase_emails_its_tax_invoice_pdf_to_the_billing_email(
    mailing_billing: Billing, mailbox: Mailbox
) -> None:
    purchase = await mailing_billing.purchase(quantity=1000)
    await mailing_billing.pay(purchase)

    number = invoice_number(mailing_billing.buyer, 1)
    [message] = await mailbox.wait_for(1)
    assert message["To"] == "jo@example.com.au"
    assert message["Subject"] == f"Tax invoice {number} from SMS Credits Pty Ltd"
    assert f"tax invoice {number} for AUD 88.00" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"tax-invoice-{number}.pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(attachment.get_content())).pages)
    assert "Tax Invoice" in text and number in text and "$88.00" in text
    # The sender marks the email sent once the server has taken it: a moment after the mailbox has it.
    async def marked_sent() -> bool:
        async with mailing_billing.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT sent_at IS NOT NULL FROM email_outbox"))

    await eventually(marked_sent)
    async with mailing_billing.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT id, sent_at, attempts FROM email_outbox")
    assert row["attempts"] == 1
    assert message["Message-ID"] == f"<{row['id']}@sms-credits.example>"


async def test_an_email_the_server_could_not_take_is_kept_and_sent_once_when_it_can(
    start_billing: StartBilling, mailbox: Mailbox
) -> None:
    # The SMTP server is down (nothing listens on this port) when the purchase is paid.
    billing = await start_billing(smtp_host="127.0.0.1", smtp_port=unused_port(), smtp_security="none",
                                  email_poll_seconds=0.1, email_retry_seconds=30)
    purchase = await billing.purchase()
    await billing.pay(purchase)

    async def attempted() -> bool:
        async with billing.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT last_error IS NOT NULL FROM email_outbox"))

    await eventually(attempted)
    assert await billing.status_of(purchase["id"]) == "paid"  # the payment never waited for the email
    # The server is back; the lease has run out (as it would after a restart or the retry delay).
    async with billing.pool.acquire() as conn:
        await conn.execute("UPDATE email_outbox SET next_attempt_at = now()")
    sender = EmailSender(billing.settings.model_copy(update={"smtp_port": mailbox.port}))
    assert await sender.send_due(billing.pool) == 1
    assert await sender.send_due(billing.pool) == 0  # sent is sent: a second round sends nothing
    [message] = await mailbox.wait_for(1)
    assert message["Subject"].startswith(f"Tax invoice {invoice_number(billing.buyer, 1)}")
