"""Onboarding through the gateway's API: an operator creates a tenant and its first master, a master adds
users; each is invited by email, announced to the other services, and refused as problem+json when the
input or the caller is wrong, with nothing changed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from common.contracts import events
from gateway.seed import ACME, GLOBEX
from tests.conftest import Infra, NewDatabase
from tests.integration.billing.mail_support import Mailbox, start_mailbox
from tests.integration.gateway.onboarding_support import PUBLIC_BASE_URL, Onboarding, running_gateway

OPERATOR, MASTER, GLOBEX_MASTER = "ops@platform.test", "master@acme.test", "master@globex.test"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with start_mailbox() as box:
        yield box


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str, mailbox: Mailbox,
                  ) -> AsyncIterator[Onboarding]:
    async with running_gateway(infra, new_database, exchange_name, mailbox) as running:
        yield running


def new_tenant(**changes: Any) -> dict[str, Any]:
    unique = uuid.uuid4().hex[:8]
    body: dict[str, Any] = {
        "name": f"Initrode {unique}", "legal_name": "Initrode Pty Ltd", "abn": "51824753556",
        "timezone": "Australia/Perth", "credit_mode": "individual",
        "master": {"name": "Ina Master", "email": f"ina-{unique}@initrode.test"},
    }
    body.update(changes)
    return body


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def test_an_operator_creates_a_tenant_whose_master_is_invited_and_announced(gateway: Onboarding):
    operator = await gateway.sign_in(OPERATOR)
    body = new_tenant()
    answer = await gateway.call("POST", "/api/v1/admin/tenants", body, {**operator, **key()})

    assert answer.status == 201, answer.body
    tenant, master = answer.body["tenant"], answer.body["master"]
    assert tenant["name"] == body["name"] and tenant["legal_name"] == "Initrode Pty Ltd"
    assert tenant["abn"] == "51 824 753 556"  # checked, and written as an ABN is written
    assert (tenant["timezone"], tenant["credit_mode"]) == ("Australia/Perth", "individual")
    assert master["email"] == body["master"]["email"] and master["role"] == "master"
    assert master["active"] and master["send_sms"] and not master["manage_credits"]
    # The ledger and reporting hear of both, from the same transaction.
    [tenant_event] = [e for e in await gateway.events(events.TENANT_CHANGED) if e["tenant_id"] == tenant["id"]]
    assert tenant_event["credit_mode"] == "individual" and tenant_event["timezone"] == "Australia/Perth"
    [user_event] = [e for e in await gateway.events(events.USER_CHANGED) if e["user_id"] == master["id"]]
    assert user_event["tenant_id"] == tenant["id"] and user_event["role"] == "master"
    # The invitation: a link to the page that sets the password, on the configured address.
    token = await gateway.link_sent_to(master["email"])
    [email] = gateway.mailbox.to(master["email"])
    assert body["name"] in email["Subject"]
    assert f"{PUBLIC_BASE_URL}/set-password?token={token}" in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_the_invited_master_sets_a_password_once_and_signs_in(gateway: Onboarding):
    operator = await gateway.sign_in(OPERATOR)
    body = new_tenant()
    answer = await gateway.call("POST", "/api/v1/admin/tenants", body, {**operator, **key()})
    email = body["master"]["email"]
    # Until a password is set, no password opens the account.
    refused = await gateway.call("POST", "/api/v1/auth/token", {"email": email, "password": ""})
    assert refused.status in (400, 401)
    token = await gateway.link_sent_to(email)

    done = await gateway.call("POST", "/api/v1/auth/password-reset/confirm",
                              {"token": token, "password": "a long enough secret"})
    assert done.status == 204
    signed_in = await gateway.sign_in(email, "a long enough secret")
    me = await gateway.call("GET", "/api/v1/me", headers=signed_in)
    assert me.body["tenant"]["id"] == answer.body["tenant"]["id"] and me.body["role"] == "master"
    again = await gateway.call("POST", "/api/v1/auth/password-reset/confirm",
                               {"token": token, "password": "another long secret"})
    assert again.status == 422 and again.body["type"].endswith("/problems/password-link-invalid")


async def test_the_same_key_and_body_again_answers_the_same_tenant_created_once(gateway: Onboarding):
    operator = await gateway.sign_in(OPERATOR)
    headers, body = {**operator, **key()}, new_tenant()
    first = await gateway.call("POST", "/api/v1/admin/tenants", body, headers)
    before = await gateway.counts()

    again = await gateway.call("POST", "/api/v1/admin/tenants", body, headers)
    assert (again.status, again.body) == (first.status, first.body)
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert await gateway.counts() == before
    other = await gateway.call("POST", "/api/v1/admin/tenants", new_tenant(), headers)
    assert other.status == 409 and other.body["type"].endswith("/problems/idempotency-key-reused")
    assert await gateway.counts() == before
    await gateway.link_sent_to(body["master"]["email"])
    assert len(gateway.mailbox.to(body["master"]["email"])) == 1


async def test_a_master_email_already_in_use_is_409_and_creates_nothing(gateway: Onboarding):
    operator = await gateway.sign_in(OPERATOR)
    before = await gateway.counts()
    for email in ("ben@acme.test", "BEN@Acme.test"):
        answer = await gateway.call("POST", "/api/v1/admin/tenants",
                                    new_tenant(master={"name": "Ben Again", "email": email}), {**operator, **key()})
        assert answer.status == 409 and answer.content_type == "application/problem+json"
        assert answer.body["type"].endswith("/problems/email-taken")
    assert await gateway.counts() == before


@pytest.mark.parametrize("change", [
    {"abn": "51 824 753 557"},  # a check digit wrong
    {"abn": "not an abn at all"},
    {"timezone": "Australia/Atlantis"},
    {"timezone": "../../etc/passwd"},
    {"credit_mode": "both"},
    {"master": {"name": "No Email"}},
    {"master": {"name": "Bad Email", "email": "nobody"}},
    {"name": ""},
    {"surprise": True},
])
async def test_bad_tenant_input_is_400_and_changes_nothing(gateway: Onboarding, change: dict[str, Any]):
    operator = await gateway.sign_in(OPERATOR)
    before = await gateway.counts()
    answer = await gateway.call("POST", "/api/v1/admin/tenants", new_tenant(**change), {**operator, **key()})
    assert answer.status == 400 and answer.content_type == "application/problem+json", answer.body
    assert answer.body["errors"]
    assert await gateway.counts() == before


async def test_a_tenant_without_an_idempotency_key_is_400(gateway: Onboarding):
    operator = await gateway.sign_in(OPERATOR)
    before = await gateway.counts()
    answer = await gateway.call("POST", "/api/v1/admin/tenants", new_tenant(), operator)
    assert answer.status == 400 and answer.content_type == "application/problem+json"
    assert await gateway.counts() == before


@pytest.mark.parametrize("who", [MASTER, "ben@acme.test", "dan@acme.test"])
async def test_only_operators_create_tenants(gateway: Onboarding, who: str):
    before = await gateway.counts()
    answer = await gateway.call("POST", "/api/v1/admin/tenants", new_tenant(), {**await gateway.sign_in(who), **key()})
    assert answer.status == 403 and answer.body["type"].endswith("/problems/operators-only")
    anonymous = await gateway.call("POST", "/api/v1/admin/tenants", new_tenant(), key())
    assert anonymous.status == 401
    assert await gateway.counts() == before


def new_user(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Eve Stone", "email": f"eve-{uuid.uuid4().hex[:8]}@acme.test",
                            "role": "user", "team": "Sales", "send_sms": True, "manage_credits": False}
    body.update(changes)
    return body


async def test_a_master_adds_a_user_who_is_invited_and_announced(gateway: Onboarding):
    master = await gateway.sign_in(MASTER)
    body = new_user()
    answer = await gateway.call("POST", "/api/v1/users", body, master)

    assert answer.status == 201, answer.body
    assert {k: answer.body[k] for k in ("name", "email", "role", "team", "send_sms", "manage_credits")} == body
    assert answer.body["active"] is True
    [announced] = [e for e in await gateway.events(events.USER_CHANGED) if e["user_id"] == answer.body["id"]]
    assert announced["tenant_id"] == str(ACME.id) and announced["team"] == "Sales"
    # Acme is in individual mode: the user has their own account, and may be named in a transfer.
    people = await gateway.call("GET", "/api/v1/users", headers=master)
    [listed] = [p for p in people.body if p["id"] == answer.body["id"]]
    assert listed["account_id"] is not None
    token = await gateway.link_sent_to(body["email"])
    assert "Acme Realty" in gateway.mailbox.to(body["email"])[0]["Subject"]
    done = await gateway.call("POST", "/api/v1/auth/password-reset/confirm",
                              {"token": token, "password": "eve's own password"})
    assert done.status == 204
    await gateway.sign_in(body["email"], "eve's own password")


@pytest.mark.parametrize("who", ["ben@acme.test", "dan@acme.test"])  # a user; a user who manages credits
async def test_users_who_are_not_masters_cannot_add_users(gateway: Onboarding, who: str):
    before = await gateway.counts()
    answer = await gateway.call("POST", "/api/v1/users", new_user(), await gateway.sign_in(who))
    assert answer.status == 403 and answer.body["type"].endswith("/problems/masters-only")
    assert await gateway.counts() == before


async def test_an_operator_adds_no_user_to_any_tenant_this_way(gateway: Onboarding):
    before = await gateway.counts()
    answer = await gateway.call("POST", "/api/v1/users", new_user(), await gateway.sign_in(OPERATOR))
    assert answer.status == 403 and answer.body["type"].endswith("/problems/tenant-users-only")
    assert await gateway.counts() == before


@pytest.mark.parametrize("email", ["cleo@acme.test", "Cleo@ACME.test", GLOBEX_MASTER])
async def test_adding_a_user_whose_email_is_taken_is_409_and_changes_nothing(gateway: Onboarding, email: str):
    master = await gateway.sign_in(MASTER)
    before = await gateway.counts()
    answer = await gateway.call("POST", "/api/v1/users", new_user(email=email), master)
    assert answer.status == 409 and answer.body["type"].endswith("/problems/email-taken")
    assert await gateway.counts() == before


@pytest.mark.parametrize("change", [
    {"role": "operator"}, {"role": "service"}, {"send_sms": "yes"}, {"email": "not-an-email"}, {"name": ""},
    {"team": "x" * 101}, {"tenant_id": str(GLOBEX.id)}, {"password": "chosen-by-the-master"},
])
async def test_bad_user_input_is_400_and_changes_nothing(gateway: Onboarding, change: dict[str, Any]):
    master = await gateway.sign_in(MASTER)
    before = await gateway.counts()
    answer = await gateway.call("POST", "/api/v1/users", new_user(**change), master)
    assert answer.status == 400 and answer.content_type == "application/problem+json", answer.body
    assert await gateway.counts() == before


async def test_a_user_added_by_a_master_belongs_to_their_tenant_only(gateway: Onboarding):
    gail = await gateway.sign_in(GLOBEX_MASTER)
    added = await gateway.call("POST", "/api/v1/users", new_user(email="gus@globex.test"), gail)
    assert added.status == 201
    [announced] = [e for e in await gateway.events(events.USER_CHANGED) if e["user_id"] == added.body["id"]]
    assert announced["tenant_id"] == str(GLOBEX.id)
    # Acme's master neither sees nor reaches them.
    acme = await gateway.sign_in(MASTER)
    people = await gateway.call("GET", "/api/v1/users", headers=acme)
    assert added.body["id"] not in [p["id"] for p in people.body]
    change = await gateway.call("PATCH", f"/api/v1/users/{added.body['id']}", {"active": False}, acme)
    assert change.status == 404
