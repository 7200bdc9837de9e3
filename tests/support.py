"""Small helpers shared by the test tiers."""

from __future__ import annotations

import asyncio
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
