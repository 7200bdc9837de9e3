"""A hold in the shape of the ledger's API (`common.contracts.ledger`, which also holds the requests
that place and capture it)."""

from __future__ import annotations

from typing import cast

from common.contracts import ledger as contract
from services.ledger.holds.domain import HoldView


def hold_answer(hold: HoldView) -> contract.HoldView:
    return contract.HoldView(
        id=hold.id, account_id=hold.account_id, quantity=hold.quantity, captured=hold.captured,
        # The domain keeps the status as text; the contract names its four values (and checks them).
        status=cast(contract.HoldStatus, hold.status), reference=hold.reference, expires_at=hold.expires_at,
        account={"balance": hold.balance, "held": hold.held, "available": hold.available},
    )
