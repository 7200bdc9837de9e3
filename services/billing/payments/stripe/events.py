"""Stripe's webhook payloads as billing reads them: only the fields it needs, checked on the way in.

Stripe adds fields freely and a local fake expands some it does not; unknown fields are ignored and
only `payment_intent.succeeded` and `payment_intent.payment_failed` are read at all.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.problems import MalformedRequest

HANDLED = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StripeEvent(_Loose):
    id: str = Field(min_length=1, max_length=255)
    type: str
    data: dict[str, Any]


class PaymentIntentObject(_Loose):
    id: str = Field(pattern=r"^pi_\w+$")
    object: str = "payment_intent"
    metadata: dict[str, str] = {}
    payment_method: str | None = None
    customer: str | None = None
    setup_future_usage: str | None = None
    last_payment_error: dict[str, Any] | None = None

    @property
    def purchase_id(self) -> uuid.UUID | None:
        """Ours, when we created it: the purchase id travels in the metadata."""
        try:
            return uuid.UUID(self.metadata.get("purchase_id", ""))
        except ValueError:
            return None

    @property
    def failure_code(self) -> str:
        error = self.last_payment_error or {}
        return str(error.get("decline_code") or error.get("code") or "payment_failed")

    @property
    def keeps_card(self) -> bool:
        """The buyer agreed (on the payment page) that the card be saved for later off-session charges."""
        return self.setup_future_usage == "off_session" and bool(self.payment_method and self.customer)


def parse(body: bytes) -> tuple[StripeEvent, PaymentIntentObject | None]:
    """The event, and its PaymentIntent when it is one billing handles."""
    try:
        event = StripeEvent.model_validate_json(body)
        if event.type not in HANDLED:
            return event, None
        return event, PaymentIntentObject.model_validate(event.data.get("object"))
    except ValidationError as exc:
        raise MalformedRequest("The webhook body is not a Stripe event billing can read.") from exc
