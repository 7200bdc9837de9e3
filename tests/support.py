"""Small helpers shared by the test tiers."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0, every: float = 0.05) -> float:
    """Wait until `condition` holds; answers the seconds it took, fails the test after `timeout`."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(every)
    return time.monotonic() - started


# Ports for the processes a test starts, below the kernel's ephemeral range (32768 and up on Linux): a port
# the kernel handed out (bind to 0) could be taken by any outgoing connection before the process bound it.
# Each pytest-xdist worker takes its own slice, from a random place in it, so that two workers, or two runs
# of the suite side by side, do not hand out the same port at the same moment.
_PORTS_FROM, _PORTS_TO = 20_000, 32_000
_SLICES = 4
_next_port: int | None = None


def free_port() -> int:
    """A port nothing listens on now, from this process's slice of 20000-31999."""
    global _next_port
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    size = (_PORTS_TO - _PORTS_FROM) // _SLICES
    low = _PORTS_FROM + (int(worker) % _SLICES if worker.isdigit() else 0) * size
    if _next_port is None or not low <= _next_port < low + size:
        _next_port = low + random.randrange(size)
    for _ in range(size):
        port, _next_port = _next_port, low + (_next_port - low + 1) % size
        with socket.socket() as probe:  # no SO_REUSEADDR: a port in TIME_WAIT is passed over too
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{low + size - 1}")


# The SMSC simulator's test numbers (fakes/smsc/simulator.py): what a number ends in decides its fate.
REJECTED_AT_SUBMIT, NEVER_RECEIPTED, UNDELIVERABLE = "97", "98", "99"


def mobile_number(ending: str = "") -> str:
    """A random valid Australian mobile number in E.164, ending in `ending` if given (one of the
    simulator's test endings); without one, never ending in a test ending, so it is simply delivered."""
    while True:
        digits = f"{random.randint(100_000, 999_999)}"
        number = "+61412" + (digits[: 6 - len(ending)] + ending if ending else digits)
        if ending or number[-2:] not in (REJECTED_AT_SUBMIT, NEVER_RECEIPTED, UNDELIVERABLE):
            return number
