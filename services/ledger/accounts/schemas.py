"""An account's balance in the shape of the ledger's API (`common.contracts.ledger`, which also holds
the user-facing account code every request names)."""

from __future__ import annotations

from common.contracts.ledger import Balance
from services.ledger.postings.domain import Account


def balance_answer(account: Account) -> Balance:
    return Balance(
        id=account.id,
        code=account.code,
        kind=account.kind,
        balance=account.balance,
        held=account.held,
        available=account.available,
    )
