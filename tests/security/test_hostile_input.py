"""Hand-written hostile input through the gateway, with every service running: oversized and deep
bodies, wrong content types, strange unicode, quantities of every wrong kind, unknown fields, SQL and
HTML in notes and names (stored as sent, shown inert), forged, expired, `alg: none` and tampered
tokens, and payment webhooks replayed, stale, unsigned or signed with the wrong secret.

Every answer must be a 4xx problem (never a 5xx, never a stack trace or SQL), and a refused request
must change nothing."""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from typing import Any

import aiohttp
import jwt
import pytest
from pypdf import PdfReader

from services.billing.payments.signatures import sign
from tests.e2e.test_purchase_flow import GOOD_CARD
from tests.security.conftest import AttackedSystem, Caller, new_key
from tests.support import eventually

BILLING = {"name": "Ben Carter", "email": "ben@acme.test"}
LEAKS = ("Traceback", "asyncpg", "SELECT ", "INSERT ", "psycopg", 'File "', "Exception")


async def call(http: aiohttp.ClientSession, system: AttackedSystem, caller: Caller, method: str, path: str,
               body: Any = None, raw: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request; a 4xx or 5xx must be a problem document that leaks nothing of the inside."""
    options: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
    async with http.request(method, f"{system.gateway_url}/api/v1{path}", **options,
                            headers=caller.headers({**new_key(), **(headers or {})})) as response:
        text = await response.text()
        if response.status >= 400:
            assert response.content_type == "application/problem+json", (path, response.status, text[:300])
            assert not any(leak in text for leak in LEAKS), text
        return response.status, json.loads(text) if "json" in response.content_type and text else text


@pytest.fixture(scope="module")
async def acme(attacked: AttackedSystem, callers: dict[str, Caller]) -> dict[str, str]:
    """Acme's account ids by owner, with 2,000 credits in Ben's account."""
    async with aiohttp.ClientSession() as http:
        _, accounts = await call(http, attacked, callers["master"], "GET", "/accounts")
        ids = {a["name"]: a["id"] for a in accounts}
        status, created = await call(http, attacked, callers["user"], "POST", "/purchases",
                                     {"account_id": ids["Ben Carter"], "quantity": 2000, "billing": BILLING})
        assert status == 201, created
        card = {"card_number": GOOD_CARD, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Ben"}
        async with http.post(created["checkout_url"], json=card) as paid:
            assert paid.status == 200

        async def credited() -> bool:
            _, purchase = await call(http, attacked, callers["user"], "GET", f"/purchases/{created['id']}")
            return bool(purchase["status"] == "credited")

        await eventually(credited, timeout=10)
    return ids


async def balance(http: aiohttp.ClientSession, system: AttackedSystem, caller: Caller, account: str) -> int:
    status, view = await call(http, system, caller, "GET", f"/accounts/{account}")
    assert status == 200, view
    return int(view["balance"])


# -- bodies --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "role"), [("/auth/token", "anonymous"), ("/transfers", "master"),
                                            ("/purchases", "master"), ("/holds", "service"), ("/messages", "user")])
async def test_an_oversized_body_is_413(attacked: AttackedSystem, callers: dict[str, Caller],
                                        http: aiohttp.ClientSession, path: str, role: str):
    body = json.dumps({"note": "x" * 200_000}).encode()
    status, problem = await call(http, attacked, callers[role], "POST", path, raw=body,
                                 headers={"Content-Type": "application/json"})
    assert status == 413 and problem["status"] == 413


@pytest.mark.parametrize("depth", [100, 2_000, 10_000])  # 10,000 deep still fits in 64 KiB
async def test_deeply_nested_json_is_400(attacked: AttackedSystem, callers: dict[str, Caller],
                                         http: aiohttp.ClientSession, acme: dict[str, str], depth: int):
    for raw in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        before = await balance(http, attacked, callers["master"], acme["Ben Carter"])
        status, problem = await call(http, attacked, callers["master"], "POST", "/transfers", raw=raw.encode(),
                                     headers={"Content-Type": "application/json"})
        assert status == 400, problem
        assert await balance(http, attacked, callers["master"], acme["Ben Carter"]) == before


@pytest.mark.parametrize(("content_type", "raw"), [
    ("text/xml", b"<transfer><quantity>1</quantity></transfer>"),
    ("application/x-www-form-urlencoded", b"from_account=a&to_account=b&quantity=1"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n1\r\n--x--\r\n"),
])
async def test_a_body_that_is_not_json_is_415_and_moves_nothing(
        attacked: AttackedSystem, callers: dict[str, Caller], http: aiohttp.ClientSession, content_type: str,
        raw: bytes, acme: dict[str, str]):
    before = await balance(http, attacked, callers["master"], acme["Ben Carter"])
    status, problem = await call(http, attacked, callers["master"], "POST", "/transfers", raw=raw,
                                 headers={"Content-Type": content_type})
    assert status == 415, problem
    assert problem["type"].endswith("/problems/unsupported-media-type")
    assert await balance(http, attacked, callers["master"], acme["Ben Carter"]) == before


@pytest.mark.parametrize("raw", [
    b"\xff\xfe{\x00}\x00",  # not UTF-8
    b"",
    b"null",
    b"[1, 2, 3]",
    b'"just a string"',
    b'{"quantity": NaN}',
])
async def test_a_json_body_that_is_not_the_expected_object_is_400(
        attacked: AttackedSystem, callers: dict[str, Caller], http: aiohttp.ClientSession, raw: bytes):
    status, problem = await call(http, attacked, callers["master"], "POST", "/transfers", raw=raw,
                                 headers={"Content-Type": "application/json"})
    assert status == 400, problem


# -- quantities and fields ------------------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "expected"), [
    (-5, 422), (0, 422), (10**30, 422), (2**63, 422), (1.5, 400), (1.0, 400), ("5", 400), ("five", 400),
    (True, 400), (None, 400), ([1], 400), ({"value": 1}, 400),
])
async def test_quantities_of_every_wrong_kind_are_refused_and_move_nothing(
        attacked: AttackedSystem, callers: dict[str, Caller], http: aiohttp.ClientSession, acme: dict[str, str],
        quantity: Any, expected: int):
    master, ben, cleo = callers["master"], acme["Ben Carter"], acme["Cleo Park"]
    before = await balance(http, attacked, master, ben)
    requests = [
        ("/transfers", master, {"from_account": ben, "to_account": cleo, "quantity": quantity, "accept_terms": True}),
        ("/purchases", master, {"account_id": ben, "quantity": quantity, "billing": BILLING}),
        ("/holds", callers["service"], {"account_id": ben, "quantity": quantity}),
    ]
    for path, caller, body in requests:
        status, problem = await call(http, attacked, caller, "POST", path, body)
        assert status == expected, (path, quantity, problem)
    status, problem = await call(http, attacked, master, "GET", f"/quotes?quantity={quantity}")
    assert status in (400, 422), problem
    assert await balance(http, attacked, master, ben) == before


async def test_unknown_fields_are_refused(attacked: AttackedSystem, callers: dict[str, Caller],
                                          http: aiohttp.ClientSession, acme: dict[str, str]):
    body = {"from_account": acme["Ben Carter"], "to_account": acme["Cleo Park"], "quantity": 1,
            "accept_terms": True, "quantitty": 1000}
    status, problem = await call(http, attacked, callers["master"], "POST", "/transfers", body)
    assert status == 400 and any(e["field"] == "quantitty" for e in problem["errors"])
    status, problem = await call(http, attacked, callers["master"], "PATCH", f"/users/{uuid.uuid4()}",
                                 {"is_admin": True})
    assert status == 400


async def test_null_for_a_setting_that_cannot_be_null_is_400_and_changes_nobody(
        attacked: AttackedSystem, callers: dict[str, Caller], http: aiohttp.ClientSession):
    """Found by schemathesis: `{"active": null}` was written to the directory and answered 500."""
    _, users = await call(http, attacked, callers["master"], "GET", "/users")
    cleo = next(u["id"] for u in users if u["name"] == "Cleo Park")
    for field in ("active", "send_sms", "manage_credits", "role"):
        status, problem = await call(http, attacked, callers["master"], "PATCH", f"/users/{cleo}", {field: None})
        assert status == 400 and problem["errors"][0]["field"] == field, problem
    status, cleo_now = await call(http, attacked, callers["master"], "PATCH", f"/users/{cleo}", {})
    assert status == 200 and cleo_now["active"] and cleo_now["send_sms"] and cleo_now["role"] == "user"


async def test_a_balance_as_of_a_bare_number_is_400(attacked: AttackedSystem, callers: dict[str, Caller],
                                                   http: aiohttp.ClientSession, acme: dict[str, str]):
    """Found by schemathesis: `as_of=0.5` was read as half a second past 1970."""
    ben = acme["Ben Carter"]
    for moment in ("0.5", "1700000000", "yesterday", "2026-11-20"):
        status, _ = await call(http, attacked, callers["master"], "GET", f"/accounts/{ben}?as_of={moment}")
        assert status == 400, moment
    status, view = await call(http, attacked, callers["master"], "GET",
                              f"/accounts/{acme['Ben Carter']}?as_of=2026-01-01T00:00:00Z")
    assert status == 200 and view["balance"] == 0


# -- names and notes: stored as sent, shown inert -------------------------------------------------------

HOSTILE_TEXT = [
    "'); DROP TABLE postings; --",
    "1' OR '1'='1",
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "Ventes ✓ 販売 🏠 Ελληνικά",
    "\u202eevil\u202c right-to-left",
    "zero\u200bwidth",
    "\ufffe\uffff non-characters",
]


async def test_sql_and_html_in_a_note_are_stored_as_sent_and_shown_inert(
        attacked: AttackedSystem, callers: dict[str, Caller], http: aiohttp.ClientSession, acme: dict[str, str]):
    master = callers["master"]
    for note in HOSTILE_TEXT:
        body = {"from_account": acme["Ben Carter"], "to_account": acme["Cleo Park"], "quantity": 1,
                "accept_terms": True, "note": note}
        status, answer = await call(http, attacked, master, "POST", "/transfers", body)
        assert status == 201, (note, answer)
        status, page = await call(http, attacked, master, "GET",
                                  f"/logs?account={acme['Ben Carter']}&consistency_token={answer['consistency_token']}")
        assert status == 200 and any(e["note"] == note for e in page["entries"]), note
    async with http.get(f"{attacked.gateway_url}/api/v1/logs/report?account={acme['Ben Carter']}",
                        headers=master.headers()) as response:
        report = await response.text()
        assert response.status == 200 and "script-src" not in response.headers["Content-Security-Policy"]
    assert "<script>alert" not in report and "<img src=x" not in report
    assert "&lt;script&gt;alert" in report and "DROP TABLE postings" in report
    async with http.get(f"{attacked.gateway_url}/api/v1/logs.csv?account={acme['Ben Carter']}",
                        headers=master.headers()) as response:
        csv = (await response.read()).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv
    # The tables are all still there: the ledger still moves credits.
    body = {"from_account": acme["Ben Carter"], "to_account": acme["Cleo Park"], "quantity": 1, "accept_terms": True}
    assert (await call(http, attacked, master, "POST", "/transfers", body))[0] == 201


@pytest.mark.parametrize("text", ["nul\u0000byte", "lone \ud800 surrogate"])
async def test_text_postgres_cannot_store_is_400_not_a_failure(
        attacked: AttackedSystem, callers: dict[str, Caller], http: aiohttp.ClientSession, acme: dict[str, str],
        text: str):
    master = callers["master"]
    before = await balance(http, attacked, master, acme["Ben Carter"])
    raw = json.dumps({"from_account": acme["Ben Carter"], "to_account": acme["Cleo Park"], "quantity": 1,
                      "accept_terms": True, "note": text}).encode()
    status, problem = await call(http, attacked, master, "POST", "/transfers", raw=raw,
                                 headers={"Content-Type": "application/json"})
    assert status == 400, problem
    raw = json.dumps({"account_id": acme["Ben Carter"], "quantity": 100,
                      "billing": {"name": text, "email": "ben@acme.test"}}).encode()
    status, problem = await call(http, attacked, master, "POST", "/purchases", raw=raw,
                                 headers={"Content-Type": "application/json"})
    assert status == 400, problem
    assert await balance(http, attacked, master, acme["Ben Carter"]) == before


async def test_a_nul_in_a_query_is_400(attacked: AttackedSystem, callers: dict[str, Caller],
                                       http: aiohttp.ClientSession):
    for query in ("kind=a%00b", "cursor=%00", "direction=in%00"):
        status, problem = await call(http, attacked, callers["master"], "GET", f"/logs?{query}")
        assert status == 400, (query, problem)


async def test_hostile_names_go_on_the_tax_invoice_as_text(
        attacked: AttackedSystem, callers: dict[str, Caller], http: aiohttp.ClientSession, acme: dict[str, str]):
    ben = callers["user"]
    name = "<b>Bold</b> Ben'); DROP TABLE purchases; --"
    status, created = await call(http, attacked, ben, "POST", "/purchases", {
        "account_id": acme["Ben Carter"], "quantity": 100,
        "billing": {"name": name, "email": "ben@acme.test", "company": "<script>x</script> Pty Ltd"}})
    assert status == 201, created
    card = {"card_number": GOOD_CARD, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": name}
    async with http.post(created["checkout_url"], json=card) as paid:
        assert paid.status == 200
    async with http.get(f"{attacked.gateway_url}/api/v1/purchases/{created['id']}/invoice.pdf",
                        headers=ben.headers()) as response:
        assert response.status == 200
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(await response.read())).pages)
    assert "<b>Bold</b> Ben'); DROP TABLE purchases;" in text and "<script>x</script> Pty Ltd" in text
    status, _ = await call(http, attacked, ben, "GET", f"/purchases/{created['id']}")
    assert status == 200  # the purchases are intact


async def test_unicode_in_a_team_name_round_trips(attacked: AttackedSystem, callers: dict[str, Caller],
                                                 http: aiohttp.ClientSession):
    _, users = await call(http, attacked, callers["master"], "GET", "/users")
    ben = next(u["id"] for u in users if u["name"] == "Ben Carter")
    for team in ("Ventes ✓ 販売 🏠", "Sales"):  # and back, for the other tests
        status, person = await call(http, attacked, callers["master"], "PATCH", f"/users/{ben}", {"team": team})
        assert status == 200 and person["team"] == team


# -- tokens ---------------------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_expired_none_and_tampered_tokens_are_401(attacked: AttackedSystem, callers: dict[str, Caller],
                                                              http: aiohttp.ClientSession):
    secret, now = attacked.env["JWT_SECRET"], int(time.time())
    ben = jwt.decode(callers["user"].token or "", options={"verify_signature": False})
    ava = jwt.decode(callers["master"].token or "", options={"verify_signature": False})
    header, _, signature = (callers["user"].token or "").split(".")
    forged = {
        "signed with another key": jwt.encode({**ben}, "x" * 40, algorithm="HS256"),
        "expired": jwt.encode({**ben, "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(ben)}.",
        "alg none, no dot": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(ben)}",
        "another user's claims, Ben's signature": f"{header}.{_b64(ava)}.{signature}",
        "HS384": jwt.encode({**ben}, secret, algorithm="HS384"),
        "no expiry": jwt.encode({k: v for k, v in ben.items() if k != "exp"}, secret, algorithm="HS256"),
        "another issuer": jwt.encode({**ben, "iss": "elsewhere"}, secret, algorithm="HS256"),
        "unknown person": jwt.encode({**ben, "sub": str(uuid.uuid4())}, secret, algorithm="HS256"),
        "not a uuid": jwt.encode({**ben, "sub": "'; DROP TABLE users; --"}, secret, algorithm="HS256"),
        "unknown service client": jwt.encode({**ben, "kind": "service", "sub": "nobody"}, secret, algorithm="HS256"),
        "the internal secret": jwt.encode({**ben}, attacked.env["INTERNAL_TOKEN_SECRET"], algorithm="HS256"),
        "garbage": "not.a.token",
        "empty": "",
    }
    for what, token in forged.items():
        for path in ("/me", "/accounts"):
            async with http.get(f"{attacked.gateway_url}/api/v1{path}",
                                headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 401, (what, path, await response.text())
    for header_value in ("Token abc", "Bearer", "bearer " + (callers["user"].token or ""), "Basic YTpi"):
        async with http.get(f"{attacked.gateway_url}/api/v1/me", headers={"Authorization": header_value}) as r:
            assert r.status == 401, header_value
    # A client's token opens nothing at a service: services take only the gateway's internal tokens.
    async with http.get(f"{attacked.url('ledger')}/accounts?code=system",
                        headers=callers["master"].headers()) as response:
        assert response.status == 401


# -- payment webhooks -----------------------------------------------------------------------------------


async def _pending_purchase(http: aiohttp.ClientSession, system: AttackedSystem, ben: Caller,
                            account: str) -> dict[str, Any]:
    status, created = await call(http, system, ben, "POST", "/purchases",
                                 {"account_id": account, "quantity": 100, "billing": BILLING})
    assert status == 201, created
    return created


def _webhook(purchase: dict[str, Any], event_id: str) -> bytes:
    session = purchase["checkout_url"].rsplit("/", 1)[1]
    return json.dumps({"id": event_id, "type": "payment.succeeded", "created": int(time.time()),
                       "data": {"session_id": session, "purchase_id": purchase["id"], "card_brand": "visa",
                                "card_last4": "4242"}}).encode()


async def _deliver(http: aiohttp.ClientSession, system: AttackedSystem, body: bytes,
                   signature: str | None) -> int:
    headers = {"Content-Type": "application/json", **({"Test-Signature": signature} if signature else {})}
    async with http.post(f"{system.url('billing')}/webhooks/test", data=body, headers=headers) as response:
        return response.status


async def test_a_replayed_webhook_credits_once(attacked: AttackedSystem, callers: dict[str, Caller],
                                               http: aiohttp.ClientSession, acme: dict[str, str]):
    ben, secret = callers["user"], attacked.env["TEST_PROVIDER_WEBHOOK_SECRET"]
    before = await balance(http, attacked, ben, acme["Ben Carter"])
    purchase = await _pending_purchase(http, attacked, ben, acme["Ben Carter"])
    body = _webhook(purchase, f"evt_{uuid.uuid4().hex}")
    signature = sign(secret, body, int(time.time()))
    for _ in range(3):  # the same delivery, three times
        assert await _deliver(http, attacked, body, signature) == 200
    other = _webhook(purchase, f"evt_{uuid.uuid4().hex}")  # a second event for the same payment
    assert await _deliver(http, attacked, other, sign(secret, other, int(time.time()))) == 200

    async def credited() -> bool:
        _, view = await call(http, attacked, ben, "GET", f"/purchases/{purchase['id']}")
        return bool(view["status"] == "credited")

    await eventually(credited, timeout=10)
    assert await balance(http, attacked, ben, acme["Ben Carter"]) == before + 100


async def test_a_webhook_signed_wrongly_or_late_changes_nothing(attacked: AttackedSystem, callers: dict[str, Caller],
                                                              http: aiohttp.ClientSession, acme: dict[str, str]):
    ben, secret = callers["user"], attacked.env["TEST_PROVIDER_WEBHOOK_SECRET"]
    purchase = await _pending_purchase(http, attacked, ben, acme["Ben Carter"])
    body, now = _webhook(purchase, f"evt_{uuid.uuid4().hex}"), int(time.time())
    attempts = {
        "the wrong secret": sign("wrong-secret-" + "x" * 30, body, now),
        "a stale timestamp (a replay hours later)": sign(secret, body, now - 3 * 3600),
        "a signature over another body": sign(secret, body + b" ", now),
        "a malformed header": "v1=deadbeef",
        "no signature": None,
    }
    for what, signature in attempts.items():
        assert await _deliver(http, attacked, body, signature) == 400, what
    _, view = await call(http, attacked, ben, "GET", f"/purchases/{purchase['id']}")
    assert view["status"] == "pending"
    # Through the gateway's public webhook address too: refused, never a 5xx.
    async with http.post(f"{attacked.gateway_url}/webhooks/stripe", data=body,
                         headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"}) as r:
        assert 400 <= r.status < 500
