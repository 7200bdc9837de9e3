"""The SMS the campaign sent, as messaging, the ledger and the SMSC simulator recorded them once
everything caught up, and what must hold of them: each message's hold captured for exactly what the
carrier accepted, and each recipient it never reached given its credits back exactly once.

Which recipients end `expired` depends on timing (a number ending in 98 always does; a delivered one
whose receipt was lost while messaging was down may too), so what an accepted SMS finally spent is read
from messaging's database (`record_outcomes`), and the ledger is held to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.chaos.checks import SystemUnderTest, Verdict, sample
from tests.chaos.driver import RECIPIENT_KINDS, Operation

# A captured recipient's credits come back when it ends so (services/messaging/messages/domain.py).
REFUNDABLE = frozenset({"undeliverable", "expired", "rejected"})
# What a recipient of each kind may end as: its own fate, or `expired` when its receipt was lost.
ALLOWED = {"delivered": {"delivered", "expired"}, "undeliverable": {"undeliverable", "expired"},
           "expired": {"expired"}, "rejected": {"rejected at submit"}}


@dataclass(frozen=True)
class Part:
    id: str
    recipient: str
    state: str  # queued | submitting | accepted | rejected | expired (its hold ran out before it went)
    delivery: str | None
    credits: int  # captured for it: segments the carrier accepted x credits per segment
    refund_announced: bool

    @property
    def outcome(self) -> str:
        if self.state == "rejected":
            return "rejected at submit"
        if self.state == "expired":
            return "not sent in time"
        if self.state == "accepted":
            return self.delivery or "pending"
        return "unanswered"

    @property
    def refundable(self) -> bool:
        return self.state == "accepted" and self.delivery in REFUNDABLE


@dataclass
class Message:
    id: str
    hold_id: str
    captured: int | None  # None until settled
    parts: dict[str, Part] = field(default_factory=dict)  # by recipient

    @property
    def sent_late(self) -> bool:
        """Its hold was about to run out (an outage) before every recipient's segment went."""
        return any(p.state == "expired" for p in self.parts.values())

    @property
    def owed_back(self) -> int:
        return sum(p.credits for p in self.parts.values() if p.refundable)


@dataclass(frozen=True)
class Refund:
    """A `delivery_refund` transaction in the ledger."""

    key: str
    hold_id: str | None
    moves: dict[str, int]  # account -> amount

    @property
    def part_id(self) -> str:
        return self.key.removeprefix("delivery-refund:")


@dataclass
class SmsRecord:
    messages: dict[str, Message]  # by id
    holds: dict[str, Any]  # message id -> its ledger hold (idempotency key `message:<id>`)
    refunds: list[Refund]
    carrier_sent: Counter[str]  # recipient -> segments the SMSC accepted (each reference once)
    carrier_duplicates: int  # segments submitted again and recognised (not sent twice)


async def load(system: SystemUnderTest) -> SmsRecord:
    conn = await system.connect("messaging")
    try:
        rows = await conn.fetch("SELECT id::text, hold_id::text, captured_credits FROM messages")
        messages = {r["id"]: Message(r["id"], r["hold_id"], r["captured_credits"]) for r in rows}
        for p in await conn.fetch(
                """SELECT id::text, message_id::text, recipient, state, delivery,
                          cardinality(carrier_ids) * credits_per_segment AS credits,
                          refund_announced_at IS NOT NULL AS announced FROM parts"""):
            messages[p["message_id"]].parts[p["recipient"]] = Part(
                p["id"], p["recipient"], p["state"], p["delivery"], p["credits"], p["announced"])
    finally:
        await conn.close()
    conn = await system.connect("ledger")
    try:
        holds = {r["idempotency_key"].removeprefix("message:"): r for r in await conn.fetch(
            """SELECT id::text, idempotency_key, captured, status FROM holds
               WHERE idempotency_key LIKE 'message:%'""")}
        moves: dict[tuple[str, str | None], dict[str, int]] = {}
        for r in await conn.fetch(
                """SELECT t.idempotency_key, t.hold_id::text, p.account_id::text, p.amount
                   FROM transactions t LEFT JOIN postings p ON p.transaction_id = t.id
                   WHERE t.kind = 'delivery_refund'"""):
            moves.setdefault((r["idempotency_key"], r["hold_id"]), {})[r["account_id"]] = r["amount"]
    finally:
        await conn.close()
    async with aiohttp.ClientSession() as session, session.get(system.url("smsc") + "/submissions") as answer:
        submitted = await answer.json()
    return SmsRecord(
        messages, holds, [Refund(key, hold_id, m) for (key, hold_id), m in moves.items()],
        Counter("+" + s["destination"].lstrip("+") for s in submitted["accepted"]),
        sum(s["duplicates"] for s in submitted["accepted"]),
    )


