"""`billing.purchase.paid`, on the `ledger.purchases` queue."""

from __future__ import annotations

from aiohttp import web

from common.accounts import USER_FACING, kind_of
from common.bus import EventHandler, PoisonEvent
from common.contracts.events import Event, PurchasePaid
from common.logs import get_logger
from common.runtime import DB
from services.ledger.purchases import usecases

log = get_logger(__name__)


def purchase_paid_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        paid = event.payload(PurchasePaid)
        try:
            if kind_of(paid.account_code) not in USER_FACING:
                raise ValueError(paid.account_code)
        except ValueError as exc:
            raise PoisonEvent(f"purchase {paid.purchase_id} names no user-facing account") from exc
        applied = await usecases.credit_purchase(app[DB], event.id, paid)
        log.info("purchase_credited" if applied else "purchase_already_credited",
                 purchase_id=str(paid.purchase_id), quantity=paid.quantity)

    return handle
