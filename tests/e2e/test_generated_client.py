"""A client generated from /api/openapi.json alone, as a client developer would (openapi-python-client,
pinned in the test extras), drives the whole system: sign in, buy credits and pay on the checkout, fetch
the tax invoice, transfer, and read the log as JSON and CSV. The generator must say nothing about the
document: a warning means it dropped part of the API."""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import DEMO_PASSWORD, System

PACKAGE = "sms_credits_client"
# The generator knows JSON, text and application/octet-stream answers; a PDF is read as bytes like any
# other file. Its formatting hooks (ruff) are not needed to import the client.
# Files a client downloads as bytes: the PDFs and the usage chart (SVG), as a client developer would configure.
CONFIG = ("content_type_overrides:\n  application/pdf: application/octet-stream\n"
          "  image/svg+xml: application/octet-stream\npost_hooks: []\n")
GOOD_CARD = "4242424242424242"


def generator() -> list[str]:
    return [str(Path(sys.executable).with_name("openapi-python-client"))]


def generate(document: dict[str, Any], into: Path) -> str:
    """Generate the client package `PACKAGE` into `into`; the generator's output (its warnings)."""
    (into / "openapi.json").write_text(json.dumps(document))
    (into / "config.yml").write_text(CONFIG)
    done = subprocess.run(
        [*generator(), "generate", "--path", str(into / "openapi.json"), "--config", str(into / "config.yml"),
         "--meta", "none", "--output-path", str(into / PACKAGE)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="package")
async def client_package(system: System, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The generated client, imported: generated once per run from the running gateway's document."""
    async with aiohttp.ClientSession() as http, http.get(f"{system.gateway_url}/api/openapi.json") as answer:
        assert answer.status == 200
        document = await answer.json()
    where = tmp_path_factory.mktemp("generated-client")
    output = await asyncio.to_thread(generate, document, where)
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(where))
    try:
        yield _GeneratedClient(where)
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class _GeneratedClient:
    """`gen.api("purchases.create_purchase")`, `gen.model("PurchaseRequest")`: the generated modules."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.root = importlib.import_module(PACKAGE)

    def api(self, name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.api.{name}")

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


@pytest.fixture
async def master(client_package: _GeneratedClient, system: System) -> AsyncIterator[Any]:
    async with client_package.root.Client(base_url=system.gateway_url) as anonymous:
        tokens = await client_package.api("auth.sign_in").asyncio(
            client=anonymous,
            body=client_package.model("TokenRequest")(email="master@acme.test", password=DEMO_PASSWORD),
        )
    assert isinstance(tokens, client_package.model("SessionTokenAnswer")), tokens
    assert tokens.refresh_token and tokens.token_type == "Bearer"
    signed_in = client_package.root.AuthenticatedClient(base_url=system.gateway_url, token=tokens.access_token)
    async with signed_in as signed:
        yield signed


async def until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_a_generated_client_buys_pays_transfers_and_reads_the_log(
    client_package: _GeneratedClient, master: Any, system: System
):
    gen = client_package
    accounts = await gen.api("accounts.list_accounts").asyncio(client=master)
    ids = {a.name: a.id for a in accounts}
    system_credits, ben = ids["System Credits"], ids["Ben Carter"]

    # A purchase: created with an idempotency key, paid on the checkout's JSON POST, polled until credited.
    created = await gen.api("purchases.create_purchase").asyncio_detailed(
        client=master, idempotency_key=str(uuid.uuid4()),
        body=gen.model("PurchaseRequest")(
            account_id=system_credits, quantity=500,
            billing=gen.model("BillingDetails")(name="Ava Nguyen", email="master@acme.test"),
        ),
    )
    assert created.status_code == 201, created.content
    purchase = created.parsed
    assert str(purchase.status) == "pending" and purchase.quote.quantity == 500
    session = purchase.checkout_url.rstrip("/").rsplit("/", 1)[1]
    async with gen.root.Client(base_url=system.gateway_url) as anonymous:
        paid = await gen.api("checkout.pay").asyncio_detailed(
            session, client=anonymous,
            body=gen.model("CardPayment")(card_number=GOOD_CARD, exp_month=12, exp_year=2035, cvc="123",
                                          name="Ava Nguyen"),
        )
    assert paid.status_code == 200, paid.content
    assert str(paid.parsed.id) == str(purchase.id)

    async def credited() -> Any:
        view = await gen.api("purchases.get_purchase").asyncio(purchase.id, client=master)
        return view if str(view.status) == "credited" else None

    view = await until(credited)
    assert view is not None, "the purchase was not credited"

    # The tax invoice, as bytes.
    invoice = await gen.api("purchases.invoice_pdf").asyncio_detailed(purchase.id, client=master)
    assert invoice.status_code == 200
    assert invoice.parsed.payload.read().startswith(b"%PDF")

    # A transfer, and the log showing it at once with its consistency token.
    moved = await gen.api("accounts.transfer").asyncio_detailed(
        client=master, idempotency_key=str(uuid.uuid4()),
        body=gen.model("TransferRequest")(from_account=system_credits, to_account=ben, quantity=7, accept_terms=True,
                                          note="generated client"),
    )
    assert moved.status_code == 201, moved.content
    answer = moved.parsed
    page = await gen.api("logs.logs").asyncio(client=master, account=[ben], limit=50,
                                              consistency_token=answer.consistency_token)
    assert isinstance(page, gen.model("LogPage")), page
    assert any(e.note == "generated client" and e.quantity == 7 and str(e.direction) == "in" for e in page.entries)

    # The same log as CSV: text with a header row and the transfer's row.
    csv = await gen.api("logs.logs_csv").asyncio_detailed(client=master, account=[ben], days=1)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert isinstance(csv.parsed, str) and "generated client" in csv.parsed
    assert len(csv.parsed.splitlines()) >= 2

    # A problem answer is parsed as one: another tenant's purchase, or none, is 404.
    missing = await gen.api("purchases.get_purchase").asyncio_detailed(uuid.uuid4(), client=master)
    assert missing.status_code == 404 and isinstance(missing.parsed, gen.model("Problem"))
