"""The CRM's directory sync: `PUT /api/v1/directory/users/{external_id}` by an internal system bound to a
tenant. An idempotent upsert by the CRM's own id, announced as the directory's events, never reaching
another tenant's people."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from common.contracts import events
from gateway.directory import store
from gateway.resources import SETTINGS
from gateway.seed import ACME, GLOBEX, PEOPLE, create_service_client
from tests.conftest import Infra, NewDatabase
from tests.integration.billing.mail_support import Mailbox, start_mailbox
from tests.integration.gateway.onboarding_support import Onboarding, running_gateway

MASTER = next(p for p in PEOPLE if p.email == "master@acme.test")


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with start_mailbox() as box:
        yield box


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str, mailbox: Mailbox,
                  ) -> AsyncIterator[Onboarding]:
    async with running_gateway(infra, new_database, exchange_name, mailbox) as running:
        yield running


@pytest.fixture
async def crm(gateway: Onboarding) -> dict[str, str]:
    """Acme's CRM, signed in with its service token."""
    return await gateway.service_client("acme-crm", ACME.id)


def person(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Sam Field", "email": f"sam-{uuid.uuid4().hex[:8]}@acme.test", "role": "user",
                            "team": "Rentals", "active": True, "send_sms": True, "manage_credits": False}
    body.update(changes)
    return body


def path(external_id: str) -> str:
    return f"/api/v1/directory/users/{external_id}"


async def announced(gateway: Onboarding, user_id: str) -> list[dict[str, Any]]:
    return [e for e in await gateway.events(events.USER_CHANGED) if e["user_id"] == user_id]


async def test_a_put_creates_the_person_in_the_clients_tenant_without_a_password(gateway: Onboarding,
                                                                                  crm: dict[str, str]):
    body = person()
    answer = await gateway.call("PUT", path("crm-1001"), body, crm)

    assert answer.status == 200, answer.body
    assert answer.body["external_id"] == "crm-1001"
    assert {k: answer.body[k] for k in body} == body
    [event] = await announced(gateway, answer.body["id"])
    assert event["tenant_id"] == str(ACME.id) and event["version"] == 1 and event["team"] == "Rentals"
    async with gateway.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT tenant_id, external_id, password_hash FROM users WHERE id = $1",
                                  uuid.UUID(answer.body["id"]))
    assert (row["tenant_id"], row["external_id"], row["password_hash"]) == (ACME.id, "crm-1001", None)
    assert (await gateway.counts())["email_outbox"] == 0  # no invitation unless asked
    signing_in = await gateway.call("POST", "/api/v1/auth/token", {"email": body["email"], "password": "anything"})
    assert signing_in.status == 401


async def test_the_same_put_twice_answers_the_same_and_announces_once(gateway: Onboarding, crm: dict[str, str]):
    body = person()
    first = await gateway.call("PUT", path("crm-1002"), body, crm)
    before = await gateway.counts()
    again = await gateway.call("PUT", path("crm-1002"), body, crm)
    assert (again.status, again.body) == (first.status, first.body)
    assert await gateway.counts() == before
    assert len(await announced(gateway, first.body["id"])) == 1


async def test_a_put_that_differs_updates_the_person_and_announces_the_change(gateway: Onboarding,
                                                                               crm: dict[str, str]):
    created = await gateway.call("PUT", path("crm-1003"), person(), crm)
    changed = person(name="Sam Fielding", email="sam.fielding@acme.test", team=None, active=False,
                     manage_credits=True)
    answer = await gateway.call("PUT", path("crm-1003"), changed, crm)

    assert answer.status == 200 and answer.body["id"] == created.body["id"]
    assert {k: answer.body[k] for k in changed} == changed
    first, second = await announced(gateway, created.body["id"])
    assert (second["version"], second["name"], second["active"], second["team"]) == (2, "Sam Fielding", False, None)
    assert first["version"] == 1


async def test_an_invitation_is_sent_when_asked_and_only_when_the_person_is_created(gateway: Onboarding,
                                                                                      crm: dict[str, str]):
    body = person(invite=True)
    await gateway.call("PUT", path("crm-1004"), body, crm)
    await gateway.call("PUT", path("crm-1004"), body, crm)
    token = await gateway.link_sent_to(body["email"])
    assert len(gateway.mailbox.to(body["email"])) == 1
    done = await gateway.call("POST", "/api/v1/auth/password-reset/confirm",
                              {"token": token, "password": "synced and signed in"})
    assert done.status == 204
    await gateway.sign_in(body["email"], "synced and signed in")


async def test_the_first_put_of_someone_already_in_the_tenant_links_them_by_email(gateway: Onboarding,
                                                                                   crm: dict[str, str]):
    body = person(name=MASTER.name, email=MASTER.email.upper(), role="master", team=None)
    before = await gateway.counts()
    answer = await gateway.call("PUT", path("crm-ava"), body, crm)
    assert answer.status == 200 and answer.body["id"] == str(MASTER.id)
    after = await gateway.counts()
    assert after["users"] == before["users"]
    again = await gateway.call("PUT", path("crm-ava"), body, crm)
    assert again.body == answer.body


