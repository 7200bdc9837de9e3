"""The account owners' cache (gateway.callers.owners): the accounts a request names are found without a
directory read once their owners are remembered, and every announcement that could change who owns an
account, or what that owner may do, makes the process read them again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

import asyncpg
import pytest

from common.accounts import account_id, user_code
from common.contracts import events
from common.contracts.event_examples import example_event
from common.contracts.events import Event
from gateway.callers import invalidation
from gateway.callers.cache import CallerCache
from gateway.callers.owners import OwnerCache
from gateway.directory import store
from gateway.directory.domain import Person, Tenant
from gateway.usecases import accounts
from tests.unit.gateway.fakes import NO_DATABASE, caller, shared_tenant, system_account


def individual_tenant() -> Tenant:
    return Tenant(uuid.uuid4(), "Acme", "Acme Pty Ltd", "51 824 753 556", "individual", "Australia/Sydney")


class Directory:
    """A pool whose connections are counted, and the people it finds by account (store.people_by_account)."""

    def __init__(self, people: Sequence[Person], during_read: Any = None) -> None:
        self.by_account = {account_id(p.tenant_id, user_code(p.id)): p for p in people if p.tenant_id}
        self.reads: list[list[uuid.UUID]] = []
        self.during_read = during_read  # something that happens while a read is under way

    def acquire(self) -> Any:
        directory = self

        class Connection:
            async def __aenter__(self) -> Directory:
                return directory

            async def __aexit__(self, *_: object) -> None:
                return None

        return Connection()

    async def people_by_account(self, conn: Any, tenant_id: uuid.UUID,
                                wanted: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
        self.reads.append(list(wanted))
        if self.during_read is not None:
            self.during_read()
        return {a: p for a, p in self.by_account.items() if a in wanted and p.tenant_id == tenant_id}


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch) -> Any:
    def make(people: Sequence[Person], during_read: Any = None) -> Directory:
        made = Directory(people, during_read)
        monkeypatch.setattr(store, "people_by_account", made.people_by_account)
        return made

    return make


def _account(person: Person) -> uuid.UUID:
    assert person.tenant_id is not None
    return account_id(person.tenant_id, user_code(person.id))


def _event(event_type: str, **data: str) -> Event:
    envelope = example_event(event_type)
    return Event.model_validate({**envelope, "data": {**envelope["data"], **data}})


async def test_remembered_owners_name_a_transfers_accounts_without_reading_the_directory(directory: Any):
    acme = individual_tenant()
    ben = caller(acme).person
    found = directory([ben])
    cache = OwnerCache(30, 100)
    wanted = [system_account(acme), _account(ben)]

    first = await accounts.accounts_named(cast(asyncpg.Pool, found), acme, *wanted, owners=cache)
    again = await accounts.accounts_named(cast(asyncpg.Pool, found), acme, *wanted, owners=cache)

    assert first == again and [ref.kind for ref in again] == ["system", "user"] and again[1].owner == ben
    assert found.reads == [[_account(ben)]]  # once, and never for System Credits
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


async def test_system_credits_and_a_shared_tenants_accounts_need_no_directory_read():
    acme, globex = individual_tenant(), shared_tenant()
    [system] = await accounts.accounts_named(NO_DATABASE, acme, system_account(acme), owners=OwnerCache(30, 100))
    assert system.kind == "system"
    [shared] = await accounts.accounts_named(NO_DATABASE, globex, system_account(globex))
    assert shared.kind == "system"


async def test_an_account_nobody_owns_is_looked_up_every_time(directory: Any):
    acme = individual_tenant()
    found = directory([])
    cache = OwnerCache(30, 100)
    nobodys = account_id(acme.id, user_code(uuid.uuid4()))
    for _ in range(2):
        assert await accounts.named(cast(asyncpg.Pool, found), acme, [nobodys], cache) == {}
    assert found.reads == [[nobodys], [nobodys]]  # a person created since would own it


async def test_each_change_to_the_owner_or_their_tenant_makes_the_process_read_them_again(directory: Any):
    acme = individual_tenant()
    ben, cleo = caller(acme).person, caller(acme).person
    found = directory([ben, cleo])
    callers, owners = CallerCache(30, 100), OwnerCache(30, 100)
    wanted = [_account(ben), _account(cleo)]

    async def reads_after(event: Event) -> list[list[uuid.UUID]]:
        await accounts.named(cast(asyncpg.Pool, found), acme, wanted, owners)  # remembered
        found.reads.clear()
        invalidation.apply_all((callers, owners), event)
        await accounts.named(cast(asyncpg.Pool, found), acme, wanted, owners)
        return found.reads

    # Ben deactivated, moved to another team, made a master: his account only is read again.
    assert await reads_after(_event(events.USER_CHANGED, user_id=str(ben.id), tenant_id=str(acme.id))) == [
        [_account(ben)]]
    for change in (events.TENANT_CHANGED, events.CREDIT_MODE_CHANGED):
        assert await reads_after(_event(change, tenant_id=str(acme.id))) == [wanted], change
    assert await reads_after(_event(events.TRANSACTION_POSTED, tenant_id=str(acme.id))) == []  # no directory change


async def test_a_read_that_overlapped_a_change_is_not_remembered(directory: Any):
    acme = individual_tenant()
    ben = caller(acme).person
    cache = OwnerCache(30, 100)
    # Ben's change is announced while his row is being read: what was read may be from before it.
    found = directory([ben], during_read=lambda: cache.forget_person(ben.id, "user-changed"))
    await accounts.named(cast(asyncpg.Pool, found), acme, [_account(ben)], cache)
    assert len(cache) == 0


async def test_nothing_is_remembered_or_served_while_the_bus_is_down(directory: Any):
    acme = individual_tenant()
    ben = caller(acme).person
    found = directory([ben])
    listening = [True]
    cache = OwnerCache(30, 100, listening=lambda: listening[0])
    await accounts.named(cast(asyncpg.Pool, found), acme, [_account(ben)], cache)
    listening[0] = False
    await accounts.named(cast(asyncpg.Pool, found), acme, [_account(ben)], cache)
    assert len(found.reads) == 2 and len(cache) == 0 and cache.stats.bypassed == 1
