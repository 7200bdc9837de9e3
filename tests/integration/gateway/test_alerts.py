"""Balance alerts through the gateway, with a running ledger and a local SMTP server: who may read and set
an account's levels, and the emails a crossing and a recovery send to the holder and the masters, once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from common.accounts import account_id, user_code
from common.contracts import events
from common.contracts.events import Event
from gateway.seed import ACME, GLOBEX, demo_id
from services.ledger.app import create_app
from services.ledger.settings import LedgerSettings
from tests.conftest import Infra, NewDatabase, StartService
from tests.harness import INTERNAL_SECRET
from tests.integration.billing.mail_support import Mailbox, start_mailbox
from tests.integration.gateway.onboarding_support import Onboarding, running_gateway
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import eventually

MASTER, BEN, CLEO, DAN = "master@acme.test", "ben@acme.test", "cleo@acme.test", "dan@acme.test"
BEN_CODE, CLEO_CODE = user_code(demo_id(f"user/{BEN}")), user_code(demo_id(f"user/{CLEO}"))
LEVELS = {"levels": [{"name": "Low", "kind": "absolute", "value": 50},
                     {"name": "Critical", "kind": "percent", "value": 10}]}


def _path(tenant: uuid.UUID, code: str) -> str:
    return f"/api/v1/accounts/{account_id(tenant, code)}/alerts"


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
        async def acme_known() -> bool:
            return await harness.pool.fetchval("SELECT count(*) FROM users WHERE tenant_id = $1", ACME.id) == 4

        await eventually(acme_known, timeout=10)
        yield running, harness


async def test_whoever_manages_an_account_may_read_and_set_its_alerts_and_no_one_else(
    gateway: tuple[Onboarding, LedgerHarness],
):
    api, _ = gateway
    master, ben = await api.sign_in(MASTER), await api.sign_in(BEN)
    answer = await api.call("PUT", _path(ACME.id, BEN_CODE), LEVELS, ben)  # his own
    assert answer.status == 200, answer.body
    assert [(a["name"], a["kind"], a["value"], a["threshold"]) for a in answer.body] == [
        ("Low", "absolute", 50, 50), ("Critical", "percent", 10, 0)]  # no purchase yet: inactive
    answer = await api.call("GET", _path(ACME.id, BEN_CODE), None, master)  # the master manages every account
    assert answer.status == 200 and [a["name"] for a in answer.body] == ["Low", "Critical"]
    assert (await api.call("PUT", _path(ACME.id, "system"), LEVELS, master)).status == 200
    for who, path in ((ben, _path(ACME.id, CLEO_CODE)), (ben, _path(ACME.id, "system"))):
        for method, body in (("GET", None), ("PUT", {"levels": []})):
            answer = await api.call(method, path, body, who)
            assert answer.status == 403, (method, path, answer.body)
    assert (await api.call("GET", _path(GLOBEX.id, "system"), None, master)).status == 404
    assert (await api.call("GET", "/api/v1/accounts/not-an-id/alerts", None, master)).status == 404
    assert (await api.call("GET", _path(ACME.id, BEN_CODE), None, {})).status == 401
    answer = await api.call("PUT", _path(ACME.id, BEN_CODE),
                            {"levels": [{"name": "Low", "kind": "percent", "value": 150}]}, ben)
    assert answer.status == 422 and answer.body["type"].endswith("alert-invalid")
    answer = await api.call("GET", _path(ACME.id, BEN_CODE), None, ben)
    assert [a["name"] for a in answer.body] == ["Low", "Critical"]  # a refused set changes nothing


def _subjects(mailbox: Mailbox, address: str) -> list[str]:
    return [str(m["Subject"]) for m in mailbox.to(address)]


async def test_a_crossing_and_a_recovery_email_the_holder_and_the_master_once_each(
    gateway: tuple[Onboarding, LedgerHarness],
):
    api, ledger = gateway
    master, ben = await api.sign_in(MASTER), await api.sign_in(BEN)
    await ledger.fund(ACME.id, "system", 1000)
    await ledger.fund(ACME.id, BEN_CODE, 100)
    assert (await api.call("PUT", _path(ACME.id, BEN_CODE), LEVELS, ben)).status == 200
    as_master = {**master, "Idempotency-Key": uuid.uuid4().hex}
    moved = await api.call("POST", "/api/v1/transfers", {
        "from_account": str(account_id(ACME.id, BEN_CODE)), "to_account": str(account_id(ACME.id, "system")),
        "quantity": 60, "accept_terms": True}, as_master)
    assert moved.status == 201, moved.body
    low = "Ben Carter's SMS credits are low: 40 left (below Low, 50)"
    await api.mailbox.wait_for(1, to=BEN)
    await api.mailbox.wait_for(1, to=MASTER)
    assert _subjects(api.mailbox, BEN) == _subjects(api.mailbox, MASTER) == [low]
    assert "Hello Ben Carter" in api.mailbox.to(BEN)[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # The same event delivered again sends nothing more.
    [envelope] = [e for e in await ledger.outbox("ledger.balance.low", ACME.id)]
    await ledger.publish(Event.model_validate(envelope))
    await ledger.fund(ACME.id, BEN_CODE, 20)  # 60: back above Low (Critical is 10% of 20: 2)
    recovered = "Ben Carter's SMS credits are back above Low"
    await api.mailbox.wait_for(2, to=BEN)
    await api.mailbox.wait_for(2, to=MASTER)
    assert _subjects(api.mailbox, BEN) == _subjects(api.mailbox, MASTER) == [low, recovered]
    assert _subjects(api.mailbox, CLEO) == _subjects(api.mailbox, DAN) == []
    kinds: list[Any] = await api.pool.fetch("SELECT kind, count(*) FROM email_outbox GROUP BY kind ORDER BY kind")
    assert {(r["kind"], r["count"]) for r in kinds} >= {("balance_low", 2), ("balance_recovered", 2)}
    assert [e["type"] for e in await ledger.outbox("ledger.balance.recovered", ACME.id)] == [
        events.BALANCE_RECOVERED]
