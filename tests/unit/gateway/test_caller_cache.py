"""The caller cache's rules (gateway.callers): whom it remembers, for how long, what makes it forget, and that
a remembered caller costs no directory read while the token is still checked on every request."""

from __future__ import annotations

import dataclasses
import time
import uuid

import jwt
import pytest

from common.contracts import events
from common.contracts.event_examples import example_event
from common.contracts.events import Event
from gateway.callers import announced, invalidation
from gateway.callers.cache import CallerCache, may_remember
from gateway.usecases.auth import caller_from_token
from gateway.web.auth import Caller, InvalidToken, TokenExpired, issue_access_token, service_caller
from tests.unit.gateway.fakes import NO_DATABASE, caller, shared_tenant

SECRET = "a-secret-for-the-caller-cache-tests-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def in_session(found: Caller) -> Caller:
    return dataclasses.replace(found, session_id=uuid.uuid4())


def remembered(cache: CallerCache, found: Caller) -> Caller | None:
    assert found.session_id is not None
    return cache.get_caller(found.person.id, found.session_id)


def test_a_remembered_caller_is_served_until_the_ttl_and_then_looked_up_again():
    clock = Clock()
    cache = CallerCache(30, 100, clock=clock)
    ben = in_session(caller(shared_tenant()))
    assert remembered(cache, ben) is None
    assert cache.put_caller(ben, cache.ticket())
    clock.now += 29.9
    assert remembered(cache, ben) is ben
    clock.now += 0.2
    assert remembered(cache, ben) is None and len(cache) == 0
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)


def test_only_a_tenants_people_in_a_session_are_remembered():
    tenant = shared_tenant()
    cache = CallerCache(30, 100)
    operator = in_session(dataclasses.replace(caller(tenant, "operator"), tenant=None))
    service = service_caller("crm")
    assert not may_remember(operator) and not cache.put_caller(operator, cache.ticket())
    assert not may_remember(service) and not cache.put_caller(service, cache.ticket())
    assert not may_remember(caller(tenant))  # no session
    assert may_remember(in_session(caller(tenant, "master"))) and may_remember(in_session(caller(tenant)))
    assert len(cache) == 0


def test_forgetting_a_person_forgets_each_of_their_sessions_and_no_one_else():
    tenant = shared_tenant()
    cache = CallerCache(30, 100)
    laptop = in_session(caller(tenant))
    phone = dataclasses.replace(laptop, session_id=uuid.uuid4())
    cleo = in_session(caller(tenant))
    for found in (laptop, phone, cleo):
        assert cache.put_caller(found, cache.ticket())
    cache.forget_person(laptop.person.id, "user-changed")
    assert remembered(cache, laptop) is None and remembered(cache, phone) is None
    assert remembered(cache, cleo) is cleo


def test_forgetting_a_tenant_forgets_its_people_only():
    acme, globex = shared_tenant(), shared_tenant()
    cache = CallerCache(30, 100)
    ava, ben, gail = in_session(caller(acme, "master")), in_session(caller(acme)), in_session(caller(globex))
    for found in (ava, ben, gail):
        cache.put_caller(found, cache.ticket())
    cache.forget_tenant(acme.id, "tenant-changed")
    assert [remembered(cache, c) for c in (ava, ben, gail)] == [None, None, gail]


def test_a_lookup_that_overlapped_a_forgetting_is_not_remembered():
    """It may have read the directory before the change committed, and the event that clears it has passed."""
    tenant = shared_tenant()
    cache = CallerCache(30, 100)
    ben = in_session(caller(tenant))
    ticket = cache.ticket()  # the lookup starts
    cache.forget_person(uuid.uuid4(), "user-changed")  # any change, even someone else's, meanwhile
    assert not cache.put_caller(ben, ticket)
    assert remembered(cache, ben) is None
    assert cache.put_caller(ben, cache.ticket())


def test_while_the_bus_is_down_nothing_is_served_or_remembered_and_what_was_is_forgotten():
    listening = True
    cache = CallerCache(30, 100, listening=lambda: listening)
    ben, cleo = in_session(caller(shared_tenant())), in_session(caller(shared_tenant()))
    cache.put_caller(ben, cache.ticket())
    ticket = cache.ticket()
    listening = False
    assert remembered(cache, ben) is None and len(cache) == 0
    assert not cache.put_caller(cleo, cache.ticket())
    listening = True  # back, with events missed meanwhile: ben is looked up again
    assert remembered(cache, ben) is None
    assert not cache.put_caller(cleo, ticket)  # a lookup from before the outage
    assert cache.stats.bypassed == 1


