"""Holds over the ledger's HTTP API, as the messaging service (a service token) uses them."""

from __future__ import annotations

import asyncio
import uuid

from common.accounts import user_code
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import eventually


async def _funded_system(ledger: LedgerHarness, credits: int = 100) -> uuid.UUID:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", credits)
    return tenant


async def test_a_hold_moves_credits_from_available_to_held_and_leaves_the_balance(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    status, hold = await ledger.place_hold(tenant, "system", 30, reference="msg-1")
    assert status == 201, hold
    assert (hold["status"], hold["quantity"], hold["captured"], hold["reference"]) == ("open", 30, 0, "msg-1")
    assert hold["account"] == {"balance": 100, "held": 30, "available": 70}
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["held"], account["available"]) == (100, 30, 70)


async def test_a_holds_note_is_on_its_transaction_and_on_the_capture_and_release_that_settle_it(
    ledger: LedgerHarness,
):
    tenant = await _funded_system(ledger)
    service = ledger.token(None, "service")
    _, captured = await ledger.place_hold(tenant, "system", 3, reference="message:1", note="SMS to 3 recipients")
    _, voided = await ledger.place_hold(tenant, "system", 2, reference="message:2", note="SMS to 2 recipients")
    _, plain = await ledger.place_hold(tenant, "system", 1, reference="message:3")
    assert (await ledger.post(f"/holds/{captured['id']}/capture", None, service))[0] == 200
    assert (await ledger.post(f"/holds/{voided['id']}/void", None, service))[0] == 200
    assert (await ledger.post(f"/holds/{plain['id']}/capture", None, service))[0] == 200
    posted = [(e["data"]["kind"], e["data"]["reference"], e["data"].get("note"))
              for e in await ledger.outbox("ledger.transaction.posted", tenant) if e["data"]["kind"] != "purchase"]
    assert sorted(posted, key=str) == sorted([
        ("hold", "message:1", "SMS to 3 recipients"), ("capture", "message:1", "SMS to 3 recipients"),
        ("hold", "message:2", "SMS to 2 recipients"), ("void", "message:2", "SMS to 2 recipients"),
        ("hold", "message:3", None), ("capture", "message:3", None),
    ], key=str)
    # A note is words, not a document: longer than 200 characters is refused and reserves nothing.
    status, problem = await ledger.place_hold(tenant, "system", 1, note="x" * 201)
    assert status == 400, problem
    assert (await ledger.accounts(tenant, "system"))["system"]["held"] == 0


