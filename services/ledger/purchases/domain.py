"""Where purchased credits come from."""

from __future__ import annotations

from common.accounts import WORLD
from services.ledger.postings.domain import Movement, UnbalancedTransaction


def purchase_movements(account_code: str, quantity: int) -> list[Movement]:
    """Purchased credits come from `world`, the outside, into the credited account."""
    if quantity <= 0:
        raise UnbalancedTransaction("a purchase of no credits")
    return [Movement(WORLD, -quantity), Movement(account_code, quantity)]
