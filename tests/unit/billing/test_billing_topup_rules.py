from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from common import accounts
from common.contracts.events import HoldChange, Posting, TransactionPosted
from services.billing.topups.domain import AutoTopUp, AutoTopUpInvalid, available_after, check_settings, decide
from tests.unit.billing.test_billing_pricing import DEFAULT

TENANT = uuid.uuid4()
ACCOUNT = accounts.account_id(TENANT, "system")
CONFIG = AutoTopUp(ACCOUNT, TENANT, "system", uuid.uuid4(), threshold=100, quantity=1000, daily_cap=3000,
                   topped_up_through_seq=50)


@pytest.mark.parametrize(
    ("config", "available", "seq", "in_flight", "bought_today", "expected"),
    [
        (CONFIG, 99, 51, False, 0, "top_up"),
        (CONFIG, 100, 51, False, 0, "above_threshold"),
        (CONFIG, 10, 50, False, 0, "stale"),  # describes the balance before the last top-up's credit
        (CONFIG, 10, 51, True, 0, "in_flight"),
        (CONFIG, 10, 51, False, 2000, "top_up"),
        (CONFIG, 10, 51, False, 2001, "daily_cap"),
        (AutoTopUp(**{**CONFIG.__dict__, "status": "suspended"}), 10, 51, False, 0, "not_active"),
        (AutoTopUp(**{**CONFIG.__dict__, "status": "off"}), 10, 51, False, 0, "not_active"),
    ],
)
def test_a_top_up_starts_only_when_every_condition_holds(
    config: AutoTopUp, available: int, seq: int, in_flight: bool, bought_today: int, expected: str
) -> None:
    assert decide(config, available, seq, in_flight, bought_today) == expected


def _posted(kind: str, postings: list[Posting], holds: list[HoldChange] | None = None) -> TransactionPosted:
    return TransactionPosted(transaction_id=uuid.uuid4(), seq=7, tenant_id=TENANT, kind=kind,
                             occurred_at=datetime.now(UTC), postings=postings, holds=holds or [])


def test_available_is_balance_less_held_for_user_facing_accounts_only() -> None:
    user = accounts.user_code(uuid.uuid4())
    user_id = accounts.account_id(TENANT, user)
    posted = _posted("capture", [
        Posting(account_id=ACCOUNT, account_code="system", amount=-5, balance_after=95, held_after=10),
        Posting(account_id=uuid.uuid4(), account_code="spent", amount=5, balance_after=5),
    ], [HoldChange(hold_id=uuid.uuid4(), account_id=user_id, account_code=user, held_delta=3, held_after=3,
                   balance_after=20)])
    assert available_after(posted) == {ACCOUNT: 85, user_id: 17}


@pytest.mark.parametrize("kind", ["refund", "mode_change"])
def test_credits_taken_back_or_swept_do_not_trigger_a_top_up(kind: str) -> None:
    posted = _posted(kind, [Posting(account_id=ACCOUNT, account_code="system", amount=-500, balance_after=0)])
    assert available_after(posted) == {}


def test_settings_are_checked_field_by_field_against_the_price_list() -> None:
    check_settings(100, 1000, 1000, DEFAULT)
    with pytest.raises(AutoTopUpInvalid) as raised:
        check_settings(0, 50, 10, DEFAULT)
    assert {e["field"] for e in raised.value.errors or []} == {"threshold", "quantity", "daily_cap"}
