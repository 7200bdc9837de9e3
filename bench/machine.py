"""What the machine is and how busy it was: every result carries this, because on a shared two-core
machine a figure means little without the load it was measured under."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")


def facts() -> dict[str, Any]:
    """The machine itself, and its load right now."""
    return {
        "cpus": os.cpu_count(),
        "memory_mb": _meminfo_mb("MemTotal"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "uptime": uptime(),
        "load": load(),
    }


def uptime() -> str:
    """`uptime` as a person would read it (load averages over 1, 5 and 15 minutes)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _meminfo_mb(key: str) -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    return 0


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def process_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may contain spaces; the fields after its closing parenthesis do not.
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    return round(_status_kb(pid, "VmRSS") / 1024, 1)


def peak_rss_mb(pid: int) -> float:
    """The most resident memory the process ever had (the kernel's high-water mark)."""
    return round(_status_kb(pid, "VmHWM") / 1024, 1)


def pids_named(command: str) -> list[int]:
    """Every process whose command name (`/proc/<pid>/comm`) is `command`, such as RabbitMQ's `beam.smp`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/comm") as comm:
                    if comm.read().strip() == command:
                        found.append(int(entry.name))
            except OSError:  # it exited while we looked
                continue
    return found


def _cpu_seconds(pids: list[int]) -> float:
    return sum(process_cpu_seconds(pid) for pid in pids)


@dataclass
class Usage:
    seconds: float
    client_cpu_pct: float  # this process (the load generator), in % of one core
    machine_busy_pct: float  # all cores together, 100 = every core busy
    services_cpu_pct: dict[str, float] = field(default_factory=dict)  # % of one core each
    load1: float = 0.0
    # The same as CPU seconds over the window: what a per-operation cost is divided from.
    services_cpu_seconds: dict[str, float] = field(default_factory=dict)
    client_cpu_seconds: float = 0.0
    machine_cpu_seconds: float = 0.0  # busy time of all cores together


class Probe:
    """CPU used over a window: by the load generator, by each service (or group of processes, such as
    a service's Postgres backends), by the whole machine."""

    def __init__(self, pids: Mapping[str, int | Sequence[int]]) -> None:
        self._pids = {name: [p] if isinstance(p, int) else list(p) for name, p in pids.items()}
        self._started = 0.0
        self._client = 0.0
        self._machine = (0, 0)
        self._services: dict[str, float] = {}

    def add(self, name: str, pids: Sequence[int]) -> None:
        """Measure these processes too, from the next start()."""
        self._pids[name] = list(pids)

    def groups(self) -> dict[str, list[int]]:
        return {name: list(pids) for name, pids in self._pids.items()}

    def include_new(self, name: str, pids: Sequence[int]) -> None:
        """Measure in the running window also those of `pids` that were not in the group at start():
        processes born since (a pool that opened a connection), whose whole CPU time falls in the window."""
        group = self._pids.setdefault(name, [])
        self._services.setdefault(name, 0.0)
        group += [pid for pid in pids if pid not in group]

    def start(self) -> None:
        self._started = time.perf_counter()
        self._client = time.process_time()
        self._machine = _machine_ticks()
        self._services = {name: _cpu_seconds(pids) for name, pids in self._pids.items()}

    def stop(self) -> Usage:
        seconds = max(time.perf_counter() - self._started, 1e-9)
        busy, total = _machine_ticks()
        busy_delta, total_delta = busy - self._machine[0], max(total - self._machine[1], 1)
        services = {name: _cpu_seconds(pids) - self._services[name] for name, pids in self._pids.items()}
        client = time.process_time() - self._client
        return Usage(
            seconds=round(seconds, 2),
            client_cpu_pct=round(100 * client / seconds, 1),
            machine_busy_pct=round(100 * busy_delta / total_delta, 1),
            services_cpu_pct={name: round(100 * cpu / seconds, 1) for name, cpu in services.items()},
            load1=load()[0],
            services_cpu_seconds={name: round(cpu, 3) for name, cpu in services.items()},
            client_cpu_seconds=round(client, 3),
            machine_cpu_seconds=round(busy_delta / _TICKS, 2),
        )


class RssSampler:
    """Samples the resident memory of some processes while a step runs; answers each one's peak.
    The kernel's high-water mark covers the whole life of a process, this covers only the step."""

    def __init__(self, pids: dict[str, int], every: float = 0.05) -> None:
        self._pids = pids
        self._every = every
        self.peaks: dict[str, float] = {name: rss_mb(pid) for name, pid in pids.items()}
        self.before = dict(self.peaks)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _sample(self) -> None:
        while True:
            for name, pid in self._pids.items():
                self.peaks[name] = max(self.peaks[name], rss_mb(pid))
            await asyncio.sleep(self._every)
