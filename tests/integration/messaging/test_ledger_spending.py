"""The ledger's side of sending: who may hold credits for a message, and the settlement messaging
publishes, captured exactly once."""

from __future__ import annotations

import uuid

import pytest

from common.accounts import account_id, user_code
from common.bus import PoisonEvent
from common.contracts import events
from common.contracts.events import Event, MessageSettled
from services.ledger.spending.usecases import settle_message
from tests.integration.ledger.conftest import LedgerHarness, ledger  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("ledger")


def settled(tenant: uuid.UUID, hold: dict[str, object], captured: int, code: str = "system") -> Event:
    payload = MessageSettled(message_id=uuid.uuid4(), tenant_id=tenant, hold_id=uuid.UUID(str(hold["id"])),
                             account_code=code, segments=2, recipients=3, accepted_recipients=captured // 2,
                             captured_credits=captured)
    return Event.new(type=events.MESSAGE_SETTLED, source="messaging", subject=str(tenant), data=payload)


async def _sender_hold(ledger: LedgerHarness, tenant: uuid.UUID, user, code: str, quantity: int,  # noqa: F811
                       key: str | None = None) -> tuple[int, dict[str, object]]:
    body = {"account_id": str(account_id(tenant, code)), "quantity": quantity, "reference": "message:test"}
    return await ledger.post("/holds", body, ledger.as_user(user), key)


async def test_a_sender_holds_credits_on_their_own_account_only(ledger: LedgerHarness):  # noqa: F811
    tenant = await ledger.add_tenant("individual")
    ben, cleo = await ledger.add_user(tenant), await ledger.add_user(tenant)
    await ledger.fund(tenant, user_code(ben.user_id), 10)
    await ledger.fund(tenant, user_code(cleo.user_id), 10)
    await ledger.fund(tenant, "system", 10)
    assert (await _sender_hold(ledger, tenant, ben, user_code(ben.user_id), 6))[0] == 201
    assert (await _sender_hold(ledger, tenant, ben, user_code(cleo.user_id), 1))[0] == 403
    assert (await _sender_hold(ledger, tenant, ben, "system", 1))[0] == 403
    status, problem = await _sender_hold(ledger, tenant, ben, user_code(ben.user_id), 5)
    assert status == 422 and str(problem["type"]).endswith("insufficient-credits")


async def test_a_person_who_may_not_send_sms_holds_nothing(ledger: LedgerHarness):  # noqa: F811
    tenant = await ledger.add_tenant("individual")
    muted = await ledger.add_user(tenant, send_sms=False)
    await ledger.fund(tenant, user_code(muted.user_id), 10)
    status, _ = await _sender_hold(ledger, tenant, muted, user_code(muted.user_id), 1)
    assert status == 403


async def test_in_shared_mode_a_sender_holds_system_credits(ledger: LedgerHarness):  # noqa: F811
    tenant = await ledger.add_tenant("shared")
    gail = await ledger.add_user(tenant, "master")
    status, problem = await _sender_hold(ledger, tenant, gail, "system", 3)
    assert status == 422, problem  # System Credits never funded: nothing to spend
    await ledger.fund(tenant, "system", 10)
    assert (await _sender_hold(ledger, tenant, gail, "system", 3))[0] == 201
    assert (await _sender_hold(ledger, tenant, gail, user_code(gail.user_id), 1))[0] in (403, 404)


async def test_a_settlement_captures_what_was_accepted_once_and_releases_the_rest(ledger: LedgerHarness):  # noqa: F811
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 100)
    _, hold = await ledger.place_hold(tenant, "system", 6, reference="message:abc")
    event = settled(tenant, hold, 4)
    assert await settle_message(ledger.pool, event.id, event.payload(MessageSettled))
    assert not await settle_message(ledger.pool, event.id, event.payload(MessageSettled))  # redelivered
    other = settled(tenant, hold, 4)  # another event, same hold: still once
    assert not await settle_message(ledger.pool, other.id, other.payload(MessageSettled))
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["held"], account["available"]) == (96, 0, 96)
    rows = await ledger.pool.fetch("SELECT kind, reference FROM transactions WHERE tenant_id = $1 AND kind = 'capture'",
                                   tenant)
    assert [(r["kind"], r["reference"]) for r in rows] == [("capture", "message:abc")]


async def test_a_settlement_of_nothing_accepted_voids_the_hold(ledger: LedgerHarness):  # noqa: F811
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 10)
    _, hold = await ledger.place_hold(tenant, "system", 6)
    event = settled(tenant, hold, 0)
    assert await settle_message(ledger.pool, event.id, event.payload(MessageSettled))
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["held"]) == (10, 0)
    status = await ledger.pool.fetchval("SELECT status FROM holds WHERE id = $1", uuid.UUID(str(hold["id"])))
    assert status == "voided"


async def test_a_settlement_the_hold_cannot_pay_for_is_parked_not_guessed(ledger: LedgerHarness):  # noqa: F811
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 10)
    _, hold = await ledger.place_hold(tenant, "system", 2)
    event = settled(tenant, hold, 4)  # more than was held
    with pytest.raises(PoisonEvent):
        await settle_message(ledger.pool, event.id, event.payload(MessageSettled))
    assert (await ledger.accounts(tenant, "system"))["system"]["held"] == 2
    assert await ledger.pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event.id) == 0
