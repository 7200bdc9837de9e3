"""The live stream through a running gateway and the real broker: events published on the exchange reach
each signed-in person's stream as small messages, only those they may see (a master everything of their
tenant, a user their own account), never another tenant's; a reconnection with Last-Event-ID gets what it
missed, an unknown or malformed id a reset (never a 500, never a place kept); service tokens are refused,
the headers keep proxies from buffering, the cap on streams answers 503 and the cap per person 429, both
with Retry-After; a stream ends soon after its person signs out, is deactivated or has their rights
changed; and when the bus connection comes back every stream ends and resuming it answers a reset."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from common.accounts import SYSTEM, account_id, user_code
from common.bus import Broker
from common.contracts import events
from common.contracts.events import Event
from common.runtime import DB
from gateway.live import sse
from gateway.live import stream as live_stream
from gateway.live.feed import HUB
from gateway.live.hub import PER_PERSON
from gateway.seed import ACME, GLOBEX, PEOPLE
from gateway.web.auth import issue_access_token
from tests.conftest import Infra, NewDatabase
from tests.integration.gateway.auth_support import Gateway, claims_of, running_gateway

BEN = next(p for p in PEOPLE if p.email == "ben@acme.test")
CLEO = next(p for p in PEOPLE if p.email == "cleo@acme.test")
WAIT = 10.0


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[Gateway]:
    async with running_gateway(infra, new_database, exchange_name, LIVE_MAX_STREAMS=str(PER_PERSON + 1),
                               LIVE_RECHECK_SECONDS="0.5") as running:
        yield running


@pytest.fixture
async def broker(infra: Infra, exchange_name: str) -> AsyncIterator[Broker]:
    publisher = Broker(infra.broker_url, exchange_name)
    await publisher.connect()
    yield publisher
    await publisher.close()


class Reader:
    """An open SSE answer, read message by message."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next(self, timeout: float = WAIT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            fields: dict[str, Any] = {}
            while True:
                line = (await self.response.content.readline()).decode()
                if line == "":
                    raise EOFError("the stream ended")
                line = line.rstrip("\n")
                if line == "":
                    if "event" in fields:
                        return {**fields, "data": json.loads(fields["data"])}
                    fields = {}
                elif line.startswith(":"):
                    self.comments.append(line)
                else:
                    name, _, value = line.partition(": ")
                    fields[name] = value

    async def until(self, wanted: int, timeout: float = WAIT) -> list[dict[str, Any]]:
        return [await self.next(timeout) for _ in range(wanted)]

    async def nothing_more(self, seconds: float = 1.0) -> None:
        with pytest.raises(TimeoutError):
            got = await self.next(timeout=seconds)
            pytest.fail(f"unexpected message: {got}")


