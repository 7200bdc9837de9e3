"""Runs an outbox relay in a process of its own, so a test can SIGKILL it mid-batch."""

from __future__ import annotations

import asyncio
import sys

from common.bus import Broker
from common.db import create_pool
from common.outbox import OutboxRelay


async def main(dsn: str, broker_url: str, exchange: str, batch_size: int) -> None:
    broker = Broker(broker_url, exchange)
    await broker.connect()
    pool = await create_pool(dsn, 2)
    await OutboxRelay(dsn, pool, broker, batch_size=batch_size).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
