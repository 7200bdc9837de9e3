"""`python -m services.ledger check`: the operator's proof that the ledger's promises hold."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from common.accounts import user_code
from services.ledger.invariants.store import CHECKS
from tests.integration.ledger.conftest import SECRET, LedgerHarness

ROOT = Path(__file__).resolve().parents[3]


async def _check(dsn: str) -> tuple[int, str]:
    env = {**os.environ, "LEDGER_DATABASE_URL": dsn, "INTERNAL_TOKEN_SECRET": SECRET}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.ledger", "check", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def _busy_ledger(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 100)
    await ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 30)
    _, hold = await ledger.place_hold(tenant, "system", 20)
    await ledger.post(f"/holds/{hold['id']}/capture", {"quantity": 5}, ledger.token(None, "service"))
    await ledger.place_hold(tenant, "system", 10)


async def test_check_passes_on_a_healthy_ledger_and_prints_every_check(ledger: LedgerHarness):
    await _busy_ledger(ledger)
    code, output = await _check(ledger.dsn)
    assert code == 0, output
    for name in CHECKS:
        assert f"ok   {name}: 0 violation(s)" in output, output
    assert f"{len(CHECKS)} invariants checked, 0 breached" in output


async def test_check_fails_and_names_the_breach_when_a_balance_is_corrupted(ledger: LedgerHarness):
    await _busy_ledger(ledger)
    # +1 keeps the row within its CHECK constraints (available never negative); only the sum breaks.
    await ledger.pool.execute("UPDATE accounts SET balance = balance + 1 WHERE code = 'system'")
    code, output = await _check(ledger.dsn)
    assert code == 1, output
    assert "FAIL balances_equal_postings: 1 violation(s)" in output, output
    # The balance no longer matches its lots either: two promises broken by one corrupted row.
    assert "FAIL lots_hold_the_balance: 1 violation(s)" in output, output
    assert "ok   transactions_balanced" in output and "2 breached" in output


async def test_check_fails_when_reserved_credits_disagree_with_the_open_holds(ledger: LedgerHarness):
    await _busy_ledger(ledger)
    await ledger.pool.execute("UPDATE accounts SET held = held + 1 WHERE code = 'system'")
    code, output = await _check(ledger.dsn)
    assert code == 1, output
    assert "FAIL held_equals_open_holds: 1 violation(s)" in output, output


async def test_check_fails_when_an_accounts_lots_disagree_with_its_balance(ledger: LedgerHarness):
    await _busy_ledger(ledger)
    # A credit taken out of a lot without a posting: the balance is right, the lots are one short.
    await ledger.pool.execute("""UPDATE lot_holdings SET remaining = remaining - 1
                                 WHERE remaining > reserved AND account_id IN (SELECT id FROM accounts
                                                                               WHERE code = 'system')""")
    code, output = await _check(ledger.dsn)
    assert code == 1, output
    assert "FAIL lots_hold_the_balance: 1 violation(s)" in output and "1 breached" in output, output


async def test_check_fails_when_a_tenants_event_is_missing_from_its_numbered_log(ledger: LedgerHarness):
    await _busy_ledger(ledger)
    # A subscriber would see a gap it could never fill: the third event of the tenant is gone.
    await ledger.pool.execute("DELETE FROM event_log WHERE sequence = 3")
    code, output = await _check(ledger.dsn)
    assert code == 1, output
    assert "FAIL event_log_gapless: 1 violation(s)" in output, output
    assert "FAIL every_transaction_logged_once: 1 violation(s)" in output, output