async def _open(gateway: Gateway, token: str, last_event_id: str | None = None) -> Reader:
    # Accepting gzip, as browsers do: the stream must still not be compressed (a compressor buffers).
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    response = await gateway.client.get("/api/v1/stream", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in response.headers
    assert (await response.content.readline()).startswith(b"retry: ")  # the stream is registered once this came
    return Reader(response)


async def _token(gateway: Gateway, email: str) -> str:
    return str((await gateway.tokens(email))["access_token"])


def _transfer(tenant: uuid.UUID, source: str, target: str, quantity: int = 5) -> Event:
    def posting(code: str, amount: int) -> events.Posting:
        return events.Posting(account_id=account_id(tenant, code), account_code=code, amount=amount,
                              balance_after=1000 + amount, held_after=0)

    posted = events.TransactionPosted(transaction_id=uuid.uuid4(), seq=1, tenant_id=tenant, kind="transfer",
                                      occurred_at=datetime.now(UTC),
                                      postings=[posting(source, -quantity), posting(target, quantity)])
    return Event.new(type=events.TRANSACTION_POSTED, source=events.source("ledger"), data=posted,
                     subject=events.subject_in(tenant, "transactions", posted.transaction_id))


async def _publish(broker: Broker, event: Event) -> None:
    await broker.publish(json.loads(event.to_json()), event.routing_key)


async def test_each_person_gets_what_they_may_see_and_only_that(gateway: Gateway, broker: Broker):
    master = await _open(gateway, await _token(gateway, "master@acme.test"))
    ben = await _open(gateway, await _token(gateway, "ben@acme.test"))
    await _publish(broker, _transfer(ACME.id, SYSTEM, user_code(CLEO.id)))  # neither Ben's nor for Ben
    await _publish(broker, _transfer(GLOBEX.id, SYSTEM, SYSTEM))  # another tenant's
    await _publish(broker, _transfer(ACME.id, user_code(CLEO.id), user_code(BEN.id), 7))

    system, cleo, cleo_again, ben_seen_by_master = await master.until(4)
    assert {m["event"] for m in (system, cleo, cleo_again, ben_seen_by_master)} == {"balance"}
    assert system["data"]["account_id"] == str(account_id(ACME.id, SYSTEM))
    assert ben_seen_by_master["data"]["account_id"] == str(account_id(ACME.id, user_code(BEN.id)))
    await master.nothing_more()

    [own] = await ben.until(1)
    assert own["event"] == "balance" and own["data"] == {**own["data"], "balance": 1007, "available": 1007,
                                                          "held": 0, "kind": "transfer"}
    assert own["data"]["account_id"] == str(account_id(ACME.id, user_code(BEN.id)))
    assert own["id"] == ben_seen_by_master["id"]  # one id per message, whoever reads it
    await ben.nothing_more()


async def test_a_reconnection_gets_what_it_missed_and_an_unknown_id_a_reset(gateway: Gateway, broker: Broker):
    token = await _token(gateway, "master@acme.test")
    first = await _open(gateway, token)
    await _publish(broker, _transfer(ACME.id, SYSTEM, user_code(BEN.id), 1))
    seen = await first.until(2)
    first.response.close()
    keeping = await _open(gateway, token)  # keeps the tenant followed while the first is away
    await _publish(broker, _transfer(ACME.id, SYSTEM, user_code(CLEO.id), 2))
    await keeping.until(2)

    resumed = await _open(gateway, token, last_event_id=seen[-1]["id"])
    missed = await resumed.until(2)
    assert [m["data"]["account_id"] for m in missed] == [str(account_id(ACME.id, SYSTEM)),
                                                       str(account_id(ACME.id, user_code(CLEO.id)))]
    await resumed.nothing_more(0.5)

    unknown = await _open(gateway, token, last_event_id="somebody-else-12")
    reset = await unknown.next()
    assert reset["event"] == "reset" and "reload" in reset["data"]["reason"]
    await _publish(broker, _transfer(ACME.id, SYSTEM, user_code(BEN.id), 3))
    assert [m["event"] for m in await unknown.until(2)] == ["balance", "balance"]  # then live


async def test_settled_messages_and_purchases_reach_who_may_see_them(gateway: Gateway, broker: Broker):
    ben = await _open(gateway, await _token(gateway, "ben@acme.test"))
    message_id = uuid.uuid4()
    settled = events.MessageSettled(message_id=message_id, tenant_id=ACME.id, hold_id=uuid.uuid4(),
                                    account_code=user_code(BEN.id), segments=1, recipients=2, accepted_recipients=2,
                                    captured_credits=2)
    await _publish(broker, Event.new(type=events.MESSAGE_SETTLED, source=events.source("messaging"), data=settled,
                                     subject=events.subject_in(ACME.id, "messages", message_id)))
    failed = events.PurchaseFailed(purchase_id=uuid.uuid4(), tenant_id=ACME.id,
                                   account_id=account_id(ACME.id, user_code(CLEO.id)), reason="declined")
    await _publish(broker, Event.new(type=events.PURCHASE_FAILED, source=events.source("billing"), data=failed,
                                     subject=None))
    own = events.PurchaseFailed(purchase_id=uuid.uuid4(), tenant_id=ACME.id,
                                account_id=account_id(ACME.id, user_code(BEN.id)), reason="declined")
    await _publish(broker, Event.new(type=events.PURCHASE_FAILED, source=events.source("billing"), data=own,
                                     subject=None))
    message, purchase = await ben.until(2)
    assert message["event"] == "message" and message["data"]["message_id"] == str(message_id)
    assert message["data"]["status"] == "submitted" and message["data"]["captured_credits"] == 2
    assert purchase["event"] == "purchase" and purchase["data"]["purchase_id"] == str(own.purchase_id)
    await ben.nothing_more(0.5)


async def test_service_tokens_are_refused_no_token_is_401_and_the_document_names_the_stream(gateway: Gateway):
    no_token = await gateway.client.get("/api/v1/stream")
    assert no_token.status == 401 and no_token.headers["Content-Type"].startswith("application/problem+json")
    service = issue_access_token("crm-sync", gateway.settings.jwt_secret, 300, kind="service")
    async with gateway.client.app[DB].acquire() as conn:
        await conn.execute("INSERT INTO service_clients (id, secret_hash, tenant_id) VALUES ($1, 'x', $2)",
                           "crm-sync", ACME.id)
    refused = await gateway.client.get("/api/v1/stream", headers={"Authorization": f"Bearer {service}"})
    problem = await refused.json()
    assert refused.status == 403 and problem["type"].endswith("/live-stream-people-only"), problem
    document = await (await gateway.client.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/v1/stream"]["get"]
    event = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]  # the schema of each event
    assert event == {"$ref": "#/components/schemas/LiveEvent"}
    assert "reset" in document["components"]["schemas"]["LiveEvent"]["properties"]["event"]["enum"]


async def _until_streams_are(gateway: Gateway, count: int) -> None:
    """The server notices closed connections a moment later."""
    for _ in range(50):
        if gateway.client.app[HUB].stream_count == count:
            return
        await asyncio.sleep(0.1)
    assert gateway.client.app[HUB].stream_count == count


async def test_streams_over_the_cap_get_503_and_over_a_persons_cap_429_both_with_retry_after(gateway: Gateway):
    ben, master = await _token(gateway, "ben@acme.test"), await _token(gateway, "master@acme.test")
    bens = [await _open(gateway, ben) for _ in range(PER_PERSON)]
    more = await gateway.client.get("/api/v1/stream", headers={"Authorization": f"Bearer {ben}"})
    problem = await more.json()
    assert more.status == 429 and more.headers["Retry-After"] == "5", problem
    assert problem["type"].endswith("/rate-limited") and str(PER_PERSON) in problem["detail"]
    await _open(gateway, master)  # the last place of this process (PER_PERSON + 1): not Ben's to take
    full = await gateway.client.get("/api/v1/stream", headers={"Authorization": f"Bearer {master}"})
    problem = await full.json()
    assert full.status == 503 and full.headers["Retry-After"] == "5", problem
    assert problem["type"].endswith("/live-streams-full")
    assert gateway.client.app[HUB].stream_count == PER_PERSON + 1  # the refused ones kept no place
    bens[0].response.close()
    await _until_streams_are(gateway, PER_PERSON)
    await _open(gateway, ben)


async def test_a_malformed_last_event_id_is_a_reset_and_keeps_no_place(gateway: Gateway):
    """`"²".isdigit()` is true but `int("²")` fails: such an id once answered 500 and kept its place for ever."""
    token = await _token(gateway, "ben@acme.test")
    boot = gateway.client.app[HUB].boot
    for last_id in (f"{boot}-²", f"{boot}-1²", f"{boot}-", "²-²", f"{boot}-1-1"):
        reader = await _open(gateway, token, last_event_id=last_id)
        reset = await reader.next()
        assert reset["event"] == "reset", last_id
        reader.response.close()
        await _until_streams_are(gateway, 0)


async def test_the_stream_outlives_the_request_time_limit_pings_and_ends_when_its_token_expires(
        infra: Infra, new_database: NewDatabase, exchange_name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 0.5)
    async with running_gateway(infra, new_database, exchange_name, REQUEST_TIMEOUT_SECONDS="1") as gateway:
        claims = claims_of((await gateway.tokens("ben@acme.test"))["access_token"])
        short = issue_access_token(claims["sub"], gateway.settings.jwt_secret, 3, session_id=uuid.UUID(claims["sid"]))
        reader = await _open(gateway, short)
        ended = await reader.next(timeout=8)
        assert ended["event"] == "token_expired"
        assert ": ping" in reader.comments  # kept alive meanwhile, past the 1 s limit of other requests
        with pytest.raises(EOFError):
            await reader.next(timeout=3)


async def _ends_for_rights(reader: Reader) -> None:
    ended = await reader.next(timeout=5)  # checked every 0.5 s here
    assert ended["event"] == "token_expired" and ended["data"]["reason"] == live_stream.REVOKED
    with pytest.raises(EOFError):
        await reader.next(timeout=3)


async def test_a_stream_ends_soon_after_its_person_signs_out(gateway: Gateway, broker: Broker):
    ben = await _token(gateway, "ben@acme.test")
    master = await _open(gateway, await _token(gateway, "master@acme.test"))
    reader = await _open(gateway, ben)
    await reader.nothing_more(1.5)  # checked three times meanwhile, and still the same: it carries on
    signed_out = await gateway.client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {ben}"})
    assert signed_out.status == 204
    await _ends_for_rights(reader)
    again = await gateway.client.get("/api/v1/stream", headers={"Authorization": f"Bearer {ben}"})
    assert again.status == 401
    await _publish(broker, _transfer(ACME.id, SYSTEM, user_code(BEN.id), 1))
    assert [m["event"] for m in await master.until(2)] == ["balance", "balance"]  # others' streams carry on


async def test_a_stream_ends_soon_after_its_person_is_deactivated_or_their_rights_change(
        gateway: Gateway, broker: Broker):
    master_token = await _token(gateway, "master@acme.test")
    ben_token = await _token(gateway, "ben@acme.test")
    ben, cleo = await _open(gateway, ben_token), await _open(gateway, await _token(gateway, "cleo@acme.test"))
    headers = {"Authorization": f"Bearer {master_token}"}
    changed = await gateway.client.patch(f"/api/v1/users/{BEN.id}", json={"manage_credits": True}, headers=headers)
    assert changed.status == 200, await changed.text()
    deactivated = await gateway.client.patch(f"/api/v1/users/{CLEO.id}", json={"active": False}, headers=headers)
    assert deactivated.status == 200, await deactivated.text()
    await _ends_for_rights(ben)
    await _ends_for_rights(cleo)
    # Ben's session is still good: reconnecting, he now sees what managing credits shows (Cleo's account).
    ben_again = await _open(gateway, ben_token)
    await _publish(broker, _transfer(ACME.id, SYSTEM, user_code(CLEO.id), 2))
    [seen] = await ben_again.until(1)
    assert seen["data"]["account_id"] == str(account_id(ACME.id, user_code(CLEO.id)))


def _amqp_connections_of_this_process() -> list[str]:
    """This test process's connections to the broker, as rabbitmqctl names them."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", "dst", "127.0.0.1:5672"], capture_output=True,
                         text=True, check=True).stdout
    mine = [line.split()[2] for line in out.splitlines() if f"pid={os.getpid()}," in line]
    return [f"{local} -> 127.0.0.1:5672" for local in mine]


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None or shutil.which("ss") is None,
                    reason="needs a local broker that rabbitmqctl can reach, and ss")
async def test_the_feed_comes_back_after_the_broker_closes_its_connection(gateway: Gateway, broker: Broker):
    """The broker closing the gateway's connection (as a broker restart does) loses its exclusive queue; the
    robust connection declares, binds and consumes it again. What was published meanwhile never reached the
    gateway: every stream ends, resuming one answers a reset (reload), and the new streams carry on."""
    token = await _token(gateway, "ben@acme.test")
    before = await _open(gateway, token)
    await _publish(broker, _transfer(ACME.id, SYSTEM, user_code(BEN.id), 1))
    [seen] = await before.until(1)
    connections = _amqp_connections_of_this_process()
    assert connections
    listed = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "name"], capture_output=True, text=True,
                            check=True, timeout=30).stdout
    pids = [line.split("\t")[0] for line in listed.splitlines() if line.split("\t")[-1] in connections]
    assert len(pids) == len(connections), listed
    for pid in pids:
        subprocess.run(["rabbitmqctl", "close_connection", pid, "live stream test"], capture_output=True,
                       check=True, timeout=30)
    with pytest.raises(EOFError):  # ended once the connection is back (aio-pika tries again every 5 s)
        got = await before.next(timeout=30)
        pytest.fail(f"unexpected message: {got}")
    reader = await _open(gateway, token, last_event_id=seen["id"])
    assert (await reader.next())["event"] == "reset"
    for attempt in range(30):  # events published before the queue is bound again are lost: try until one arrives
        try:
            await _publish(broker, _transfer(ACME.id, SYSTEM, user_code(BEN.id), attempt + 1))
        except Exception:  # the publisher's own connection is coming back too
            await asyncio.sleep(0.5)
            continue
        try:
            got = await reader.next(timeout=1.0)
        except TimeoutError:
            continue
        assert got["event"] == "balance" and got["data"]["account_id"] == str(account_id(ACME.id, user_code(BEN.id)))
        break
    else:
        pytest.fail("no event reached the stream after the broker closed the connection")
    assert not set(connections) & set(_amqp_connections_of_this_process())  # they were closed, and replaced


async def test_a_client_of_another_allowed_origin_may_resume_a_stream(
        infra: Infra, new_database: NewDatabase, exchange_name: str):
    """A web client served from another origin (CORS) sends Last-Event-ID: its preflight allows it, and the
    stream's answer carries the CORS headers like any other API answer."""
    origin = "http://localhost:3000"
    async with running_gateway(infra, new_database, exchange_name, CORS_ORIGINS=origin) as gateway:
        preflight = await gateway.client.options("/api/v1/stream", headers={
            "Origin": origin, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, last-event-id"})
        allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
        assert preflight.status == 204 and {"authorization", "last-event-id"} <= allowed
        token = await _token(gateway, "ben@acme.test")
        response = await gateway.client.get("/api/v1/stream", headers={
            "Authorization": f"Bearer {token}", "Origin": origin, "Last-Event-ID": "elsewhere-1"})
        assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == origin
        assert (await Reader(response).next())["event"] == "reset"
