"""py-spy on a running service: a flame graph to look at, and the same samples as collapsed stacks,
summarised here by function and by library (where the ledger's CPU goes is what the next optimisation
needs to know)."""

from __future__ import annotations

import asyncio
import collections
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

# A frame in py-spy's raw output: "function (path/file.py:line)", the path relative to its sys.path entry.
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
PROJECT = ("services/", "common/", "gateway/")
_RELAY = "aio-pika/aiormq (outbox relay)"
# Libraries by the first component of a frame's path.
LIBRARIES = {
    "asyncpg": "asyncpg", "aio_pika": _RELAY, "aiormq": _RELAY, "pamqp": _RELAY, "aiohttp": "aiohttp",
    "yarl": "aiohttp", "multidict": "aiohttp", "pydantic": "pydantic", "pydantic_core": "pydantic", "jwt": "PyJWT",
    "structlog": "logging", "logging": "logging", "prometheus_client": "prometheus", "json": "json",
    "uuid": "uuid", "asyncio": "asyncio/uvloop", "uvloop": "asyncio/uvloop",
}


def _executable() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise FileNotFoundError("py-spy not found: .venv/bin/pip install py-spy")
    return found


async def record(pid: int, seconds: int, svg: Path, raw: Path) -> None:
    """Sample the process for `seconds` into a flame graph and collapsed stacks at once. Non-blocking
    sampling reads the process without pausing it, so profiling barely slows what it measures."""
    common = ["record", "--pid", str(pid), "--duration", str(seconds), "--rate", "100", "--nonblocking"]
    runs = [
        await asyncio.create_subprocess_exec(_executable(), *common, "-o", str(path), "--format", fmt,
                                             stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        for path, fmt in ((svg, "flamegraph"), (raw, "raw"))
    ]
    for run in runs:
        _, err = await run.communicate()
        if run.returncode != 0:
            raise RuntimeError(f"py-spy failed: {err.decode()[-500:]}")


def library_of(file: str) -> str:
    if file.startswith(PROJECT):
        return "project code"
    return LIBRARIES.get(file.split("/", 1)[0].removesuffix(".py"), "other")


@dataclass
class Summary:
    samples: int = 0
    by_library: dict[str, float] = field(default_factory=dict)  # % of samples whose innermost frame is there
    top_self: list[tuple[str, float]] = field(default_factory=list)  # innermost frames, % of samples
    top_own_code: list[tuple[str, float]] = field(default_factory=list)  # project functions, inclusive %


def summarise(raw: Path, top: int = 15) -> Summary:
    own: collections.Counter[str] = collections.Counter()
    innermost: collections.Counter[str] = collections.Counter()
    libraries: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [m for m in (_FRAME.match(f) for f in stack.split(";")) if m]
        if not frames:
            continue
        last = frames[-1]
        innermost[f"{last['function']} ({last['file']})"] += count
        libraries[library_of(last["file"])] += count
        # Inclusive: each project function once per stack, however deep its recursion.
        for name in {f"{m['function']} ({m['file']})" for m in frames if _is_handler_code(m["file"], m["function"])}:
            own[name] += count

    def pct(counter: collections.Counter[str], n: int | None = None) -> list[tuple[str, float]]:
        return [(name, round(100 * c / max(total, 1), 1)) for name, c in counter.most_common(n)]

    return Summary(total, dict(pct(libraries)), pct(innermost, top), pct(own, top))


def _is_handler_code(file: str, function: str) -> bool:
    """Project code below the process entry point (which every stack of the main thread passes)."""
    return file.startswith(PROJECT) and not file.endswith("__main__.py") and function != "run_cli"


def as_text(summary: Summary) -> str:
    lines = [f"{summary.samples} samples", "", "Innermost frame by library (% of samples):"]
    lines += [f"  {pct:5.1f}  {name}" for name, pct in summary.by_library.items()]
    lines += ["", "Hottest innermost frames:"] + [f"  {pct:5.1f}  {name}" for name, pct in summary.top_self]
    lines += ["", "Project functions, inclusive:"] + [f"  {pct:5.1f}  {name}" for name, pct in summary.top_own_code]
    return "\n".join(lines)
