"""What a top-up's purchase settling means for auto top-up, applied inside the purchase's own
transaction: a credited top-up ends the one in flight (or corrects one recorded as declined that the
provider paid after all) and moves the account's watermark past it; a declined one ends it, suspends
auto top-up (no second attempt) and tells the payer."""

from __future__ import annotations

import asyncpg

from common.contracts import events
from common.logs import get_logger
from common.outbox import enqueue
from services.billing.emails import store as email_outbox
from services.billing.purchases.domain import Purchase, purchase_event
from services.billing.topups import store

log = get_logger(__name__)


async def purchase_credited(conn: asyncpg.Connection, purchase: Purchase, seq: int) -> None:
    if purchase.origin != "auto_top_up":
        return
    top_up = await store.lock_top_up_of(conn, purchase.id)
    if top_up is None or top_up["status"] not in ("charging", "failed"):
        return
    if top_up["status"] == "failed":
        # The provider took the money after all (a PaymentIntent declined, then paid): the credits came, so
        # the record says so. Auto top-up stays suspended until the payer sets it again, as after any decline.
        log.warning("top_up_paid_after_decline", account_id=str(top_up["account_id"]), purchase_id=str(purchase.id))
    await store.settle_top_up(conn, top_up["id"], "succeeded")
    await store.advance_seq(conn, top_up["account_id"], seq)
    log.info("top_up_credited", account_id=str(top_up["account_id"]), quantity=top_up["quantity"], seq=seq)


async def purchase_failed(conn: asyncpg.Connection, purchase: Purchase, reason: str) -> None:
    if purchase.origin != "auto_top_up":
        return
    top_up = await store.lock_top_up_of(conn, purchase.id)
    if top_up is None or top_up["status"] != "charging":
        return
    await store.settle_top_up(conn, top_up["id"], "failed")
    await store.set_status(conn, top_up["account_id"], "suspended", reason)
    payload = events.TopUpFailed(
        tenant_id=purchase.tenant_id, account_id=purchase.account_id, account_code=purchase.account_code,
        purchase_id=purchase.id, payer_user_id=purchase.buyer_user_id, quantity=purchase.quote.quantity,
        reason=reason,
    )
    await enqueue(conn, purchase_event(events.TOP_UP_FAILED, purchase, payload))
    await email_outbox.owe(conn, purchase.tenant_id, "top_up_failed", purchase.id, purchase.billing.email)
    log.warning("top_up_declined", account_id=str(purchase.account_id), reason=reason,
                next_step="auto top-up suspended until set again")
