"""The shared rate limits' rules without a database: a window's counting rule (the one the store's upsert
applies), the quota it reports, the stored keys, and how `Limits` combines its windows and behaves when the
store is down. The store itself, on Postgres: tests/integration/gateway/test_shared_rate_limits.py."""

from __future__ import annotations

import pytest

from gateway.web.ratelimit import Limits, Quota, RateLimited
from gateway.web.ratelimit_store import Count, Window, counted_after, key_secret, stored_key


class MemoryWindows:
    """The store's rule in memory, on a clock the test moves: what one process alone would count."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.windows: dict[tuple[str, str], tuple[int, float]] = {}  # (limit, key) -> (hits, ends at)
        self.down = False

    def _current(self, window: Window, key: str) -> Count | None:
        if self.down:
            raise ConnectionRefusedError("the database is away")
        found = self.windows.get((window.name, key))
        return None if found is None else Count(False, found[0], found[1] - self.now)

    async def hit(self, window: Window, key: str) -> Count:
        count = counted_after(window, self._current(window, key))
        if count.counted:
            self.windows[(window.name, key)] = (count.hits, self.now + count.resets_in)
        return count

    async def peek(self, window: Window, key: str) -> Count:
        current = self._current(window, key)
        return current if current is not None and current.resets_in > 0 else Count(False, 0, 0.0)


def headers_of(refused: pytest.ExceptionInfo[RateLimited]) -> dict[str, str]:
    assert refused.value.headers is not None
    return refused.value.headers


def limits(store: MemoryWindows, per_ip: str = "300/minute", per_email: str = "3/minute") -> Limits:
    return Limits(store, per_ip, per_email, "2/second", lockout_failures=2, lockout_seconds=600)


def test_a_window_opens_with_its_first_event_and_counts_until_full():
    window = Window.of("writes", "3/minute")
    assert window == Window("writes", 3, 60.0)
    first = counted_after(window, None)
    assert first == Count(True, 1, 60.0)
    assert counted_after(window, Count(False, 2, 12.5)) == Count(True, 3, 12.5)  # the window's end stays put


def test_a_full_window_refuses_without_counting_and_an_ended_one_starts_afresh():
    window = Window("writes", 3, 60.0)
    assert counted_after(window, Count(False, 3, 12.5)) == Count(False, 3, 12.5)
    assert counted_after(window, Count(False, 3, 0.0)) == Count(True, 1, 60.0)
    assert counted_after(window, Count(False, 3, -5.0)) == Count(True, 1, 60.0)


def test_the_quota_says_what_is_left_and_when_the_window_ends():
    window = Window("writes", 3, 60.0)
    assert Count(True, 1, 59.2).quota(window) == Quota(3, 2, 60)
    assert Count(False, 3, 12.1).quota(window) == Quota(3, 0, 13)
    assert Count(False, 0, 0.0).quota(window) == Quota(3, 3, 0)  # no window open: all of it
    assert Count(False, 3, -1.0).quota(window) == Quota(3, 3, 0)  # ended, not yet swept
    assert Count(False, 3, 12.1).full(window) and not Count(False, 2, 12.1).full(window)
    assert Count(False, 3, 12.1).retry_after() == 13


def test_stored_keys_are_stable_per_limit_and_hold_no_email():
    secret, email, window = key_secret("s" * 40), "ben@acme.test", Window("sign_in_email", 10, 60.0)
    key = stored_key(secret, window, email)
    assert key == stored_key(key_secret("s" * 40), window, email)  # every replica, every restart
    assert len(key) == 16 and b"ben" not in key
    assert key != stored_key(secret, Window("sign_in_failures", 10, 60.0), email)
    assert key != stored_key(key_secret("t" * 40), window, email)


async def test_an_account_is_limited_and_reports_the_tightest_quota():
    store = MemoryWindows()
    rules = limits(store)
    assert [await rules.sign_in_attempt("10.0.0.1", "ben@acme.test") for _ in range(3)] == [
        Quota(3, 2, 60), Quota(3, 1, 60), Quota(3, 0, 60)]
    with pytest.raises(RateLimited) as refused:
        await rules.sign_in_attempt("10.0.0.1", " BEN@acme.test")  # the same account whatever the spelling
    assert headers_of(refused)["Retry-After"] == "60" and headers_of(refused)["RateLimit-Remaining"] == "0"
    store.now += 60
    assert await rules.sign_in_attempt("10.0.0.1", "ben@acme.test") == Quota(3, 2, 60)


async def test_failures_lock_the_account_until_their_window_ends():
    store = MemoryWindows()
    rules = limits(store, per_email="100/minute")
    await rules.sign_in_failed("ben@acme.test")
    await rules.sign_in_failed("ben@acme.test")
    store.now += 100
    with pytest.raises(RateLimited) as refused:
        await rules.sign_in_attempt("10.0.0.1", "ben@acme.test")
    assert headers_of(refused)["Retry-After"] == "500"
    assert await rules.sign_in_attempt("10.0.0.1", "cleo@acme.test") == Quota(2, 2, 0)  # failures: none yet
    store.now += 500
    assert (await rules.sign_in_attempt("10.0.0.1", "ben@acme.test")).remaining == 2


async def test_an_attempt_the_address_refuses_is_not_counted_against_the_account():
    store = MemoryWindows()
    rules = limits(store, per_ip="2/minute")
    await rules.sign_in_attempt("10.0.0.1", "ben@acme.test")
    await rules.sign_in_attempt("10.0.0.1", "cleo@acme.test")
    for _ in range(5):
        with pytest.raises(RateLimited):
            await rules.sign_in_attempt("10.0.0.1", "dan@acme.test")
    await rules.sign_in_attempt("10.0.0.2", "dan@acme.test")
    assert store.windows[("sign_in_email", "dan@acme.test")][0] == 1  # only the attempt the address let through


async def test_writes_are_limited_per_caller_and_let_through_while_the_store_is_down():
    store = MemoryWindows()
    rules = limits(store)
    assert await rules.write("p1") == Quota(2, 1, 1)
    assert await rules.write("p1") == Quota(2, 0, 1)
    with pytest.raises(RateLimited):
        await rules.write("p1")
    assert await rules.write("p2") == Quota(2, 1, 1)
    store.down = True
    assert await rules.write("p1") == Quota(2, 2, 0)  # fails open: nothing counted, nothing refused


async def test_sign_in_and_renewal_fail_closed_while_the_store_is_down():
    store = MemoryWindows()
    store.down = True
    rules = limits(store)
    with pytest.raises(ConnectionRefusedError):  # the error middleware answers it 503
        await rules.sign_in_attempt("10.0.0.1", "ben@acme.test")
    with pytest.raises(ConnectionRefusedError):
        await rules.renewal("10.0.0.1")
