"""`python -m bench [--quick] [--tenants N] [benchmark ...]`: run benchmarks (all by default), print
one table, and (full mode) put it in README.md. `python -m bench render` only re-renders the results."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from bench import machine, readme, results
from bench.benchmarks import (
    events,
    floor,
    logs,
    purchase_latency,
    queue_costs,
    rate_limits,
    report,
    system_transfers,
    transfers,
)
from bench.modes import FULL, QUICK, Mode
from bench.options import Options
from bench.results import Result

Benchmark = Callable[[Mode, Options, Result], Coroutine[Any, Any, None]]
BENCHMARKS: dict[str, Benchmark] = {
    "transfers": transfers.run,
    "system": system_transfers.run,
    "purchase_latency": purchase_latency.run,
    "logs": logs.run,
    "events": events.run,
    "report": report.run,
    "queue_costs": queue_costs.run,
    "floor": floor.run,
    "rate_limits": rate_limits.run,
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="benchmark", help=f"render, or any of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="short legs and small data (checks the harness)")
    parser.add_argument("--tenants", type=int, default=1, help="spread the 10,000 users over this many tenants")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    return parser.parse_args()


def _run_one(name: str, mode: Mode, options: Options) -> Result:
    print(f"\n== {name} ({mode.name}) == {machine.uptime()}", flush=True)
    started = time.monotonic()
    result = Result(name, mode.name)
    try:
        import uvloop  # the services run on uvloop; so does the load generator, to stay out of the way

        uvloop.run(BENCHMARKS[name](mode, options, result))
    except Exception as exc:  # one failed benchmark must not stop the others
        traceback.print_exc()
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = round(time.monotonic() - started, 1)
    result.machine_after = machine.facts()
    print(f"   wrote {results.write(result)} in {result.seconds:.0f} s", flush=True)
    return result


def main() -> int:
    args = _arguments()
    # `kill` (SIGTERM) unwinds like Ctrl-C, so every benchmark's clean-up runs.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    names = [n for n in args.names if n != "render"] or ([] if "render" in args.names else list(BENCHMARKS))
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.stderr.write(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}\n")
        return 2
    mode = QUICK if args.quick else FULL
    try:
        failed = [r.name for r in (_run_one(n, mode, Options(tenants=args.tenants)) for n in names) if r.error]
    except KeyboardInterrupt:  # the running benchmark's clean-up has run by the time this arrives
        print("\ninterrupted: processes stopped, databases and queues removed", file=sys.stderr)
        return 130
    shown = results.read_all(tuple(BENCHMARKS))
    print("\n" + results.console_table(shown))
    # The README's table is rewritten whole from the results on this machine: with any benchmark's missing
    # (a fresh checkout that ran one), it would lose that benchmark's published figures.
    missing = [name for name in BENCHMARKS if name not in {result.name for result in shown}]
    if not args.no_readme and (mode is FULL or not names) and missing:
        print(f"\nREADME.md not updated: no results here for {', '.join(missing)} (`make bench` runs them all)")
    elif not args.no_readme and (mode is FULL or not names):
        if readme.update(shown):
            print(f"\nREADME.md updated ({readme.START} ... {readme.END})")
        else:
            print("\nREADME.md has no bench markers: not updated")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
