"""The load generator: a bounded asyncio client on loopback.

Closed loop (`closed_loop`): N workers each send a request, wait for the answer, send the next; after a
warm-up, every request that starts inside the measured window counts. Open loop (`open_loop`): requests
at fixed times whatever the answers, each one's latency from the time it was due; with a bound on those
in flight, past which requests wait (their wait counted), and those still waiting when the schedule
ends are not sent, so an overloaded system shows as long latencies and a lower achieved rate, not as a
hung client.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from bench import stats
from bench.machine import Probe, Usage

# A request: None when it succeeded, else a short label of what went wrong (an HTTP status, an error).
Request = Callable[[aiohttp.ClientSession], Awaitable[str | None]]

_TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass
class Leg:
    """What one load level measured."""

    seconds: float
    latencies: list[float] = field(default_factory=list)  # of successful requests, in seconds
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    usage: Usage | None = None
    not_sent: int = 0  # open loop only: requests still waiting for a connection when the schedule ended

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def latency_ms(self) -> dict[str, float | None]:
        return stats.latency_ms(self.latencies)


def session(concurrency: int) -> aiohttp.ClientSession:
    # One keep-alive connection per worker, as many clients would hold.
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency + 8), timeout=_TIMEOUT)


async def _timed(request: Request, client: aiohttp.ClientSession) -> tuple[float, str | None]:
    started = time.perf_counter()
    try:
        outcome = await request(client)
    except (aiohttp.ClientError, TimeoutError) as exc:
        outcome = type(exc).__name__
    return time.perf_counter() - started, outcome


async def closed_loop(
    request: Request, concurrency: int, warmup: float, seconds: float, probe: Probe,
    before_measuring: Callable[[], Awaitable[None]] | None = None,
) -> Leg:
    """`before_measuring` runs once the warm-up is over, just before the probe starts."""
    leg = Leg(seconds=seconds)
    started = time.perf_counter()
    measure_from, end = started + warmup, started + warmup + seconds

    async def worker(client: aiohttp.ClientSession) -> None:
        while (sent := time.perf_counter()) < end:
            elapsed, outcome = await _timed(request, client)
            if sent >= measure_from:
                if outcome is None:
                    leg.latencies.append(elapsed)
                else:
                    leg.errors[outcome] += 1

    async def measure() -> None:
        await asyncio.sleep(warmup)
        if before_measuring is not None:
            await before_measuring()
        probe.start()
        await asyncio.sleep(seconds)
        leg.usage = probe.stop()

    async with session(concurrency) as client:
        await asyncio.gather(measure(), *(worker(client) for _ in range(concurrency)))
    return leg


async def open_loop(
    request: Request, rate: float, seconds: float, probe: Probe | None = None, max_in_flight: int = 256,
    until: asyncio.Event | None = None,
) -> Leg:
    """Requests at `rate` per second for `seconds`, or until `until` is set if that comes first.

    The k-th request is due at start + k/rate whatever the answers, and its latency runs from then, not
    from when it could be sent: a system that stalls is charged for every request it held up (no
    coordinated omission). Requests beyond `max_in_flight` wait for a connection, the wait counted; those
    still waiting when the schedule ends are not sent (`not_sent`)."""
    leg = Leg(seconds=seconds)
    connections = asyncio.Semaphore(max_in_flight)
    scheduled: set[asyncio.Task[None]] = set()
    ended = False

    async def one(client: aiohttp.ClientSession, due: float) -> None:
        async with connections:
            if ended:
                leg.not_sent += 1
                return
            _, outcome = await _timed(request, client)
        if outcome is None:
            leg.latencies.append(time.perf_counter() - due)
        else:
            leg.errors[outcome] += 1

    async with session(max_in_flight) as client:
        if probe is not None:
            probe.start()
        started = time.perf_counter()
        due = 0
        while (now := time.perf_counter()) < started + seconds and not (until and until.is_set()):
            # Send everything due by now, then sleep a tick: timers are too coarse for one sleep each.
            target = int((now - started) * rate)
            for k in range(due, target):
                task = asyncio.create_task(one(client, started + (k + 1) / rate))
                scheduled.add(task)
                task.add_done_callback(scheduled.discard)
            due = target
            await asyncio.sleep(0.002)
        leg.seconds = time.perf_counter() - started
        if probe is not None:
            leg.usage = probe.stop()
        ended = True
        await asyncio.gather(*scheduled)
    return leg
