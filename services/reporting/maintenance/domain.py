"""What the maintenance commands find and report, and how a log balance is compared with the ledger's.
Pure and synchronous."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    tenant_id: uuid.UUID
    account_code: str
    log_balance: int
    ledger_balance: int

    def __str__(self) -> str:
        gap = self.log_balance - self.ledger_balance
        return (
            f"tenant {self.tenant_id} account {self.account_code}: log {self.log_balance}, "
            f"ledger {self.ledger_balance} (log {gap:+d})"
        )


@dataclass(frozen=True)
class Reconciliation:
    accounts_compared: int
    differences: list[Difference]


@dataclass(frozen=True)
class Rebuilt:
    transactions: int
    entries_replayed: int
    last_seq: int


@dataclass(frozen=True)
class Purged:
    entries: int
    applied: int


def differences(tenant_id: uuid.UUID, log_balances: Mapping[str, int], ledger: Mapping[str, int]) -> list[Difference]:
    """Every account whose latest logged balance is not the ledger's (an account the ledger does not
    name reads as 0 there, as the ledger itself answers for an account never opened)."""
    return [
        Difference(tenant_id, code, balance, ledger.get(code, 0))
        for code, balance in sorted(log_balances.items())
        if ledger.get(code, 0) != balance
    ]
