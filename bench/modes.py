"""How long and how big each benchmark runs: the full run (`make bench`, about 15 minutes on two cores)
and `--quick` (short legs and smaller data, to check the harness itself in a few minutes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    users: int  # the directory every transfer benchmark picks accounts from
    warmup_seconds: float
    leg_seconds: float  # one measured load level
    baseline_seconds: float  # /healthz at the same concurrency: what the client and the HTTP stack cost
    pgbench_seconds: int
    profile_seconds: int  # py-spy on the ledger; 0 skips it
    purchases: int
    purchase_budget_seconds: float  # per background rate: purchases stop early once spent (a saturated system is slow)
    background_rate: int  # transfers per second behind the purchases
    log_rows: int  # rows in the reporting database for the log query
    csv_rows: int  # rows of the one account whose CSV is downloaded (part of log_rows)
    log_query_seconds: float
    backlog_events: int  # events put in the ledger's outbox at once, to measure how fast they drain
    lag_seconds: float  # each steady rate of the lag measurement


FULL = Mode(
    name="full", users=10_000, warmup_seconds=3, leg_seconds=12, baseline_seconds=3, pgbench_seconds=8,
    profile_seconds=20, purchases=40, purchase_budget_seconds=45, background_rate=500, log_rows=5_000_000,
    csv_rows=1_000_000, log_query_seconds=8, backlog_events=20_000, lag_seconds=12,
)
QUICK = Mode(
    name="quick", users=10_000, warmup_seconds=1, leg_seconds=4, baseline_seconds=1.5, pgbench_seconds=3,
    profile_seconds=0, purchases=10, purchase_budget_seconds=15, background_rate=500, log_rows=300_000,
    csv_rows=100_000, log_query_seconds=3, backlog_events=3_000, lag_seconds=4,
)

# Concurrent clients of the transfer benchmarks.
CONCURRENCY = (8, 32, 128)
