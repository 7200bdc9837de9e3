"""One campaign: start a system of its own, load it while injecting faults for a bounded time, let it
catch up, check every promise, and report."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiohttp

from gateway.seed import DEMO_PASSWORD
from tests.chaos import checks, sms, webhooks
from tests.chaos.checks import SystemUnderTest, Verdict
from tests.chaos.driver import CARDS, Client, Driver, Operation, Stats, World, sign_in_everyone
from tests.chaos.faults import Injector
from tests.chaos.system import SERVICES, ChaosSystem

SERVICE_CLIENT = "chaos-holds"
RESOLVE_SECONDS = 120  # how long an operation in flight at the end may keep retrying
CATCH_UP_SECONDS = 180


@dataclass
class Report:
    duration: float
    seed: int
    workers: int
    operations: list[Operation] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    injected: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    restarts_after_exit: dict[str, int] = field(default_factory=dict)
    still_waiting: dict[str, int] = field(default_factory=dict)
    catch_up_seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # wall-clock seconds of each phase
    verdicts: list[Verdict] = field(default_factory=list)
    sms: str = ""  # the SMS figures: messages, recipients by delivery, refunds
    workdir: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.verdicts) and all(v.held for v in self.verdicts)

    def figures(self) -> dict[str, Counter[str]]:
        figures: dict[str, Counter[str]] = {}
        for op in self.operations:
            row = figures.setdefault(op.kind, Counter())
            row["attempted"] += 1
            row[op.state] += 1
            row["retried"] += op.retries > 0
            row["requests"] += op.requests
        figures["total"] = sum(figures.values(), Counter())
        return figures

    def render(self) -> str:
        lines = [f"chaos campaign: {self.duration:.0f} s of load and faults, seed {self.seed}, "
                 f"{self.workers} clients",
                 f"{'operations':<12}{'attempted':>10}{'accepted':>10}{'rejected':>10}{'unresolved':>11}"
                 f"{'retried':>9}{'requests':>10}"]
        for kind, row in self.figures().items():
            lines.append(f"{kind:<12}{row['attempted']:>10}{row['accepted']:>10}{row['rejected']:>10}"
                         f"{row['unresolved']:>11}{row['retried']:>9}{row['requests']:>10}")
        lines.append(f"answers retried: 5xx {dict(self.stats.server_errors)}, "
                     f"no answer {dict(self.stats.transport_errors)}")
        lines.append(f"faults injected ({sum(self.injected.values())}): "
                     + ", ".join(f"{kind} x{n}" for kind, n in sorted(self.injected.items())))
        if self.sms:
            lines.append(f"sms: {self.sms}")
        lines.append("timeline: " + ", ".join(f"{at:.0f}s {kind}" for at, kind in self.timeline))
        if self.restarts_after_exit:
            lines.append(f"started again after exiting on their own: {self.restarts_after_exit}")
        waiting = {k: v for k, v in self.still_waiting.items() if v}
        lines.append(f"caught up in {self.catch_up_seconds:.1f} s" + (f"; still waiting: {waiting}" if waiting else ""))
        lines.append("phases: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.phases.items()))
        lines.append(f"invariants ({sum(v.held for v in self.verdicts)}/{len(self.verdicts)} held):")
        lines += [f"  {'ok  ' if v.held else 'FAIL'} {v.name}: {v.detail}" for v in self.verdicts]
        if self.workdir is not None:
            lines.append(f"logs kept in {self.workdir}")
        return "\n".join(lines)


async def directory_known(system: SystemUnderTest, timeout: float = 60) -> None:
    """The ledger learns the people from the gateway's events: transfers need them."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            conn = await system.connect("ledger")
            try:
                if await conn.fetchval("SELECT count(*) FROM users") >= 5:
                    return
            finally:
                await conn.close()
        if time.monotonic() > deadline:
            raise TimeoutError("the ledger never learnt the directory")
        await asyncio.sleep(0.3)


async def clients_of(session: aiohttp.ClientSession, system: SystemUnderTest, stats: Stats, seed: int,
                     client_secret: str, receiver: webhooks.Receiver) -> tuple[Client, World, dict[str, int], Driver]:
    """Everyone signed in through the gateway, the receiver subscribed to each tenant's transactions (the
    event number after which every one must reach it, per tenant), and the driver that will load the system."""
    client = Client(session, system.gateway_url, stats)
    world = await sign_in_everyone(client, (SERVICE_CLIENT, client_secret))
    subscribed_after = await webhooks.register(client, world, receiver, system)
    return client, world, subscribed_after, Driver(client, world, random.Random(seed))


EXTRA_LOAD_SECONDS = 5  # how much longer the load goes on at a time while the first round of faults finishes


class FaultInjector(Protocol):
    async def run(self, stop_at: float, started: float) -> None:
        """Inject faults until `stop_at`, and on until every kind has been injected once."""
        ...


