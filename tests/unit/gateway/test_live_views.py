"""The live stream's messages and who may see them: the design's permission table (a master sees every
account, System Credits included; a user with manage_credits every User Credits but not System Credits; a
user only their own), applied to every message an event makes; and another tenant's never."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from common.accounts import SPENT, SYSTEM, WORLD, account_id, user_code
from common.contracts import events
from common.contracts.catalogue import CATALOGUE
from common.contracts.events import Event
from gateway.live.views import SHOWN_TYPES, LiveMessage, actor_of, may_see, messages_of

TENANT = uuid.uuid4()
OTHER_TENANT = uuid.uuid4()
MASTER, BEN, CLEO, DAN = (uuid.uuid4() for _ in range(4))
ACTORS = {
    "master": actor_of(MASTER, "master", None, False),
    "ben": actor_of(BEN, "user", "Sales", False),
    "cleo": actor_of(CLEO, "user", "Sales", False),
    "dan": actor_of(DAN, "user", "Rentals", True),  # manages credits
}
SYSTEM_ID = account_id(TENANT, SYSTEM)
BEN_ID = account_id(TENANT, user_code(BEN))
CLEO_ID = account_id(TENANT, user_code(CLEO))


def _event(event_type: str, payload: object, source: str = "/sms-credits/ledger") -> Event:
    return Event.new(type=event_type, source=source, subject=f"tenants/{TENANT}", data=payload)  # type: ignore[arg-type]


def _posting(code: str, amount: int, balance: int, held: int = 0) -> events.Posting:
    return events.Posting(account_id=account_id(TENANT, code), account_code=code, amount=amount,
                          balance_after=balance, held_after=held)


def _transfer(source: str, target: str) -> Event:
    return _event(events.TRANSACTION_POSTED, events.TransactionPosted(
        transaction_id=uuid.uuid4(), seq=7, tenant_id=TENANT, kind="transfer", occurred_at=datetime.now(UTC),
        postings=[_posting(source, -5, 95), _posting(target, 5, 5)]))


def _who_sees(message: LiveMessage, tenant: uuid.UUID = TENANT) -> set[str]:
    return {name for name, actor in ACTORS.items() if may_see(actor, tenant, message)}


def test_a_transfer_between_two_users_is_seen_by_each_owner_by_whoever_manages_credits_and_nobody_else():
    shaped = messages_of(_transfer(user_code(BEN), user_code(CLEO)))
    assert [m.name for m in shaped] == ["balance", "balance"]
    ben, cleo = shaped
    assert ben.data["account_id"] == str(BEN_ID) and ben.data["balance"] == 95 and ben.data["available"] == 95
    assert cleo.data["account_id"] == str(CLEO_ID) and cleo.data["kind"] == "transfer"
    assert _who_sees(ben) == {"master", "ben", "dan"}
    assert _who_sees(cleo) == {"master", "cleo", "dan"}


def test_system_credits_are_seen_by_masters_only_not_even_by_a_user_who_manages_credits():
    [system, ben] = messages_of(_transfer(SYSTEM, user_code(BEN)))
    assert system.data["account_id"] == str(SYSTEM_ID)
    assert _who_sees(system) == {"master"}
    assert _who_sees(ben) == {"master", "ben", "dan"}


def test_the_internal_accounts_of_a_purchase_or_a_capture_are_never_shown():
    posted = _event(events.TRANSACTION_POSTED, events.TransactionPosted(
        transaction_id=uuid.uuid4(), seq=8, tenant_id=TENANT, kind="purchase", occurred_at=datetime.now(UTC),
        postings=[_posting(WORLD, -100, -100), _posting(user_code(BEN), 100, 100), _posting(SPENT, 0, 0)]))
    assert [m.data["account_id"] for m in messages_of(posted)] == [str(BEN_ID)]


def test_a_hold_shows_the_balance_with_what_is_held_and_the_hold_itself_to_the_same_people():
    hold_id = uuid.uuid4()
    posted = _event(events.TRANSACTION_POSTED, events.TransactionPosted(
        transaction_id=uuid.uuid4(), seq=9, tenant_id=TENANT, kind="hold", occurred_at=datetime.now(UTC),
        postings=[], holds=[events.HoldChange(hold_id=hold_id, account_id=CLEO_ID, account_code=user_code(CLEO),
                                              held_delta=3, held_after=3, balance_after=10)]))
    balance, hold = messages_of(posted)
    assert balance.name == "balance"
    assert (balance.data["balance"], balance.data["held"], balance.data["available"]) == (10, 3, 7)
    assert (hold.name, hold.data["hold_id"], hold.data["held_delta"]) == ("hold", str(hold_id), 3)
    assert _who_sees(balance) == _who_sees(hold) == {"master", "cleo", "dan"}


def test_nobody_sees_another_tenants_messages():
    for message in messages_of(_transfer(SYSTEM, user_code(BEN))):
        assert _who_sees(message, tenant=OTHER_TENANT) == set()


def test_a_settled_message_is_seen_by_who_may_manage_its_account_and_by_its_sender_when_named():
    settled = events.MessageSettled(message_id=uuid.uuid4(), tenant_id=TENANT, hold_id=uuid.uuid4(),
                                    account_code=SYSTEM, segments=1, recipients=2, accepted_recipients=1,
                                    captured_credits=1)
    [message] = messages_of(_event(events.MESSAGE_SETTLED, settled, "/sms-credits/messaging"))
    assert message.name == "message" and message.data["status"] == "submitted"
    assert message.data["account_id"] == str(SYSTEM_ID) and message.data["captured_credits"] == 1
    assert _who_sees(message) == {"master"}
    named = Event.new(type=events.MESSAGE_SETTLED, source="/sms-credits/messaging", subject=None,
                      data=settled).model_copy(update={"data": {**settled.model_dump(mode="json"),
                                                                "sender_user_id": str(BEN)}})
    assert _who_sees(messages_of(named)[0]) == {"master", "ben"}
    refused = settled.model_copy(update={"accepted_recipients": 0, "captured_credits": 0,
                                         "account_code": user_code(CLEO)})
    [failed] = messages_of(_event(events.MESSAGE_SETTLED, refused, "/sms-credits/messaging"))
    assert failed.data["status"] == "failed" and _who_sees(failed) == {"master", "cleo", "dan"}


def test_a_failed_purchase_names_only_the_public_account_id_and_is_still_seen_by_exactly_its_managers():
    def failed(account: uuid.UUID) -> LiveMessage:
        [message] = messages_of(_event(events.PURCHASE_FAILED, events.PurchaseFailed(
            purchase_id=uuid.uuid4(), tenant_id=TENANT, account_id=account, reason="declined"), "/sms-credits/billing"))
        return message

    assert failed(SYSTEM_ID).data["status"] == "failed"
    assert _who_sees(failed(SYSTEM_ID)) == {"master"}
    assert _who_sees(failed(BEN_ID)) == {"master", "ben", "dan"}
    assert _who_sees(failed(CLEO_ID)) == {"master", "cleo", "dan"}


def test_a_paid_purchase_is_seen_by_the_accounts_managers_and_its_buyer():
    paid = events.PurchasePaid(purchase_id=uuid.uuid4(), tenant_id=TENANT, account_id=CLEO_ID,
                               account_code=user_code(CLEO), quantity=500, buyer_user_id=BEN, invoice_number="INV-1",
                               total_cents=1000, currency="AUD", paid_at=datetime.now(UTC))
    [message] = messages_of(_event(events.PURCHASE_PAID, paid, "/sms-credits/billing"))
    assert message.data == {"purchase_id": str(paid.purchase_id), "account_id": str(CLEO_ID), "quantity": 500,
                            "status": "paid"}
    assert _who_sees(message) == {"master", "cleo", "dan", "ben"}


def test_low_balance_and_credit_mode_changes():
    low = events.BalanceLow(tenant_id=TENANT, account_id=BEN_ID, account_code=user_code(BEN), available=3,
                            threshold=100)
    [message] = messages_of(_event(events.BALANCE_LOW, low))
    assert message.name == "low_balance" and message.data["available"] == 3
    assert _who_sees(message) == {"master", "ben", "dan"}
    mode = events.CreditModeChanged(tenant_id=TENANT, mode="shared", previous_mode="individual", user_ids=[])
    [changed] = messages_of(_event(events.CREDIT_MODE_CHANGED, mode, "/sms-credits/gateway"))
    assert changed.name == "credit_mode" and _who_sees(changed) == set(ACTORS)


def test_the_stream_shows_only_public_types_and_nothing_of_the_rest():
    assert all(CATALOGUE[t].audience == "public" for t in SHOWN_TYPES)
    queued = events.MessageQueued(message_id=uuid.uuid4(), tenant_id=TENANT)
    assert messages_of(_event(events.MESSAGE_QUEUED, queued, "/sms-credits/messaging")) == []


def test_the_feed_keeps_a_followed_tenants_events_and_drops_the_rest_unread(monkeypatch):
    from gateway.live import feed as live_feed
    from gateway.live.hub import Hub

    hub = Hub(buffer_size=10, max_streams=10)
    opened = hub.open(TENANT, MASTER, None)
    shaped: list[Event] = []
    real = live_feed.messages_of

    def counting(event: Event) -> list[LiveMessage]:
        shaped.append(event)
        return real(event)

    monkeypatch.setattr(live_feed, "messages_of", counting)
    live_feed.feed(hub, _transfer(SYSTEM, user_code(BEN)))
    other = Event.new(type=events.TRANSACTION_POSTED, source="/sms-credits/ledger", subject=f"tenants/{OTHER_TENANT}",
                      data=events.TransactionPosted(transaction_id=uuid.uuid4(), seq=1, tenant_id=OTHER_TENANT,
                                                    kind="transfer", occurred_at=datetime.now(UTC), postings=[]))
    live_feed.feed(hub, other)
    assert len(shaped) == 1  # the other tenant's event was never shaped
    assert opened.stream.queue.qsize() == 2  # the followed transfer: both balances
