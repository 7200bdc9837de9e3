"""The ledger's steps in a refund's saga: the credits come back first, only from what is available,
and return if the payment provider refuses; each exactly once, each answered to billing."""

from __future__ import annotations

import uuid
from typing import Any

from common.accounts import account_id
from common.contracts import events
from common.contracts.events import Event, RefundFailed, RefundRequested
from services.ledger.refunds import usecases as refunds
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import eventually


def requested(tenant: uuid.UUID, code: str, quantity: int, purchase: uuid.UUID,
              refund_id: uuid.UUID | None = None) -> Event:
    payload = RefundRequested(refund_id=refund_id or uuid.uuid4(), purchase_id=purchase, tenant_id=tenant,
                              account_id=account_id(tenant, code), account_code=code, quantity=quantity,
                              requested_by=uuid.uuid4(), invoice_number="INV-000007")
    return Event.new(type=events.REFUND_REQUESTED, source="billing", subject=str(tenant), data=payload)


def failed(request: Event) -> Event:
    asked = request.payload(RefundRequested)
    payload = RefundFailed(refund_id=asked.refund_id, purchase_id=asked.purchase_id, tenant_id=asked.tenant_id,
                           account_id=asked.account_id, account_code=asked.account_code, quantity=asked.quantity,
                           reason="refund_failed", requested_by=asked.requested_by)
    return Event.new(type=events.REFUND_FAILED, source="billing", subject=str(asked.tenant_id), data=payload)


async def test_a_refund_takes_the_credits_back_to_world_once_and_tells_billing(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    purchase = await ledger.fund(tenant, "system", 500)
    request = requested(tenant, "system", 200, purchase)

    await ledger.publish(request)
    await ledger.publish(request)  # redelivered

    async def debited() -> bool:
        return (await ledger.balances(tenant, "system"))["system"] == 300

    await eventually(debited)
    [answer] = await _answers(ledger, events.REFUND_DEBITED, tenant)
    assert answer["data"]["quantity"] == 200 and answer["data"]["refund_id"] == str(request.data["refund_id"])
    [posted] = [e for e in await ledger.outbox(events.TRANSACTION_POSTED, tenant) if e["data"]["kind"] == "refund"]
    assert posted["data"]["reference"] == f"refund:{request.data['refund_id']}"
    assert sorted((p["account_code"], p["amount"]) for p in posted["data"]["postings"]) == [
        ("system", -200), ("world", 200)]


async def _answers(ledger: LedgerHarness, event_type: str, tenant: uuid.UUID) -> list[dict[str, Any]]:
    async def answered() -> bool:
        return bool(await ledger.outbox(event_type, tenant))

    await eventually(answered)
    return await ledger.outbox(event_type, tenant)


async def test_a_refund_of_more_than_is_available_is_rejected_and_moves_nothing(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    purchase = await ledger.fund(tenant, "system", 500)
    status, _ = await ledger.place_hold(tenant, "system", 450)  # only 50 available
    assert status == 201

    applied = await refunds.debit_refund(ledger.pool, uuid.uuid4(), requested(tenant, "system", 100, purchase).payload(
        RefundRequested))

    assert applied is False
    [answer] = await ledger.outbox(events.REFUND_REJECTED, tenant)
    assert (answer["data"]["available"], answer["data"]["quantity"]) == (50, 100)
    accounts = await ledger.accounts(tenant, "system")
    assert (accounts["system"]["balance"], accounts["system"]["available"]) == (500, 50)
    assert [e for e in await ledger.outbox(events.TRANSACTION_POSTED, tenant) if e["data"]["kind"] == "refund"] == []


async def test_a_refund_the_provider_refused_gives_the_credits_back_once(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    code = f"user:{(await ledger.add_user(tenant)).user_id}"
    purchase = await ledger.fund(tenant, code, 300)
    request = requested(tenant, code, 300, purchase)
    assert await refunds.debit_refund(ledger.pool, request.id, request.payload(RefundRequested))
    assert (await ledger.balances(tenant, code))[code] == 0

    compensation = failed(request)
    assert await refunds.restore_refund(ledger.pool, compensation.id, compensation.payload(RefundFailed))
    assert not await refunds.restore_refund(ledger.pool, compensation.id, compensation.payload(RefundFailed))
    again = failed(request)  # even another event for the same refund restores nothing more
    assert not await refunds.restore_refund(ledger.pool, again.id, again.payload(RefundFailed))

    assert (await ledger.balances(tenant, code))[code] == 300
    [restored] = await ledger.outbox(events.REFUND_RESTORED, tenant)
    assert restored["data"]["quantity"] == 300
    kinds = [(e["data"]["kind"], e["data"]["note"]) for e in await ledger.outbox(events.TRANSACTION_POSTED, tenant)]
    assert [k for k, _ in kinds].count("refund") == 2  # the log shows the debit and its compensation
    assert any("credits restored" in (note or "") for _, note in kinds)


async def test_a_failure_for_a_refund_never_debited_restores_nothing(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    purchase = await ledger.fund(tenant, "system", 100)
    compensation = failed(requested(tenant, "system", 100, purchase))
    assert not await refunds.restore_refund(ledger.pool, compensation.id, compensation.payload(RefundFailed))
    assert (await ledger.balances(tenant, "system"))["system"] == 100
