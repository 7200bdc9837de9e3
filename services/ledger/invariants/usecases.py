"""The invariant check: every promise counted in one snapshot, and the result kept in a metric so that an
alert can fire on any breach."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from prometheus_client import Gauge

from services.ledger.invariants import store

VIOLATIONS = Gauge("ledger_invariant_violations", "Rows breaking a ledger invariant at the last check", ["check"])


@dataclass(frozen=True)
class CheckResult:
    name: str
    violations: int

    @property
    def held(self) -> bool:
        return self.violations == 0


async def check(conn: asyncpg.Connection) -> list[CheckResult]:
    # One snapshot for every check, so a transfer committing half-way through cannot look like a breach.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        results = [CheckResult(name, await store.violations(conn, name)) for name in store.CHECKS]
    for result in results:
        VIOLATIONS.labels(result.name).set(result.violations)
    return results
