"""Auto top-up: triggered by the ledger's postings, charged to the payer's saved card, one at a time."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from common.contracts import events
from common.contracts.events import TransactionPosted
from services.billing.resources import PROVIDER, SETTINGS, seller_of
from services.billing.topups import usecases as topups
from tests.integration.billing.harness import Billing, EventTap, invoice_number
from tests.integration.billing.ledger_support import (
    credit_of,
    credited_purchase,
    next_seq,
    publish,
    spent_down_to,
)
from tests.integration.billing.mail_support import Mailbox
from tests.support import eventually

SAVED_CARD_DECLINES = "4000000000000341"  # pays at checkout; every later charge of it is declined


async def set_auto_top_up(billing: Billing, threshold: int = 100, quantity: int = 1000,
                          daily_cap: int = 5000) -> tuple[int, Any]:
    account = billing.buyer.purchase_body()["account_id"]
    response = await billing.client.put(
        f"/accounts/{account}/auto-top-up", headers=billing.headers(),
        json={"account_code": "system", "threshold": threshold, "quantity": quantity, "daily_cap": daily_cap},
    )
    return response.status, await response.json()


async def top_ups(billing: Billing) -> list[Any]:
    async with billing.pool.acquire() as conn:
        return list(await conn.fetch(
            """SELECT t.status, t.purchase_id, p.status AS purchase_status, p.quantity FROM top_ups t
               JOIN purchases p ON p.id = t.purchase_id ORDER BY t.created_at"""))


async def wait_for_top_ups(billing: Billing, count: int, purchase_status: str) -> list[Any]:
    async def reached() -> bool:
        found = await top_ups(billing)
        return len(found) >= count and found[count - 1]["purchase_status"] == purchase_status

    await eventually(reached)
    return await top_ups(billing)


async def test_a_burst_of_spending_crossing_the_threshold_many_times_in_parallel_tops_up_once(
    billing: Billing,
) -> None:
    await credited_purchase(billing, 500)  # leaves the buyer's card and billing details on file
    status, config = await set_auto_top_up(billing)
    assert status == 200 and config["status"] == "active" and config["card"] == {"brand": "visa", "last4": "4242"}
    tenant = billing.buyer.tenant_id
    burst = [spent_down_to(tenant, "system", available, next_seq()) for available in range(99, 39, -1)]

    # Sixty crossings at once: through the broker (its consumer runs them concurrently) and directly.
    await publish(billing, *burst[:30])
    app = billing.app
    await asyncio.gather(*(
        topups.consider(billing.pool, app[PROVIDER], event.payload(TransactionPosted),
                        seller_of(app[SETTINGS]), "UTC")
        for event in burst[30:]
    ))
    [top_up] = await wait_for_top_ups(billing, 1, "paid")
    await asyncio.sleep(0.5)  # every queued crossing has had its chance

    assert len(await top_ups(billing)) == 1 and top_up["quantity"] == 1000
    _, purchase = await billing.get(f"/purchases/{top_up['purchase_id']}")
    assert purchase["origin"] == "auto_top_up" and purchase["invoice_number"] == invoice_number(billing.buyer, 2)


async def test_after_a_top_up_is_credited_only_newer_crossings_top_up_again(billing: Billing) -> None:
    await credited_purchase(billing, 500)
    await set_auto_top_up(billing)
    tenant = billing.buyer.tenant_id
    before = next_seq()
    await publish(billing, spent_down_to(tenant, "system", 20, before))
    [first] = await wait_for_top_ups(billing, 1, "paid")
    _, purchase = await billing.get(f"/purchases/{first['purchase_id']}")
    credited_at = next_seq()
    await publish(billing, credit_of(purchase, tenant, credited_at, balance_after=1020))
    await wait_for_top_ups(billing, 1, "credited")

    # Late events from before the credit still show the low balance: they must not buy again.
    await publish(billing, *(spent_down_to(tenant, "system", 20, seq) for seq in range(before + 1, credited_at)))
    await asyncio.sleep(0.5)
    assert len(await top_ups(billing)) == 1
    await publish(billing, spent_down_to(tenant, "system", 50, next_seq()))
    assert len(await wait_for_top_ups(billing, 2, "paid")) == 2


async def test_the_daily_cap_stops_top_ups_for_the_day(billing: Billing) -> None:
    await credited_purchase(billing, 500)
    await set_auto_top_up(billing, quantity=1000, daily_cap=1000)
    tenant = billing.buyer.tenant_id
    await publish(billing, spent_down_to(tenant, "system", 20, next_seq()))
    [first] = await wait_for_top_ups(billing, 1, "paid")
    _, purchase = await billing.get(f"/purchases/{first['purchase_id']}")
    await publish(billing, credit_of(purchase, tenant, next_seq(), balance_after=1020))
    await wait_for_top_ups(billing, 1, "credited")

    await publish(billing, spent_down_to(tenant, "system", 20, next_seq()))
    await asyncio.sleep(0.5)
    assert len(await top_ups(billing)) == 1


async def test_a_declined_saved_card_stops_after_one_attempt_publishes_the_failure_and_emails_the_payer(
    mailing_billing: Billing, mailbox: Mailbox, billing_events: EventTap
) -> None:
    billing = mailing_billing
    await credited_purchase(billing, 500, card=SAVED_CARD_DECLINES)
    await set_auto_top_up(billing)
    tenant = billing.buyer.tenant_id

    await publish(billing, *(spent_down_to(tenant, "system", 10, next_seq()) for _ in range(5)))
    [attempt] = await wait_for_top_ups(billing, 1, "failed")
    failed = None
    for _ in range(50):
        await billing_events.drain(0.1)
        found = [e for e in billing_events.received if e.type == events.TOP_UP_FAILED]
        if found:
            failed = found[0].payload(events.TopUpFailed)
            break
    assert failed is not None and failed.reason == "card_declined" and failed.quantity == 1000
    assert failed.purchase_id == attempt["purchase_id"]
    status, config = await billing.get(f"/accounts/{failed.account_id}/auto-top-up")
    assert status == 200 and (config["status"], config["suspended_reason"]) == ("suspended", "card_declined")

    await publish(billing, *(spent_down_to(tenant, "system", 5, next_seq()) for _ in range(5)))
    messages = await mailbox.wait_for(2)  # the first purchase's tax invoice, then the decline
    declined = [m for m in messages if "declined" in str(m["Subject"])]
    assert len(declined) == 1 and declined[0]["To"] == "jo@example.com.au"
    assert "Visa ending 0341" in declined[0].get_content()
    assert len(await top_ups(billing)) == 1

    status, config = await set_auto_top_up(billing)  # setting it again resumes it
    assert config["status"] == "active"


async def test_a_declined_top_up_the_provider_pays_after_all_is_recorded_as_succeeded(billing: Billing) -> None:
    # Stripe may still take the money for a PaymentIntent it declined first (retried, or paid from its
    # dashboard): the credits come, and the top-up's record must say so rather than "failed".
    await credited_purchase(billing, 500, card=SAVED_CARD_DECLINES)
    await set_auto_top_up(billing)
    tenant = billing.buyer.tenant_id
    await publish(billing, spent_down_to(tenant, "system", 10, next_seq()))
    [attempt] = await wait_for_top_ups(billing, 1, "failed")
    assert attempt["status"] == "failed"
    _, purchase = await billing.get(f"/purchases/{attempt['purchase_id']}")
    async with billing.pool.acquire() as conn:
        session_id = await conn.fetchval("SELECT checkout_session_id FROM purchases WHERE id = $1",
                                         attempt["purchase_id"])
    paid_late = json.dumps({"id": f"evt_{uuid.uuid4().hex}", "type": "payment.succeeded", "created": int(time.time()),
                            "data": {"session_id": session_id, "purchase_id": purchase["id"], "card_brand": "visa",
                                     "card_last4": "0341"}}).encode()
    status, answer = await billing.post_webhook(paid_late)
    assert (status, answer["outcome"]) == (200, "paid"), answer
    credited_at = next_seq()
    await publish(billing, credit_of(purchase, tenant, credited_at))

    await wait_for_top_ups(billing, 1, "credited")
    [record] = await top_ups(billing)
    assert record["status"] == "succeeded"
    async with billing.pool.acquire() as conn:
        settings = await conn.fetchrow("SELECT status, topped_up_through_seq FROM auto_top_ups")
    # Its spending is covered now; auto top-up stays suspended until the payer sets it again, as after any decline.
    assert settings["topped_up_through_seq"] >= credited_at and settings["status"] == "suspended"


async def test_auto_top_up_needs_a_saved_card_and_valid_settings(billing: Billing) -> None:
    status, problem = await set_auto_top_up(billing)
    assert status == 422 and problem["type"].endswith("no-saved-card")
    await credited_purchase(billing, 500)
    status, problem = await set_auto_top_up(billing, threshold=0, quantity=50, daily_cap=10)
    assert status == 422
    assert {e["field"] for e in problem["errors"]} == {"threshold", "quantity", "daily_cap"}
    account = billing.buyer.purchase_body()["account_id"]
    response = await billing.client.delete(f"/accounts/{account}/auto-top-up", headers=billing.headers())
    assert response.status == 404
    await set_auto_top_up(billing)
    response = await billing.client.delete(f"/accounts/{account}/auto-top-up", headers=billing.headers())
    assert response.status == 200 and (await response.json())["status"] == "off"
    other = uuid.uuid4()
    assert (await billing.get(f"/accounts/{other}/auto-top-up"))[0] == 404
