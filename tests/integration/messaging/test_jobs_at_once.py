"""Messaging's periodic jobs with two replicas running them at once against one database, each through its
own pool: the expiry sweeper settles each overdue message once (its unanswered recipients expired once,
one `messaging.message.settled`, one `undelivered` per recipient owed a refund), and the receipt sweeper
ends each unreceipted recipient once, even with its receipt arriving meanwhile: expired and announced for
a refund, or delivered and not, never both."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from common.contracts import events
from common.db import create_pool
from services.messaging.sending import usecases as sending
from services.messaging.sending.domain import Receipt
from tests.conftest import NewDatabase
from tests.integration.messaging.conftest import number
from tests.support import eventually

MESSAGES = 6

# Test-only: every write of a part's state or delivery, kept, so that "each recipient's ending changes
# once" is read from what was written, not inferred from the final rows.
_ENDINGS = """
CREATE TABLE part_endings (part_id uuid NOT NULL, state text NOT NULL, delivery text);
CREATE FUNCTION keep_part_ending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO part_endings VALUES (NEW.id, NEW.state, NEW.delivery);
    RETURN NULL;
END $$;
CREATE TRIGGER part_ending AFTER UPDATE OF state, delivery ON parts FOR EACH ROW EXECUTE FUNCTION keep_part_ending();
"""


@dataclass
class Replicas:
    first: asyncpg.Pool
    second: asyncpg.Pool

    async def endings(self) -> dict[uuid.UUID, list[tuple[str, str | None]]]:
        found: dict[uuid.UUID, list[tuple[str, str | None]]] = {}
        for row in await self.first.fetch("SELECT part_id, state, delivery FROM part_endings"):
            found.setdefault(row["part_id"], []).append((row["state"], row["delivery"]))
        return found

    async def events_of(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.first.fetch("SELECT envelope FROM outbox WHERE routing_key = $1",
                                      events.routing_key(event_type))
        return [r["envelope"]["data"] for r in rows]

    async def at_once(self, *sweeps: Coroutine[Any, Any, int],
                      meanwhile: Sequence[Coroutine[Any, Any, None]] = ()) -> list[int]:
        """Run the sweeps so that each has read what it will work on before any of them changes a thing:
        the messages are locked (plain reads pass) until every sweep waits on a message's lock. What
        happens `meanwhile` (receipts arriving) starts as they are let go."""
        async with self.first.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE messages IN EXCLUSIVE MODE")
            running = [asyncio.create_task(sweep) for sweep in sweeps]

            async def all_waiting() -> bool:
                waiting = await self.first.fetchval(
                    """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                       AND application_name LIKE 'replica-%' AND wait_event_type = 'Lock'""")
                return bool(waiting == len(sweeps))

            await eventually(all_waiting, timeout=5, every=0.01)
            others = [asyncio.create_task(happening) for happening in meanwhile]
        await asyncio.gather(*others)
        return list(await asyncio.gather(*running))


@pytest.fixture
async def replicas(new_database: NewDatabase) -> AsyncIterator[Replicas]:
    dsn = await new_database("messaging")
    first = await create_pool(f"{dsn}?application_name=replica-1", 4)
    second = await create_pool(f"{dsn}?application_name=replica-2", 4)
    try:
        await first.execute(_ENDINGS)
        yield Replicas(first, second)
    finally:
        await first.close()
        await second.close()


async def _message(pool: asyncpg.Pool, *, overdue: bool, settled: bool) -> uuid.UUID:
    """`overdue`: its hold ends within the expiry sweeper's margin (60 s here); `settled`: two hours ago, its
    recipients' receipts still awaited."""
    message_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO messages (id, tenant_id, sender_user_id, account_code, hold_id, hold_expires_at, body,
                                 encoding, segments, credits, request_hash, settled_at, captured_credits)
           VALUES ($1, $2, $3, 'system', $4, now() + CASE WHEN $5 THEN interval '10 seconds' ELSE interval '1 hour' END,
                   'Hi', 'gsm7', 2, 12, 'h', CASE WHEN $6 THEN now() - interval '2 hours' END,
                   CASE WHEN $6 THEN 6 END)""",
        message_id, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), overdue, settled)
    return message_id


async def _part(pool: asyncpg.Pool, message_id: uuid.UUID, position: int, state: str, carrier_ids: list[str],
                credits_per_segment: int = 1, delivery: str | None = None, accepted_hours_ago: int = 3) -> uuid.UUID:
    part_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO parts (id, message_id, position, recipient, state, next_segment, carrier_ids,
                              credits_per_segment, accepted_at, delivery)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                   CASE WHEN $5 = 'accepted' THEN now() - make_interval(hours => $10) END, $9)""",
        part_id, message_id, position, number(), state, len(carrier_ids) + 1, carrier_ids, credits_per_segment,
        delivery, accepted_hours_ago)
    await pool.executemany("INSERT INTO segments (carrier_id, part_id) VALUES ($1, $2)",
                           [(c, part_id) for c in carrier_ids])
    return part_id


