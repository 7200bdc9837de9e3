"""The ceiling a transfer benchmark is measured against: pgbench running a transfer's SQL (bench/sql/) on
the same Postgres as the services, each script at each client count, a few rounds interleaved. On a
shared machine a burst of someone else's work can halve one run, and the ceiling is what Postgres can
do, so the best run counts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict

from bench import pgbench
from bench.modes import Mode
from bench.results import Result, Row

ROUNDS = 2


async def best(result: Result, mode: Mode, scripts: Sequence[str], clients: Sequence[int],
               rounds: int = ROUNDS) -> dict[tuple[str, int], float]:
    """A row for each (script, clients), and each one's best transactions per second."""
    runs: dict[tuple[str, int], list[pgbench.PgbenchRun]] = {}
    async with pgbench.scratch_ledger(uuid.uuid4().hex[:8]) as dsn:
        for _ in range(rounds):
            for script in scripts:
                for count in clients:
                    runs.setdefault((script, count), []).append(
                        await pgbench.run(dsn, script, count, mode.pgbench_seconds))
    for tries in runs.values():
        result.add(_row(tries))
    return {key: max(run.tps for run in tries) for key, tries in runs.items()}


def _row(tries: list[pgbench.PgbenchRun]) -> Row:
    top = max(tries, key=lambda run: run.tps)
    capped = f" (capped from {top.requested_clients})" if top.clients < top.requested_clients else ""
    usage = top.usage
    return Row(
        case=f"pgbench {top.script} c={top.clients}{capped}", throughput=round(top.tps, 1), unit="tx/s",
        **top.latency, requests=top.transactions, errors=top.failed, load1=usage.load1 if usage else None,
        note=f"best of {len(tries)} ({', '.join(f'{run.tps:,.0f}' for run in tries)}); "
             f"machine {usage.machine_busy_pct if usage else '?'}% busy",
        details={"runs": [asdict(run) for run in tries]},
    )
