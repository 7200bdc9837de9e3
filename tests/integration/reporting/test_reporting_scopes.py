"""Scopes: a whole tenant, or its users, without the gateway naming every account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common import accounts
from tests.integration.reporting.reporting_support import FakeLedger, Reporting, auth

TENANT, OTHER = uuid.uuid4(), uuid.uuid4()
ALICE, BOB = accounts.user_code(uuid.uuid4()), accounts.user_code(uuid.uuid4())


async def _two_tenants(ledger: FakeLedger, reporting: Reporting) -> None:
    start = datetime.now(UTC) - timedelta(days=2)
    posted = [
        await ledger.post(TENANT, "purchase", [("world", -100, -100), ("system", 100, 100)], start),
        await ledger.post(TENANT, "transfer", [("system", -30, 70), (ALICE, 30, 30)], start + timedelta(hours=1)),
        await ledger.post(TENANT, "transfer", [(ALICE, -10, 20), (BOB, 10, 10)], start + timedelta(hours=2)),
        await ledger.post(TENANT, "hold", [], start + timedelta(hours=3), reserves=[(BOB, 2, 2, 10)]),
        await ledger.post(TENANT, "capture", [(BOB, -2, 8), ("spent", 2, 2)], start + timedelta(hours=4),
                          reserves=[(BOB, -2, 0, 8)]),
        # Another tenant with accounts of the same codes: none of it may leak.
        await ledger.post(OTHER, "purchase", [("world", -7, -7), ("system", 7, 7)], start),
        await ledger.post(OTHER, "transfer", [("system", -7, 0), (ALICE, 7, 7)], start + timedelta(hours=1)),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))


async def test_the_tenant_scope_returns_every_user_facing_accounts_rows_and_nothing_of_another_tenant(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    await _two_tenants(ledger, reporting)
    every_account = [accounts.account_id(TENANT, code) for code in ("system", ALICE, BOB)]

    scoped = await reporting.scoped(TENANT, "tenant")

    named = await reporting.entries(TENANT, every_account)
    assert scoped == named
    assert len(scoped) == 7  # purchase 1, two transfers 2 each, hold 1, capture 1 (spent and world never)
    assert {e["account_id"] for e in scoped} == {str(a) for a in every_account}
    other = await reporting.scoped(OTHER, "tenant")
    assert {e["account_id"] for e in other} == {str(accounts.account_id(OTHER, c)) for c in ("system", ALICE)}
    assert not {e["id"] for e in other} & {e["id"] for e in scoped}


async def test_the_users_scope_leaves_system_credits_out(reporting: Reporting, ledger: FakeLedger) -> None:
    await _two_tenants(ledger, reporting)

    scoped = await reporting.scoped(TENANT, "users")

    users = [accounts.account_id(TENANT, code) for code in (ALICE, BOB)]
    assert scoped == await reporting.entries(TENANT, users)
    assert len(scoped) == 5


async def test_a_scope_pages_newest_first_without_skipping_or_repeating(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    await _two_tenants(ledger, reporting)

    paged = await reporting.scoped(TENANT, "tenant", limit=2)

    assert paged == await reporting.scoped(TENANT, "tenant")
    assert [e["occurred_at"] for e in paged] == sorted((e["occurred_at"] for e in paged), reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"scope": "tenant", "account": str(accounts.account_id(TENANT, "system"))}, "account"),
        ({"scope": "accounts"}, "account"),
        ({"scope": "everyone"}, "scope"),
    ],
)
async def test_a_scope_with_named_accounts_or_an_unknown_scope_is_malformed(
    reporting: Reporting, params: dict[str, str], field: str
) -> None:
    for path in ("/logs", "/logs.csv", "/logs/report"):
        response = await reporting.client.get(path, params=params, headers=auth(TENANT))
        body = await response.json(content_type=None)
        assert (response.status, body["errors"][0]["field"]) == (400, field), path
