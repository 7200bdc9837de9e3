"""`python -m tests.chaos.cluster [--duration S] [--workers N] [--seed N] [--offset N] [--json PATH] [--keep]`:
run the cluster fault campaign, print its figures, invariants and availability, write them as JSON, exit 1
on any breach."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from scripts.cluster.layout import Layout
from tests.chaos.cluster.campaign import run_cluster_campaign, write_results
from tests.chaos.cluster.system import busy_ports


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.cluster", description=__doc__)
    parser.add_argument("--duration", type=float, default=180, help="seconds of load and faults (default 180)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seed", type=int, default=None, help="seed the random choices of faults and operations")
    parser.add_argument("--offset", type=int, default=600,
                        help="the cluster's ports this far above `make cluster`'s (default 600)")
    parser.add_argument("--json", type=Path, default=Path("test-artifacts/chaos-cluster.json"),
                        help="where to write the figures (default test-artifacts/chaos-cluster.json)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, data) afterwards")
    args = parser.parse_args()
    taken = busy_ports(Layout(Path("unused"), args.offset))
    if taken:
        sys.exit(f"chaos-cluster: ports {taken} are taken; choose another --offset")
    report = asyncio.run(run_cluster_campaign(args.duration, args.workers, args.seed, args.keep, args.offset))
    print(report.render())
    write_results(report, args.json)
    print(f"figures written to {args.json}")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
