"""Two gateway replicas behind one load balancer, sharing one directory and one exchange: each remembers the
callers it verified (gateway.callers), and a change made through one replica reaches the other's memory within
one event's latency: a deactivated person, a signed-out session, changed rights, a tenant's changed policy.
A replica that cannot hear the bus serves no one from memory; an internal system is never remembered."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from common.accounts import account_id, user_code
from common.db import connect
from common.runtime import BROKER, DB
from gateway.directory import sessions
from gateway.resources import CALLER_CACHE, OWNER_CACHE
from gateway.seed import ACME, PEOPLE
from gateway.usecases import accounts
from gateway.web.auth import issue_access_token
from tests.conftest import Infra, NewDatabase
from tests.integration.gateway.auth_support import Gateway, claims_of, running_replicas
from tests.support import eventually

BEN = next(p for p in PEOPLE if p.email == "ben@acme.test")
# One event's latency, with room for a busy machine: the outbox relay wakes on the commit's notification,
# publishes, and the broker hands the event to every replica's queue (milliseconds when idle). The cache's own
# backstop (CALLER_CACHE_SECONDS, 30 s by default) is far longer: a refusal within this came from the event.
EVENT_DEADLINE = 2.0


@pytest.fixture
async def replicas(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[list[Gateway]]:
    # No grace for a resent refresh token: a second use is a reuse at once.
    async with running_replicas(infra, new_database, exchange_name, 2, REFRESH_REUSE_GRACE_SECONDS="0") as running:
        yield running


@pytest.fixture
def directory_reads(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """The sessions whose caller was read from the directory, in order (either replica's reads)."""
    reads: list[uuid.UUID] = []
    read = sessions.caller

    async def counted(conn: Any, person_id: uuid.UUID, session_id: uuid.UUID) -> Any:
        reads.append(session_id)
        return await read(conn, person_id, session_id)

    monkeypatch.setattr(sessions, "caller", counted)
    return reads


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _remembered_by(replica: Gateway, token: str, directory_reads: list[uuid.UUID]) -> dict[str, Any]:
    """Make the replica remember the token's caller, and show that it then serves them with no directory read."""
    status, _, me = await replica.get("/me", token)  # read from the directory, and remembered
    assert status == 200, me
    cache = replica.client.app[CALLER_CACHE]
    for _ in range(10):  # anyone's announcement arriving just then may have it read them once more
        hits, reads = cache.stats.hits, len(directory_reads)
        status, _, again = await replica.get("/me", token)
        assert (status, again) == (200, me)
        if cache.stats.hits == hits + 1 and len(directory_reads) == reads:
            return me  # from memory, no round trip
    pytest.fail("the caller was never served from memory")


async def _refused_within(replica: Gateway, token: str, deadline: float = EVENT_DEADLINE) -> float:
    async def refused() -> bool:
        status, _, problem = await replica.get("/me", token)
        assert status in (200, 401), problem
        return status == 401

    return await eventually(refused, timeout=deadline, every=0.02)


async def _shows_within(replica: Gateway, token: str, check: Callable[[dict[str, Any]], bool]) -> float:
    async def shows() -> bool:
        status, _, me = await replica.get("/me", token)
        assert status == 200, me
        return check(me)

    return await eventually(shows, timeout=EVENT_DEADLINE, every=0.02)


async def test_a_person_deactivated_through_one_replica_is_refused_by_the_other_within_an_event(
        replicas: list[Gateway], directory_reads: list[uuid.UUID]):
    a, b = replicas
    ben = (await b.tokens(BEN.email))["access_token"]
    await _remembered_by(b, ben, directory_reads)
    await _remembered_by(a, ben, directory_reads)
    master = (await a.tokens("master@acme.test"))["access_token"]

    changed = await a.client.patch(f"/api/v1/users/{BEN.id}", json={"active": False}, headers=_bearer(master))
    assert changed.status == 200, await changed.text()
    # The replica that made the change forgot him before it answered: refused on the very next request.
    assert (await a.get("/me", ben))[0] == 401

    await _refused_within(b, ben)


async def test_a_person_changed_through_one_replica_is_read_again_as_an_accounts_owner_by_the_other(
        replicas: list[Gateway]):
    a, b = replicas
    bens_account = account_id(ACME.id, user_code(BEN.id))
    owners = b.client.app[OWNER_CACHE]

    async def owner_seen_by_b() -> Any:
        found = await accounts.named(b.client.app[DB], ACME, [bens_account], owners)
        return found[bens_account].owner

    for _ in range(10):  # anyone's announcement arriving just then may have it read him once more
        hits = owners.stats.hits
        assert (await owner_seen_by_b()).team == BEN.team
        if owners.stats.hits == hits + 1:
            break  # from memory
    else:
        pytest.fail("the owner was never served from memory")
    master = (await a.tokens("master@acme.test"))["access_token"]

    changed = await a.client.patch(f"/api/v1/users/{BEN.id}", json={"team": "Moved Team"}, headers=_bearer(master))
    assert changed.status == 200, await changed.text()

    async def moved() -> bool:
        return bool((await owner_seen_by_b()).team == "Moved Team")

    await eventually(moved, timeout=EVENT_DEADLINE, every=0.02)


async def _sign_out(a: Gateway, first: dict[str, Any], second: dict[str, Any]) -> None:
    answer = await a.client.post("/api/v1/auth/logout", headers=_bearer(first["access_token"]))
    assert answer.status == 204


async def _sign_out_with_refresh_token(a: Gateway, first: dict[str, Any], second: dict[str, Any]) -> None:
    answer = await a.client.post("/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert answer.status == 204


async def _end_from_another_device(a: Gateway, first: dict[str, Any], second: dict[str, Any]) -> None:
    session = claims_of(first["access_token"])["sid"]
    answer = await a.client.delete(f"/api/v1/me/sessions/{session}", headers=_bearer(second["access_token"]))
    assert answer.status == 204


async def _reuse_a_refresh_token(a: Gateway, first: dict[str, Any], second: dict[str, Any]) -> None:
    # `first` is the session as it was: its refresh token was used once already (below), a copy is sent again.
    status, _, problem = await a.refresh(first["refresh_token"])
    assert status == 401 and "already used" in problem["detail"]


SessionEnding = Callable[[Gateway, dict[str, Any], dict[str, Any]], Awaitable[None]]


@pytest.mark.parametrize("end_session", [_sign_out, _sign_out_with_refresh_token, _end_from_another_device,
                                         _reuse_a_refresh_token])
async def test_a_session_ended_through_one_replica_is_refused_by_the_other_within_an_event(
        replicas: list[Gateway], directory_reads: list[uuid.UUID], end_session: SessionEnding):
    a, b = replicas
    laptop, phone = await b.tokens(BEN.email), await b.tokens(BEN.email)
    if end_session is _reuse_a_refresh_token:
        status, _, renewed = await b.refresh(laptop["refresh_token"])
        assert status == 200, renewed
        laptop = {**renewed, "refresh_token": laptop["refresh_token"]}  # the new access token, the old refresh one
    await _remembered_by(b, laptop["access_token"], directory_reads)
    await _remembered_by(b, phone["access_token"], directory_reads)

    await end_session(a, laptop, phone)

    await _refused_within(b, laptop["access_token"])
    assert (await b.get("/me", phone["access_token"]))[0] == 200  # his other session goes on


async def test_changed_rights_and_a_tenants_changed_policy_reach_the_other_replica_within_an_event(
        replicas: list[Gateway], directory_reads: list[uuid.UUID]):
    a, b = replicas
    ben = (await b.tokens(BEN.email))["access_token"]
    me = await _remembered_by(b, ben, directory_reads)
    assert me["manage_credits"] is False and me["tenant"]["refund_undelivered"] is True
    master = (await a.tokens("master@acme.test"))["access_token"]
    operator = (await a.tokens("ops@platform.test"))["access_token"]

    changed = await a.client.patch(f"/api/v1/users/{BEN.id}", json={"manage_credits": True}, headers=_bearer(master))
    assert changed.status == 200, await changed.text()
    await _shows_within(b, ben, lambda me: me["manage_credits"] is True)

    policy = await a.client.put(f"/api/v1/admin/tenants/{me['tenant']['id']}/policies",
                                json={"refund_undelivered": False}, headers=_bearer(operator))
    assert policy.status == 200, await policy.text()
    await _shows_within(b, ben, lambda me: me["tenant"]["refund_undelivered"] is False)


async def test_an_internal_system_is_never_remembered_so_a_removed_client_is_refused_at_once(
        replicas: list[Gateway], directory_reads: list[uuid.UUID]):
    """Nothing announces a service client's removal (there is no such action but SQL yet): it is looked up on
    every request, as before the cache."""
    a, b = replicas
    conn = await connect(a.dsn)
    try:
        await conn.execute("INSERT INTO service_clients (id, secret_hash) VALUES ('crm', 'unused')")
        crm = issue_access_token("crm", a.settings.jwt_secret, 900, kind="service")
        for _ in range(2):
            assert (await b.get("/me", crm))[0] == 200
        await conn.execute("UPDATE service_clients SET active = false WHERE id = 'crm'")
    finally:
        await conn.close()
    status, _, problem = await b.get("/me", crm)
    assert status == 401 and "no longer valid" in problem["detail"]
    assert len(b.client.app[CALLER_CACHE]) == 0


def _close_amqp_connections_of_this_process() -> None:
    """As a broker restart would: every connection this test process holds is closed by the broker."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", "dst", "127.0.0.1:5672"], capture_output=True,
                         text=True, check=True).stdout
    mine = {f"{line.split()[2]} -> 127.0.0.1:5672" for line in out.splitlines() if f"pid={os.getpid()}," in line}
    listed = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "name"], capture_output=True, text=True,
                            check=True, timeout=30).stdout
    pids = [line.split("\t")[0] for line in listed.splitlines() if line.split("\t")[-1] in mine]
    assert pids and len(pids) == len(mine), listed
    for pid in pids:
        subprocess.run(["rabbitmqctl", "close_connection", pid, "caller cache test"], capture_output=True,
                       check=True, timeout=30)


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None or shutil.which("ss") is None,
                    reason="needs a local broker that rabbitmqctl can reach, and ss")
async def test_a_replica_that_cannot_hear_the_bus_serves_no_one_from_memory(
        replicas: list[Gateway], directory_reads: list[uuid.UUID]):
    """What is announced while a replica's connection is down never reaches it: meanwhile it reads every caller
    from the directory, and once the connection is back it starts again from an empty memory."""
    a, b = replicas
    ben = (await b.tokens(BEN.email))["access_token"]
    cleo = (await b.tokens("cleo@acme.test"))["access_token"]
    master = (await a.tokens("master@acme.test"))["access_token"]
    await _remembered_by(b, ben, directory_reads)
    await _remembered_by(b, cleo, directory_reads)
    cache, broker = b.client.app[CALLER_CACHE], b.client.app[BROKER]

    _close_amqp_connections_of_this_process()
    await eventually(lambda: _is(not broker.is_connected), timeout=10)
    # Through the other replica, which cannot publish either: the change waits in its outbox.
    changed = await a.client.patch(f"/api/v1/users/{BEN.id}", json={"active": False}, headers=_bearer(master))
    assert changed.status == 200, await changed.text()
    bypassed = cache.stats.bypassed
    assert (await b.get("/me", ben))[0] == 401  # at once: not from memory
    assert (await b.get("/me", cleo))[0] == 200
    assert cache.stats.bypassed == bypassed + 2 and len(cache) == 0

    # aio-pika connects again after 5 s, declares and consumes the queue again, then the cache forgets all.
    await eventually(lambda: _is(cache.stats.invalidations["bus-reconnected"] == 1), timeout=30)
    await _remembered_by(b, cleo, directory_reads)  # remembered again, now that it can hear
    assert (await b.get("/me", ben))[0] == 401


async def _is(value: bool) -> bool:
    await asyncio.sleep(0)
    return value
