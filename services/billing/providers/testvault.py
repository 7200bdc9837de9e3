"""The test provider's saved cards and refunds, kept on its side as a processor's vault would.

A successful checkout leaves a reusable token for the card (as if the buyer had ticked "save this
card"); charging the token later and refunding a payment are idempotent per purchase and per refund,
so a caller that crashed halfway may simply ask again.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import asyncpg

from services.billing.cards import CardSummary
from services.billing.providers import (
    CheckoutOrder,
    PaymentNotice,
    RefundDeclined,
    RefundOrder,
    SavedCard,
    teststore,
)


def new_session_id() -> str:
    return f"cs_test_{secrets.token_hex(16)}"  # 128 bits, alphanumeric for any URL


def webhook_body(
    event_id: str, session: asyncpg.Record, card: CardSummary, failure_code: str | None, token: str | None
) -> str:
    data: dict[str, Any] = {
        "session_id": session["id"],
        "purchase_id": str(session["purchase_id"]),
        "card_brand": card.brand,
        "card_last4": card.last4,
    }
    if failure_code:
        data["failure_code"] = failure_code
    if token:
        data["card_token"] = token
    event_type = "payment.failed" if failure_code else "payment.succeeded"
    return json.dumps({"id": event_id, "type": event_type, "created": int(time.time()), "data": data})


async def charge_saved_card(
    conn: asyncpg.Connection, order: CheckoutOrder, card: SavedCard, retry_seconds: float
) -> PaymentNotice:
    """Charge a saved token for the order, inside the caller's transaction; a repeat for the same
    purchase answers the first charge's outcome and charges nothing."""
    session = await teststore.session_of_purchase(conn, order.purchase_id)
    if session is None:
        await teststore.insert_session(conn, new_session_id(), order)
        session = await teststore.session_of_purchase(conn, order.purchase_id)
        assert session is not None
    elif session["status"] != "open":
        charge = await teststore.charge_of_session(conn, session["id"])
        assert charge is not None  # a completed session was charged
        return _notice(session["id"], order, CardSummary(charge["card_brand"], charge["card_last4"]),
                       charge["failure_code"])
    token = await teststore.get_token(conn, card.token)
    failure_code = "card_not_found" if token is None else token["decline_code"]
    summary = CardSummary(card.brand, card.last4)
    charge_id = f"ch_{secrets.token_hex(12)}"
    await teststore.record_charge(conn, session["id"], charge_id, summary, failure_code)
    await teststore.mark_charge_details(conn, charge_id, bool(token and token["refund_fails"]), card.token)
    event_id = f"evt_{secrets.token_hex(12)}"
    body = webhook_body(event_id, session, summary, failure_code, None)
    await teststore.owe_webhook(conn, event_id, session["id"], body, retry_seconds)
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
    session = await teststore.lock_session(conn, order.payment_ref)
    if session is None:
        raise RefundDeclined("no_such_payment")
    earlier = await teststore.refunds_of_session(conn, session["id"])
    for refund_row in earlier:
        if refund_row["idempotency_key"] == key:
            return str(refund_row["id"])
    charge = await teststore.charge_of_session(conn, session["id"])
    if charge is None or charge["outcome"] != "succeeded":
        raise RefundDeclined("charge_not_refundable")
    if charge["refund_fails"]:
        raise RefundDeclined("refund_failed")
    if sum(r["amount_cents"] for r in earlier) + order.amount_cents > session["total_cents"]:
        raise RefundDeclined("amount_exceeds_charge")
    refund_id = f"re_{secrets.token_hex(12)}"
    await teststore.insert_refund(conn, key, refund_id, session["id"], order.amount_cents)
    return refund_id
