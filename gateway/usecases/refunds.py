"""Refunds of purchases: a master refunds a paid purchase in full or in part, up to the credits still
available in the account that received them.

The refund is a saga between billing and the ledger (credits back first, then the money, then the
adjustment note). The gateway refuses at once when the account plainly lacks the credits, then waits
a few seconds for the saga: the refund settled (refunded, or `failed` when the provider refused and
the credits were restored), refused if the ledger found the credits gone, or still under way when the
wait runs out (the client then polls it).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from common.contracts import problems
from common.problems import RuleBroken
from gateway.clients.billing import BillingClient, Purchase
from gateway.clients.ledger import LedgerClient
from gateway.directory import domain
from gateway.schemas.billing import RefundView
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller

REFUND_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.1
UNDER_WAY = ("requested", "debited")


class NotEnoughCreditsToRefund(RuleBroken):
    problem = problems.INSUFFICIENT_CREDITS


@dataclass(frozen=True)
class Waited:
    """A refund as it stood when the wait ended."""

    refund: RefundView

    @property
    def under_way(self) -> bool:
        return self.refund.status in UNDER_WAY


async def refund(
    ledger: LedgerClient, billing: BillingClient, caller: Caller, purchase_id: uuid.UUID, quantity: int,
    idempotency_key: str | None, wait_seconds: float = REFUND_WAIT_SECONDS,
) -> Waited:
    """Ask billing to refund part of a purchase of the caller's tenant (billing answers 404 for another
    tenant's), then wait up to `wait_seconds` for the saga to settle it."""
    identity = identity_for(caller)
    purchase = await billing.purchase(identity, purchase_id)
    if not caller.person.is_master:
        raise domain.AccountForbidden("Only a master may refund a purchase.")
    await _check_available(ledger, caller, purchase, quantity)
    created = await billing.request_refund(identity, purchase.id, quantity, idempotency_key)
    settled = await _settled(billing, caller, purchase.id, created.id, wait_seconds)
    if settled.status == "rejected":
        raise NotEnoughCreditsToRefund(settled.failure_reason or "The credits are no longer available.")
    return Waited(settled)


async def _check_available(ledger: LedgerClient, caller: Caller, purchase: Purchase, quantity: int) -> None:
    """Refuse at once when the account plainly lacks the credits; the ledger decides in the end."""
    [account] = await ledger.balances(identity_for(caller), [purchase.account_code])
    if quantity > account.available:
        raise NotEnoughCreditsToRefund(
            f"The account has {account.available:,} credits available; {quantity:,} cannot be refunded.",
            errors=[{"field": "quantity", "message": f"At most {account.available:,} credits are available."}],
        )


async def _settled(
    billing: BillingClient, caller: Caller, purchase_id: uuid.UUID, refund_id: uuid.UUID, wait_seconds: float
) -> RefundView:
    """The refund once its saga has finished, or as it is when the wait runs out."""
    identity = identity_for(caller)
    deadline = time.monotonic() + wait_seconds
    while True:
        found = await billing.refund(identity, purchase_id, refund_id)
        if found.status not in UNDER_WAY or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(POLL_SECONDS)


async def refunds_of(billing: BillingClient, caller: Caller, purchase: Purchase) -> list[RefundView]:
    """The refunds of a purchase the caller may see (`purchases.visible_purchase`)."""
    return await billing.refunds(identity_for(caller), purchase.id)


async def refund_of(billing: BillingClient, caller: Caller, purchase: Purchase, refund_id: uuid.UUID) -> RefundView:
    """One refund of a purchase the caller may see."""
    return await billing.refund(identity_for(caller), purchase.id, refund_id)


async def adjustment_note(billing: BillingClient, caller: Caller, purchase: Purchase, refund_id: uuid.UUID) -> bytes:
    """The adjustment note (a PDF) of a refund of a purchase the caller may see."""
    return await billing.adjustment_note_pdf(identity_for(caller), purchase.id, refund_id)