async def test_two_expiry_sweepers_at_once_settle_each_overdue_message_once(replicas: Replicas) -> None:
    pool = replicas.first
    overdue: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = {}
    for _ in range(MESSAGES):
        message_id = await _message(pool, overdue=True, settled=False)
        c = uuid.uuid4().hex
        # Sent in full, and its receipt said undeliverable before the settlement: owed a refund once settled.
        sent = await _part(pool, message_id, 0, "accepted", [f"{c}-0/1", f"{c}-0/2"], delivery="undeliverable")
        halfway = await _part(pool, message_id, 1, "submitting", [f"{c}-1/1"], credits_per_segment=2)
        waiting = await _part(pool, message_id, 2, "queued", [])
        overdue[message_id] = (sent, halfway, waiting)
    not_yet = await _message(pool, overdue=False, settled=False)
    await _part(pool, not_yet, 0, "queued", [])

    found = await replicas.at_once(sending.expire_overdue(replicas.first, margin_seconds=60),
                                   sending.expire_overdue(replicas.second, margin_seconds=60))
    assert found == [MESSAGES, MESSAGES]  # both replicas set out to settle every overdue message

    settlements = await replicas.events_of(events.MESSAGE_SETTLED)
    assert Counter(s["message_id"] for s in settlements) == {str(m): 1 for m in overdue}
    # The accepted recipient's 2 segments at 1 credit, the half-sent one's first segment at 2; nothing else.
    assert {(s["captured_credits"], s["recipients"], s["accepted_recipients"]) for s in settlements} == {(4, 3, 1)}
    refunds = await replicas.events_of(events.MESSAGE_UNDELIVERED)
    assert Counter(r["part_id"] for r in refunds) == {str(sent): 1 for sent, _, _ in overdue.values()}

    # The unanswered recipients' ending written once each; the sent one's left as it was.
    expired = {part: [("expired", None)] for _, halfway, waiting in overdue.values() for part in (halfway, waiting)}
    assert await replicas.endings() == expired
    rows = await pool.fetch("SELECT id, settled_at IS NOT NULL AS settled, captured_credits FROM messages")
    assert {r["id"]: (r["settled"], r["captured_credits"]) for r in rows} == {
        **{m: (True, 4) for m in overdue}, not_yet: (False, None)}


