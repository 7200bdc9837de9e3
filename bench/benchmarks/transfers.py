"""Random transfers between the seeded accounts at 8, 32 and 128 concurrent clients, through the
gateway and straight to the ledger, against pgbench running the same transfer's SQL on the same
Postgres as the ceiling; one more gateway leg on small tenants; then py-spy on the ledger and the
gateway under load, and the ledger's own invariant check.

Only the gateway and the ledger run: the events the ledger publishes are purged from the queues of
billing and reporting (their cost is the `events` benchmark's).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import asdict

from bench import ceiling, load, profiling, seed, system
from bench.load import Request
from bench.machine import Probe
from bench.modes import CONCURRENCY, Mode
from bench.options import Options
from bench.results import RESULTS, Result, Row, ratio_text
from bench.workloads import GatewayTransfers, Healthz, LedgerTransfers

NAME = "transfers"
PGBENCH_SCRIPTS = ("minimal", "as_ledger")
PGBENCH_CLIENTS = (8, 32)  # 128 would need more connections than a shared Postgres has free
SMALL_TENANTS, SMALL_TENANT_USERS = 100, 20


async def run(mode: Mode, options: Options, result: Result) -> None:
    """Fills `result` as it goes: what was measured before a failure is kept."""
    best = await ceiling.best(result, mode, PGBENCH_SCRIPTS, PGBENCH_CLIENTS)
    ceilings = {script: max(tps for (s, _), tps in best.items() if s == script) for script in PGBENCH_SCRIPTS}
    minimal = ceilings["minimal"]
    async with system.running(NAME, ("ledger", "gateway")) as running:
        try:
            directory = await seed.seed(running, mode.users, tenants=options.tenants)
            result.notes.append(f"{mode.users:,} users in {options.tenants} tenant(s), each with "
                                f"{seed.OPENING_CREDITS:,} credits; transfers of 1-5 credits between two at random")
            targets: dict[str, Request] = {
                "gateway": await GatewayTransfers.signed_in(running.url("gateway"), directory),
                "ledger": LedgerTransfers(running.url("ledger"), running.secret, directory),
            }
            for target, request in targets.items():
                for concurrency in CONCURRENCY:
                    await _leg(result, running, target, request, concurrency, mode, minimal)
            # The gateway reads a tenant's whole directory per request: the same load on small tenants
            # shows what it costs apart from that.
            small = await seed.seed(running, SMALL_TENANTS * SMALL_TENANT_USERS, tenants=SMALL_TENANTS)
            small_gateway = await GatewayTransfers.signed_in(running.url("gateway"), small)
            await _leg(result, running, "gateway", small_gateway, 32, mode, minimal,
                       label=f"gateway c=32, {SMALL_TENANT_USERS}-user tenants")
            if mode.profile_seconds:
                await _profile(result, running, "ledger", targets["ledger"], 32, mode.profile_seconds)
                await _profile(result, running, "gateway", targets["gateway"], 8, mode.profile_seconds // 2)
            result.notes.append(_ratios(result, ceilings))
            result.notes.append(await _ledger_check(running))
        finally:
            result.services = running.usage()


async def _leg(result: Result, running: system.System, target: str, request: Request, concurrency: int,
               mode: Mode, pgbench_tps: float, label: str | None = None) -> None:
    # The same client at the same concurrency against /healthz first: if it answers far faster than
    # transfers, the load generator is not what limits the transfers.
    healthz = await load.closed_loop(Healthz(running.url(target)), concurrency, 0.5, mode.baseline_seconds,
                                     Probe(running.pids()))
    probe = Probe(running.pids())

    async def add_backends() -> None:
        # After the warm-up the pools have opened the connections this load needs.
        for service in running.processes:
            probe.add(f"postgres ({service})", await running.backend_pids(service))

    leg = await load.closed_loop(request, concurrency, mode.warmup_seconds, mode.leg_seconds, probe, add_backends)
    usage = leg.usage
    assert usage is not None
    ratio = leg.throughput / pgbench_tps if pgbench_tps else 0.0
    # CPU per transfer holds up under a busy machine better than transfers per second do.
    cpu_ms = {name: round(10 * pct / leg.throughput, 2) if leg.throughput else None
              for name, pct in usage.services_cpu_pct.items()}
    result.add(Row(
        case=label or f"{target} c={concurrency}", throughput=round(leg.throughput, 1), unit="transfers/s",
        **_latency(leg.latency_ms()), requests=leg.requests, errors=sum(leg.errors.values()), load1=usage.load1,
        note=(f"{ratio_text(ratio)} pgbench; CPU ms/transfer: {target} {cpu_ms[target]}, "
              f"its Postgres {cpu_ms[f'postgres ({target})']}; client CPU {usage.client_cpu_pct:.0f}%; "
              f"/healthz {healthz.throughput:,.0f}/s"),
        details={"ratio_to_pgbench": round(ratio, 3), "errors": dict(leg.errors), "usage": asdict(usage),
                 "cpu_ms_per_transfer": cpu_ms,
                 "healthz_per_second": round(healthz.throughput, 1),
                 "healthz_client_cpu_pct": healthz.usage.client_cpu_pct if healthz.usage else None},
    ))


async def _profile(result: Result, running: system.System, service: str, request: Request, concurrency: int,
                   seconds: int) -> None:
    """py-spy on a service while it takes transfers: an extra leg, since profiling slows the process a
    little and the figures above are measured without it."""
    svg, raw = RESULTS / f"{service}-profile.svg", RESULTS / f"{service}-profile.txt"
    recording = asyncio.create_task(profiling.record(running.pids()[service], seconds, svg, raw))
    await load.closed_loop(request, concurrency, 0, seconds + 1, Probe(running.pids()))
    await recording
    summary = profiling.summarise(raw)
    (RESULTS / f"{service}-profile-summary.txt").write_text(profiling.as_text(summary) + "\n")
    result.notes.append(
        f"{service} profile (py-spy, {concurrency} clients, {seconds} s, {svg.name}): CPU by library "
        + ", ".join(f"{name} {pct}%" for name, pct in list(summary.by_library.items())[:6])
    )


def _ratios(result: Result, ceilings: dict[str, float]) -> str:
    """Gateway and ledger against the pgbench ceilings, per concurrency: the figures that guide work."""
    tps = {row.case: row.throughput or 0.0 for row in result.rows}
    parts = []
    for c in CONCURRENCY:
        gateway, ledger = tps.get(f"gateway c={c}", 0.0), tps.get(f"ledger c={c}", 0.0)
        parts.append(f"c={c}: ledger {ratio_text(ledger / ceilings['minimal'])} pgbench minimal, "
                     f"{ratio_text(ledger / ceilings['as_ledger'])} pgbench as-ledger; gateway "
                     f"{ratio_text(gateway / ledger if ledger else 0)} ledger")
    return (f"ratios (pgbench best: minimal {ceilings['minimal']:,.0f} tx/s, as-ledger {ceilings['as_ledger']:,.0f} "
            "tx/s): " + "; ".join(parts))


async def _ledger_check(running: system.System) -> str:
    """The ledger's own invariant check after the load: a benchmark that broke them measured nothing."""
    check = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.ledger", "check", cwd=system.ROOT, env=running.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await check.communicate()
    return "ledger invariants held after the run" if check.returncode == 0 else (
        "LEDGER INVARIANTS BROKEN after the run: " + output.decode()[-500:])


def _latency(latency: dict[str, float | None]) -> dict[str, float | None]:
    return {key: latency[key] for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")}
