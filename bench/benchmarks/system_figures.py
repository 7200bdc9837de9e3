"""The `system` benchmark's figures as the issue states them: one `| figure | measured |` table (the
ceiling, the gateway against it, CPU seconds per process, CPU per transfer of the whole system, the open
loops), printed and kept beside the JSON, and the headline for the README's notes."""

from __future__ import annotations

from dataclasses import dataclass

from bench import machine
from bench.attribution import Cost
from bench.load import Leg
from bench.machine import Usage
from bench.readme import loads_text
from bench.results import Result, ratio_text

GOAL_RATIO = 0.3  # the gateway at 32 clients against pgbench running the transfer SQL


@dataclass(frozen=True)
class Measured:
    """One leg: its load, and the whole system's CPU from its start until every event was consumed."""

    label: str  # "hot account c=32", "hot account, open loop 200/s"
    leg: Leg
    cost: Cost
    drained: float | None  # seconds after the load until caught up; None: not within the limit
    usage: Usage


def drain_text(measured: Measured) -> str:
    load = f"load {measured.leg.seconds:.1f} s"
    if measured.drained is None:
        return f"{load}, events NOT all consumed within the limit (CPU counted until then)"
    return f"{load}, every event consumed {measured.drained:.1f} s after it ended"


def headline(pgbench_tps: dict[str, float], measured: list[Measured]) -> str:
    """The ratio to pgbench of each closed loop, and the first one's CPU per transfer."""
    closed = [m for m in measured if "open loop" not in m.label]
    minimal = pgbench_tps.get("minimal", 0.0)
    ratios = ", ".join(f"{m.label} {ratio_text(m.leg.throughput / minimal if minimal else 0.0)}" for m in closed)
    first = f"; CPU per transfer, whole system, {closed[0].label}: {closed[0].cost.summary()}" if closed else ""
    return (f"gateway / pgbench transfer SQL ({minimal:,.0f} tx/s; {pgbench_tps.get('hot', 0):,.0f} on one hot "
            f"account): {ratios} (goal >= {GOAL_RATIO}){first}")


def busiest(usage: Usage, top: int = 6) -> str:
    """The busiest processes in % of one core (those at zero left out), and the load generator."""
    by_process = sorted(((n, p) for n, p in usage.services_cpu_pct.items() if p > 0), key=lambda item: -item[1])
    shown = [*by_process[:top], ("load generator", usage.client_cpu_pct)]
    idle = " (every other at 0%)" if len(by_process) < len(usage.services_cpu_pct) else ""
    return ", ".join(f"{name} {pct:.1f}%" if pct < 10 else f"{name} {pct:.0f}%" for name, pct in shown) + idle


def table(result: Result, pgbench_tps: dict[str, float], measured: list[Measured], rest: Usage) -> str:
    lines = ["| figure | measured |", "| --- | --- |"]
    lines += [_pgbench_line(result, script, label) for script, label in
              (("minimal", "pgbench transfer SQL"), ("hot", "pgbench transfer SQL, one hot account"))]
    for m in measured:
        leg, cost = m.leg, m.cost
        errors = sum(leg.errors.values())
        if "open loop" in m.label:
            lines.append(f"| gateway transfers, {m.label} | achieved {leg.throughput:,.0f}/s, {_latency(leg)}, "
                         f"{errors} errors, {leg.not_sent} not sent |")
        else:
            ratio = leg.throughput / pgbench_tps["minimal"] if pgbench_tps.get("minimal") else 0.0
            lines.append(f"| gateway transfers, {m.label} | {leg.throughput:,.0f}/s = {ratio_text(ratio)} pgbench, "
                         f"{_latency(leg)}, {errors} errors |")
        lines.append(f"| CPU seconds per process over {cost.transfers:,} transfers, {m.label} | "
                     f"{cost.seconds_text()}; {drain_text(m)} |")
        lines.append(f"| CPU per transfer, whole system, {m.label} | {cost.summary()} |")
    lines.append(f"| CPU at rest (no load), % of one core | {busiest(rest)} |")
    before = result.machine_before.get("load", [])
    now = machine.load()
    lines.append(f"| machine load average (1, 5, 15 min) | before {loads_text(before)}, now {loads_text(now)} |")
    return "\n".join(lines)


def _pgbench_line(result: Result, script: str, label: str) -> str:
    row = next((r for r in result.rows if r.case.startswith(f"pgbench {script} ")), None)
    if row is None:
        return f"| {label} | not measured |"
    return f"| {label}, {row.case.split(' ', 2)[2]} | {row.throughput:,.0f} tx/s, p99 {row.p99_ms} ms; {row.note} |"


def _latency(leg: Leg) -> str:
    latency = leg.latency_ms()
    return f"p50 {latency['p50_ms']} ms, p99 {latency['p99_ms']} ms, max {latency['max_ms']} ms"