def record_outcomes(operations: list[Operation], record: SmsRecord) -> None:
    """What each accepted SMS spent, as messaging recorded it: captured, less what is owed back."""
    for op in operations:
        message = record.messages.get(op.message_id or "")
        if op.kind == "sms" and op.state == "accepted" and message is not None:
            op.captured, op.refunded = message.captured or 0, message.owed_back


def _sms_sent(operations: list[Operation]) -> list[Operation]:
    return [op for op in operations if op.kind == "sms" and op.state == "accepted"]


def verdicts(operations: list[Operation], record: SmsRecord) -> list[Verdict]:
    return [_captures(operations, record), _deliveries(operations, record), _refunds(operations, record),
            _carrier(record)]


def _captures(operations: list[Operation], record: SmsRecord) -> Verdict:
    problems, late = [], []
    for op in _sms_sent(operations):
        message, hold = record.messages.get(op.message_id or ""), record.holds.get(op.message_id or "")
        label = (op.message_id or "?")[:8]
        if message is None or hold is None or hold["id"] != message.hold_id or message.captured is None:
            problems.append(f"{label}: message {message and message.captured}, hold {hold and dict(hold)}")
            continue
        carrier_took = sum(p.credits for p in message.parts.values())
        # Each recipient but the one refused at submission: one segment at one credit (Australia).
        wanted = carrier_took if message.sent_late else sum(kind != "rejected" for kind in op.recipients.values())
        if message.sent_late:
            late.append(f"{label} ({wanted} captured)")
        # Nothing went at all: the hold may as well have been released as captured for nothing.
        settled = hold["status"] == "captured" or (not wanted and hold["status"] in ("voided", "expired"))
        if not (message.captured == carrier_took == wanted == hold["captured"] and settled):
            problems.append(f"{label}: wanted {wanted}, messaging {message.captured}, carrier took {carrier_took}, "
                            f"hold {hold['status']}/{hold['captured']}")
    unasked = [m.id[:8] for m in record.messages.values()
               if m.id not in {op.message_id for op in operations if op.kind == "sms" and op.state == "accepted"}]
    sent = _sms_sent(operations)
    detail = (f"{len(sent)} messages, {sum(op.captured for op in sent)} credits captured"
              + (f"; sent too late, their holds about to run out (captured only what went): {sample(late)}"
                 if late else "; none sent too late")
              + (f"; WRONG: {sample(problems)}" if problems else "")
              + (f"; messages no client was told of: {sample(unasked)}" if unasked else ""))
    return Verdict("every accepted SMS's hold was captured for exactly its non-97 recipients' segments",
                   not problems and not unasked, detail)


def _deliveries(operations: list[Operation], record: SmsRecord) -> Verdict:
    """Each recipient ends as its number says, or `expired` when its receipt was lost; those are counted."""
    wrong, lost = [], Counter[str]()
    for op in _sms_sent(operations):
        message = record.messages.get(op.message_id or "")
        if message is None or message.sent_late:
            continue
        for number, kind in op.recipients.items():
            part = message.parts.get(number)
            outcome = part.outcome if part else "missing"
            if outcome not in ALLOWED[kind]:
                wrong.append(f"{kind} {number[-4:]} of {message.id[:8]}: {outcome}")
            elif outcome == "expired" and kind != "expired":
                lost[kind] += 1
    # Lost while messaging was down, or acknowledged by its SMPP client while its database was not there
    # (smpp_receipt_not_recorded in its log): the carrier does not send a receipt twice.
    detail = (f"receipts lost in an outage, so expired and refunded: {dict(lost) or 'none'}"
              + (f"; WRONG: {sample(wrong)}" if wrong else ""))
    return Verdict("every SMS recipient ended as its number says (or expired, its receipt lost)", not wrong, detail)


