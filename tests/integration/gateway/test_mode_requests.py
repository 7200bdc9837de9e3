"""The client change request through the gateway's API, with a running ledger and a local SMTP server: a
master asks to switch their organisation's credit mode with a reason, the operators are emailed, an
operator approves (the ledger's switch runs; open holds block it and the request stays pending with the
reason) or rejects with a note, and the master is emailed the decision."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from common.contracts import events
from gateway.seed import ACME, GLOBEX
from services.ledger.app import create_app
from services.ledger.settings import LedgerSettings
from tests.conftest import Infra, NewDatabase, StartService
from tests.harness import INTERNAL_SECRET
from tests.integration.billing.mail_support import Mailbox, start_mailbox
from tests.integration.gateway.onboarding_support import PUBLIC_BASE_URL, Answer, Onboarding, running_gateway
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import eventually

MASTER, OPERATOR, USER, GLOBEX_MASTER = "master@acme.test", "ops@platform.test", "ben@acme.test", "master@globex.test"
REQUESTS = "/api/v1/credit-mode-requests"
ASK = {"mode": "shared", "reason": "Our agents share one budget now."}


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with start_mailbox() as box:
        yield box


@pytest.fixture
async def gateway(start_service: StartService, infra: Infra, new_database: NewDatabase, exchange_name: str,
                  mailbox: Mailbox) -> AsyncIterator[tuple[Onboarding, LedgerHarness]]:
    ledger = await start_service("ledger", create_app, LedgerSettings)
    harness = LedgerHarness(ledger.client, ledger.broker, ledger.dsn)
    async with running_gateway(infra, new_database, exchange_name, mailbox,
                               LEDGER_URL=str(ledger.client.make_url("/")), INTERNAL_TOKEN_SECRET=INTERNAL_SECRET,
                               ) as running:
        # The ledger learns of Acme from the gateway's announcement of its seed, through the exchange.
        async def acme_known() -> bool:
            return await harness.pool.fetchval("SELECT count(*) FROM tenants WHERE id = $1", ACME.id) == 1

        await eventually(acme_known, timeout=10)
        yield running, harness


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def ask(gateway: Onboarding, body: dict[str, Any] = ASK, who: str = MASTER) -> Answer:
    return await gateway.call("POST", REQUESTS, body, {**await gateway.sign_in(who), **key()})


async def decide(gateway: Onboarding, request_id: str, decision: str, body: Any = None, who: str = OPERATOR) -> Answer:
    # With an Idempotency-Key, as the operators' page sends it: the note must still be read.
    return await gateway.call("POST", f"/api/v1/admin/credit-mode-requests/{request_id}/{decision}", body,
                              {**await gateway.sign_in(who), **key()})


async def mode_of_acme(gateway: Onboarding) -> str:
    me = await gateway.call("GET", "/api/v1/me", headers=await gateway.sign_in(MASTER))
    return str(me.body["tenant"]["credit_mode"])


async def test_a_master_asks_the_operators_are_emailed_and_a_second_request_waits(
    gateway: tuple[Onboarding, LedgerHarness], mailbox: Mailbox,
):
    gw, _ = gateway
    master = await gw.sign_in(MASTER)
    headers = {**master, **key()}
    asked = await gw.call("POST", REQUESTS, ASK, headers)

    assert asked.status == 201, asked.body
    request = asked.body
    assert (request["status"], request["mode"], request["previous_mode"]) == ("pending", "shared", "individual")
    assert request["tenant_id"] == str(ACME.id) and request["tenant_name"] == ACME.name
    assert request["requested_by"]["name"] == "Ava Nguyen" and request["reason"] == ASK["reason"]
    assert request["decided_by"] is None and request["decided_at"] is None

    # The same key and body again: the same answer, replayed, and still one request.
    again = await gw.call("POST", REQUESTS, ASK, headers)
    assert again.status == 201 and again.body["id"] == request["id"] and again.headers.get("Idempotent-Replayed")
    # A new request while one waits: 409, whoever of the tenant's masters asks.
    second = await ask(gw, {"mode": "shared", "reason": "Again"})
    assert second.status == 409 and second.body["type"].endswith("/credit-mode-request-pending"), second.body

    # Each operator is told, with the tenant, the reason and where to decide.
    await mailbox.wait_for(1)
    [email] = mailbox.to(OPERATOR)
    assert "Acme Realty" in email["Subject"] and "Shared System Credits" in email["Subject"]
    text = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert ASK["reason"] in text and f"{PUBLIC_BASE_URL}/admin/credit-mode-requests" in text

    # The master sees their tenant's; the operator every tenant's pending ones; Globex's master none of Acme's.
    mine = await gw.call("GET", REQUESTS, headers=master)
    assert [r["id"] for r in mine.body] == [request["id"]]
    pending = await gw.call("GET", f"{REQUESTS}?status=pending", headers=await gw.sign_in(OPERATOR))
    assert request["id"] in [r["id"] for r in pending.body]
    decided = await gw.call("GET", f"{REQUESTS}?status=approved", headers=await gw.sign_in(OPERATOR))
    assert decided.status == 200 and request["id"] not in [r["id"] for r in decided.body]
    assert (await gw.call("GET", REQUESTS, headers=await gw.sign_in(GLOBEX_MASTER))).body == []


async def test_only_masters_ask_and_bad_requests_are_400_asking_nothing(gateway: tuple[Onboarding, LedgerHarness]):
    gw, _ = gateway
    for who in (USER, OPERATOR):
        answer = await ask(gw, who=who)
        assert answer.status == 403 and answer.body["type"].endswith("/masters-only"), answer.body
        listed = await gw.call("GET", REQUESTS, headers=await gw.sign_in(who))
        assert listed.status == (200 if who == OPERATOR else 403), listed.body
    for body in ({"mode": "shared"}, {"mode": "shared", "reason": "  "}, {"mode": "pooled", "reason": "x"},
                 {"mode": "shared", "reason": "x" * 501}, {"mode": "shared", "reason": "x\u0000"},
                 {"mode": "shared", "reason": "x", "tenant_id": str(GLOBEX.id)}):
        answer = await ask(gw, body)
        assert answer.status == 400 and answer.content_type == "application/problem+json", (body, answer.body)
    assert (await gw.call("GET", f"{REQUESTS}?status=maybe", headers=await gw.sign_in(MASTER))).status == 400
    assert (await gw.call("GET", REQUESTS, headers=await gw.sign_in(MASTER))).body == []
    # Asking for the mode already in use is allowed but pointless: 422.
    answer = await ask(gw, {"mode": "individual", "reason": "We like it"})
    assert answer.status == 422 and answer.body["type"].endswith("/credit-mode-unchanged"), answer.body


async def test_open_holds_keep_an_approval_pending_with_the_reason_then_it_switches(
    gateway: tuple[Onboarding, LedgerHarness], mailbox: Mailbox,
):
    gw, ledger = gateway
    await ledger.fund(ACME.id, "system", 10)
    service = await gw.service_client(f"sender-{uuid.uuid4().hex[:8]}")
    accounts = (await gw.call("GET", "/api/v1/accounts", headers=await gw.sign_in(MASTER))).body
    [system] = [a["id"] for a in accounts if a["kind"] == "system"]
    hold = await gw.call("POST", "/api/v1/holds", {"account_id": system, "quantity": 2, "expires_in": 600},
                         {**service, **key()})
    assert hold.status == 201, hold.body
    request = (await ask(gw)).body

    blocked = await decide(gw, request["id"], "approve", {"note": "Done"})

    assert blocked.status == 409 and blocked.body["type"].endswith("/open-holds"), blocked.body
    assert await mode_of_acme(gw) == "individual"
    [still] = (await gw.call("GET", REQUESTS, headers=await gw.sign_in(MASTER))).body
    assert still["status"] == "pending" and "open hold" in still["last_error"] and still["last_attempt_at"]

    voided = await gw.call("POST", f"/api/v1/holds/{hold.body['id']}/void", None, service)
    assert voided.status == 200, voided.body
    approved = await decide(gw, request["id"], "approve", {"note": "Done"})

    assert approved.status == 200, approved.body
    assert approved.body["status"] == "approved" and approved.body["note"] == "Done"
    assert approved.body["decided_by"]["name"] == "Olive Ops" and approved.body["decided_at"]
    assert await mode_of_acme(gw) == "shared"
    # The ledger is told by the same event as the operator's own switch, naming the operator.
    [change] = await gw.events(events.CREDIT_MODE_CHANGED)
    assert change["mode"] == "shared" and change["actor_user_id"] == approved.body["decided_by"]["id"]
    # The master is emailed the decision, with the note.
    await mailbox.wait_for(2)
    [email] = mailbox.to(MASTER)
    assert email["Subject"] == "Your organisation now uses Shared System Credits"
    assert "Done" in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # Decided once: a second decision either way is 409.
    for decision, body in (("approve", None), ("reject", {"note": "No"})):
        again = await decide(gw, request["id"], decision, body)
        assert again.status == 409 and again.body["type"].endswith("/credit-mode-request-decided"), again.body


async def test_an_operator_rejects_with_a_note_and_the_master_may_ask_again(
    gateway: tuple[Onboarding, LedgerHarness], mailbox: Mailbox,
):
    gw, _ = gateway
    request = (await ask(gw)).body
    assert (await decide(gw, request["id"], "reject", {})).status == 400  # a rejection says why
    assert (await decide(gw, request["id"], "reject", {"note": "No"}, who=MASTER)).status == 403

    rejected = await decide(gw, request["id"], "reject", {"note": "Your holds are too busy this week."})

    assert rejected.status == 200 and rejected.body["status"] == "rejected", rejected.body
    assert await mode_of_acme(gw) == "individual"
    assert await gw.events(events.CREDIT_MODE_CHANGED) == []
    await mailbox.wait_for(2)
    [email] = mailbox.to(MASTER)
    assert "was not approved" in email["Subject"]
    assert "Your holds are too busy this week." in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (await ask(gw)).status == 201


async def test_deciding_an_unknown_request_is_404_and_only_operators_decide(gateway: tuple[Onboarding, LedgerHarness]):
    gw, _ = gateway
    for request_id in (str(uuid.uuid4()), "not-an-id"):
        answer = await decide(gw, request_id, "approve")
        assert answer.status == 404 and answer.body["type"].endswith("/credit-mode-request-not-found"), answer.body
    request = (await ask(gw)).body
    for who in (MASTER, USER, GLOBEX_MASTER):
        answer = await decide(gw, request["id"], "approve", who=who)
        assert answer.status == 403 and answer.body["type"].endswith("/operators-only"), (who, answer.body)
    assert await mode_of_acme(gw) == "individual"


async def test_the_admin_page_is_served_with_its_script(gateway: tuple[Onboarding, LedgerHarness]):
    gw, _ = gateway
    response = await gw.client.get("/admin/credit-mode-requests")
    text = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    assert "Credit mode requests" in text and "/admin_requests.js" in text


async def test_an_approval_whose_decision_cannot_be_written_switches_nothing(
    gateway: tuple[Onboarding, LedgerHarness], monkeypatch: pytest.MonkeyPatch,
):
    gw, _ = gateway
    request = (await ask(gw)).body
    from gateway.directory import mode_requests as requests_store

    async def decision_lost(*_: Any, **__: Any) -> None:
        raise ConnectionResetError("the database went away before the decision was written")

    monkeypatch.setattr(requests_store, "decide", decision_lost)
    answer = await decide(gw, request["id"], "approve")
    assert answer.status == 500 or answer.status == 503, answer.body
    # The switch and the decision are one transaction: the mode is as it was and the request still waits.
    assert await mode_of_acme(gw) == "individual"
    monkeypatch.undo()
    approved = await decide(gw, request["id"], "approve")
    assert approved.status == 200 and approved.body["status"] == "approved", approved.body
    assert await mode_of_acme(gw) == "shared"
