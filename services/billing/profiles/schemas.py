"""What billing keeps for a person (the saved billing details and card), in the shapes of billing's API
(`common.contracts.billing`)."""

from __future__ import annotations

from common.contracts.billing import BillingProfileView, CardView, SavedBillingDetails
from services.billing.payments.provider import SavedCard
from services.billing.purchases.domain import BillingDetails


def card_answer(card: SavedCard | None) -> CardView | None:
    return CardView(brand=card.brand, last4=card.last4) if card else None


def billing_profile_answer(details: BillingDetails | None, card: SavedCard | None) -> BillingProfileView:
    billing = SavedBillingDetails(**details.__dict__) if details else None
    return BillingProfileView(billing=billing, card=card_answer(card))