async def test_two_receipt_sweepers_at_once_end_each_recipient_once_even_as_its_receipt_arrives(
    replicas: Replicas,
) -> None:
    pool = replicas.first
    silent: list[uuid.UUID] = []  # no receipt ever: expired, and their credits given back
    late: dict[uuid.UUID, str] = {}  # the last segment's receipt arrives during the sweeps: its carrier id
    for n in range(MESSAGES):
        message_id = await _message(pool, overdue=False, settled=True)
        c = uuid.uuid4().hex
        for position in (0, 1):
            segments = [f"{c}-{position}/1", f"{c}-{position}/2"]
            silent.append(await _part(pool, message_id, position, "accepted", segments))
        # Half of them first in the sweeps' order (the oldest first), half last: the receipt comes before the
        # sweeps reach some and after they ended others.
        part = await _part(pool, message_id, 2, "accepted", [f"{c}-2/1", f"{c}-2/2"], credits_per_segment=2,
                           accepted_hours_ago=4 if n % 2 else 2)
        await pool.execute("INSERT INTO receipts (carrier_id, stat) VALUES ($1, 'DELIVRD')", f"{c}-2/1")
        late[part] = f"{c}-2/2"

    receipts = [sending.record_receipt(replicas.second, Receipt(carrier_id, "DELIVRD", None))
                for carrier_id in late.values()]
    ended_by_sweeps = await replicas.at_once(sending.expire_unreceipted(replicas.first, validity_seconds=3600),
                                             sending.expire_unreceipted(replicas.second, validity_seconds=3600),
                                             meanwhile=receipts)

    endings = await replicas.endings()
    assert set(endings) == {*silent, *late}
    assert all(len(written) == 1 for written in endings.values()), endings  # each recipient ended once
    assert {endings[p][0] for p in silent} == {("accepted", "expired")}
    ended = {p: endings[p][0][1] for p in late}  # its receipt, or the sweep, came first: either is right
    assert set(ended.values()) <= {"expired", "delivered"}
    expired = [*silent, *(p for p, delivery in ended.items() if delivery == "expired")]
    assert sum(ended_by_sweeps) == len(expired)  # what the receipts ended, the sweeps did not count

    # One refund announced per expired recipient, with its credits; none for a delivered one.
    refunds = await replicas.events_of(events.MESSAGE_UNDELIVERED)
    assert Counter(r["part_id"] for r in refunds) == {str(p): 1 for p in expired}
    assert {r["status"] for r in refunds} == {"expired"}
    assert sum(r["credits"] for r in refunds) == 2 * len(silent) + 4 * (len(expired) - len(silent))
    rows = await pool.fetch("SELECT id, delivery, refund_announced_at IS NOT NULL AS announced FROM parts")
    assert {r["id"]: (r["delivery"], r["announced"]) for r in rows} == {
        **{p: ("expired", True) for p in silent}, **{p: (d, d == "expired") for p, d in ended.items()}}


@pytest.mark.parametrize("answer", ["accepted", "refused"])
async def test_a_carriers_answer_racing_the_expiry_sweeper_takes_the_locks_in_its_order(
    replicas: Replicas, answer: str
) -> None:
    """The sweeper locks a message, then changes its parts. An answer for one of those parts arriving
    meanwhile waits for the message before it touches its part: the sweeper's update of the part then goes
    through. (An answer that locked its part first deadlocked with it, and Postgres rolled one back.)"""
    message_id = await _message(replicas.first, overdue=True, settled=False)
    part_id = await _part(replicas.first, message_id, 0, "submitting", ["c-first"])
    async with replicas.first.acquire() as sweeper, sweeper.transaction():
        await sweeper.execute("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE", message_id)
        pool = replicas.second
        record = (sending.segment_accepted(pool, message_id, part_id, 2, "c-second", True) if answer == "accepted"
                  else sending.part_ended(pool, message_id, part_id, 2, "rejected", 8))
        answering = asyncio.create_task(record)

        async def answer_waits() -> bool:
            return bool(await replicas.first.fetchval(
                """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                   AND application_name = 'replica-2' AND wait_event_type = 'Lock'"""))

        await eventually(answer_waits, timeout=5, every=0.01)
        # Within a second, not Postgres's deadlock_timeout later with one side rolled back.
        await sweeper.execute("SET LOCAL lock_timeout = '1s'")
        expired = await sweeper.execute(
            "UPDATE parts SET state = 'expired' WHERE id = $1 AND state = 'submitting'", part_id)
    await answering  # then finds the part expired: nothing recorded, no error
    assert expired == "UPDATE 1"
    assert await replicas.first.fetchval("SELECT state FROM parts WHERE id = $1", part_id) == "expired"
