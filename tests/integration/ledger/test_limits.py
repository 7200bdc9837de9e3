"""Spending limits over the ledger's API: a person's monthly credit limit, enforced on the locked rows when
a hold is placed for their message, given back by a void, reset when the month turns."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from common.accounts import SYSTEM, account_id, user_code
from common.contracts.events import TenantChanged, UserChanged
from services.ledger.directory import usecases as directory
from services.ledger.lots.clock import CLOCK
from tests.integration.ledger.conftest import LedgerHarness


@pytest.fixture(autouse=True)
def month_clock() -> Iterator[None]:
    yield
    CLOCK.offset = timedelta(0)


async def _tenant(ledger: LedgerHarness, mode: str = "individual") -> uuid.UUID:
    tenant = uuid.uuid4()
    await directory.tenant_changed(ledger.pool, uuid.uuid4(), TenantChanged(
        tenant_id=tenant, name="T", credit_mode=mode, timezone="Australia/Sydney",  # type: ignore[arg-type]
        low_balance_threshold=0, version=next(ledger.versions)))
    return tenant


async def _person(ledger: LedgerHarness, tenant: uuid.UUID, name: str = "Ben", **facts: Any) -> UserChanged:
    change = UserChanged(tenant_id=tenant, user_id=uuid.uuid4(), name=name, role=facts.pop("role", "user"),
                         team=None, active=True, send_sms=True, manage_credits=facts.pop("manage_credits", False),
                         version=next(ledger.versions))
    await directory.user_changed(ledger.pool, uuid.uuid4(), change)
    return change


async def _set(ledger: LedgerHarness, headers: dict[str, str], user: uuid.UUID,
               limit: int | None) -> tuple[int, dict[str, Any]]:
    response = await ledger.client.put(f"/users/{user}/limits", json={"monthly_credit_limit": limit},
                                       headers=headers)
    return response.status, await response.json()


async def _limits(ledger: LedgerHarness, headers: dict[str, str], user: uuid.UUID) -> tuple[int, dict[str, Any]]:
    response = await ledger.client.get(f"/users/{user}/limits", headers=headers)
    return response.status, await response.json()


async def _send(ledger: LedgerHarness, sender: UserChanged, code: str, quantity: int) -> tuple[int, dict[str, Any]]:
    """A hold for the sender's message, placed with their identity as the gateway places it."""
    body = {"account_id": str(account_id(sender.tenant_id, code)), "quantity": quantity}
    return await ledger.post("/holds", body, ledger.as_user(sender))


async def _limited_sender(ledger: LedgerHarness, limit: int, mode: str = "individual",
                          funds: int = 1000) -> tuple[UserChanged, str]:
    tenant = await _tenant(ledger, mode)
    ben = await _person(ledger, tenant)
    code = SYSTEM if mode == "shared" else user_code(ben.user_id)
    await ledger.fund(tenant, code, funds)
    status, view = await _set(ledger, ledger.token(tenant, "service"), ben.user_id, limit)
    assert status == 200, view
    return ben, code


async def test_a_hold_beyond_what_the_limit_leaves_is_refused_saying_what_is_left(ledger: LedgerHarness) -> None:
    ben, code = await _limited_sender(ledger, 500)
    assert (await _send(ledger, ben, code, 460))[0] == 201
    status, problem = await _send(ledger, ben, code, 60)
    assert status == 422, problem
    assert problem["type"] == "/problems/monthly-limit-reached"
    assert problem["detail"] == "Ben has 40 of their 500 credits left this month; this message needs 60."
    assert (await ledger.accounts(ben.tenant_id, code))[code]["held"] == 460  # nothing reserved
    assert (await _send(ledger, ben, code, 40))[0] == 201  # exactly what is left fits
    _, view = await _limits(ledger, ledger.as_user(ben), ben.user_id)
    assert (view["monthly_credit_limit"], view["used_this_month"], view["remaining"]) == (500, 500, 0)


async def test_two_holds_at_once_cannot_both_pass_the_limit(ledger: LedgerHarness) -> None:
    ben, code = await _limited_sender(ledger, 100)
    results = await asyncio.gather(*(_send(ledger, ben, code, 30) for _ in range(8)))
    placed = [r for status, r in results if status == 201]
    refused = [r for status, r in results if status == 422]
    assert len(placed) == 3 and len(refused) == 5, results
    assert (await ledger.accounts(ben.tenant_id, code))[code]["held"] == 90