def _refunds(operations: list[Operation], record: SmsRecord) -> Verdict:
    parts = {p.id: (m, p) for m in record.messages.values() for p in m.parts.values()}
    payer = {op.message_id: op.account_id for op in _sms_sent(operations)}
    refunds_of = Counter(r.part_id for r in record.refunds)
    twice = [part_id[:8] for part_id, n in refunds_of.items() if n > 1]
    unowed, wrong_moves = [], []
    for refund in record.refunds:
        found = parts.get(refund.part_id)
        if found is None or not found[1].refundable or refund.hold_id != found[0].hold_id:
            unowed.append(f"{refund.part_id[:8]} ({found[1].outcome if found else 'no such part'})")
            continue
        message, part = found
        to_payer, balanced = refund.moves.get(payer.get(message.id) or ""), sum(refund.moves.values(), 0) == 0
        if to_payer != part.credits or not balanced or len(refund.moves) != 2:
            wrong_moves.append(f"{part.id[:8]}: {refund.moves} for {part.credits}")
    # A hold never captured (sent too late with nothing accepted) gives nothing back.
    captured = {m.id for m in record.messages.values() if (record.holds.get(m.id) or {}).get("status") == "captured"}
    missing = [f"{p.id[:8]} ({p.outcome}) of {m.id[:8]}" for m, p in parts.values()
               if p.refundable and p.credits and m.id in captured and not refunds_of[p.id]]
    unannounced = [p.id[:8] for _, p in parts.values() if p.refundable != p.refund_announced and p.state != "rejected"]
    held = not (twice or unowed or wrong_moves or missing)
    by_outcome = Counter(parts[r.part_id][1].outcome for r in record.refunds if r.part_id in parts)
    credits_back = sum(amount for r in record.refunds for amount in r.moves.values() if amount > 0)
    detail = f"{len(record.refunds)} refunds ({dict(by_outcome)}), {credits_back} credits back"
    for name, listed in (("refunded twice", twice), ("refund without a refundable part", unowed),
                         ("wrong postings", wrong_moves), ("refundable part without its refund", missing),
                         ("announcement flag disagrees (not failing)", unannounced)):
        if listed:
            detail += f"; {name}: {sample(listed)}"
    return Verdict("every undeliverable or expired SMS recipient was refunded exactly once, no other", held, detail)


def _carrier(record: SmsRecord) -> Verdict:
    """The SMSC accepted each recipient's segment once, however often it was submitted again."""
    ours = Counter[str]()
    for message in record.messages.values():
        for part in message.parts.values():
            if part.credits:
                ours[part.recipient] += part.credits  # one credit a segment in Australia
    extra, missing = record.carrier_sent - ours, ours - record.carrier_sent
    return Verdict("the carrier sent each accepted recipient's SMS once", not extra and not missing,
                   f"{sum(record.carrier_sent.values())} segments sent, {record.carrier_duplicates} submitted again "
                   f"and recognised" + (f"; sent beyond our record: {sample(extra.items())}" if extra else "")
                   + (f"; recorded, never sent: {sample(missing.items())}" if missing else ""))


def figures(operations: list[Operation], record: SmsRecord) -> str:
    """The report's line: messages, recipients by how they ended, refunds."""
    tried = [op for op in operations if op.kind == "sms"]
    outcomes = Counter(p.outcome for op in _sms_sent(operations)
                       for p in record.messages.get(op.message_id or "", Message("", "", None)).parts.values())
    by_kind = {kind: sum(kind == k for op in _sms_sent(operations) for k in op.recipients.values())
               for kind in RECIPIENT_KINDS}
    rejected = Counter(str(op.detail).rsplit("/", 1)[-1] for op in tried if op.state == "rejected")
    return (f"{len(tried)} messages tried, {len(_sms_sent(operations))} accepted, "
            f"{sum(rejected.values())} rejected {dict(rejected)}; "
            f"recipients {sum(by_kind.values())} by ending {by_kind}, by delivery {dict(outcomes)}; "
            f"captured {sum(op.captured for op in _sms_sent(operations))}, "
            f"refunds {len(record.refunds)} ({sum(op.refunded for op in _sms_sent(operations))} credits)")
