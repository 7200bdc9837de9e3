"""Two email senders at once against one email outbox and one SMTP server, as two replicas of a service
run them: each email is sent once, and the emails a sender claimed before it died (or failed to send)
are sent by the other once their lease has run out.

The rule under test (common/mail.py, `claim_due`): a claim adds one to `attempts` and pushes
`next_attempt_at` to the claim's time + EMAIL_RETRY_SECONDS x min(attempts, 10); nobody claims the email
again before then, whether its sender is alive, failed or dead.

The table is billing's (an email outbox as services/billing/migrations/0003_real_billing.sql makes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Literal

import asyncpg
import pytest
from aiohttp.test_utils import unused_port
from pydantic import SecretStr

from common import mail
from common.db import create_pool
from common.mail import EmailSender
from tests.conftest import NewDatabase
from tests.integration.billing.mail_support import Mailbox, start_mailbox
from tests.support import eventually

DOMAIN = "sms-credits.example"
RETRY_SECONDS = 2.0  # the first lease: long beside sending a few emails, short for a test to wait out


@dataclass
class Smtp:
    """The SmtpSettings a sender needs: a plain local server, no credentials."""

    smtp_port: int
    email_retry_seconds: float = RETRY_SECONDS
    smtp_host: str | None = "127.0.0.1"
    smtp_security: Literal["starttls", "tls", "none"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 5.0
    email_from: str = f"SMS Credits <no-reply@{DOMAIN}>"
    email_poll_seconds: float = 3600.0


async def compose(_: asyncpg.Pool, row: asyncpg.Record) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Tax invoice for {row['subject_id']}"
    message.set_content("Your tax invoice is attached.")
    return message


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with start_mailbox() as box:
        yield box


@pytest.fixture
async def pools(new_database: NewDatabase) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """One pool for each of the two senders, as each replica has its own, on one database."""
    database = await new_database("billing")
    first, second = await create_pool(database, 2), await create_pool(database, 2)
    yield first, second
    await first.close()
    await second.close()


async def _owe(pool: asyncpg.Pool, count: int) -> set[uuid.UUID]:
    tenant = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        for n in range(count):
            await mail.owe(conn, "tax_invoice", uuid.uuid4(), f"buyer{n}@example.com", tenant)
        return {r["id"] for r in await conn.fetch("SELECT id FROM email_outbox")}


async def _send_until_none_due(sender: EmailSender, pool: asyncpg.Pool) -> int:
    sent = 0
    while accepted := await sender.send_due(pool):
        sent += accepted
    return sent


def _delivered(mailbox: Mailbox) -> Counter[uuid.UUID]:
    """How often the server took each email, by the outbox id its Message-ID names."""
    return Counter(uuid.UUID(str(m["Message-ID"]).strip("<>").removesuffix(f"@{DOMAIN}")) for m in mailbox.messages)


async def _db_now(pool: asyncpg.Pool) -> datetime:
    now: datetime = await pool.fetchval("SELECT clock_timestamp()")
    return now


# With the real batch the two claims meet at the start only; one email a claim, they meet all along.
@pytest.mark.parametrize("batch", [mail._BATCH, 1])
async def test_two_senders_at_once_send_each_email_once(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], mailbox: Mailbox, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "_BATCH", batch)
    owed = await _owe(pools[0], 100)
    first, second = EmailSender(Smtp(mailbox.port), compose), EmailSender(Smtp(mailbox.port), compose)

    sent = await asyncio.gather(_send_until_none_due(first, pools[0]), _send_until_none_due(second, pools[1]))

    assert all(sent), f"one sender sent them all ({sent}): they never overlapped"
    assert sum(sent) == len(owed)
    assert _delivered(mailbox) == Counter(owed)  # every email, each once
    rows = await pools[0].fetch("SELECT attempts, sent_at, last_error FROM email_outbox")
    assert all(r["sent_at"] is not None and r["last_error"] is None for r in rows)
    assert {r["attempts"] for r in rows} == {1}  # each claimed once: never by both


@pytest.mark.parametrize("death", ["cancelled while sending", "smtp server refused it"])
async def test_emails_a_sender_claimed_before_it_died_are_sent_by_the_other_once_the_lease_runs_out(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], mailbox: Mailbox, death: str
) -> None:
    pool, other_pool = pools
    owed = await _owe(pool, mail._BATCH + 10)  # one claim of the dying sender's, and ten it leaves
    survivor = EmailSender(Smtp(mailbox.port), compose)
    before_claim = await _db_now(pool)
    if death == "cancelled while sending":
        await _cancelled_after_sending_one(Smtp(mailbox.port), pool)
    else:
        refused = EmailSender(Smtp(unused_port()), compose)  # nothing listens there
        assert await refused.send_due(pool) == 0
    after_claim = await _db_now(pool)

    held = await pool.fetch("SELECT id, next_attempt_at, last_error FROM email_outbox WHERE attempts = 1 "
                            "AND sent_at IS NULL")
    if death == "cancelled while sending":
        assert len(held) == mail._BATCH - 1  # the first of its claim was sent and marked before it died
    else:
        assert len(held) == mail._BATCH and all(r["last_error"] for r in held)
    lease_ends = max(r["next_attempt_at"] for r in held)
    lease = timedelta(seconds=RETRY_SECONDS)
    assert all(before_claim + lease <= r["next_attempt_at"] <= after_claim + lease for r in held)

    # Within the lease the other sends only what nobody claimed, and nothing of the dead sender's.
    assert await _send_until_none_due(survivor, other_pool) == len(owed) - mail._BATCH
    assert await survivor.send_due(other_pool) == 0
    assert await _db_now(pool) < lease_ends, "the lease ran out before the check: nothing was tested"
    assert not {r["id"] for r in held} & set(_delivered(mailbox))

    # Once it has run out, the other sends them: a second attempt, leased twice as long.
    await eventually(lambda: _lease_over(pool, lease_ends), timeout=RETRY_SECONDS + 5)
    assert await _send_until_none_due(survivor, other_pool) == len(held)
    after_second_claim = await _db_now(pool)
    assert _delivered(mailbox) == Counter(owed)  # every email, each once
    for row in await pool.fetch("SELECT * FROM email_outbox WHERE id = ANY($1::uuid[])", [r["id"] for r in held]):
        assert row["sent_at"] is not None and row["last_error"] is None and row["attempts"] == 2
        assert lease_ends + 2 * lease <= row["next_attempt_at"] <= after_second_claim + 2 * lease


class SendsOneThenHangs:
    """The composer of a sender whose process stops answering at the second email of its claim."""

    def __init__(self) -> None:
        self.composed = 0
        self.hanging = asyncio.Event()

    async def __call__(self, pool: asyncpg.Pool, row: asyncpg.Record) -> EmailMessage:
        self.composed += 1
        if self.composed == 1:
            return await compose(pool, row)
        self.hanging.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def _cancelled_after_sending_one(smtp: Smtp, pool: asyncpg.Pool) -> None:
    composer = SendsOneThenHangs()
    sending = asyncio.create_task(EmailSender(smtp, composer).send_due(pool))
    try:
        await asyncio.wait_for(composer.hanging.wait(), timeout=5)
    finally:
        sending.cancel()  # it dies holding the rest of its claim
        with contextlib.suppress(asyncio.CancelledError):
            await sending


async def _lease_over(pool: asyncpg.Pool, ends: datetime) -> bool:
    return await _db_now(pool) >= ends
