"""`python -m tests.chaos [--duration S] [--workers N] [--seed N] [--keep]`: run the fault campaign,
print its figures and invariants, exit 1 on any breach."""

from __future__ import annotations

import argparse
import asyncio
import sys

from tests.chaos.campaign import run_campaign


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--duration", type=float, default=180, help="seconds of load and faults (default 180)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seed", type=int, default=None, help="seed the random choices of faults and operations")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs, data) afterwards")
    args = parser.parse_args()
    report = asyncio.run(run_campaign(args.duration, args.workers, args.seed, args.keep))
    print(report.render())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
