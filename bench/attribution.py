"""Whose CPU a transfer costs in a whole running system: each service process, each service's Postgres
backends, Postgres's own server processes (WAL writer, checkpointer, autovacuum), RabbitMQ (`beam.smp`)
and the load generator; the whole machine beside them.

Postgres's server processes and RabbitMQ are shared with whatever else uses those servers (on a shared
machine, other people's tests), so their share is an upper bound; the machine's figure holds everyone's
work, pgbench's excepted (it does not run during a leg). A process that exits inside a window takes its
CPU time with it (an autovacuum worker): the figures are a little low rather than high.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import asyncpg

from bench import infra, machine
from bench.machine import Probe, Usage
from bench.system import System

RABBITMQ = "RabbitMQ"
POSTGRES = "Postgres"
CLIENT = "load generator"
_SERVER = "postgres (server)"
# Every Postgres process that is not a connection: what the server does for all of them together.
_SERVER_PIDS = "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'"


class SystemProbe:
    """A Probe over every process of a running system. The Postgres backends are looked up when the
    window opens, and again when it closes: a connection a pool opened in between counts from its start."""

    def __init__(self, running: System) -> None:
        self._running = running
        self._probe = Probe({**running.pids(), RABBITMQ: machine.pids_named("beam.smp")})

    async def start(self) -> None:
        for name, pids in (await self._postgres()).items():
            self._probe.add(name, pids)
        self._probe.start()

    def twin(self) -> Probe:
        """A probe of the same processes, for a shorter window inside this one (the load alone)."""
        return Probe(self._probe.groups())

    async def stop(self) -> Usage:
        for name, pids in (await self._postgres()).items():
            self._probe.include_new(name, pids)
        return self._probe.stop()

    async def _postgres(self) -> dict[str, list[int]]:
        found = {f"postgres ({service})": await self._running.backend_pids(service)
                 for service in self._running.processes}
        conn = await asyncpg.connect(infra.database_url("postgres"))
        try:
            found[_SERVER] = [row["pid"] for row in await conn.fetch(_SERVER_PIDS)]
        finally:
            await conn.close()
        return found


@dataclass(frozen=True)
class Cost:
    """CPU over a window, and per transfer done in it; beside it, what each process would have spent over
    the same window with no load (its rate at rest), which for RabbitMQ and Postgres's server processes is
    mostly other users' work."""

    transfers: int
    window_seconds: float
    cpu_seconds: dict[str, float]  # each process or group measured, the load generator included
    machine_cpu_seconds: float
    at_rest_seconds: dict[str, float] = field(default_factory=dict)
    machine_at_rest_seconds: float = 0.0

    @classmethod
    def of(cls, usage: Usage, transfers: int, rest: Usage | None = None) -> Cost:
        cpu = {**usage.services_cpu_seconds, CLIENT: usage.client_cpu_seconds}
        if rest is None or not rest.seconds:
            return cls(transfers, usage.seconds, cpu, usage.machine_cpu_seconds)
        scale = usage.seconds / rest.seconds
        idle = {**rest.services_cpu_seconds, CLIENT: rest.client_cpu_seconds}
        return cls(transfers, usage.seconds, cpu, usage.machine_cpu_seconds,
                   {name: round(idle.get(name, 0.0) * scale, 3) for name in cpu},
                   round(rest.machine_cpu_seconds * scale, 2))

    def ms(self, seconds: float) -> float:
        return round(1000 * seconds / self.transfers, 3) if self.transfers else 0.0

    @property
    def total_ms(self) -> float:
        """Every process measured, summed."""
        return self.ms(sum(self.cpu_seconds.values()))

    @property
    def machine_ms(self) -> float:
        return self.ms(self.machine_cpu_seconds)

    def grouped(self, seconds: dict[str, float]) -> dict[str, float]:
        """Postgres as one (every backend and the server processes), the rest as measured."""
        groups: dict[str, float] = {}
        for name, value in seconds.items():
            key = POSTGRES if name.startswith("postgres") else name
            groups[key] = groups.get(key, 0.0) + value
        return groups

    def _largest_first(self) -> list[tuple[str, float, float]]:
        """(group, CPU seconds, of which at rest), largest first."""
        spent, idle = self.grouped(self.cpu_seconds), self.grouped(self.at_rest_seconds)
        return sorted(((name, value, idle.get(name, 0.0)) for name, value in spent.items()), key=lambda g: -g[1])

    def summary(self) -> str:
        """'total 9.10 ms (8.00 less rest): gateway 2.40, RabbitMQ 2.20 (1.10 at rest), ...; whole machine ...'."""
        parts = ", ".join(f"{name} {self.ms(value):.2f}{self._at_rest(idle)}" for name, value, idle in
                          self._largest_first())
        total, machine = sum(self.cpu_seconds.values()), self.machine_cpu_seconds
        return (f"total {self.total_ms:.2f} ms{self._less_rest(total, sum(self.at_rest_seconds.values()))}: {parts}; "
                f"whole machine {self.machine_ms:.2f} ms{self._less_rest(machine, self.machine_at_rest_seconds)}")

    def _at_rest(self, idle: float) -> str:
        return f" ({self.ms(idle):.2f} at rest)" if self.ms(idle) >= 0.05 else ""

    def _less_rest(self, spent: float, idle: float) -> str:
        return f" ({self.ms(spent - idle):.2f} less rest)" if self.at_rest_seconds else ""

    def seconds_text(self) -> str:
        """'gateway 12.1 s, Postgres 9.0 s, ...'."""
        return ", ".join(f"{name} {value:.1f} s" for name, value, _ in self._largest_first())

    def details(self) -> dict[str, object]:
        return {**asdict(self), "ms_per_transfer": {name: self.ms(s) for name, s in self.cpu_seconds.items()},
                "total_ms": self.total_ms, "machine_ms": self.machine_ms}
