"""Auto top-up's monthly cap in money: a top-up that would take the month's auto top-up spending past it is
not charged, and fails as a declined one does (recorded, published, emailed, auto top-up suspended)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from common.contracts import events
from services.billing.topups import domain
from tests.integration.billing.harness import Billing, EventTap
from tests.integration.billing.ledger_support import credit_of, credited_purchase, next_seq, publish, spent_down_to
from tests.integration.billing.mail_support import Mailbox
from tests.integration.billing.test_billing_topups import wait_for_top_ups


async def set_capped_top_up(billing: Billing, monthly_cap_cents: Any) -> tuple[int, Any]:
    account = billing.buyer.purchase_body()["account_id"]
    response = await billing.client.put(
        f"/accounts/{account}/auto-top-up", headers=billing.headers(),
        json={"account_code": "system", "threshold": 100, "quantity": 1000, "daily_cap": 5000,
              "monthly_cap_cents": monthly_cap_cents},
    )
    return response.status, await response.json()


def test_the_month_of_a_local_day_runs_from_the_first_to_the_next_first() -> None:
    assert domain.month_of(date(2026, 1, 31)) == (date(2026, 1, 1), date(2026, 2, 1))
    assert domain.month_of(date(2026, 12, 1)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert domain.within_monthly_cap(None, 10**9, 1)
    assert domain.within_monthly_cap(1000, 600, 400) and not domain.within_monthly_cap(1000, 600, 401)


async def test_a_top_up_past_the_monthly_cap_is_not_charged_and_fails_as_a_decline_does(
    mailing_billing: Billing, mailbox: Mailbox, billing_events: EventTap
) -> None:
    billing = mailing_billing
    await credited_purchase(billing, 500)
    status, config = await set_capped_top_up(billing, None)
    assert status == 200 and config["monthly_cap_cents"] is None, config
    tenant = billing.buyer.tenant_id
    await publish(billing, spent_down_to(tenant, "system", 20, next_seq()))
    [first] = await wait_for_top_ups(billing, 1, "paid")
    _, purchase = await billing.get(f"/purchases/{first['purchase_id']}")
    await publish(billing, credit_of(purchase, tenant, next_seq(), balance_after=1020))
    await wait_for_top_ups(billing, 1, "credited")

    # Room for one more cent this month, not for a second top-up of the same price.
    total = await billing.pool.fetchval("SELECT total_cents FROM purchases WHERE id = $1", first["purchase_id"])
    status, config = await set_capped_top_up(billing, total + 1)
    assert status == 200 and config["monthly_cap_cents"] == total + 1, config
    await publish(billing, spent_down_to(tenant, "system", 20, next_seq()))
    [_, skipped] = await wait_for_top_ups(billing, 2, "failed")
    failed = None
    for _ in range(50):
        await billing_events.drain(0.1)
        found = [e for e in billing_events.received if e.type == events.TOP_UP_FAILED]
        if found:
            failed = found[0].payload(events.TopUpFailed)
            break
    assert failed is not None and failed.reason == "monthly cap reached"
    assert failed.purchase_id == skipped["purchase_id"] and skipped["status"] == "failed"
    status, config = await billing.get(f"/accounts/{failed.account_id}/auto-top-up")
    assert (config["status"], config["suspended_reason"]) == ("suspended", "monthly cap reached")
    messages = await mailbox.wait_for(3)  # two tax invoices, then the skipped top-up
    [capped] = [m for m in messages if "monthly cap reached" in str(m["Subject"])]
    assert capped["To"] == "jo@example.com.au" and "over the monthly cap you set" in capped.get_content()
    assert "declined" not in capped.get_content()  # nobody's card declined anything


async def test_a_monthly_cap_below_one_cent_is_refused(billing: Billing) -> None:
    await credited_purchase(billing, 500)
    status, problem = await set_capped_top_up(billing, 0)
    assert status == 422, problem
    assert [e["field"] for e in problem["errors"]] == ["monthly_cap_cents"]
    assert (await set_capped_top_up(billing, "ten dollars"))[0] == 400
    assert uuid.UUID(billing.buyer.purchase_body()["account_id"])
