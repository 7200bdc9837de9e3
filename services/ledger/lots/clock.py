"""The ledger's calendar: the moment lots lapse and spending months turn against. The database's clock (read
with the posting's locks), shifted only by a test that needs a year to pass in a second (the ledger's state
machine, the limits' month turning). Production never shifts it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass
class LedgerClock:
    offset: timedelta = timedelta(0)

    def at(self, database_now: datetime) -> datetime:
        return database_now + self.offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


CLOCK = LedgerClock()
