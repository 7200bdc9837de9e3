"""Renders bench/results/*.json as markdown and puts it in README.md between the bench markers."""

from __future__ import annotations

from pathlib import Path

from bench.results import COLUMNS, Result, cells

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown(results: list[Result]) -> str:
    if not results:
        return "_No results yet: run `make bench`._"
    first = results[0].machine_before
    lines = [
        f"Measured {min(r.started_at for r in results)[:10]} by `make bench` ({results[0].mode} mode) on "
        f"{first.get('cpus')} CPUs, {first.get('memory_mb', 0) / 1024:.0f} GB, Python {first.get('python')}, "
        f"{first.get('platform')}; the machine was shared with other work, so the load average (1 min) is "
        "given with every figure.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---" for _ in COLUMNS) + " |",
    ]
    lines += ["| " + " | ".join(_escape(c) for c in cells(r.name, row)) + " |" for r in results for row in r.rows]
    lines += ["", "| benchmark | load before → after | peak memory (RSS) of each service | notes |",
              "| --- | --- | --- | --- |"]
    for r in results:
        before, after = r.machine_before.get("load", []), r.machine_after.get("load", [])
        memory = ", ".join(f"{name} {usage['peak_rss_mb']:.0f} MB" for name, usage in r.services.items())
        notes = "; ".join(r.notes + ([f"FAILED: {r.error}"] if r.error else []))
        lines.append(f"| {r.name} | {loads_text(before)} → {loads_text(after)} | {memory or '-'} | {_escape(notes)} |")
    return "\n".join(lines)


def loads_text(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "?"


def update(results: list[Result], readme: Path = README) -> bool:
    """Replace the marked block; False (and nothing written) when the markers are missing."""
    text = readme.read_text()
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{markdown(results)}\n{END}{tail}")
    return True
