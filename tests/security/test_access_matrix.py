"""Every endpoint of the public API x every role, with the status each cell must answer.

The objects are Acme's: Ben's account, a purchase Ben made for it (paid), a refund of it, holds on it,
a message Ben sent, Cleo as the person to change, Acme as the tenant to administer. The roles: nobody
(no token), Ben (a user, team Sales), Cleo (his team member), Dan (`manage_credits`), Ava (Acme's
master), Gail (Globex's master: another tenant, to whom Acme's objects do not exist, so 404), Olive (a
platform operator, no tenant) and an internal system with a service token.

A 2xx means the role may; 422 that it may, but a rule of the product stops this particular request (a
card not saved, say), after every permission check; 403 that the object is known to the caller but the
action is not theirs; 404 that, for the caller, the object does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.e2e.test_purchase_flow import GOOD_CARD
from tests.security.conftest import AttackedSystem, Caller, new_key
from tests.support import eventually

ROLES = ("anonymous", "user", "team member", "manage_credits", "master", "other tenant's master", "operator",
         "service")
Body = Callable[[dict[str, str]], Any]
BILLING = {"name": "Ben Carter", "email": "ben@acme.test"}
# A receiver nobody listens on: deliveries to it fail and are retried in the background, changing nothing here.
WEBHOOK = {"url": "http://127.0.0.1:9/hooks", "event_types": ["com.smscredits.ledger.transaction.posted"]}
PRICE_LIST = {"currency": "AUD", "tax_name": "GST", "tax_rate": "0.10", "min_quantity": 100,
              "max_quantity": 1_000_000, "tiers": [{"min_quantity": 1, "unit_price": "0.08"}]}


def _none(_: dict[str, str]) -> None:
    return None


# (method, path, body, expected status per role in ROLES order). Paths name objects in {braces}.
# None: allowed, and an answer that never ends (the live stream), opened in its own tests instead.
MATRIX: list[tuple[str, str, Body, tuple[int | None, ...]]] = [
    #                                                                 anon user team mc  mast other op  svc
    ("POST", "/auth/token", lambda o: {"email": "ben@acme.test", "password": "demo-password"},
     (200, 200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/auth/service-token", lambda o: {"client_id": "nobody", "client_secret": "wrong"},
     (401, 401, 401, 401, 401, 401, 401, 401)),
    ("GET", "/me", _none, (401, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/terms", _none, (401, 200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/users", _none, (401, 200, 200, 200, 200, 200, 403, 403)),
    ("PATCH", "/users/{cleo}", lambda o: {"team": "Sales"}, (401, 403, 403, 403, 200, 404, 403, 403)),
    ("GET", "/accounts", _none, (401, 200, 200, 200, 200, 200, 403, 403)),
    ("GET", "/accounts/{ben_account}", _none, (401, 200, 403, 200, 200, 404, 403, 403)),
    ("POST", "/transfers", lambda o: {"from_account": o["ben_account"], "to_account": o["cleo_account"],
                                       "quantity": 1, "accept_terms": True},
     (401, 201, 403, 201, 201, 404, 403, 403)),
    ("GET", "/accounts/{ben_account}/auto-top-up", _none, (401, 200, 200, 200, 200, 404, 403, 403)),
    ("PUT", "/accounts/{ben_account}/auto-top-up", lambda o: {"threshold": 10, "quantity": 100, "daily_cap": 1000},
     (401, 200, 422, 422, 422, 404, 403, 403)),
    ("DELETE", "/accounts/{ben_account}/auto-top-up", _none, (401, 200, 200, 200, 200, 404, 403, 403)),
    ("GET", "/me/billing-details", _none, (401, 200, 200, 200, 200, 200, 403, 403)),
    ("GET", "/quotes?quantity=500", _none, (401, 200, 200, 200, 200, 200, 403, 403)),
    ("GET", "/prices", _none, (401, 200, 200, 200, 200, 200, 403, 403)),
    ("POST", "/purchases", lambda o: {"account_id": o["ben_account"], "quantity": 100, "billing": BILLING},
     (401, 201, 201, 201, 201, 404, 403, 403)),
    ("GET", "/purchases/{purchase}", _none, (401, 200, 403, 200, 200, 404, 403, 403)),
    ("GET", "/purchases/{purchase}/invoice.pdf", _none, (401, 200, 403, 200, 200, 404, 403, 403)),
    ("POST", "/purchases/{purchase}/refunds", lambda o: {"quantity": 1}, (401, 403, 403, 403, 201, 404, 403, 403)),
    ("GET", "/purchases/{purchase}/refunds", _none, (401, 200, 403, 200, 200, 404, 403, 403)),
    ("GET", "/purchases/{purchase}/refunds/{refund}", _none, (401, 200, 403, 200, 200, 404, 403, 403)),
    ("GET", "/purchases/{purchase}/refunds/{refund}/adjustment-note.pdf", _none,
     (401, 200, 403, 200, 200, 404, 403, 403)),
    ("POST", "/holds", lambda o: {"account_id": o["ben_account"], "quantity": 1, "expires_in": 60},
     (401, 403, 403, 403, 403, 403, 403, 201)),
    ("POST", "/holds/{hold_to_capture}/capture", lambda o: {"quantity": 1}, (401, 403, 403, 403, 403, 403, 403, 200)),
    ("POST", "/holds/{hold_to_void}/void", _none, (401, 403, 403, 403, 403, 403, 403, 200)),
    ("GET", "/logs", _none, (401, 200, 200, 200, 200, 200, 403, 403)),
    ("GET", "/logs.csv", _none, (401, 200, 200, 200, 200, 200, 403, 403)),
    ("GET", "/logs/report", _none, (401, 200, 200, 200, 200, 200, 403, 403)),
    ("GET", "/logs?account={ben_account}", _none, (401, 200, 404, 200, 200, 404, 403, 403)),
    ("POST", "/messages/preview", lambda o: {"body": "Open home Saturday", "recipients": 1},
     (401, 200, 200, 200, 200, 200, 200, 200)),
    # A sender pays from their own credits: Cleo has the one Ben gave her above; Dan's, Ava's and Globex's
    # accounts are empty (422: allowed, but nothing to pay with).
    ("POST", "/messages", lambda o: {"to": ["+61412345678"], "body": "Open home Saturday"},
     (401, 202, 202, 422, 422, 422, 403, 403)),
    ("GET", "/messages/{message}", _none, (401, 200, 403, 403, 200, 404, 403, 403)),
    ("PUT", "/admin/tenants/{acme}/credit-mode", lambda o: {"mode": "individual"},
     (401, 403, 403, 403, 403, 403, 200, 403)),
    ("GET", "/admin/tenants/{acme}/price-list", _none, (401, 403, 403, 403, 403, 403, 200, 403)),
    ("PUT", "/admin/tenants/{acme}/price-list", lambda o: PRICE_LIST, (401, 403, 403, 403, 403, 403, 200, 403)),
    # The live stream is a tenant's people's; only its refusals fit here (a 200 never ends).
    ("GET", "/stream", _none, (401, None, None, None, None, None, 403, 403)),
    # The event log: an internal system names the tenant (422 without); a master reads their own tenant's.
    ("GET", "/events?tenant_id={acme}", _none, (401, 403, 403, 403, 200, 404, 403, 200)),
    ("GET", "/events", _none, (401, 403, 403, 403, 200, 200, 403, 422)),
    # Webhooks: a tenant's masters only; another tenant's master registers their own, and Acme's do not exist
    # for them. A delivery id that names nothing is 404 for those who may replay.
    ("POST", "/webhooks", lambda o: WEBHOOK, (401, 403, 403, 403, 201, 201, 403, 403)),
    ("GET", "/webhooks", _none, (401, 403, 403, 403, 200, 200, 403, 403)),
    ("GET", "/webhooks/{webhook}", _none, (401, 403, 403, 403, 200, 404, 403, 403)),
    ("PATCH", "/webhooks/{webhook}", lambda o: {"description": "Matrix"}, (401, 403, 403, 403, 200, 404, 403, 403)),
    ("POST", "/webhooks/{webhook}/rotate-secret", _none, (401, 403, 403, 403, 200, 404, 403, 403)),
    ("GET", "/webhooks/{webhook}/deliveries", _none, (401, 403, 403, 403, 200, 404, 403, 403)),
    ("POST", "/webhooks/{webhook}/deliveries/{acme}/replay", _none, (401, 403, 403, 403, 404, 404, 403, 403)),
    ("POST", "/webhooks/{webhook}/replay", lambda o: {"since": "2020-01-01T00:00:00Z"},
     (401, 403, 403, 403, 202, 404, 403, 403)),
    ("DELETE", "/webhooks/{webhook_to_delete}", _none, (401, 403, 403, 403, 204, 404, 403, 403)),
    # Credit mode requests: a tenant's masters ask (Acme's is already waiting: 409; Globex already shares: 422),
    # masters read their own tenant's and operators every tenant's; only operators decide (the reject goes
    # through, after which the request is decided: 409).
    ("POST", "/credit-mode-requests", lambda o: {"mode": "shared", "reason": "Matrix"},
     (401, 403, 403, 403, 409, 422, 403, 403)),
    ("GET", "/credit-mode-requests", _none, (401, 403, 403, 403, 200, 200, 200, 403)),
    ("GET", "/credit-mode-requests?status=pending", _none, (401, 403, 403, 403, 200, 200, 200, 403)),
    ("POST", "/admin/credit-mode-requests/{mode_request}/reject", lambda o: {"note": "Matrix"},
     (401, 403, 403, 403, 403, 403, 200, 403)),
    ("POST", "/admin/credit-mode-requests/{mode_request}/approve", lambda o: {"note": "Matrix"},
     (401, 403, 403, 403, 403, 403, 409, 403)),
]


async def _call(http: aiohttp.ClientSession, base: str, caller: Caller, method: str, path: str,
                body: Any = None) -> tuple[int, Any]:
    async with http.request(method, f"{base}/api/v1{path}", json=body, headers=caller.headers(new_key())) as r:
        return r.status, await r.json(content_type=None) if "json" in r.content_type else await r.read()


@pytest.fixture(scope="module")
async def objects(attacked: AttackedSystem, callers: dict[str, Caller]) -> dict[str, str]:
    """Acme's objects the matrix asks about, in the states the cells need."""
    base, ben, ava, svc = attacked.gateway_url, callers["user"], callers["master"], callers["service"]
    async with aiohttp.ClientSession() as http:
        _, me = await _call(http, base, ava, "GET", "/me")
        _, accounts = await _call(http, base, ava, "GET", "/accounts")
        by_name = {a["name"]: a["id"] for a in accounts}
        found = {"acme": me["tenant"]["id"], "ben_account": by_name["Ben Carter"],
                 "cleo_account": by_name["Cleo Park"]}
        _, users = await _call(http, base, ava, "GET", "/users")
        found["cleo"] = next(u["id"] for u in users if u["name"] == "Cleo Park")
        status, created = await _call(http, base, ben, "POST", "/purchases",
                                      {"account_id": found["ben_account"], "quantity": 5000, "billing": BILLING})
        assert status == 201, created
        card = {"card_number": GOOD_CARD, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Ben Carter"}
        async with http.post(created["checkout_url"], json=card) as paid:
            assert paid.status == 200, await paid.text()
        found["purchase"] = created["id"]

        async def credited() -> bool:
            return (await _call(http, base, ben, "GET", f"/purchases/{created['id']}"))[1]["status"] == "credited"

        await eventually(credited, timeout=10)
        status, refund = await _call(http, base, ava, "POST", f"/purchases/{created['id']}/refunds", {"quantity": 10})
        assert status == 201 and refund["status"] == "refunded", refund
        found["refund"] = refund["id"]
        # Ben saved his card by paying: his account's auto top-up is on for the cells that read it.
        status, top_up = await _call(http, base, ben, "PUT", f"/accounts/{found['ben_account']}/auto-top-up",
                                     {"threshold": 10, "quantity": 100, "daily_cap": 1000})
        assert status == 200, top_up
        for name in ("hold_to_capture", "hold_to_void"):
            status, hold = await _call(http, base, svc, "POST", "/holds",
                                       {"account_id": found["ben_account"], "quantity": 5, "expires_in": 600})
            assert status == 201, hold
            found[name] = hold["id"]
        status, message = await _call(http, base, ben, "POST", "/messages",
                                      {"to": ["+61412345678"], "body": "Matrix"})
        assert status == 202, message
        found["message"] = message["id"]
        for name in ("webhook", "webhook_to_delete"):
            status, webhook = await _call(http, base, ava, "POST", "/webhooks", WEBHOOK)
            assert status == 201, webhook
            found[name] = webhook["id"]
        status, mode_request = await _call(http, base, ava, "POST", "/credit-mode-requests",
                                           {"mode": "shared", "reason": "Matrix"})
        assert status == 201, mode_request
        found["mode_request"] = mode_request["id"]
    return found


async def test_every_endpoint_for_every_role(attacked: AttackedSystem, callers: dict[str, Caller],
                                             objects: dict[str, str], http: aiohttp.ClientSession):
    cells, wrong = 0, []
    for method, path, body, expected in MATRIX:
        assert len(expected) == len(ROLES), path
        for role, status in zip(ROLES, expected, strict=True):
            if status is None:
                continue
            got, answer = await _call(http, attacked.gateway_url, callers[role], method, path.format(**objects),
                                      body(objects))
            cells += 1
            if got != status:
                detail = answer.get("detail") if isinstance(answer, dict) else None
                wrong.append(f"{method} {path} as {role}: expected {status}, got {got} ({detail})")
            if got >= 400:
                assert isinstance(answer, dict) and answer.get("status") == got, (method, path, role, answer)
    print(f"\naccess matrix: {len(MATRIX)} endpoints x {len(ROLES)} roles = {cells} cells")
    assert not wrong, "\n".join(wrong)


async def test_another_tenants_objects_do_not_exist_for_its_master(
        attacked: AttackedSystem, callers: dict[str, Caller], objects: dict[str, str], http: aiohttp.ClientSession):
    """Not 403: a 403 would tell Gail that the id is a real account, purchase or person elsewhere."""
    gail = callers["other tenant's master"]
    for path in ("/accounts/{ben_account}", "/purchases/{purchase}", "/purchases/{purchase}/refunds/{refund}",
                 "/messages/{message}", "/logs?account={ben_account}"):
        known, answer = await _call(http, attacked.gateway_url, gail, "GET", path.format(**objects))
        unknown, _ = await _call(http, attacked.gateway_url, gail, "GET",
                                 path.format(**{k: str(uuid.uuid4()) for k in objects}))
        assert known == unknown == 404, (path, known, unknown, answer)
