"""The cluster campaign: start a cluster of its own, load it through HAProxy while one node or replica at a
time is taken away, let it catch up, check every promise of `make chaos` (tests/chaos/campaign.py) and
measure availability: the share of the clients' requests that failed while something was down."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.chaos import checks, webhooks
from tests.chaos.campaign import (
    CATCH_UP_SECONDS,
    SERVICE_CLIENT,
    Report,
    campaign_verdicts,
    clients_of,
    directory_known,
    load_and_faults,
    secrets_of,
)
from tests.chaos.checks import Verdict
from tests.chaos.cluster.availability import GOAL_PERCENT, Availability, Window, availability
from tests.chaos.cluster.faults import ClusterInjector, every_kind
from tests.chaos.cluster.system import ClusterSystem


@dataclass
class ClusterReport(Report):
    offset: int = 0
    load_seconds: float = 0.0  # of load, at least `duration`: longer if the first round of faults was
    wall_seconds: float = 0.0
    windows: list[Window] = field(default_factory=list)
    load_started: float = 0.0  # monotonic
    not_whole: list[str] = field(default_factory=list)
    availability: Availability | None = None

    def recoveries(self) -> dict[str, list[float]]:
        """Seconds from each fault to the cluster whole again, by family of fault."""
        seconds: dict[str, list[float]] = defaultdict(list)
        for window in self.windows:
            seconds[window.family].append(window.end - window.start)
        return dict(sorted(seconds.items()))

    def unresolved(self) -> int:
        return sum(op.state == "unresolved" for op in self.operations)

    def render(self) -> str:
        lines = [super().render(), f"cluster: every service twice behind HAProxy, 3 RabbitMQ nodes, a Postgres "
                                   f"primary and streaming replica (ports +{self.offset})",
                 "recovery, from a fault until HAProxy counts every server up: " + ", ".join(
                     f"{family} x{len(s)} avg {sum(s) / len(s):.1f} s max {max(s):.1f} s"
                     for family, s in self.recoveries().items())]
        if self.not_whole:
            lines.append(f"not whole again in time: {self.not_whole}")
        figures = self.availability
        if figures is not None:
            lines += [
                "availability (every HTTP request the clients sent, retries included; failed = 5xx or no answer):",
                f"  overall: {figures.overall}",
                f"  while a node or replica was down ({len(self.windows)} faults, {figures.seconds_down:.0f} s of "
                f"{self.load_seconds:.0f} s of load): {figures.while_down}; goal under {GOAL_PERCENT:g} %: "
                + ("met" if figures.goal_met else "NOT met"),
                "  by fault: " + ", ".join(f"{family} {s}" for family, s in figures.by_family.items()),
            ]
        lines.append(f"operations unresolved: {self.unresolved()}; load {self.load_seconds:.0f} s, "
                     f"wall time {self.wall_seconds:.0f} s")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON (test-artifacts/chaos-cluster.json)."""
        return {
            "ok": self.ok, "seed": self.seed, "duration": self.duration, "workers": self.workers,
            "load_seconds": round(self.load_seconds, 1), "wall_seconds": round(self.wall_seconds, 1),
            "catch_up_seconds": round(self.catch_up_seconds, 1),
            "phases": {name: round(s, 1) for name, s in self.phases.items()},
            "operations": {kind: dict(row) for kind, row in self.figures().items()},
            "unresolved": self.unresolved(),
            "retried_answers": {"by_status": dict(self.stats.server_errors),
                                "no answer": dict(self.stats.transport_errors)},
            "injected": dict(sorted(self.injected.items())),
            "faults": [{"kind": w.kind, "at": round(w.start - self.load_started, 1),
                        "seconds": round(w.end - w.start, 1)} for w in self.windows],
            "not_whole": self.not_whole,
            "availability": self.availability.as_dict() if self.availability else None,
            "restarts_after_exit": self.restarts_after_exit,
            "sms": self.sms,
            "verdicts": [{"name": v.name, "held": v.held, "detail": v.detail} for v in self.verdicts],
        }


def cluster_verdicts(report: ClusterReport, kinds: list[str]) -> list[Verdict]:
    missing = sorted(set(kinds) - set(report.injected))
    figures = report.availability
    return [
        Verdict("every fault kind was injected at least once", not missing,
                f"never: {missing}" if missing else f"{len(kinds)} kinds, {sum(report.injected.values())} faults"),
        Verdict("the cluster was whole again after every fault", not report.not_whole,
                "; ".join(report.not_whole) or "HAProxy counted every server up after each"),
        Verdict(f"availability: failed requests under {GOAL_PERCENT:g} % while a node was down",
                figures is not None and figures.goal_met,
                f"{figures.while_down} while down; {figures.overall} overall" if figures else "not measured"),
    ]


async def _prepare(system: ClusterSystem) -> str:
    await asyncio.to_thread(system.cluster.start)
    created = await asyncio.to_thread(system.command, "gateway", "service-client", SERVICE_CLIENT)
    assert created.returncode == 0, created.stderr[-2000:]
    await directory_known(system)
    return created.stdout.strip()


async def run_cluster_campaign(duration: float, workers: int = 8, seed: int | None = None, keep: bool = False,
                               offset: int = 600) -> ClusterReport:
    seed = seed if seed is not None else random.randrange(1_000_000)
    report = ClusterReport(duration, seed, workers, offset=offset)
    began = mark = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="sms-credits-chaos-cluster-"))
    system = ClusterSystem.create(root, offset)
    receiver = webhooks.Receiver(random.Random(seed + 2), refuse_share=0.05)
    supervisor: asyncio.Task[None] | None = None

    def phase(name: str) -> None:
        nonlocal mark
        report.phases[name], mark = time.monotonic() - mark, time.monotonic()

    try:
        await receiver.start()
        client_secret = await _prepare(system)
        phase("start")
        supervisor = asyncio.create_task(system.supervise())
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4 * workers)) as session:
            client, world, subscribed_after, driver = await clients_of(session, system, report.stats, seed,
                                                                       client_secret, receiver)
            injector = ClusterInjector(system, random.Random(seed + 1))
            report.load_started = await load_and_faults(driver, client, injector, workers, duration)
            report.load_seconds = time.monotonic() - report.load_started
        phase("load and faults")
        report.operations, report.injected, report.timeline = driver.operations, injector.injected, injector.timeline
        report.windows, report.not_whole = injector.windows, injector.not_whole
        report.availability = availability(report.stats.attempts, report.windows)
        await system.wait_whole(timeout=120)
        calm_from = time.monotonic()
        report.still_waiting = await checks.wait_caught_up(system, CATCH_UP_SECONDS)
        report.catch_up_seconds = time.monotonic() - calm_from
        phase("catch up")
        report.restarts_after_exit = dict(system.cluster.replicas.restarts)
        secrets = secrets_of(system, world, client_secret, receiver) | system.passwords()
        report.verdicts = await campaign_verdicts(system, report, world, secrets, system.log_files())
        report.verdicts += await webhooks.verdicts(system, receiver, subscribed_after)
        report.verdicts += cluster_verdicts(report, every_kind(system.cluster.layout))
        phase("checks")
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await receiver.stop()
        await asyncio.to_thread(system.stop, keep or not report.ok)
        if keep or not report.ok:
            report.workdir = root
        else:
            shutil.rmtree(root, ignore_errors=True)
        report.wall_seconds = time.monotonic() - began
    return report


def write_results(report: ClusterReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