async def test_an_email_that_is_someone_elses_is_409_and_changes_nothing(gateway: Onboarding, crm: dict[str, str]):
    await gateway.call("PUT", path("crm-1005"), person(email="one@acme.test"), crm)
    await gateway.call("PUT", path("crm-1006"), person(email="two@acme.test"), crm)
    before = await gateway.counts()
    for external_id, email in (("crm-1005", "two@acme.test"), ("crm-1007", "master@globex.test")):
        answer = await gateway.call("PUT", path(external_id), person(email=email), crm)
        assert answer.status == 409 and answer.body["type"].endswith("/problems/email-taken"), answer.body
    assert await gateway.counts() == before


async def test_a_client_of_one_tenant_never_writes_another_tenants_people(gateway: Onboarding, crm: dict[str, str]):
    globex_crm = await gateway.service_client("globex-crm", GLOBEX.id)
    acme = await gateway.call("PUT", path("shared-id-1"), person(email="x@acme.test"), crm)
    globex = await gateway.call("PUT", path("shared-id-1"), person(email="x@globex.test"), globex_crm)
    # One CRM id, two tenants: two people, each in the tenant of the client that put them.
    assert acme.body["id"] != globex.body["id"]
    async with gateway.pool.acquire() as conn:
        assert (await store.person(conn, uuid.UUID(acme.body["id"]))).tenant_id == ACME.id  # type: ignore[union-attr]
        assert (await store.person(conn, uuid.UUID(globex.body["id"]))).tenant_id == GLOBEX.id  # type: ignore[union-attr]
    # Acme's client naming Globex's master (by email) reaches nobody in Globex.
    reach = await gateway.call("PUT", path("gail"), person(email="master@globex.test", role="master"), crm)
    assert reach.status == 409
    # Nor can the body choose a tenant.
    chosen = await gateway.call("PUT", path("crm-1008"), {**person(), "tenant_id": str(GLOBEX.id)}, crm)
    assert chosen.status == 400


async def test_an_internal_system_bound_to_no_tenant_may_not_sync(gateway: Onboarding):
    unbound = await gateway.service_client("sms-sender", None)
    before = await gateway.counts()
    answer = await gateway.call("PUT", path("crm-1009"), person(), unbound)
    assert answer.status == 403 and answer.body["type"].endswith("/problems/service-client-unbound")
    assert await gateway.counts() == before


@pytest.mark.parametrize("who", ["master@acme.test", "ops@platform.test"])
async def test_people_may_not_sync_the_directory(gateway: Onboarding, who: str):
    before = await gateway.counts()
    answer = await gateway.call("PUT", path("crm-1010"), person(), await gateway.sign_in(who))
    assert answer.status == 403 and answer.body["type"].endswith("/problems/service-only")
    assert (await gateway.call("PUT", path("crm-1010"), person())).status == 401
    assert await gateway.counts() == before


@pytest.mark.parametrize(("external_id", "change"), [
    ("crm-1011", {"role": "operator"}),
    ("crm-1011", {"email": "not-an-email"}),
    ("crm-1011", {"active": "no"}),
    ("crm-1011", {"name": None}),
    ("crm-1011", {"surprise": 1}),
    ("x" * 201, {}),
    ("%20%20", {}),
    ("crm%00nul", {}),
])
async def test_bad_sync_input_is_400_and_changes_nothing(gateway: Onboarding, crm: dict[str, str], external_id: str,
                                                        change: dict[str, Any]):
    before = await gateway.counts()
    answer = await gateway.call("PUT", path(external_id), person(**change), crm)
    assert answer.status == 400 and answer.content_type == "application/problem+json", answer.body
    assert await gateway.counts() == before


async def test_the_command_binds_a_service_client_to_an_existing_tenant(gateway: Onboarding):
    database_url = gateway.client.app[SETTINGS].database_url
    secret = await create_service_client(database_url, "bound-crm", GLOBEX.id)
    signed_in = await gateway.call("POST", "/api/v1/auth/service-token",
                                   {"client_id": "bound-crm", "client_secret": secret})
    headers = {"Authorization": f"Bearer {signed_in.body['access_token']}"}
    answer = await gateway.call("PUT", path("crm-2001"), person(email="new@globex.test"), headers)
    assert answer.status == 200
    async with gateway.pool.acquire() as conn:
        assert await store.service_client_tenant(conn, "bound-crm") == GLOBEX.id
    with pytest.raises(LookupError):
        await create_service_client(database_url, "lost-crm", uuid.uuid4())


async def test_a_person_the_crm_deactivates_is_signed_out_at_once(gateway: Onboarding, crm: dict[str, str]):
    ben = next(p for p in PEOPLE if p.email == "ben@acme.test")
    signed_in = await gateway.sign_in(ben.email)
    body = person(name=ben.name, email=ben.email, team=ben.team)
    assert (await gateway.call("PUT", path("crm-ben"), body, crm)).body["id"] == str(ben.id)
    assert (await gateway.call("GET", "/api/v1/me", headers=signed_in)).status == 200
    answer = await gateway.call("PUT", path("crm-ben"), {**body, "active": False}, crm)
    assert answer.status == 200 and answer.body["active"] is False
    assert (await gateway.call("GET", "/api/v1/me", headers=signed_in)).status == 401
    [*_, event] = await announced(gateway, str(ben.id))
    assert event["active"] is False
