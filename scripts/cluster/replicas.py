"""Every service's replicas (and the outside world's stand-ins: the SMSC simulator, the mail catcher) as
child processes, each with its own port and log, started again when one exits (as systemd or an orchestrator
would) unless it was stopped on purpose."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.cluster.layout import Layout, Replica

ROOT = Path(__file__).resolve().parents[2]
# Not replicated: one carrier, one mailbox.
OUTSIDE = {"smsc": "fakes.smsc", "mailcatcher": "fakes.mailcatcher"}


def end(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, patience: float = 20) -> None:
    """Signal a process and wait for it to exit; SIGKILL it after `patience` seconds."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Replicas:
    layout: Layout
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    held_down: set[str] = field(default_factory=set)
    restarts: dict[str, int] = field(default_factory=dict)

    def _replica(self, name: str) -> Replica | None:
        return next((replica for replica in self.layout.replicas if replica.name == name), None)

    def start(self, name: str) -> None:
        """Start a replica (`ledger-1`) or an outside stand-in (`smsc`)."""
        self.held_down.discard(name)
        replica = self._replica(name)
        env = dict(self.env)
        if replica is not None:
            env[f"{replica.service.upper()}_PORT"] = str(replica.port)
            module = replica.module
        else:
            module = OUTSIDE[name]
        with (self.layout.logs / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def stop(self, name: str, sig: int = signal.SIGTERM, hold: bool = True) -> None:
        """Stop one process; held down (not started again by `restart_exited`) until `start`."""
        if hold:
            self.held_down.add(name)
        process = self.processes.pop(name, None)
        if process is not None:
            end(process, sig)

    def kill(self, name: str) -> None:
        self.stop(name, signal.SIGKILL)

    def stop_all(self) -> None:
        """SIGTERM to all at once (each finishes what it holds), then wait for each."""
        stopping = list(self.processes.items())
        self.processes.clear()
        for name, process in stopping:
            self.held_down.add(name)
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        deadline = time.monotonic() + 20
        for _, process in stopping:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart_exited(self) -> list[str]:
        """Start again what exited on its own (a start while the broker was unreachable, say)."""
        started = []
        for name, process in list(self.processes.items()):
            if process.poll() is not None and name not in self.held_down:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.start(name)
                started.append(name)
        return started
