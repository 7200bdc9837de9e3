"""The moment a month is counted at: the database's clock (read with the posting's locks), shifted only by a
test that needs the month to turn in a second. Production never shifts it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class MonthClock:
    offset: timedelta = timedelta(0)

    def at(self, database_now: datetime) -> datetime:
        return database_now + self.offset


CLOCK = MonthClock()
