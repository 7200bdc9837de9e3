"""A benchmark's result: what it measured, under which load, and what each service used. Written as
`bench/results/<name>.json` (git-ignored); the table printer and the README block read them back."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import machine

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    """One measured case: a load level, a query, a flow."""

    case: str
    throughput: float | None = None
    unit: str = ""
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    requests: int = 0
    errors: int = 0
    note: str = ""  # what a reader needs beside the figures: ratios, client CPU, rows
    load1: float | None = None  # the machine's 1-minute load average when the case ended
    details: dict[str, Any] = field(default_factory=dict)  # everything else, for the JSON only


@dataclass
class Result:
    name: str
    mode: str
    started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    seconds: float = 0.0
    machine_before: dict[str, Any] = field(default_factory=machine.facts)
    machine_after: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    services: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> peak_rss_mb, cpu_seconds
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # set when the benchmark failed part-way; rows measured so far are kept

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(format_row(self.name, row), flush=True)
        return row


def write(result: Result) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result.name}.json"
    path.write_text(json.dumps(dataclasses.asdict(result), indent=2) + "\n")
    return path


def read_all(names: tuple[str, ...]) -> list[Result]:
    """The results on disk, in the order given (missing ones left out)."""
    found = []
    for name in names:
        path = RESULTS / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text())
            data["rows"] = [Row(**row) for row in data.get("rows", [])]
            found.append(Result(**data))
    return found


def _figure(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if value < 100 else f"{value:,.0f}"


def ratio_text(ratio: float) -> str:
    """A ratio readable at both ends: 0.003x as well as 0.85x."""
    return f"{ratio:.3f}x" if ratio < 0.1 else f"{ratio:.2f}x"


def throughput_text(row: Row) -> str:
    return f"{_figure(row.throughput)} {row.unit}".strip() if row.throughput is not None else "-"


COLUMNS = ("benchmark", "case", "throughput", "p50 ms", "p95 ms", "p99 ms", "errors", "load", "notes")


def cells(name: str, row: Row) -> list[str]:
    return [
        name, row.case, throughput_text(row), _figure(row.p50_ms), _figure(row.p95_ms), _figure(row.p99_ms),
        f"{row.errors}/{row.requests}" if row.requests else str(row.errors), _figure(row.load1, 2), row.note,
    ]


def format_row(name: str, row: Row) -> str:
    return "  ".join(cells(name, row))


def console_table(results: list[Result]) -> str:
    """Every result's rows as one aligned plain-text table."""
    lines = [list(COLUMNS)] + [cells(r.name, row) for r in results for row in r.rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS) - 1)]
    text = []
    for line in lines:
        text.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1])
    return "\n".join(text)
