"""Benchmarks of the whole system: `make bench` (or `python -m bench --help`).

Each benchmark starts the services it needs as processes on their own databases, exchange and ports,
warms up, measures for a bounded time, writes `bench/results/<name>.json` and cleans up after itself.
Never part of the test suite: figures depend on the machine and on what else it is running.
"""
