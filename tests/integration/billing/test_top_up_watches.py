"""Billing announces each switch of an account's auto top-up to the ledger (in the switch's own
transaction, numbered), and settings from before the announcements once, whichever process starts
first; a transaction the ledger did not mark never reaches billing."""

from __future__ import annotations

import asyncio
from typing import Any

from common.contracts import events
from services.billing.topups import watches
from tests.integration.billing.harness import Billing
from tests.integration.billing.ledger_support import credited_purchase, next_seq, publish, spent_down_to
from tests.integration.billing.test_billing_topups import set_auto_top_up, top_ups


async def _announced(billing: Billing) -> list[dict[str, Any]]:
    rows = await billing.pool.fetch("SELECT envelope FROM outbox WHERE routing_key = $1 ORDER BY id",
                                    events.routing_key(events.TOP_UP_WATCH_CHANGED))
    return [r["envelope"]["data"] for r in rows]


async def test_switching_auto_top_up_on_and_off_announces_each_change_numbered(billing: Billing) -> None:
    await credited_purchase(billing, 500)
    account = billing.buyer.purchase_body()["account_id"]
    assert (await set_auto_top_up(billing))[0] == 200
    assert (await set_auto_top_up(billing, threshold=200))[0] == 200  # a change of settings: still watched
    response = await billing.client.delete(f"/accounts/{account}/auto-top-up", headers=billing.headers())
    assert response.status == 200
    announced = await _announced(billing)
    assert [(a["account_id"], a["watched"], a["version"]) for a in announced] == [
        (account, True, 1), (account, True, 2), (account, False, 3),
    ]
    # Every setting is announced: the start-up round finds nothing left.
    assert await watches.announce_unannounced(billing.client.app) == 0


async def test_settings_from_before_the_announcements_are_announced_once(billing: Billing) -> None:
    await credited_purchase(billing, 500)
    await set_auto_top_up(billing)
    await billing.pool.execute("UPDATE auto_top_ups SET watch_announced = false, watch_version = 0")  # as migrated
    await billing.pool.execute("DELETE FROM outbox WHERE routing_key = $1",
                               events.routing_key(events.TOP_UP_WATCH_CHANGED))
    firsts = await asyncio.gather(*(watches.announce_unannounced(billing.client.app) for _ in range(3)))
    assert sorted(firsts) == [0, 0, 1]
    [announced] = await _announced(billing)
    assert (announced["watched"], announced["version"]) == (True, 1)


async def test_a_spending_the_ledger_did_not_mark_as_watched_never_reaches_billing(billing: Billing) -> None:
    await credited_purchase(billing, 500)
    await set_auto_top_up(billing, threshold=100)
    tenant = billing.buyer.tenant_id
    await publish(billing, spent_down_to(tenant, "system", 20, next_seq()), watched=False)
    await asyncio.sleep(0.5)
    assert await top_ups(billing) == []
    await publish(billing, spent_down_to(tenant, "system", 20, next_seq()), watched=True)
    for _ in range(100):
        if await top_ups(billing):
            break
        await asyncio.sleep(0.05)
    assert len(await top_ups(billing)) == 1
