"""Sending a message: credits are held first, then the message is handed to messaging; a hand-over that
certainly never reached messaging releases the hold at once, anything else keeps it for messaging to
settle. Driven with fake services."""

from __future__ import annotations

import uuid

import pytest

from common.accounts import SYSTEM
from common.problems import DependencyUnavailable
from gateway.clients.base import ServiceNotReached, UpstreamProblem
from gateway.directory.domain import AccountNotFound
from gateway.schemas.messages import MessageAccepted, SendMessageRequest
from gateway.usecases import messages
from gateway.usecases.messages import AttemptCancelled, InvalidMessage, MessageLimits, SendingForbidden
from gateway.web.auth import Caller
from tests.unit.gateway.fakes import NO_DATABASE, FakeLedger, FakeMessaging, caller, shared_tenant, system_account

LIMITS = MessageLimits(max_recipients=100, max_segments=10, hold_seconds=900)
HELLO = SendMessageRequest(to=["+61 412 345 678", "+61412345678", "+61412345679"], body="Hello")


async def _send(ledger: FakeLedger, messaging: FakeMessaging, sender: Caller | None = None) -> MessageAccepted:
    sender = sender or caller(shared_tenant())
    return await messages.send(NO_DATABASE, ledger, messaging, sender, HELLO, "k1", LIMITS)


async def test_a_handed_over_message_keeps_its_hold_for_messaging_to_settle():
    ledger, messaging = FakeLedger(), FakeMessaging()
    accepted = await _send(ledger, messaging)

    assert (accepted.status, accepted.recipients, accepted.segments, accepted.credits) == ("queued", 2, 1, 2)
    [order] = messaging.handed_over
    [hold] = ledger.holds.values()
    assert order.id == accepted.id and order.hold_id == hold.id and order.hold_expires_at == hold.expires_at
    assert (order.account_code, order.recipients, order.credits) == (SYSTEM, ["+61412345678", "+61412345679"], 2)
    assert ledger.hold_keys == [f"message:{accepted.id}"] and hold.reference == f"message:{accepted.id}"
    assert ledger.hold_notes == ["SMS to 2 recipients"]  # what the log shows: the numbers once each
    assert ledger.voided == []


async def test_a_message_abroad_holds_each_destinations_credits_and_tells_messaging_the_prices():
    ledger, messaging = FakeLedger(), FakeMessaging()
    abroad = SendMessageRequest(to=["+61412345678", "+6421234567", "+447400123456"], body="x" * 200)  # 2 segments
    accepted = await messages.send(NO_DATABASE, ledger, messaging, caller(shared_tenant()), abroad, "k2", LIMITS)
    [order] = messaging.handed_over
    assert (accepted.credits, order.credits, order.credits_per_segment) == (12, 12, [1, 2, 3])
    assert [hold.quantity for hold in ledger.holds.values()] == [12]


@pytest.mark.parametrize(("status", "slug", "voided"), [
    (422, "invalid-message", True), (409, "prices-changed", True), (409, "idempotency-key-reused", False),
])
async def test_a_hand_over_messaging_refused_releases_the_hold_unless_another_message_has_it(
    status: int, slug: str, voided: bool,
):
    refusal = UpstreamProblem(status, {"type": f"/problems/{slug}", "title": "No", "detail": "No."})
    ledger, messaging = FakeLedger(), FakeMessaging(fail_with=refusal)
    with pytest.raises(UpstreamProblem):
        await _send(ledger, messaging)
    assert bool(ledger.voided) is voided


def test_the_counter_prices_each_destination_on_a_line_of_its_own():
    counted = messages.preview("x" * 200, 0, 10, ["+61412345678", "+6421234567", "+6421234568", "nonsense"],
                               {"AU": 1, "NZ": 2, "*": 3})
    assert (counted.recipients, counted.credits) == (3, 2 * 1 + 2 * 2 * 2)
    assert [(d.region, d.recipients, d.credits_per_segment, d.credits) for d in counted.destinations] == [
        ("AU", 1, 1, 2), ("NZ", 2, 2, 8)]


