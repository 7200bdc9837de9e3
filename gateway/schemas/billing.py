"""Request and answer shapes of the billing API beyond purchases: refunds, auto top-up, saved billing
details and price lists. The OpenAPI document is generated from these, as from `credits.py`.

Most are billing's own contract models (`common.contracts.billing`), which the gateway relays unchanged;
the auto top-up request is the public API's own (billing also takes the account's code), and a price
list as sent adds the public API's trimmed text to billing's shape."""

from __future__ import annotations

from pydantic import ConfigDict, Field, StrictInt

from common.contracts import billing
from common.contracts.billing import AutoTopUpView as AutoTopUpView
from common.contracts.billing import BillingProfileView as BillingProfileView
from common.contracts.billing import CardView as CardView
from common.contracts.billing import PriceListView as PriceListView
from common.contracts.billing import PriceTierRequest as PriceTierRequest
from common.contracts.billing import PriceTierView as PriceTierView
from common.contracts.billing import RefundRequest as RefundRequest
from common.contracts.billing import RefundView as RefundView
from common.contracts.billing import SavedBillingDetails as SavedBillingDetails
from gateway.schemas.credits import _Request


class AutoTopUpRequest(_Request):
    threshold: StrictInt = Field(description="Top up when the available credits fall below this")
    quantity: StrictInt = Field(description="Credits bought by each top-up")
    daily_cap: StrictInt = Field(description="At most this many credits bought by auto top-up per day")
    monthly_cap_cents: StrictInt | None = Field(default=None, description=(
        "At most this many cents (with tax) charged by auto top-up per calendar month; null or absent: no "
        "cap. A top-up that would pass it is not charged: auto top-up is suspended as after a declined card"))


class PriceListRequest(billing.PriceListRequest):
    # Unknown fields are refused rather than ignored, as everywhere in the public API, and text is trimmed.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
