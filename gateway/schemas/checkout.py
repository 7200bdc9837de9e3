"""The shapes of the hosted checkout a client may call with JSON (`POST /checkout/{session}`): the card
typed in, and the purchase as billing answers it once the card was taken or refused."""

from __future__ import annotations

from common.contracts.billing import Purchase as CheckoutPurchase
from gateway.schemas.credits import CardPayment as CardPayment

__all__ = ["CardPayment", "CheckoutPurchase"]
