"""Two transactions opening the same new account at once must both succeed.

The race that once answered 500 (the second insert passing the id check before the first committed,
then meeting the tenant-and-code index) needs an interleaving a test cannot force; the 50-concurrent-
transfers test met it now and then. This pins the part that can be forced: the second opener waits for
the first and then finds the account."""

from __future__ import annotations

import asyncio
import uuid

from common.accounts import user_code
from common.db import connect
from services.ledger.postings import store
from tests.integration.ledger.conftest import LedgerHarness


async def test_two_transactions_opening_the_same_account_at_once_both_succeed(ledger: LedgerHarness):
    tenant, code = uuid.uuid4(), user_code(uuid.uuid4())
    first, second = await connect(ledger.dsn), await connect(ledger.dsn)
    try:
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        await second_tx.start()
        await store.open_accounts(first, tenant, [code])
        # The second insert waits on the first's uncommitted row, then must find it, not fail.
        waiting = asyncio.create_task(store.open_accounts(second, tenant, [code]))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await first_tx.commit()
        await asyncio.wait_for(waiting, timeout=5)
        await second_tx.commit()
        assert await first.fetchval("SELECT count(*) FROM accounts WHERE tenant_id = $1", tenant) == 1
    finally:
        await first.close()
        await second.close()