async def test_in_shared_mode_the_system_credits_lock_serialises_a_persons_holds(ledger: LedgerHarness) -> None:
    ben, code = await _limited_sender(ledger, 100, mode="shared")
    ann = await _person(ledger, ben.tenant_id, name="Ann")  # no limit: spends from the same pool
    results = await asyncio.gather(*(_send(ledger, ben, code, 30) for _ in range(6)),
                                   *(_send(ledger, ann, code, 50) for _ in range(4)))
    assert [s for s, _ in results[:6]].count(201) == 3
    assert [s for s, _ in results[6:]] == [201] * 4
    _, view = await _limits(ledger, ledger.as_user(ben), ben.user_id)
    assert (view["used_this_month"], view["remaining"]) == (90, 10)


async def test_a_voided_hold_gives_its_credits_back_to_the_month_a_captured_one_does_not(
    ledger: LedgerHarness,
) -> None:
    ben, code = await _limited_sender(ledger, 100)
    service = ledger.token(None, "service")
    _, voided = await _send(ledger, ben, code, 60)
    _, partly = await _send(ledger, ben, code, 40)
    assert (await _send(ledger, ben, code, 1))[0] == 422
    assert (await ledger.post(f"/holds/{voided['id']}/void", None, service))[0] == 200
    assert (await ledger.post(f"/holds/{partly['id']}/capture", {"quantity": 25}, service))[0] == 200
    _, view = await _limits(ledger, ledger.as_user(ben), ben.user_id)
    assert (view["used_this_month"], view["remaining"]) == (25, 75)
    assert (await _send(ledger, ben, code, 75))[0] == 201
    assert (await _send(ledger, ben, code, 1))[0] == 422


async def test_the_limit_resets_when_the_month_turns_in_the_tenants_zone(ledger: LedgerHarness) -> None:
    ben, code = await _limited_sender(ledger, 100)
    assert (await _send(ledger, ben, code, 100))[0] == 201
    assert (await _send(ledger, ben, code, 1))[0] == 422
    _, before = await _limits(ledger, ledger.as_user(ben), ben.user_id)
    CLOCK.offset = timedelta(days=32)  # the month has turned: last month's holds count no more
    _, after = await _limits(ledger, ledger.as_user(ben), ben.user_id)
    assert (after["used_this_month"], after["remaining"]) == (0, 100)
    assert after["resets_at"] > before["resets_at"]
    assert (await _send(ledger, ben, code, 100))[0] == 201
    assert (await _send(ledger, ben, code, 1))[0] == 422


async def test_holds_placed_by_an_internal_system_count_against_no_one(ledger: LedgerHarness) -> None:
    ben, code = await _limited_sender(ledger, 10)
    assert (await ledger.place_hold(ben.tenant_id, code, 500))[0] == 201  # a service token
    _, view = await _limits(ledger, ledger.as_user(ben), ben.user_id)
    assert view["used_this_month"] == 0
    assert (await _send(ledger, ben, code, 10))[0] == 201


async def test_null_removes_the_limit_and_out_of_range_is_refused(ledger: LedgerHarness) -> None:
    ben, code = await _limited_sender(ledger, 10)
    master = await _person(ledger, ben.tenant_id, name="Mia", role="master")
    for bad in (0, 10_000_001):
        status, problem = await _set(ledger, ledger.as_user(master), ben.user_id, bad)
        assert (status, problem["type"]) == (422, "/problems/limit-invalid")
    status, view = await _set(ledger, ledger.as_user(master), ben.user_id, None)
    assert (status, view["monthly_credit_limit"], view["remaining"]) == (200, None, None)
    assert (await _send(ledger, ben, code, 500))[0] == 201


async def test_who_may_read_and_set_a_limit(ledger: LedgerHarness) -> None:
    ben, _ = await _limited_sender(ledger, 10)
    manager = await _person(ledger, ben.tenant_id, name="Max", manage_credits=True)
    plain = await _person(ledger, ben.tenant_id, name="Pat")
    assert (await _set(ledger, ledger.as_user(manager), ben.user_id, 20))[0] == 200
    assert (await _set(ledger, ledger.as_user(plain), ben.user_id, 30))[0] == 403
    assert (await _set(ledger, ledger.as_user(ben), ben.user_id, 30))[0] == 403
    assert (await _limits(ledger, ledger.as_user(ben), ben.user_id))[1]["monthly_credit_limit"] == 20
    assert (await _limits(ledger, ledger.as_user(plain), ben.user_id))[0] == 403
    other = await _tenant(ledger)
    assert (await _limits(ledger, ledger.token(other, "service"), ben.user_id))[0] == 404
    assert (await _set(ledger, ledger.token(other, "service"), ben.user_id, 5))[0] == 404
