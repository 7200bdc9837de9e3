"""The invariant check as the ledger runs it: a periodic job beside the service (see `app.py`), and the
operator's `python -m services.ledger check`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from common.db import connect
from common.logs import get_logger
from common.runtime import DB
from services.ledger.invariants import usecases

log = get_logger(__name__)


async def check_invariants(app: web.Application) -> None:
    """Keep the `ledger_invariant_violations` metric current, so an alert can fire on any breach."""
    async with app[DB].acquire() as conn:
        breached = [r.name for r in await usecases.check(conn) if not r.held]
    if breached:
        log.error("ledger_invariant_breached", checks=breached)


def check_command(database_url: str) -> Callable[[], Coroutine[Any, Any, int]]:
    """`python -m services.ledger check`: every invariant, one line each; exits 1 when any is breached."""

    async def command() -> int:
        conn = await connect(database_url)
        try:
            results = await usecases.check(conn)
        finally:
            await conn.close()
        for result in results:
            print(f"{'ok  ' if result.held else 'FAIL'} {result.name}: {result.violations} violation(s)")
        breached = [r for r in results if not r.held]
        print(f"ledger: {len(results)} invariants checked, {len(breached)} breached")
        return 1 if breached else 0

    return command