def test_a_holds_note_counts_its_recipients_in_words():
    assert [messages.hold_note(n) for n in (1, 2, 100)] == [
        "SMS to 1 recipient", "SMS to 2 recipients", "SMS to 100 recipients"]


async def test_a_hand_over_that_never_reached_messaging_voids_the_hold_and_fails():
    ledger = FakeLedger()
    messaging = FakeMessaging(fail_with=ServiceNotReached("The messaging service is unavailable."))
    with pytest.raises(ServiceNotReached):
        await _send(ledger, messaging)

    [hold] = ledger.holds.values()
    [(voided, by)] = ledger.voided
    assert voided == hold.id and hold.status == "voided"
    # Released by the gateway itself, for the sender's tenant.
    assert by.role == "service" and by.tenant_id is not None and by.user_id is None


async def test_a_hand_over_that_may_have_reached_messaging_keeps_the_hold():
    """A timeout or a 5xx: messaging may hold the message, and settles (or lets expire) its hold."""
    ledger = FakeLedger()
    messaging = FakeMessaging(fail_with=DependencyUnavailable("The messaging service is unavailable."))
    with pytest.raises(DependencyUnavailable):
        await _send(ledger, messaging)
    assert len(ledger.holds) == 1 and ledger.voided == []


async def test_a_retry_whose_hold_was_released_unsent_is_a_cancelled_attempt():
    ledger, messaging = FakeLedger(hold_status="voided"), FakeMessaging()
    with pytest.raises(AttemptCancelled) as cancelled:
        await _send(ledger, messaging)
    assert cancelled.value.slug == "attempt-cancelled"
    assert messaging.handed_over == [] and ledger.voided == []


async def test_a_retry_of_a_settled_message_is_answered_as_it_is_and_sends_nothing_again():
    ledger, messaging = FakeLedger(), FakeMessaging()
    sender = caller(shared_tenant())
    first = await _send(ledger, messaging, sender)
    ledger.hold_status = "captured"
    again = await _send(ledger, messaging, sender)
    assert again.id == first.id and len(messaging.handed_over) == 1


async def test_the_same_key_names_the_same_message_and_another_key_another():
    ledger, messaging = FakeLedger(), FakeMessaging()
    tenant = shared_tenant()
    sender = caller(tenant)
    first = await messages.send(NO_DATABASE, ledger, messaging, sender, HELLO, "k1", LIMITS)
    second = await messages.send(NO_DATABASE, ledger, messaging, sender, HELLO, "k2", LIMITS)
    assert first.id != second.id
    assert ledger.hold_keys == [f"message:{first.id}", f"message:{second.id}"]


async def test_a_sender_without_sms_rights_or_with_a_bad_message_reserves_nothing():
    tenant = shared_tenant()
    ledger, messaging = FakeLedger(), FakeMessaging()
    with pytest.raises(SendingForbidden):
        await messages.send(NO_DATABASE, ledger, messaging, caller(tenant, send_sms=False), HELLO, "k", LIMITS)
    bad = SendMessageRequest(to=["0412 345 678"], body="Hello")
    with pytest.raises(InvalidMessage) as invalid:
        await messages.send(NO_DATABASE, ledger, messaging, caller(tenant), bad, "k", LIMITS)
    assert invalid.value.errors and invalid.value.errors[0]["field"] == "to.0"
    with pytest.raises(InvalidMessage):
        await messages.send(NO_DATABASE, ledger, messaging, caller(tenant),
                            SendMessageRequest(to=["+61412345678"], body=""), "k", LIMITS)
    assert ledger.holds == {} and messaging.handed_over == []


async def test_a_sender_pays_from_system_credits_in_shared_mode_and_from_no_other_account():
    tenant = shared_tenant()
    account = await messages.sending_account(NO_DATABASE, caller(tenant), None)
    assert account.id == system_account(tenant)
    with pytest.raises(AccountNotFound):
        await messages.sending_account(NO_DATABASE, caller(tenant), uuid.uuid4())