def test_the_oldest_are_dropped_first_when_the_cache_is_full():
    clock = Clock()
    cache = CallerCache(30, 3, clock=clock)
    tenant = shared_tenant()
    callers = [in_session(caller(tenant)) for _ in range(4)]
    for found in callers:
        cache.put_caller(found, cache.ticket())
        clock.now += 1
    assert len(cache) == 3
    assert [remembered(cache, c) is not None for c in callers] == [False, True, True, True]


def test_a_cache_with_no_ttl_remembers_nothing():
    cache = CallerCache(0, 100)
    ben = in_session(caller(shared_tenant()))
    assert not cache.enabled and not cache.put_caller(ben, cache.ticket())
    assert remembered(cache, ben) is None and cache.stats.bypassed == 1


def _event(event_type: str, **data: object) -> Event:
    envelope = example_event(event_type)
    return Event.model_validate({**envelope, "data": {**envelope["data"], **data}})


def test_each_directory_announcement_forgets_whom_it_concerns():
    acme, globex = shared_tenant(), shared_tenant()
    ava, ben, gail = in_session(caller(acme, "master")), in_session(caller(acme)), in_session(caller(globex))
    cache = CallerCache(30, 100)

    def fill() -> None:
        for found in (ava, ben, gail):
            cache.put_caller(found, cache.ticket())

    fill()
    invalidation.apply(cache, _event(events.USER_CHANGED, user_id=str(ben.person.id), tenant_id=str(acme.id)))
    assert [remembered(cache, c) for c in (ava, ben, gail)] == [ava, None, gail]
    for change in (events.TENANT_CHANGED, events.CREDIT_MODE_CHANGED):
        fill()
        invalidation.apply(cache, _event(change, tenant_id=str(acme.id)))
        assert [remembered(cache, c) for c in (ava, ben, gail)] == [None, None, gail], change
    fill()
    invalidation.apply(cache, _event(events.TRANSACTION_POSTED, tenant_id=str(acme.id)))  # not a directory change
    assert len(cache) == 3
    unreadable = _event(events.USER_CHANGED)
    unreadable = unreadable.model_copy(update={"data": {"user_id": "not-an-id"}})
    invalidation.apply(cache, unreadable)
    assert len(cache) == 0
    assert set(invalidation.ROUTING_KEYS) == {
        "gateway.directory.user_changed", "gateway.directory.tenant_changed", "gateway.tenant.credit_mode_changed"}


def test_announcements_are_collected_only_within_a_request():
    event = _event(events.USER_CHANGED)
    announced.note(event)  # outside any request: nowhere to go, and no error
    with announced.collected() as changes:
        announced.note(event)
        with announced.collected() as inner:
            announced.note(event)
        assert inner == [event]
    assert changes == [event]


def _token(found: Caller, ttl: int = 900) -> str:
    return issue_access_token(str(found.person.id), SECRET, ttl, session_id=found.session_id)


async def test_a_remembered_caller_costs_no_directory_read_but_their_token_is_checked_every_time():
    cache = CallerCache(30, 100)
    ben = in_session(caller(shared_tenant()))
    cache.put_caller(ben, cache.ticket())
    assert await caller_from_token(NO_DATABASE, _token(ben), SECRET, cache) is ben  # NO_DATABASE: a read fails
    assert cache.stats.hits == 1
    expired = jwt.encode({"sub": str(ben.person.id), "sid": str(ben.session_id), "kind": "person",
                          "iss": "sms-credits", "iat": int(time.time()) - 1000, "exp": int(time.time()) - 10},
                         SECRET, algorithm="HS256")
    with pytest.raises(TokenExpired):
        await caller_from_token(NO_DATABASE, expired, SECRET, cache)
    with pytest.raises(InvalidToken):
        await caller_from_token(NO_DATABASE, _token(ben), "another-secret-entirely-0123456789abcdef", cache)
    other_session = dataclasses.replace(ben, session_id=uuid.uuid4())
    with pytest.raises(AssertionError, match="directory was read"):
        await caller_from_token(NO_DATABASE, _token(other_session), SECRET, cache)

