"""The injector: at random moments, SIGKILL a service (and with it the outbox relay and consumers it
runs) and start it again, freeze one for a few seconds (SIGSTOP then SIGCONT: a stalled VM or a long
pause, so that callers time out and retry while the first request is still going to complete), restart
RabbitMQ (a clean stop or a SIGKILL of the node) or restart Postgres (an immediate, crash-like stop or a
fast one). Every target is hit at least once in a run; after
each fault the injector waits for the system to answer again, then for a random pause, so that faults
come often but the load still gets through between them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.chaos.system import SERVICES, ChaosSystem

KINDS = (*(f"kill {s}" for s in SERVICES), "pause ledger", "pause billing", "pause messaging", "restart rabbitmq",
         "kill rabbitmq", "restart postgres", "crash postgres")


@dataclass
class Injector:
    system: ChaosSystem
    rng: random.Random
    pause: tuple[float, float] = (1.0, 6.0)
    injected: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, str]] = field(default_factory=list)

    def _first_round(self) -> list[str]:
        """A SIGKILL of every service and a restart of RabbitMQ and of Postgres (each of a random kind), in
        random order: even a short run hits everything once before it repeats itself. Freezes, and more of
        everything, come after, at random."""
        def any_of(word: str) -> str:
            return self.rng.choice([kind for kind in KINDS if word in kind.split()])

        round_ = [*(f"kill {service}" for service in SERVICES), any_of("rabbitmq"), any_of("postgres")]
        self.rng.shuffle(round_)
        return round_

    async def run(self, stop_at: float, started: float) -> None:
        pending = self._first_round()[::-1]
        while True:
            await asyncio.sleep(self.rng.uniform(*self.pause))
            # The first round is finished whatever the time (the campaign's load goes on meanwhile): on a slow
            # machine a short run would otherwise end before it has hit everything once.
            if not pending and time.monotonic() >= stop_at:
                return
            kind = pending.pop() if pending else self.rng.choice(KINDS)
            self.timeline.append((time.monotonic() - started, kind))
            await self.inject(kind)
            self.injected[kind] += 1
            # Recovered enough to accept load again before the next fault (bounded: never stuck here).
            try:
                await self.system.wait_ready(timeout=60)
            except TimeoutError:
                pass

    async def inject(self, kind: str) -> None:
        action, target = kind.split(" ", 1)
        if action == "pause":
            # Longer than the gateway's wait for a service (SERVICE_TIMEOUT_SECONDS): callers give up.
            await asyncio.to_thread(self.system.pause, target, self.rng.uniform(5.5, 8))
        elif target in SERVICES:
            await asyncio.to_thread(self.system.kill, target)
            await asyncio.sleep(self.rng.uniform(0, 1.5))
            self.system.start(target)
        elif target == "rabbitmq":
            rabbit = self.system.rabbit
            await asyncio.to_thread(rabbit.kill if action == "kill" else rabbit.stop)
            await asyncio.sleep(self.rng.uniform(0.5, 3))
            await asyncio.to_thread(rabbit.start)
        else:
            postgres = self.system.postgres
            await asyncio.to_thread(postgres.crash if action == "crash" else postgres.stop)
            await asyncio.sleep(self.rng.uniform(0.5, 3))
            await asyncio.to_thread(postgres.start)
