"""Undelivered recipients' credits come back (`delivery_refund`), against the real ledger and Postgres:
once per recipient however often announced, never more than was captured, not before the capture, into
the lots the capture spent (the last spent first), and not at all where the tenant's policy says no."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.bus import PoisonEvent
from common.contracts.events import MessageSettled, MessageUndelivered, TenantChanged
from common.contracts.ledger import GrantOrder
from common.identity import Identity
from services.ledger.directory import usecases as directory
from services.ledger.lots import usecases as lots
from services.ledger.spending import usecases as spending
from services.ledger.spending.domain import NotSettledYet
from tests.integration.ledger.conftest import LedgerHarness


async def _sent(ledger: LedgerHarness, tenant: uuid.UUID, credits: int) -> dict[str, Any]:
    status, hold = await ledger.place_hold(tenant, "system", credits)
    assert status == 201, hold
    return hold


async def _capture(ledger: LedgerHarness, tenant: uuid.UUID, hold: dict[str, Any], captured: int) -> None:
    settled = MessageSettled(message_id=uuid.uuid4(), tenant_id=tenant, hold_id=hold["id"], account_code="system",
                             segments=2, recipients=3, accepted_recipients=3, captured_credits=captured)
    assert await spending.settle_message(ledger.pool, uuid.uuid4(), settled)


def _undelivered(tenant: uuid.UUID, hold: dict[str, Any], credits: int, part: uuid.UUID | None = None,
                 status: str = "undeliverable") -> MessageUndelivered:
    return MessageUndelivered(message_id=uuid.uuid4(), tenant_id=tenant, hold_id=hold["id"],
                              part_id=part or uuid.uuid4(), account_code="system", recipient="+61*******99",
                              status=status, credits=credits)  # type: ignore[arg-type]


async def _balance(ledger: LedgerHarness, tenant: uuid.UUID) -> int:
    return int((await ledger.accounts(tenant, "system"))["system"]["balance"])


async def test_an_undelivered_recipients_credits_come_back_once_and_never_more_than_was_captured(
    ledger: LedgerHarness,
) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 100)
    hold = await _sent(ledger, tenant, 6)
    await _capture(ledger, tenant, hold, 6)
    assert await _balance(ledger, tenant) == 94

    first = _undelivered(tenant, hold, 2)
    assert await spending.give_back_undelivered(ledger.pool, uuid.uuid4(), first)
    assert not await spending.give_back_undelivered(ledger.pool, uuid.uuid4(), first)  # announced again: once
    assert await _balance(ledger, tenant) == 96
    [refund] = [e["data"] for e in await ledger.outbox("ledger.transaction.posted", tenant)
                if e["data"]["kind"] == "delivery_refund"]
    assert sorted((p["account_code"], p["amount"]) for p in refund["postings"]) == [("spent", -2), ("system", 2)]
    assert "Not delivered to +61*******99" in refund["note"] and refund["reference"] == hold["reference"]

    assert await spending.give_back_undelivered(ledger.pool, uuid.uuid4(), _undelivered(tenant, hold, 4))
    with pytest.raises(PoisonEvent):  # 6 captured, 6 given back: nothing more can come back
        await spending.give_back_undelivered(ledger.pool, uuid.uuid4(), _undelivered(tenant, hold, 1))
    assert await _balance(ledger, tenant) == 100


async def test_a_give_back_that_overtakes_its_capture_waits_for_it(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 50)
    hold = await _sent(ledger, tenant, 2)
    event_id, early = uuid.uuid4(), _undelivered(tenant, hold, 2)
    with pytest.raises(NotSettledYet):
        await spending.give_back_undelivered(ledger.pool, event_id, early)
    await _capture(ledger, tenant, hold, 2)
    assert await spending.give_back_undelivered(ledger.pool, event_id, early)  # the broker's redelivery
    assert await _balance(ledger, tenant) == 50


async def test_a_voided_message_gives_nothing_back_and_a_tenant_that_keeps_undelivered_charged_neither(
    ledger: LedgerHarness,
) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 50)
    voided = await _sent(ledger, tenant, 2)
    await _capture(ledger, tenant, voided, 0)  # nothing accepted: the hold is voided
    assert not await spending.give_back_undelivered(ledger.pool, uuid.uuid4(), _undelivered(tenant, voided, 2))

    hold = await _sent(ledger, tenant, 2)
    await _capture(ledger, tenant, hold, 2)
    await ledger.pool.execute("UPDATE tenants SET refund_undelivered = false WHERE id = $1", tenant)
    assert not await spending.give_back_undelivered(ledger.pool, uuid.uuid4(), _undelivered(tenant, hold, 2))
    assert await _balance(ledger, tenant) == 48


async def test_credits_come_back_into_the_lots_the_capture_spent_the_last_spent_first(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 100)
    order = GrantOrder(account_code="system", quantity=3, reason="Promo",
                       expires_at=datetime.now(UTC) + timedelta(days=30))
    await lots.grant(ledger.pool, Identity(role="operator"), tenant, order, "promo", 1_000_000)
    hold = await _sent(ledger, tenant, 5)  # 3 promotional, then 2 paid
    await _capture(ledger, tenant, hold, 5)

    assert await spending.give_back_undelivered(ledger.pool, uuid.uuid4(), _undelivered(tenant, hold, 3))
    held = {lot["paid"]: lot["remaining"] for lot in await _lots(ledger, tenant)}
    assert held == {True: 100, False: 1}  # the 2 paid came back first, then 1 promotional


async def _lots(ledger: LedgerHarness, tenant: uuid.UUID) -> list[dict[str, Any]]:
    response = await ledger.client.get("/accounts/lots", params={"code": "system"}, headers=ledger.token(tenant))
    assert response.status == 200
    return list(await response.json())


async def test_the_tenants_policy_arrives_with_its_directory_facts(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    change = TenantChanged(tenant_id=tenant, name="T", credit_mode="individual", timezone="UTC",
                           low_balance_threshold=0, version=next(ledger.versions), refund_undelivered=False)
    await directory.tenant_changed(ledger.pool, uuid.uuid4(), change)
    assert await ledger.pool.fetchval("SELECT refund_undelivered FROM tenants WHERE id = $1", tenant) is False
    older = change.model_copy(update={"refund_undelivered": True, "version": change.version - 1})
    await directory.tenant_changed(ledger.pool, uuid.uuid4(), older)  # late and older: changes nothing
    assert await ledger.pool.fetchval("SELECT refund_undelivered FROM tenants WHERE id = $1", tenant) is False


async def test_credits_a_user_can_no_longer_spend_come_back_to_system_credits(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    ben = await ledger.add_user(tenant)
    code = f"user:{ben.user_id}"
    await ledger.fund(tenant, code, 50)
    status, hold = await ledger.place_hold(tenant, code, 4)
    assert status == 201, hold
    await _capture_for(ledger, tenant, hold, code, 4)
    await ledger.switch_mode(tenant, "shared", "individual")  # the switch swept Ben's credits; he sends from System now

    assert await spending.give_back_undelivered(ledger.pool, uuid.uuid4(), _undelivered(tenant, hold, 2))
    balances = await ledger.balances(tenant, code, "system")
    assert balances == {code: 0, "system": 48}  # 46 swept, 2 given back where they can be spent


async def _capture_for(
    ledger: LedgerHarness, tenant: uuid.UUID, hold: dict[str, Any], code: str, captured: int
) -> None:
    settled = MessageSettled(message_id=uuid.uuid4(), tenant_id=tenant, hold_id=hold["id"], account_code=code,
                             segments=1, recipients=captured, accepted_recipients=captured, captured_credits=captured)
    assert await spending.settle_message(ledger.pool, uuid.uuid4(), settled)
