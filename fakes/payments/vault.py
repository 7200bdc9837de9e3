"""The test processor's saved cards and refunds, kept on its side as a processor's vault would.

A successful checkout leaves a reusable token for the card (as if the buyer had ticked "save this
card"); charging the token later and refunding a payment are idempotent per purchase and per refund,
so a caller that crashed halfway may simply ask again.
"""

from __future__ import annotations

import secrets

import asyncpg

from fakes.payments import store
from fakes.payments.webhooks import webhook_body
from services.billing.payments.provider import (
    CardSummary,
    CheckoutOrder,
    PaymentNotice,
    RefundDeclined,
    RefundOrder,
    SavedCard,
)


def new_session_id() -> str:
    return f"cs_test_{secrets.token_hex(16)}"  # 128 bits, alphanumeric for any URL


async def charge_saved_card(
    conn: asyncpg.Connection, order: CheckoutOrder, card: SavedCard, retry_seconds: float
) -> PaymentNotice:
    """Charge a saved token for the order, inside the caller's transaction; a repeat for the same
    purchase answers the first charge's outcome and charges nothing."""
    session = await store.session_of_purchase(conn, order.purchase_id)
    if session is None:
        # The same charge under way at the same moment (another replica's sweeper) may be inserting one too:
        # the insert then waits for it and keeps it, and the session read again is that charge's, completed.
        await store.insert_session_unless_purchase_has_one(conn, new_session_id(), order)
        session = await store.session_of_purchase(conn, order.purchase_id)
        assert session is not None
    if session["status"] != "open":
        charge = await store.charge_of_session(conn, session["id"])
        assert charge is not None  # a completed session was charged
        return _notice(session["id"], order, CardSummary(charge["card_brand"], charge["card_last4"]),
                       charge["failure_code"])
    token = await store.get_token(conn, card.token)
    failure_code = "card_not_found" if token is None else token["decline_code"]
    summary = CardSummary(card.brand, card.last4)
    charge_id = f"ch_{secrets.token_hex(12)}"
    await store.record_charge(conn, session["id"], charge_id, summary, failure_code)
    await store.mark_charge_details(conn, charge_id, bool(token and token["refund_fails"]), card.token)
    event_id = f"evt_{secrets.token_hex(12)}"
    body = webhook_body(event_id, session, summary, failure_code, None)
    await store.owe_webhook(conn, event_id, session["id"], body, retry_seconds)
    return _notice(session["id"], order, summary, failure_code)


def _notice(session_id: str, order: CheckoutOrder, card: CardSummary, failure_code: str | None) -> PaymentNotice:
    # The same event id for every answer about this charge: billing's inbox sees repeats as one.
    return PaymentNotice(
        event_id=f"charge:{session_id}",
        purchase_id=order.purchase_id,
        session_id=session_id,
        succeeded=failure_code is None,
        card=card,
        failure_code=failure_code,
    )


async def refund(conn: asyncpg.Connection, order: RefundOrder) -> str:
    """Refund part of a charge inside the caller's transaction; the refund's key makes it once."""
    key = f"refund:{order.refund_id}"
    session = await store.lock_session(conn, order.payment_ref)
    if session is None:
        raise RefundDeclined("no_such_payment")
    earlier = await store.refunds_of_session(conn, session["id"])
    for refund_row in earlier:
        if refund_row["idempotency_key"] == key:
            return str(refund_row["id"])
    charge = await store.charge_of_session(conn, session["id"])
    if charge is None or charge["outcome"] != "succeeded":
        raise RefundDeclined("charge_not_refundable")
    if charge["refund_fails"]:
        raise RefundDeclined("refund_failed")
    if sum(r["amount_cents"] for r in earlier) + order.amount_cents > session["total_cents"]:
        raise RefundDeclined("amount_exceeds_charge")
    refund_id = f"re_{secrets.token_hex(12)}"
    await store.insert_refund(conn, key, refund_id, session["id"], order.amount_cents)
    return refund_id
