"""Payment rules, pure and synchronous: which of a provider's notices are about which purchase, and
how each is de-duplicated."""

from __future__ import annotations

import uuid
from typing import Literal

from services.billing.payments.provider import PaymentNotice
from services.billing.purchases.domain import Purchase

PaymentOutcome = Literal["paid", "failed", "declined", "duplicate", "ignored", "unknown_purchase"]
# Provider event ids are the provider's own strings; the shared inbox keys on uuids, so each is
# mapped to a stable uuid within this namespace.
_WEBHOOK_EVENT_NAMESPACE = uuid.UUID("0b8f8e53-5d0e-4a59-9a43-63d4b1f0c2a7")


def webhook_inbox(provider_name: str) -> str:
    """The inbox consumer under which one provider's notices are de-duplicated."""
    return f"webhook:{provider_name}"


def webhook_inbox_id(provider_name: str, event_id: str) -> uuid.UUID:
    return uuid.uuid5(_WEBHOOK_EVENT_NAMESPACE, f"{provider_name}:{event_id}")


def same_payment(purchase: Purchase, notice: PaymentNotice) -> bool:
    """The notice is about this purchase's payment (an off-session charge has none recorded yet)."""
    if purchase.checkout_session_id is None or notice.session_id is None:
        return True
    return purchase.checkout_session_id == notice.session_id



def decline_keeps_purchase_open(purchase: Purchase, notice: PaymentNotice, failure_is_final: bool) -> bool:
    """A card declined on a checkout the buyer is still on is one attempt: the purchase stays pending for
    another card (until paid or cancelled). Only a decline with no buyer to try again (a saved card
    charged off session), or on a provider whose declines end the checkout, fails the purchase."""
    return (not notice.succeeded and not failure_is_final and purchase.origin == "checkout"
            and purchase.status == "pending")
