"""The log's pure rules: postings to log entries, page cursors, filters."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from common import accounts
from common.contracts.events import Posting, TransactionPosted
from common.web import status_of
from services.reporting.entries import domain as entries_domain
from services.reporting.entries.domain import UnreadablePosting
from services.reporting.logs import domain, store
from services.reporting.logs.domain import AccountsMissing, Cursor, FilterOutOfRange, InvalidCursor

TENANT = uuid.uuid4()
ALICE = uuid.uuid4()
BOB = uuid.uuid4()
WHEN = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)


def posting(code: str, amount: int, balance_after: int) -> Posting:
    return Posting(
        account_id=accounts.account_id(TENANT, code),
        account_code=code,
        amount=amount,
        balance_after=balance_after,
    )


def posted(kind: str, *postings: Posting, occurred_at: datetime = WHEN) -> TransactionPosted:
    return TransactionPosted(
        transaction_id=uuid.uuid4(),
        seq=42,
        tenant_id=TENANT,
        kind=kind,
        occurred_at=occurred_at,
        actor_user_id=ALICE,
        reference="INV-0007",
        note="for the open home",
        postings=list(postings),
    )


def test_a_purchase_logs_only_the_credited_account_never_world() -> None:
    purchase = posted("purchase", posting("world", -500, -500), posting("system", 500, 500))

    [entry] = entries_domain.log_entries_of(purchase)

    assert entry.account_code == "system"
    assert entry.account_id == accounts.account_id(TENANT, "system")
    assert (entry.direction, entry.quantity, entry.balance_after) == ("in", 500, 500)
    assert entry.counterparty_code == "world"
    assert (entry.tenant_id, entry.ledger_seq, entry.kind) == (TENANT, 42, "purchase")
    assert (entry.actor_user_id, entry.reference, entry.note) == (ALICE, "INV-0007", "for the open home")
    assert entry.occurred_at == WHEN


def test_a_capture_logs_the_spending_account_going_out_and_skips_spent() -> None:
    capture = posted("capture", posting(accounts.user_code(ALICE), -3, 7), posting("spent", 3, 3))

    [entry] = entries_domain.log_entries_of(capture)

    assert entry.account_code == accounts.user_code(ALICE)
    assert (entry.direction, entry.quantity, entry.balance_after) == ("out", 3, 7)
    assert entry.counterparty_code == "spent"


def test_a_transfer_logs_both_sides_each_naming_the_other() -> None:
    alice, bob = accounts.user_code(ALICE), accounts.user_code(BOB)
    transfer = posted("transfer", posting(alice, -20, 80), posting(bob, 20, 25))

    out, into = entries_domain.log_entries_of(transfer)

    assert (out.account_code, out.direction, out.quantity, out.balance_after) == (alice, "out", 20, 80)
    assert out.counterparty_code == bob
    assert (into.account_code, into.direction, into.quantity, into.balance_after) == (bob, "in", 20, 25)
    assert into.counterparty_code == alice


def test_a_sweep_of_many_accounts_names_no_counterparty() -> None:
    sweep = posted(
        "mode_change",
        posting(accounts.user_code(ALICE), -5, 0),
        posting(accounts.user_code(BOB), -7, 0),
        posting("system", 12, 112),
    )

    entries = entries_domain.log_entries_of(sweep)

    assert [e.direction for e in entries] == ["out", "out", "in"]
    assert [e.counterparty_code for e in entries] == [None, None, None]


def test_a_transaction_touching_only_internal_accounts_logs_nothing() -> None:
    assert entries_domain.log_entries_of(posted("refund", posting("spent", -1, 0), posting("world", 1, 0))) == []


def test_entry_ids_depend_only_on_transaction_and_account() -> None:
    purchase = posted("purchase", posting("world", -5, -5), posting("system", 5, 5))
    again = purchase.model_copy(update={"seq": 43, "note": "re-announced"})

    [first] = entries_domain.log_entries_of(purchase)
    [second] = entries_domain.log_entries_of(again)

    assert first.id == second.id == entries_domain.entry_id(purchase.transaction_id, first.account_id)
    other_transaction = posted("purchase", posting("world", -5, -5), posting("system", 5, 5))
    assert entries_domain.log_entries_of(other_transaction)[0].id != first.id


def test_a_time_in_another_zone_is_stored_as_the_same_instant_in_utc() -> None:
    sydney = timezone(timedelta(hours=11))
    purchase = posted(
        "purchase", posting("world", -1, -1), posting("system", 1, 1), occurred_at=WHEN.astimezone(sydney)
    )

    [entry] = entries_domain.log_entries_of(purchase)

    assert entry.occurred_at == WHEN
    assert entry.occurred_at.utcoffset() == timedelta(0)


def test_an_unknown_account_code_is_unreadable() -> None:
    with pytest.raises(UnreadablePosting):
        entries_domain.log_entries_of(posted("transfer", posting("bank", -1, 0), posting("system", 1, 1)))


def test_a_cursor_survives_the_round_trip_and_is_url_safe() -> None:
    cursor = Cursor(WHEN, uuid.UUID("ffffffff-ffff-ffff-ffff-fffffffffffe"))

    text = domain.encode_cursor(cursor)

    assert domain.decode_cursor(text) == cursor
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not-a-cursor",
        "!!!!",
        base64.urlsafe_b64encode(b"2026-11-20T09:30:15+00:00").decode(),  # no id
        base64.urlsafe_b64encode(b"yesterday|e42cddf1-edfd-4f09-a704-1bffb23be7d0").decode(),
        base64.urlsafe_b64encode(b"2026-11-20T09:30:15|da7de1f6-2e24-47d4-89ff-602d7f236a18").decode(),  # naive
        base64.urlsafe_b64encode(b"2026-11-20T09:30:15+00:00|42").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        "A" * 500,
    ],
)
def test_a_cursor_this_service_did_not_hand_out_is_rejected(garbage: str) -> None:
    with pytest.raises(InvalidCursor) as caught:
        domain.decode_cursor(garbage)
    assert status_of(caught.value) == 400


def filter_of(**overrides: object) -> domain.LogFilter:
    arguments: dict[str, object] = {
        "tenant_id": TENANT,
        "scope": "accounts",
        "account_ids": [accounts.account_id(TENANT, "system")],
        "days": 30,
        "kind": None,
        "direction": None,
        "now": WHEN,
    }
    cursor, limit = overrides.pop("cursor", None), overrides.pop("limit", 100)
    arguments.update(overrides)
    selected = domain.selection(**arguments)  # type: ignore[arg-type]
    return domain.log_filter(selected, cursor=cursor, limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "value"), [("days", 0), ("days", 31), ("limit", 0), ("limit", 1001)])
def test_a_filter_outside_its_range_breaks_a_rule(name: str, value: int) -> None:
    with pytest.raises(FilterOutOfRange) as caught:
        filter_of(**{name: value})
    assert status_of(caught.value) == 422
    assert caught.value.errors == [{"field": name, "message": caught.value.detail}]


def test_a_filter_reaches_back_the_given_days_and_reads_each_account_once() -> None:
    system = accounts.account_id(TENANT, "system")
    alice = accounts.account_id(TENANT, accounts.user_code(ALICE))

    wanted = filter_of(days=7, account_ids=[system, alice, system])

    assert wanted.selection.since == WHEN - timedelta(days=7)
    assert wanted.selection.account_ids == (system, alice)
    assert wanted.before == domain.FIRST_PAGE


def test_the_accounts_scope_needs_named_accounts() -> None:
    with pytest.raises(AccountsMissing) as caught:
        filter_of(account_ids=[])
    assert status_of(caught.value) == 400
    assert caught.value.errors is not None and caught.value.errors[0]["field"] == "account"


@pytest.mark.parametrize("scope", ["tenant", "users"])
def test_a_whole_tenant_scope_refuses_named_accounts_instead_of_ignoring_them(scope: str) -> None:
    with pytest.raises(AccountsMissing):
        filter_of(scope=scope)


def test_only_the_users_scope_leaves_system_credits_out() -> None:
    assert filter_of(scope="tenant", account_ids=[]).selection.includes_system
    assert not filter_of(scope="users", account_ids=[]).selection.includes_system
    assert filter_of().selection.includes_system


def test_a_page_with_more_rows_than_the_limit_points_after_its_last_entry() -> None:
    rows = entries_domain.log_entries_of(
        posted("transfer", posting(accounts.user_code(ALICE), -1, 0), posting("system", 1, 1))
    )

    page = domain.page_of(rows, limit=1, stale=False)

    assert page.entries == rows[:1]
    assert page.next_cursor is not None
    assert domain.decode_cursor(page.next_cursor) == Cursor(rows[0].occurred_at, rows[0].id)


def test_the_last_page_has_no_cursor() -> None:
    rows = entries_domain.log_entries_of(posted("purchase", posting("world", -1, -1), posting("system", 1, 1)))

    assert domain.page_of(rows, limit=1, stale=True).next_cursor is None
    assert domain.page_of([], limit=1, stale=True).next_cursor is None


def test_the_service_connects_with_its_planner_settings_beside_those_of_the_url() -> None:
    assert store.planned_dsn("postgresql://h:5432/reporting?sslmode=disable") == (
        "postgresql://h:5432/reporting?sslmode=disable&enable_bitmapscan=off"
    )
    assert store.planned_dsn("postgresql://h/reporting") == "postgresql://h/reporting?enable_bitmapscan=off"
