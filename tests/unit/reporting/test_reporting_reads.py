"""Where the log's reads go (services/reporting/reads.py), with stand-in pools: the replica while it answers,
the primary without one, while it is down, and until the pause after a failure has passed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import pytest

from services.reporting import reads
from services.reporting.reads import LogReads


@dataclass
class FakeConnection:
    name: str
    transactions: list[str] = field(default_factory=list)
    closed: bool = False

    def is_closed(self) -> bool:
        return self.closed

    @contextlib.asynccontextmanager
    async def transaction(self, isolation: str, readonly: bool) -> AsyncIterator[None]:
        self.transactions.append(f"{isolation}{' read only' if readonly else ''}")
        yield


@dataclass
class FakePool:
    name: str
    down: bool = False
    acquired: int = 0

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        self.acquired += 1
        yield FakeConnection(self.name)


def _reads(primary: FakePool, replica: FakePool | None) -> LogReads:
    return LogReads(cast(asyncpg.Pool, primary), cast(asyncpg.Pool, replica))


async def _served_by(log_reads: LogReads, snapshot: bool = True) -> str:
    opened = log_reads.snapshot() if snapshot else log_reads.connection()
    async with opened as conn:
        return str(cast(Any, conn).name)


async def test_without_a_replica_every_read_is_the_primarys() -> None:
    assert await _served_by(_reads(FakePool("primary"), None)) == "primary"


async def test_reads_go_to_the_replica_in_a_read_only_repeatable_read_snapshot() -> None:
    replica = FakePool("replica")
    log_reads = _reads(FakePool("primary"), replica)

    async with log_reads.snapshot() as conn:
        assert cast(Any, conn).name == "replica"
        assert cast(Any, conn).transactions == ["repeatable_read read only"]
    async with log_reads.connection() as conn:
        assert cast(Any, conn).transactions == []


async def test_a_replica_down_sends_reads_to_the_primary_until_the_pause_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replica = FakePool("replica", down=True)
    log_reads = _reads(FakePool("primary"), replica)

    assert await _served_by(log_reads) == "primary"
    replica.down = False
    # Within the pause the replica is not even tried.
    assert await _served_by(log_reads, snapshot=False) == "primary"
    assert replica.acquired == 0

    monkeypatch.setattr(reads, "RETRY_REPLICA_SECONDS", 0.0)
    replica.down = True
    log_reads = _reads(FakePool("primary"), replica)
    assert await _served_by(log_reads) == "primary"  # tried, failed, paused for no time
    replica.down = False
    assert await _served_by(log_reads) == "replica"


async def test_a_replica_lost_under_a_read_fails_that_read_and_sends_the_next_to_the_primary() -> None:
    log_reads = _reads(FakePool("primary"), FakePool("replica"))

    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        async with log_reads.snapshot() as conn:
            cast(Any, conn).closed = True
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    assert await _served_by(log_reads) == "primary"


async def test_a_client_gone_mid_download_does_not_count_against_the_replica() -> None:
    log_reads = _reads(FakePool("primary"), FakePool("replica"))

    with pytest.raises(ConnectionResetError):
        async with log_reads.snapshot():
            raise ConnectionResetError("client went away")

    assert await _served_by(log_reads) == "replica"