async def test_a_partial_capture_spends_the_captured_part_and_returns_the_rest(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    _, hold = await ledger.place_hold(tenant, "system", 30)
    service = ledger.token(None, "service")
    status, captured = await ledger.post(f"/holds/{hold['id']}/capture", {"quantity": 12}, service)
    assert status == 200, captured
    assert (captured["status"], captured["captured"]) == ("captured", 12)
    assert captured["account"] == {"balance": 88, "held": 0, "available": 88}
    spent = await ledger.pool.fetchval(
        "SELECT balance FROM accounts WHERE tenant_id = $1 AND code = 'spent'", tenant
    )
    assert spent == 12


async def test_a_full_capture_by_default_spends_the_whole_hold(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    _, hold = await ledger.place_hold(tenant, "system", 30)
    status, captured = await ledger.post(f"/holds/{hold['id']}/capture", None, ledger.token(None, "service"))
    assert status == 200, captured
    assert captured["captured"] == 30 and captured["account"] == {"balance": 70, "held": 0, "available": 70}


async def test_capturing_twice_is_harmless_and_answers_the_same(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    _, hold = await ledger.place_hold(tenant, "system", 30)
    service = ledger.token(None, "service")
    first = await ledger.post(f"/holds/{hold['id']}/capture", {"quantity": 10}, service)
    second = await ledger.post(f"/holds/{hold['id']}/capture", {"quantity": 10}, service)
    assert first == second and first[0] == 200
    assert (await ledger.balances(tenant, "system"))["system"] == 90
    kinds = await ledger.pool.fetch("SELECT kind FROM transactions WHERE tenant_id = $1 AND kind = 'capture'", tenant)
    assert len(kinds) == 1


async def test_voiding_twice_is_harmless_and_returns_the_credits_once(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    _, hold = await ledger.place_hold(tenant, "system", 30)
    service = ledger.token(None, "service")
    first = await ledger.post(f"/holds/{hold['id']}/void", None, service)
    second = await ledger.post(f"/holds/{hold['id']}/void", None, service)
    assert first == second and first[0] == 200
    assert first[1]["status"] == "voided" and first[1]["account"] == {"balance": 100, "held": 0, "available": 100}


async def test_capturing_a_voided_hold_is_a_conflict_and_changes_nothing(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    _, hold = await ledger.place_hold(tenant, "system", 30)
    service = ledger.token(None, "service")
    await ledger.post(f"/holds/{hold['id']}/void", None, service)
    status, problem = await ledger.post(f"/holds/{hold['id']}/capture", None, service)
    assert status == 409, problem
    assert problem["type"] == "/problems/hold-resolved"
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["held"]) == (100, 0)


async def test_voiding_a_captured_hold_is_a_conflict(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    _, hold = await ledger.place_hold(tenant, "system", 30)
    service = ledger.token(None, "service")
    await ledger.post(f"/holds/{hold['id']}/capture", None, service)
    status, _ = await ledger.post(f"/holds/{hold['id']}/void", None, service)
    assert status == 409
    assert (await ledger.balances(tenant, "system"))["system"] == 70


async def test_capturing_more_than_was_held_is_refused(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    _, hold = await ledger.place_hold(tenant, "system", 30)
    status, _ = await ledger.post(f"/holds/{hold['id']}/capture", {"quantity": 31}, ledger.token(None, "service"))
    assert status == 422
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["held"]) == (100, 30)


async def test_holds_from_a_caller_without_a_service_token_are_forbidden(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    master = await ledger.add_user(tenant, "master")
    body = {"account_id": str((await ledger.accounts(tenant, "system"))["system"]["id"]), "quantity": 5}
    status, problem = await ledger.post("/holds", body, ledger.as_user(master))
    assert status == 403, problem
    _, hold = await ledger.place_hold(tenant, "system", 5)
    for action in ("capture", "void"):
        status, _ = await ledger.post(f"/holds/{hold['id']}/{action}", None, ledger.as_user(master))
        assert status == 403
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["held"]) == (100, 5)


async def test_a_hold_larger_than_available_is_refused_and_changes_nothing(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    await ledger.place_hold(tenant, "system", 60)
    before = await ledger.pool.fetchval("SELECT count(*) FROM outbox")
    status, problem = await ledger.place_hold(tenant, "system", 41)
    assert status == 422, problem
    assert problem["type"] == "/problems/insufficient-credits"
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["held"]) == (100, 60)
    assert await ledger.pool.fetchval("SELECT count(*) FROM holds WHERE tenant_id = $1", tenant) == 1
    assert await ledger.pool.fetchval("SELECT count(*) FROM outbox") == before


async def test_the_same_idempotency_key_twice_places_one_hold(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    key = str(uuid.uuid4())
    first = await ledger.place_hold(tenant, "system", 25, key=key)
    second = await ledger.place_hold(tenant, "system", 25, key=key)
    assert first[0] == second[0] == 201
    assert first[1]["id"] == second[1]["id"]
    assert await ledger.pool.fetchval("SELECT count(*) FROM holds WHERE tenant_id = $1", tenant) == 1
    assert (await ledger.accounts(tenant, "system"))["system"]["held"] == 25


async def test_the_same_idempotency_key_with_another_hold_is_a_conflict(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    key = str(uuid.uuid4())
    await ledger.place_hold(tenant, "system", 25, key=key)
    status, _ = await ledger.place_hold(tenant, "system", 26, key=key)
    assert status == 409
    assert (await ledger.accounts(tenant, "system"))["system"]["held"] == 25


async def test_an_expired_hold_is_voided_by_the_sweeper_and_releases_its_credits(ledger: LedgerHarness):
    tenant = await _funded_system(ledger)
    _, hold = await ledger.place_hold(tenant, "system", 40, expires_in=3600)
    await ledger.pool.execute("UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1",
                              uuid.UUID(hold["id"]))

    async def expired() -> bool:
        status = await ledger.pool.fetchval("SELECT status FROM holds WHERE id = $1", uuid.UUID(hold["id"]))
        return bool(status == "expired")

    await eventually(expired, timeout=5)  # the app's own sweeper, every second
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["held"], account["available"]) == (100, 0, 100)
    events = await ledger.outbox("ledger.transaction.posted", tenant)
    posted = [e["data"] for e in events if e["data"]["kind"] == "expiry"]
    assert len(posted) == 1
    assert posted[0]["holds"][0]["hold_id"] == hold["id"] and posted[0]["holds"][0]["held_delta"] == -40
    # Announced too, as the lapse it is, numbered right after the expiry's transaction.
    [lapsed] = await ledger.outbox("ledger.hold.expired", tenant)
    assert lapsed["data"] == {"tenant_id": str(tenant), "hold_id": hold["id"], "account_id": hold["account_id"],
                              "quantity": 40}
    expiry = next(e for e in events if e["data"]["kind"] == "expiry")
    assert int(lapsed["sequence"]) == int(expiry["sequence"]) + 1
    assert lapsed["subject"] == f"tenants/{tenant}/accounts/{hold['account_id']}"
    status, capture = await ledger.post(f"/holds/{hold['id']}/capture", None, ledger.token(None, "service"))
    assert status == 409, capture


async def test_a_hold_on_user_credits_in_a_shared_mode_tenant_is_refused(ledger: LedgerHarness):
    tenant = await ledger.add_tenant("shared")
    ben = await ledger.add_user(tenant)
    await ledger.fund(tenant, user_code(ben.user_id), 50)  # a purchase paid before the switch, say
    status, problem = await ledger.place_hold(tenant, user_code(ben.user_id), 10)
    assert status == 422, problem
    assert problem["type"] == "/problems/shared-mode"
    account = (await ledger.accounts(tenant, user_code(ben.user_id)))[user_code(ben.user_id)]
    assert (account["balance"], account["held"]) == (50, 0)


async def test_a_hold_on_an_account_never_opened_is_not_found(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    status, _ = await ledger.place_hold(tenant, "system", 1)
    assert status == 404


async def test_one_key_sent_at_once_for_two_accounts_places_one_hold_and_refuses_the_other(ledger: LedgerHarness):
    """Two accounts, so the requests do not wait on one lock: the second meets the first's key in the
    unique index. That is a reused key (409), never a 500."""
    tenant = await _funded_system(ledger)
    ben = await ledger.add_user(tenant)
    await ledger.fund(tenant, user_code(ben.user_id), 100)
    for _ in range(5):
        key = str(uuid.uuid4())
        results = await asyncio.gather(ledger.place_hold(tenant, "system", 5, key=key),
                                       ledger.place_hold(tenant, user_code(ben.user_id), 5, key=key))
        assert sorted(status for status, _ in results) == [201, 409], results
    assert await ledger.pool.fetchval("SELECT count(*) FROM holds WHERE tenant_id = $1", tenant) == 5
    accounts = await ledger.accounts(tenant, "system", user_code(ben.user_id))
    assert sum(a["held"] for a in accounts.values()) == 25
