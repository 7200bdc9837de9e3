"""Hold changes in the log: reservations are shown, and never counted as movements of the balance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from common import accounts
from common.contracts.events import HoldChange, Posting, TransactionPosted
from services.reporting.entries import domain

TENANT = uuid.uuid4()
ALICE = accounts.user_code(uuid.uuid4())
HOLD = uuid.uuid4()
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def hold_change(code: str, delta: int, held_after: int, balance_after: int) -> HoldChange:
    return HoldChange(
        hold_id=HOLD,
        account_id=accounts.account_id(TENANT, code),
        account_code=code,
        held_delta=delta,
        held_after=held_after,
        balance_after=balance_after,
    )


def posted(kind: str, postings: list[Posting], holds: list[HoldChange]) -> TransactionPosted:
    return TransactionPosted(
        transaction_id=uuid.uuid4(), seq=7, tenant_id=TENANT, kind=kind, occurred_at=WHEN,
        reference="msg-1", postings=postings, holds=holds,
    )


def test_a_hold_is_a_reservation_row_going_out_with_the_unchanged_balance() -> None:
    [entry] = domain.log_entries_of(posted("hold", [], [hold_change(ALICE, 5, 5, 20)]))

    assert (entry.kind, entry.direction, entry.quantity, entry.balance_after) == ("hold", "out", 5, 20)
    assert entry.reservation is True
    assert entry.balance_change == 0
    assert (entry.account_code, entry.counterparty_code, entry.reference) == (ALICE, None, "msg-1")


def test_a_void_and_an_expiry_release_the_reservation_coming_back_in() -> None:
    for kind in ("void", "expiry"):
        [entry] = domain.log_entries_of(posted(kind, [], [hold_change("system", -5, 0, 20)]))

        assert (entry.kind, entry.direction, entry.quantity, entry.balance_after) == (kind, "in", 5, 20)
        assert entry.reservation is True


def test_a_capture_shows_only_its_spending_not_the_release_of_its_hold() -> None:
    capture = posted(
        "capture",
        [
            Posting(account_id=accounts.account_id(TENANT, ALICE), account_code=ALICE, amount=-3, balance_after=17),
            Posting(account_id=accounts.account_id(TENANT, "spent"), account_code="spent", amount=3, balance_after=3),
        ],
        [hold_change(ALICE, -5, 0, 17)],
    )

    [entry] = domain.log_entries_of(capture)

    assert (entry.kind, entry.direction, entry.quantity, entry.balance_after) == ("capture", "out", 3, 17)
    assert entry.reservation is False
    assert entry.balance_change == -3


def test_a_capture_of_nothing_adds_no_row() -> None:
    assert domain.log_entries_of(posted("capture", [], [hold_change(ALICE, -5, 0, 20)])) == []


def test_a_hold_row_has_the_id_a_posting_of_its_transaction_would_have() -> None:
    hold = posted("hold", [], [hold_change(ALICE, 2, 2, 9)])

    [entry] = domain.log_entries_of(hold)

    assert entry.id == domain.entry_id(hold.transaction_id, accounts.account_id(TENANT, ALICE))


def test_a_hold_on_an_internal_account_is_not_logged() -> None:
    assert domain.log_entries_of(posted("hold", [], [hold_change("spent", 2, 2, 9)])) == []
