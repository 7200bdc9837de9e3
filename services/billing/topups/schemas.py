"""An account's auto top-up in the shape of billing's API (`common.contracts.billing`)."""

from __future__ import annotations

from common.contracts.billing import AutoTopUpView
from services.billing.payments.provider import SavedCard
from services.billing.profiles.schemas import card_answer
from services.billing.topups.domain import AutoTopUp


def auto_top_up_answer(config: AutoTopUp, card: SavedCard | None) -> AutoTopUpView:
    return AutoTopUpView(
        account_id=config.account_id, status=config.status, threshold=config.threshold,
        quantity=config.quantity, daily_cap=config.daily_cap, suspended_reason=config.suspended_reason,
        payer_user_id=config.payer_user_id, card=card_answer(card), monthly_cap_cents=config.monthly_cap_cents,
    )
