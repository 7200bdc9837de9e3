"""The whole system under transfers, as `make run` runs it: gateway, ledger, billing, reporting, messaging
and webhooks, every one consuming its events (nothing purged), RabbitMQ and Postgres beside them; and the
CPU each process spends per transfer.

Transfers go through the gateway as the tenant's signed-in master. The hot account: one credit at a time
from the tenant's System Credits to three users, so every transfer takes the same account, as a master's
day does; beside it, random transfers between the 10,000 users. Legs: a closed loop of 32 clients on each
(after a warm-up whose events are drained first), then open loops at fixed rates on the hot account. A
leg's CPU is counted from the start of its load until the system has caught up with it (every event
consumed, bench/backlog.py) and divided by the transfers done. The ceiling: pgbench running the transfer's
SQL at 32 clients on the same Postgres, the best of two runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from bench import ceiling, load, seed, system
from bench.attribution import Cost, SystemProbe
from bench.backlog import Backlog
from bench.benchmarks import system_figures
from bench.benchmarks.system_figures import Measured
from bench.load import Leg, Request
from bench.machine import Probe, Usage
from bench.modes import Mode
from bench.options import Options
from bench.results import RESULTS, Result, Row, ratio_text
from bench.workloads import GatewayTransfers, HotAccount

NAME = "system"
CLIENTS = 32
OPEN_LOOP_RATES = (200, 500)
PGBENCH_SCRIPTS = ("minimal", "hot")  # the transfer SQL, and the same on one hot account
SYSTEM_CREDITS = 10**12  # a hot-account transfer takes one: never runs dry
DRAIN_LIMIT_SECONDS = 120.0


async def run(mode: Mode, options: Options, result: Result) -> None:
    """Fills `result` as it goes: what was measured before a failure is kept."""
    best = await ceiling.best(result, mode, PGBENCH_SCRIPTS, (CLIENTS,))
    pgbench_tps = {script: tps for (script, _), tps in best.items()}
    async with system.running(NAME, system.EVERYTHING) as running:
        try:
            directory = await seed.seed(running, mode.users, tenants=options.tenants, system_credits=SYSTEM_CREDITS)
            result.notes.append(
                f"{mode.users:,} users in {options.tenants} tenant(s); hot account: 1 credit from System Credits "
                f"to one of {HotAccount.RECIPIENTS} users; spread: 1-5 credits between two users at random; "
                f"every service running and consuming; CPU counted until every event was consumed")
            gateway = running.url("gateway")
            workloads = {"hot account": await GatewayTransfers.signed_in(gateway, directory, hot=True),
                         f"{mode.users:,} users": await GatewayTransfers.signed_in(gateway, directory)}
            rest = await _at_rest(result, running, mode.baseline_seconds)
            measured: list[Measured] = []
            async with Backlog(running) as backlog:
                for label, request in workloads.items():
                    measured.append(await _closed(result, running, backlog, rest, label, request, mode,
                                                  pgbench_tps))
                for rate in OPEN_LOOP_RATES:
                    measured.append(await _open(result, running, backlog, rest, workloads["hot account"], rate,
                                                mode))
            result.notes.append(system_figures.headline(pgbench_tps, measured))
            table = system_figures.table(result, pgbench_tps, measured, rest)
            print("\n" + table, flush=True)
            (RESULTS / "system-figures.md").write_text(table + "\n")
        finally:
            result.services = running.usage()


async def _at_rest(result: Result, running: system.System, seconds: float) -> Usage:
    """Every process with nothing to do: the services' timers and pollers, and, for RabbitMQ and Postgres's
    server processes, whatever else uses those servers; a leg's figures hold this much too."""
    probe = SystemProbe(running)
    await probe.start()
    await asyncio.sleep(seconds)
    usage = await probe.stop()
    result.add(Row(case="CPU at rest, no load", load1=usage.load1,
                   note=f"% of one core: {system_figures.busiest(usage)}", details={"usage": asdict(usage)}))
    return usage


async def _window(running: system.System, backlog: Backlog, rest: Usage, label: str,
                  drive: Callable[[Probe], Awaitable[Leg]]) -> Measured:
    """A load (`drive`, given a probe of every process for the load alone: where the limit is), then the
    wait until the system has caught up; the whole system's CPU over both."""
    since = await backlog.mark()
    whole = SystemProbe(running)
    await whole.start()
    leg = await drive(whole.twin())
    drained = await backlog.wait(since, DRAIN_LIMIT_SECONDS)
    usage = await whole.stop()
    return Measured(label, leg, Cost.of(usage, len(leg.latencies), rest), drained, usage)


async def _closed(result: Result, running: system.System, backlog: Backlog, rest: Usage, label: str,
                  request: Request, mode: Mode, pgbench_tps: dict[str, float]) -> Measured:
    # The warm-up opens the pools' connections; its events are consumed before the window opens, so that
    # the window's consumers work on the window's transfers only.
    since = await backlog.mark()
    await load.closed_loop(request, CLIENTS, 0, mode.warmup_seconds, Probe({}))
    await backlog.wait(since, DRAIN_LIMIT_SECONDS)
    measured = await _window(running, backlog, rest, f"{label} c={CLIENTS}",
                             lambda probe: load.closed_loop(request, CLIENTS, 0, mode.leg_seconds, probe))
    ratios = {script: measured.leg.throughput / tps if tps else 0.0 for script, tps in pgbench_tps.items()}
    _add_rows(result, measured, f"{ratio_text(ratios['minimal'])} pgbench transfer SQL, "
                                f"{ratio_text(ratios['hot'])} pgbench on the hot account",
              {"ratio_to_pgbench": {s: round(r, 3) for s, r in ratios.items()}})
    return measured


async def _open(result: Result, running: system.System, backlog: Backlog, rest: Usage, request: Request,
                rate: int, mode: Mode) -> Measured:
    measured = await _window(running, backlog, rest, f"hot account, open loop {rate}/s",
                             lambda probe: load.open_loop(request, rate, mode.leg_seconds, probe))
    leg = measured.leg
    _add_rows(result, measured, f"achieved {leg.throughput:,.0f} of {rate}/s offered, {leg.not_sent:,} not sent; "
                                "latency from each request's due time",
              {"offered_per_second": rate, "not_sent": leg.not_sent})
    return measured


def _add_rows(result: Result, measured: Measured, note: str, details: dict[str, object]) -> None:
    """The load's row (throughput, latency, errors, CPU while it ran) and its CPU per transfer's."""
    leg = measured.leg
    during = f"CPU during the load: {system_figures.busiest(leg.usage)}" if leg.usage else ""
    result.add(Row(
        case=f"gateway {measured.label}", throughput=round(leg.throughput, 1), unit="transfers/s",
        **leg.latency_ms(), requests=leg.requests, errors=sum(leg.errors.values()), load1=measured.usage.load1,
        note=f"{note}; {during}", details={**details, "errors": dict(leg.errors),
                                          "usage_during_load": asdict(leg.usage) if leg.usage else None},
    ))
    result.add(_cost_row(measured))


def _cost_row(measured: Measured) -> Row:
    cost = measured.cost
    return Row(
        case=f"CPU per transfer, {measured.label}", throughput=round(cost.total_ms, 2), unit="CPU ms/transfer",
        requests=cost.transfers, load1=measured.usage.load1,
        note=f"{cost.summary()}; {cost.transfers:,} transfers, {system_figures.drain_text(measured)}",
        details={**cost.details(), "drain_seconds": measured.drained, "usage": asdict(measured.usage)},
    )