async def load_and_faults(driver: Driver, client: Client, injector: FaultInjector, workers: int,
                          duration: float) -> float:
    """The load for `duration`, and on while the injector finishes its first round; answers its start."""
    started = time.monotonic()
    client.resolve_by = started + duration + RESOLVE_SECONDS
    faults = asyncio.create_task(injector.run(started + duration, started))
    await driver.run(workers, started + duration)
    while not faults.done():
        client.resolve_by = time.monotonic() + EXTRA_LOAD_SECONDS + RESOLVE_SECONDS
        await driver.run(workers, time.monotonic() + EXTRA_LOAD_SECONDS)
    await faults
    return started


async def _prepare(system: ChaosSystem) -> str:
    await asyncio.to_thread(system.start_infrastructure)
    seeded = await asyncio.to_thread(system.command, "gateway", "seed")
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    created = await asyncio.to_thread(system.command, "gateway", "service-client", SERVICE_CLIENT)
    assert created.returncode == 0, created.stderr[-2000:]
    system.start("smsc")
    await system.wait_ready(["smsc"])
    for service in SERVICES:
        system.start(service)
    await system.wait_ready()
    await directory_known(system)
    return created.stdout.strip()


def secrets_of(system: SystemUnderTest, world: World, client_secret: str,
               receiver: webhooks.Receiver) -> dict[str, str]:
    secrets = {"demo password": DEMO_PASSWORD, "service client secret": client_secret,
               "service token": world.service_token}
    secrets |= {f"webhook secret of {tenant}": secret for tenant, secret in receiver.secrets.items()}
    secrets |= {f"card {card}": card for card in CARDS}
    secrets |= {f"{actor.handle}'s access token": actor.token for actor in world.people.values()}
    secrets |= {name: system.env[name] for name in ("JWT_SECRET", "INTERNAL_TOKEN_SECRET",
                                                     "TEST_PROVIDER_WEBHOOK_SECRET")}
    return secrets


async def run_campaign(duration: float, workers: int = 8, seed: int | None = None, keep: bool = False,
                       workdir: Path | None = None) -> Report:
    seed = seed if seed is not None else random.randrange(1_000_000)
    report = Report(duration, seed, workers)
    root = workdir or Path(tempfile.mkdtemp(prefix="sms-credits-chaos-"))
    system = ChaosSystem.create(root)
    # An outside system subscribed by webhook, which refuses a share of what it is sent.
    receiver = webhooks.Receiver(random.Random(seed + 2), refuse_share=0.05)
    supervisor: asyncio.Task[None] | None = None
    mark = time.monotonic()

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
            # A short run pauses less between faults, to hit every target within it.
            injector = Injector(system, random.Random(seed + 1), pause=(0.5, 3.0) if duration < 120 else (1.0, 6.0))
            await load_and_faults(driver, client, injector, workers, duration)
        phase("load and faults")
        report.operations, report.injected, report.timeline = driver.operations, injector.injected, injector.timeline
        await system.wait_ready()
        calm_from = time.monotonic()
        report.still_waiting = await checks.wait_caught_up(system, CATCH_UP_SECONDS)
        report.catch_up_seconds = time.monotonic() - calm_from
        phase("catch up")
        report.restarts_after_exit = dict(system.restarts_after_exit)
        logs = [*sorted(system.logs.glob("*.log")), system.postgres.root / "postgres.log"]
        report.verdicts = await campaign_verdicts(system, report, world,
                                                  secrets_of(system, world, client_secret, receiver), logs)
        report.verdicts += await webhooks.verdicts(system, receiver, subscribed_after)
        phase("checks")
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await receiver.stop()
        await asyncio.to_thread(system.stop_all)
        await asyncio.to_thread(system.rabbit.kill)
        await asyncio.to_thread(system.postgres.crash)
        if keep or not report.ok:
            report.workdir = root
        else:
            shutil.rmtree(root, ignore_errors=True)
    return report


async def campaign_verdicts(system: SystemUnderTest, report: Report, world: World, secrets: dict[str, str],
                            logs: list[Path]) -> list[Verdict]:
    """Every promise of the campaign; `logs` are the files no secret may appear in."""
    waiting = {k: v for k, v in report.still_waiting.items() if v}
    verdicts = [Verdict("everything caught up once the faults stopped", not waiting, str(waiting) if waiting else "")]
    verdicts += await checks.command_verdicts(system)
    sent = await sms.load(system)
    sms.record_outcomes(report.operations, sent)  # before the balances: what each SMS spent, by messaging
    report.sms = sms.figures(report.operations, sent)
    verdicts += sms.verdicts(report.operations, sent)
    verdicts += await checks.ledger_verdicts(system, report.operations, sorted(world.tenants.values()))
    verdicts += await checks.reporting_verdicts(system)
    verdicts += await checks.broker_verdicts(system)
    server_errors = report.stats.server_errors.get(500, 0)
    verdicts.append(Verdict("no answer was a 500 (a fault answers 503)", not server_errors,
                            f"{server_errors} answers were 500" if server_errors else ""))
    verdicts.append(checks.secrets_verdict(logs, secrets))
    return verdicts
