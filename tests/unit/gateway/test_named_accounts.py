"""Looking up only the accounts a request names must give exactly what listing the whole tenant and
picking them out gave: the same accounts, the same owners, and nothing from another tenant or mode."""

from __future__ import annotations

import uuid
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from common.accounts import SYSTEM, account_id, user_code
from gateway.directory import domain
from gateway.directory.domain import Person, Tenant

ROLES: st.SearchStrategy[Literal["master", "user"]] = st.sampled_from(["master", "user"])


@st.composite
def tenants_and_requests(draw: st.DrawFn) -> tuple[Tenant, list[Person], list[uuid.UUID]]:
    mode: domain.CreditMode = draw(st.sampled_from(["shared", "individual"]))
    tenant = Tenant(uuid.uuid4(), "Acme", None, None, mode, "Australia/Sydney")
    people = [
        Person(uuid.uuid4(), tenant.id, f"p{i}@acme.test", draw(st.text(min_size=1, max_size=5)), draw(ROLES),
               None, draw(st.booleans()), draw(st.booleans()), draw(st.booleans()))
        for i in range(draw(st.integers(0, 6)))
    ]
    stranger = uuid.uuid4()  # another tenant's user
    candidates = [account_id(tenant.id, SYSTEM), account_id(uuid.uuid4(), SYSTEM),
                  account_id(tenant.id, user_code(stranger)), uuid.uuid4()]
    candidates += [account_id(tenant.id, user_code(p.id)) for p in people]
    wanted = draw(st.lists(st.sampled_from(candidates), max_size=6))
    return tenant, people, wanted


@settings(deadline=None)  # timing is not what this checks, and the machine may be busy
@given(tenants_and_requests())
def test_named_accounts_equal_those_picked_from_the_whole_tenant(case):
    tenant, people, wanted = case
    everything = {a.id: a for a in domain.tenant_accounts(tenant, people)}
    # What the directory's index gives: owners by their account id, whatever the mode.
    owners = {account_id(tenant.id, user_code(p.id)): p for p in people}
    named = domain.named_accounts(tenant, wanted, owners)
    assert named == {w: everything[w] for w in wanted if w in everything}


def test_user_accounts_are_not_found_in_shared_mode():
    tenant = Tenant(uuid.uuid4(), "Acme", None, None, "shared", "Australia/Sydney")
    ben = Person(uuid.uuid4(), tenant.id, "ben@acme.test", "Ben", "user", None, True, True, False)
    bens = account_id(tenant.id, user_code(ben.id))
    assert domain.named_accounts(tenant, [bens], {bens: ben}) == {}
