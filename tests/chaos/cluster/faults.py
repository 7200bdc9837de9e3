"""The cluster's injector: faults that take one node away while the others carry the load.

- `kill rabbit-N`: SIGKILL one RabbitMQ node's whole process group, leave it dead a few seconds, start it
  again and wait until it is back in the cluster (its quorum queues' members catch up from the others);
- `kill <service>-<n>`: SIGKILL one replica, start it again after 0 to 1.5 s;
- `restart postgres-replica`: stop the streaming replica reporting reads from (fast), start it again;
- `pause <service>-<n>` (after the first round, at random): SIGSTOP one replica for a few seconds, longer
  than the gateway waits for a service, then SIGCONT: a stalled VM, which still accepts connections.

One fault at a time: the next comes only once HAProxy counts every server up again (bounded), so never
are two nodes or replicas of one thing away at once. The first round is every kill and the Postgres
restart, shuffled; after it, any kind at random. A first round longer than the load still finishes: the
campaign keeps the load going until the injector is done. Each fault's window (from the injection until
the cluster is whole again) is what the availability figures are measured over.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

from scripts.cluster.layout import Layout
from tests.chaos.cluster.availability import Window
from tests.chaos.cluster.system import ClusterSystem

POSTGRES_REPLICA = "restart postgres-replica"
WHOLE_TIMEOUT_SECONDS = 90


def every_kind(layout: Layout) -> list[str]:
    """What the first round injects: each must happen at least once in a run."""
    return [*(f"kill {node.name}" for node in layout.rabbit_nodes),
            *(f"kill {replica.name}" for replica in layout.replicas), POSTGRES_REPLICA]


def random_kinds(layout: Layout) -> list[str]:
    """What may come after the first round: the same, and freezes of a replica."""
    return [*every_kind(layout), *(f"pause {replica.name}" for replica in layout.replicas)]


def first_round(layout: Layout, rng: random.Random) -> list[str]:
    kinds = every_kind(layout)
    rng.shuffle(kinds)
    return kinds


@dataclass
class ClusterInjector:
    system: ClusterSystem
    rng: random.Random
    pause: tuple[float, float] = (0.5, 2.0)  # between one fault's end and the next
    injected: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    not_whole: list[str] = field(default_factory=list)  # faults after which the cluster stayed short

    async def run(self, stop_at: float, started: float) -> None:
        layout = self.system.cluster.layout
        pending = first_round(layout, self.rng)
        later = random_kinds(layout)
        while True:
            await asyncio.sleep(self.rng.uniform(*self.pause))
            if not pending and time.monotonic() >= stop_at:
                return
            kind = pending.pop(0) if pending else self.rng.choice(later)
            injected_at = time.monotonic()
            self.timeline.append((injected_at - started, kind))
            try:
                await self.inject(kind)
            except (RuntimeError, TimeoutError, OSError) as exc:  # a node that would not come back, say
                self.not_whole.append(f"{kind}: {exc}")
            self.injected[kind] += 1
            target = kind.split()[1]
            replica = target if kind.startswith(("kill", "pause")) and not target.startswith("rabbit") else None
            if not await self.system.wait_whole(replica, WHOLE_TIMEOUT_SECONDS):
                self.not_whole.append(f"{kind}: {await asyncio.to_thread(self.system.cluster.servers_down)}")
            self.windows.append(Window(kind, injected_at, time.monotonic()))
            print(f"chaos-cluster: {injected_at - started:5.0f} s {kind}, whole again after "
                  f"{time.monotonic() - injected_at:.1f} s", flush=True)

    async def inject(self, kind: str) -> None:
        action, target = kind.split(" ", 1)
        if kind == POSTGRES_REPLICA:
            replica = self.system.cluster.postgres.replica
            await asyncio.to_thread(replica.stop)
            await asyncio.sleep(self.rng.uniform(0.5, 3))
            await asyncio.to_thread(replica.start)
        elif target.startswith("rabbit-"):
            await self._kill_node(int(target.removeprefix("rabbit-")))
        elif action == "pause":
            await self._pause(target, self.rng.uniform(5.5, 8))
        else:
            replicas = self.system.cluster.replicas
            async with self.system.replica_lock:
                await asyncio.to_thread(replicas.kill, target)
            await asyncio.sleep(self.rng.uniform(0, 1.5))
            async with self.system.replica_lock:
                replicas.start(target)

    async def _kill_node(self, number: int) -> None:
        rabbit = self.system.cluster.rabbit
        node = next(n for n in rabbit.nodes if n.number == number)
        await asyncio.to_thread(rabbit.kill, node)
        await asyncio.sleep(self.rng.uniform(2, 5))
        await asyncio.to_thread(rabbit.start_node, node)
        await asyncio.to_thread(rabbit.wait_node, node)

    async def _pause(self, name: str, seconds: float) -> None:
        """Longer than SERVICE_TIMEOUT_SECONDS: callers give up on it while it still holds their requests."""
        process = self.system.cluster.replicas.processes.get(name)
        if process is None:
            return
        process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            process.send_signal(signal.SIGCONT)
