"""The design's "Who may do what" table, cell by cell, as pure rules."""

import uuid

import pytest

from common.accounts import account_id, user_code
from common.problems import Forbidden, RuleBroken
from common.web import status_of
from gateway.directory import domain
from gateway.directory.domain import AccountRef, Person, Tenant
from gateway.web.auth import Caller, service_caller

TENANT = Tenant(uuid.uuid4(), "Acme", None, None, "individual", "Australia/Sydney")


def person(name: str, role: str = "user", team: str | None = None, manage: bool = False,
           active: bool = True, send_sms: bool = True) -> Person:
    return Person(uuid.uuid4(), TENANT.id, f"{name}@acme.test", name, role, team, active, send_sms, manage)  # type: ignore[arg-type]


MASTER = person("ava", "master")
MANAGER = person("dan", team="Rentals", manage=True)
BEN = person("ben", team="Sales")
CLEO = person("cleo", team="Sales")
EVE = person("eve", team="Rentals")
NO_TEAM = person("nat")
ACCOUNTS = domain.tenant_accounts(TENANT, [MASTER, MANAGER, BEN, CLEO, EVE, NO_TEAM])
SYSTEM = ACCOUNTS[0]


def acct(p: Person) -> AccountRef:
    return domain.find_account(ACCOUNTS, account_id(TENANT.id, user_code(p.id)))


@pytest.mark.parametrize(("caller", "allowed"), [(MASTER, True), (MANAGER, False), (BEN, False)])
def test_only_masters_see_purchase_for_and_transfer_with_system_credits(caller, allowed):
    assert domain.may_manage(caller, SYSTEM) is allowed
    assert domain.may_purchase_for(caller, SYSTEM) is allowed
    assert domain.may_transfer_from(caller, SYSTEM) is allowed
    assert domain.may_transfer_to(caller, SYSTEM) is allowed


@pytest.mark.parametrize(
    ("caller", "target", "allowed"),
    [
        (MASTER, BEN, True), (MASTER, EVE, True),
        (MANAGER, BEN, True), (MANAGER, EVE, True),
        (BEN, BEN, True), (BEN, CLEO, True), (BEN, EVE, False), (BEN, MANAGER, False),
        (NO_TEAM, NO_TEAM, True), (NO_TEAM, BEN, False),
    ],
)
def test_purchase_user_credits_for_anyone_if_master_or_manager_else_self_and_own_team(caller, target, allowed):
    assert domain.may_purchase_for(caller, acct(target)) is allowed


@pytest.mark.parametrize(
    ("caller", "source", "allowed"),
    [(MASTER, BEN, True), (MANAGER, BEN, True), (MANAGER, MASTER, True), (BEN, BEN, True), (BEN, CLEO, False)],
)
def test_transfer_from_any_user_if_master_or_manager_else_own_account_only(caller, source, allowed):
    assert domain.may_transfer_from(caller, acct(source)) is allowed


@pytest.mark.parametrize(
    ("caller", "target", "allowed"),
    [(MASTER, EVE, True), (MANAGER, BEN, True), (BEN, BEN, True), (BEN, CLEO, True), (BEN, EVE, False)],
)
def test_transfer_to_any_user_if_master_or_manager_else_self_and_own_team(caller, target, allowed):
    assert domain.may_transfer_to(caller, acct(target)) is allowed


@pytest.mark.parametrize(
    ("caller", "visible"),
    [(MASTER, {"system", "ava", "dan", "ben", "cleo", "eve", "nat"}),
     (MANAGER, {"ava", "dan", "ben", "cleo", "eve", "nat"}),
     (BEN, {"ben"})],
)
def test_logs_and_balances_visible_per_the_table(caller, visible):
    names = {a.owner.name if a.owner else "system" for a in domain.managed_accounts(caller, ACCOUNTS)}
    assert names == visible


def test_shared_mode_has_only_system_credits():
    shared = Tenant(uuid.uuid4(), "Globex", None, None, "shared", "UTC")
    accounts = domain.tenant_accounts(shared, [MASTER, BEN])
    assert [a.kind for a in accounts] == ["system"]


def test_credits_cannot_be_bought_for_an_inactive_user_or_one_without_send_sms():
    inactive, mute = person("ina", active=False), person("mo", send_sms=False)
    accounts = domain.tenant_accounts(TENANT, [inactive, mute])
    for target in accounts[1:]:
        with pytest.raises(RuleBroken):
            domain.authorise_purchase(MASTER, target)


def test_purchase_for_someone_out_of_reach_is_forbidden():
    with pytest.raises(Forbidden):
        domain.authorise_purchase(BEN, acct(EVE))


def test_an_unknown_account_is_not_found():
    with pytest.raises(domain.AccountNotFound):
        domain.find_account(ACCOUNTS, uuid.uuid4())


def test_a_signed_in_caller_without_a_tenant_is_forbidden_not_unauthenticated():
    """An operator's or an internal system's valid token on a tenant's endpoint: 403, not 401 (which
    would tell the client to sign in again, for ever). Found by the access matrix (tests/security)."""
    for caller in (Caller(person("olive", "operator"), None), service_caller("billing-robot")):
        with pytest.raises(Forbidden) as refused:
            caller.require_tenant()
        assert status_of(refused.value) == 403
    assert Caller(BEN, TENANT).require_tenant() is TENANT
