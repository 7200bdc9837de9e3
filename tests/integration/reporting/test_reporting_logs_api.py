"""GET /logs against real Postgres and RabbitMQ: pages, tenants, filters, read-your-writes, bad input."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from common import accounts
from common.runtime import DB
from services.reporting.logs import domain, store
from tests.integration.reporting.reporting_support import (
    WAIT_SECONDS,
    FakeLedger,
    Reporting,
    token_for,
)

TENANT = uuid.uuid4()
ALICE = uuid.uuid4()
SYSTEM_ID = accounts.account_id(TENANT, "system")
ALICE_ID = accounts.account_id(TENANT, accounts.user_code(ALICE))


async def test_keyset_pages_return_every_entry_once_newest_first(reporting: Reporting, ledger: FakeLedger) -> None:
    start = datetime.now(UTC) - timedelta(days=2)
    # 125 transfers of two entries each: 250 entries, every pair sharing one instant, so the id has to
    # break ties for the pages to neither skip nor repeat an entry.
    transfers = [
        ledger.transaction(
            TENANT,
            "transfer",
            [("system", -1, 1000 - n), (accounts.user_code(ALICE), 1, n)],
            start + timedelta(seconds=n),
        )
        for n in range(1, 126)
    ]
    await asyncio.gather(*(ledger.publish(ledger.event(t)) for t in transfers))
    await reporting.wait_applied(*(t.seq for t in transfers))

    pages, cursor = [], None
    while True:
        params = {"limit": 40} | ({"cursor": cursor} if cursor else {})
        status, body = await reporting.logs(TENANT, [SYSTEM_ID, ALICE_ID], **params)
        assert status == 200, body
        pages.append(body["entries"])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [40, 40, 40, 40, 40, 40, 10]
    seen = [(entry["occurred_at"], entry["id"]) for page in pages for entry in page]
    assert len(set(seen)) == 250
    assert seen == sorted(seen, reverse=True)
    assert seen[0][0] == (start + timedelta(seconds=125)).isoformat().replace("+00:00", "Z")


async def test_an_exact_last_page_says_there_is_no_next_page(reporting: Reporting, ledger: FakeLedger) -> None:
    posted = [await ledger.post(TENANT, "purchase", [("world", -n, -n), ("system", n, n)]) for n in (1, 2)]
    await reporting.wait_applied(*(p.seq for p in posted))

    status, body = await reporting.logs(TENANT, [SYSTEM_ID], limit=2)

    assert status == 200
    assert len(body["entries"]) == 2 and body["next_cursor"] is None


async def test_another_tenant_sees_nothing_even_when_naming_the_accounts(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    purchase = await ledger.post(TENANT, "purchase", [("world", -8, -8), ("system", 8, 8)])
    await reporting.wait_applied(purchase.seq)

    status, body = await reporting.logs(uuid.uuid4(), [SYSTEM_ID, ALICE_ID])

    assert status == 200
    assert body == {"entries": [], "next_cursor": None, "stale": False}
    assert len(await reporting.entries(TENANT, [SYSTEM_ID])) == 1


async def test_the_window_and_the_kind_and_direction_filters_narrow_the_log(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    now = datetime.now(UTC)
    alice = accounts.user_code(ALICE)
    posted = [
        await ledger.post(TENANT, "purchase", [("world", -50, -50), ("system", 50, 50)], now - timedelta(days=10)),
        await ledger.post(TENANT, "transfer", [("system", -20, 30), (alice, 20, 20)], now - timedelta(days=3)),
        await ledger.post(TENANT, "capture", [(alice, -2, 18), ("spent", 2, 2)], now - timedelta(hours=1)),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))

    async def kinds(**params: object) -> list[tuple[str, str]]:
        status, body = await reporting.logs(TENANT, [SYSTEM_ID, ALICE_ID], **params)
        assert status == 200, body
        return sorted((e["kind"], e["direction"]) for e in body["entries"])

    assert await kinds() == [("capture", "out"), ("purchase", "in"), ("transfer", "in"), ("transfer", "out")]
    assert await kinds(days=7) == [("capture", "out"), ("transfer", "in"), ("transfer", "out")]
    assert await kinds(kind="transfer") == [("transfer", "in"), ("transfer", "out")]
    assert await kinds(direction="out") == [("capture", "out"), ("transfer", "out")]
    assert await kinds(days=1, direction="in") == []


async def test_a_consistency_token_waits_for_the_event_that_arrives_late(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    late = ledger.transaction(TENANT, "transfer", [("system", -5, 5), (accounts.user_code(ALICE), 5, 5)])

    async def publish_later() -> None:
        await asyncio.sleep(WAIT_SECONDS / 3)
        await ledger.publish(ledger.event(late))

    started = time.monotonic()
    (status, body), _ = await asyncio.gather(
        reporting.logs(TENANT, [ALICE_ID], consistency_token=late.seq), publish_later()
    )

    assert status == 200
    assert body["stale"] is False
    assert [(e["direction"], e["quantity"]) for e in body["entries"]] == [("in", 5)]
    assert time.monotonic() - started < WAIT_SECONDS


async def test_a_consistency_token_that_never_arrives_answers_stale_after_the_wait(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    purchase = await ledger.post(TENANT, "purchase", [("world", -1, -1), ("system", 1, 1)])
    await reporting.wait_applied(purchase.seq)

    started = time.monotonic()
    status, body = await reporting.logs(TENANT, [SYSTEM_ID], consistency_token=purchase.seq + 1)
    waited = time.monotonic() - started

    assert status == 200
    assert body["stale"] is True
    assert len(body["entries"]) == 1
    assert WAIT_SECONDS <= waited < WAIT_SECONDS + 1
    status, body = await reporting.logs(TENANT, [SYSTEM_ID], consistency_token=purchase.seq)
    assert body["stale"] is False


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"days": 0}, 422, "days"),
        ({"days": 31}, 422, "days"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": 1001}, 422, "limit"),
        ({"days": "a week"}, 400, "days"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, 400, None),
        ({"kind": "gift"}, 400, "kind"),
        ({"direction": "sideways"}, 400, "direction"),
        ({"consistency_token": "soon"}, 400, "consistency_token"),
    ],
)
async def test_a_bad_filter_is_a_problem_not_a_page(
    reporting: Reporting, query: dict[str, object], status: int, field: str | None
) -> None:
    answer, body = await reporting.logs(TENANT, [SYSTEM_ID], **query)

    assert (answer, body["status"]) == (status, status)
    assert body["type"].startswith("/problems/")
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]


async def test_the_log_needs_at_least_one_valid_account(reporting: Reporting) -> None:
    assert (await reporting.logs(TENANT, []))[0] == 400
    response = await reporting.client.get(
        "/logs", params={"account": "not-a-uuid"}, headers={"Authorization": f"Bearer {token_for(TENANT)}"}
    )
    assert response.status == 400


@pytest.mark.parametrize(
    ("make_headers", "status"),
    [
        # Tokens are made when the test runs, not when it is collected: they live 60 seconds.
        (lambda: {}, 401),
        (lambda: {"Authorization": f"Bearer {token_for(TENANT, audience='ledger')}"}, 401),
        (lambda: {"Authorization": f"Bearer {token_for(None, role='operator')}"}, 403),
    ],
)
async def test_the_log_answers_only_a_tenant_the_gateway_vouches_for(
    reporting: Reporting, make_headers: Callable[[], dict[str, str]], status: int
) -> None:
    response = await reporting.client.get("/logs", params={"account": str(SYSTEM_ID)}, headers=make_headers())

    assert response.status == status
    assert response.content_type == "application/problem+json"


async def test_a_page_is_an_index_walk_and_the_service_never_plans_bitmap_scans(reporting: Reporting) -> None:
    # One account with many rows among many small ones, and statistics that call every account tiny:
    # the conditions under which a bitmap scan of all the account's rows can look cheaper to the planner.
    await reporting.sql(
        """INSERT INTO log_entries (id, tenant_id, account_id, account_code, ledger_seq, transaction_id,
               occurred_at, direction, quantity, kind, balance_after)
           SELECT gen_random_uuid(), $1, CASE WHEN n % 2 = 0 THEN $2 ELSE gen_random_uuid() END, 'system', n,
                  gen_random_uuid(), now() - make_interval(secs => n), 'in', 1, 'transfer', n
           FROM generate_series(1, 20000) AS n""",
        TENANT, SYSTEM_ID,
    )
    await reporting.sql("ALTER TABLE log_entries ALTER COLUMN account_id SET (n_distinct = -1)")
    await reporting.sql("ANALYZE log_entries")
    args = (TENANT, [SYSTEM_ID], datetime.now(UTC) - timedelta(days=30), None, None,
            domain.FIRST_PAGE.occurred_at, domain.FIRST_PAGE.entry_id, 101)

    async with reporting.client.app[DB].acquire() as conn:
        plan = "\n".join(row[0] for row in await conn.fetch("EXPLAIN (COSTS OFF) " + store._NAMED_ACCOUNTS_PAGE, *args))
        bitmap_scans = await conn.fetchval("SHOW enable_bitmapscan")

    assert "Index Scan using log_entries_by_account_time" in plan and "Bitmap" not in plan, plan
    assert bitmap_scans == "off"  # on every connection of the pool, whatever the statistics say
