"""Refunding a purchase: refused at once when the account plainly lacks the credits, else asked of
billing and waited for, a few seconds at most. Driven with fake services."""

from __future__ import annotations

import time
import uuid

import pytest

from common.problems import Forbidden
from gateway.clients.base import UpstreamProblem
from gateway.usecases import refunds
from gateway.usecases.refunds import NotEnoughCreditsToRefund
from tests.unit.gateway.fakes import FakeBilling, FakeLedger, caller, paid_purchase, shared_tenant


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refunds, "POLL_SECONDS", 0.001)


async def test_the_refund_is_answered_once_billing_settles_it():
    tenant = shared_tenant()
    purchase = paid_purchase(tenant)
    billing = FakeBilling(purchase, refund_statuses=("requested", "debited", "refunded"))
    waited = await refunds.refund(FakeLedger(), billing, caller(tenant, "master"), purchase.id, 100, "key-1")

    assert waited.refund.status == "refunded" and not waited.under_way
    assert billing.polls == 3
    assert billing.refunds_asked == [(purchase.id, 100, "key-1")]


async def test_a_refund_still_under_way_when_the_wait_runs_out_is_answered_as_it_stands():
    tenant = shared_tenant()
    purchase = paid_purchase(tenant)
    billing = FakeBilling(purchase, refund_statuses=("debited",))
    started = time.monotonic()
    waited = await refunds.refund(FakeLedger(), billing, caller(tenant, "master"), purchase.id, 100, None,
                                  wait_seconds=0.05)

    assert waited.refund.status == "debited" and waited.under_way
    assert 0.05 <= time.monotonic() - started < 1
    assert billing.polls >= 2


async def test_a_refund_the_ledger_rejected_is_refused_with_billings_reason():
    tenant = shared_tenant()
    purchase = paid_purchase(tenant)
    billing = FakeBilling(purchase, refund_statuses=("rejected",), failure_reason="The credits were spent.")
    with pytest.raises(NotEnoughCreditsToRefund) as refused:
        await refunds.refund(FakeLedger(), billing, caller(tenant, "master"), purchase.id, 100, None)
    assert refused.value.detail == "The credits were spent." and refused.value.slug == "insufficient-credits"


async def test_more_than_the_account_has_available_is_refused_before_billing_is_asked():
    tenant = shared_tenant()
    purchase = paid_purchase(tenant)
    billing = FakeBilling(purchase)
    with pytest.raises(NotEnoughCreditsToRefund) as refused:
        await refunds.refund(FakeLedger(available=99), billing, caller(tenant, "master"), purchase.id, 100, None)
    assert refused.value.errors == [{"field": "quantity", "message": "At most 99 credits are available."}]
    assert billing.refunds_asked == []


async def test_only_a_master_refunds_and_another_tenants_purchase_is_not_found():
    tenant = shared_tenant()
    purchase = paid_purchase(tenant)
    billing = FakeBilling(purchase)
    with pytest.raises(Forbidden):
        await refunds.refund(FakeLedger(), billing, caller(tenant, "user", manage_credits=True), purchase.id, 1, None)
    with pytest.raises(UpstreamProblem) as missing:
        await refunds.refund(FakeLedger(), billing, caller(tenant, "master"), uuid.uuid4(), 1, None)
    assert missing.value.status == 404
    assert billing.refunds_asked == []
