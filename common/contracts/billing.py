"""Billing's internal HTTP API: what the gateway sends billing and what billing answers, declared once.
Billing's routes validate requests and shape answers with these classes; the gateway's billing client
(`gateway.clients.billing`) sends and parses with the very same ones.

Several answers reach the public API unchanged, and the gateway's OpenAPI document is generated from
these classes for them: hence their descriptions and examples, and why those classes carry no docstring
(it would become the document's description of the schema). Requests keep billing's own rules (unknown
fields refused, strict integers); the public API adds its own (trimmed text) by subclassing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from common.problems import RuleBroken

# A user-facing account: System Credits, or a person's User Credits.
ACCOUNT_CODE = r"^(system|user:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
# Deliberately loose (and the gateway's own rule): an address is proven by mail arriving, not a pattern.
EMAIL = r"^[^@\s]+@[^@\s]+$"

PurchaseStatus = Literal["pending", "paid", "credited", "failed"]
PurchaseOrigin = Literal["checkout", "auto_top_up"]
RefundStatus = Literal["requested", "debited", "refunded", "rejected", "failed"]
TopUpStatus = Literal["active", "suspended", "off"]
# A checkout page's state: a declined payment can still be paid with another card while it is open.
CheckoutStatus = Literal["open", "succeeded", "declined"]


class _Request(BaseModel):
    # Unknown fields are refused rather than ignored: a typo must not quietly become a default.
    model_config = ConfigDict(extra="forbid")


# -- Quotes and purchases: GET /quotes, POST /purchases, GET /purchases/{id} -----------------------------


class QuoteQuery(BaseModel):
    quantity: int


class Quote(BaseModel):
    quantity: int
    unit_price: str = Field(description="Ex tax, 4 decimal places", examples=["0.0800"])
    subtotal: str = Field(examples=["40.00"])
    tax_name: str = Field(examples=["GST"])
    tax_rate: str = Field(examples=["0.10"])
    tax: str = Field(examples=["4.00"])
    total: str = Field(examples=["44.00"])
    currency: str = Field(examples=["AUD"])
    credit_validity_months: int | None = Field(
        default=None, examples=[12],
        description="The credits bought expire this many calendar months after payment; null: they never expire",
    )


ABN_NOT_VALID = "This ABN is not valid (check the digits)"
# The ATO's weights for an ABN's 11 digits, the first taken one less: a real ABN's weighted sum divides by 89.
_ABN_WEIGHTS = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)


class AbnNotValid(RuleBroken):
    """Raised from inside validation on purpose (not a ValueError, so pydantic lets it through): a
    well-formed request whose ABN fails the checksum breaks a rule (422), with a message for people,
    under the field of the billing details (always sent as `billing`)."""

    def __init__(self) -> None:
        super().__init__(f"{ABN_NOT_VALID}.", errors=[{"field": "billing.tax_id", "message": ABN_NOT_VALID}])


def abn_checksum_holds(digits: str) -> bool:
    """The ATO's modulus 89 rule, on 11 digits."""
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    values = [int(d) for d in digits]
    values[0] -= 1
    return sum(w * v for w, v in zip(_ABN_WEIGHTS, values, strict=True)) % 89 == 0


def written_abn(value: str) -> str:
    """An ABN as typed (blanks anywhere) in the way it is printed, `51 824 753 556`; AbnNotValid if its
    digits are not those of a real ABN."""
    digits = "".join(value.split())
    if not abn_checksum_holds(digits):
        raise AbnNotValid()
    return f"{digits[:2]} {digits[2:5]} {digits[5:8]} {digits[8:]}"


class BillingDetails(_Request):
    # Billing details are typed by people: surrounding blanks are trimmed, not refused.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=EMAIL)
    company: str | None = Field(default=None, max_length=200)
    tax_id: str | None = Field(default=None, max_length=50, description="ABN, shown on the tax invoice")
    address: str | None = Field(default=None, max_length=500)

    @field_validator("tax_id")
    @classmethod
    def _real_abn(cls, value: str | None) -> str | None:
        return written_abn(value) if value else value


class PurchaseOrder(_Request):
    """A purchase for an account, named by both its id (which clients see) and its code (which the
    ledger credits), with the buyer's billing details. The buyer is the caller's identity."""

    account_id: uuid.UUID
    account_code: str = Field(pattern=ACCOUNT_CODE)
    quantity: StrictInt
    billing: BillingDetails


class Purchase(BaseModel):
    """A purchase as billing answers it: created (201), replayed by its Idempotency-Key (200) or read."""

    id: uuid.UUID
    status: PurchaseStatus
    account_id: uuid.UUID
    account_code: str
    buyer_user_id: uuid.UUID
    quantity: int
    quote: Quote
    checkout_url: str | None  # only while the purchase is pending
    invoice_number: str | None
    invoice_url: str | None
    failure_reason: str | None
    consistency_token: int | None
    created_at: datetime
    paid_at: datetime | None
    buyer_name: str | None
    account_name: str | None
    origin: PurchaseOrigin


# -- Purchase pages: GET /purchases ------------------------------------------------------------------------

# Which accounts' purchases a page reads: those `account` names, every account of the caller's tenant, or
# every user account of it (System Credits aside): a scope keeps hundreds of ids out of a URL.
PurchaseScope = Literal["accounts", "tenant", "users"]
MAX_PAGE_LIMIT = 100


class PurchasesQuery(BaseModel):
    """A page of the caller's tenant's purchases, newest first: of the accounts in scope, created at or
    after `since` and before `until`, after the page `cursor` ended."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    scope: PurchaseScope = "accounts"
    account: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=MAX_PAGE_LIMIT)

    def params(self) -> list[tuple[str, str]]:
        """The query string's parameters, `account` once per account."""
        named = [("account", str(account)) for account in self.account]
        rest = self.model_dump(mode="json", exclude={"account"}, exclude_none=True)
        return named + [(key, str(value)) for key, value in rest.items()]


class PurchasePage(BaseModel):
    items: list[Purchase]
    next_cursor: str | None


# -- Refunds: POST and GET /purchases/{id}/refunds, GET /purchases/{id}/refunds/{refund_id} --------------


class RefundRequest(_Request):
    quantity: StrictInt = Field(description="Credits to refund; at most what the account still has available")


class RefundView(BaseModel):
    id: uuid.UUID
    purchase_id: uuid.UUID
    status: RefundStatus = Field(
        description="requested -> debited (credits taken back) -> refunded (money returned); rejected when the "
        "credits were gone; failed when the provider refused (the credits are then restored)"
    )
    quantity: int
    subtotal: str = Field(examples=["40.00"], description="Refunded ex tax")
    tax: str = Field(examples=["4.00"], description="Tax reversed")
    total: str = Field(examples=["44.00"])
    currency: str
    requested_by: uuid.UUID
    failure_reason: str | None
    credits_restored: bool
    adjustment_note_number: str | None
    adjustment_note_url: str | None = Field(description="The adjustment note PDF, once refunded")
    created_at: datetime
    settled_at: datetime | None


# -- Auto top-up and the billing profile: /accounts/{id}/auto-top-up, GET /billing-profile ---------------


class AutoTopUpSettings(_Request):
    """An account's auto top-up, for the account named by its code; the payer is the caller."""

    account_code: str = Field(pattern=ACCOUNT_CODE)
    threshold: StrictInt
    quantity: StrictInt
    daily_cap: StrictInt
    monthly_cap_cents: StrictInt | None = Field(default=None, description=(
        "At most this many cents (with tax) charged by auto top-up per calendar month; null: no cap"))


class CardView(BaseModel):
    brand: str
    last4: str


class AutoTopUpView(BaseModel):
    account_id: uuid.UUID
    status: TopUpStatus = Field(description="suspended after a declined charge, until the settings are saved again")
    threshold: int
    quantity: int
    daily_cap: int
    suspended_reason: str | None
    payer_user_id: uuid.UUID = Field(description="Whose saved card pays")
    card: CardView | None
    monthly_cap_cents: int | None = Field(default=None, description=(
        "At most this many cents (with tax) charged by auto top-up per calendar month; null: no cap"))


class SavedBillingDetails(BaseModel):
    name: str
    email: str
    company: str | None
    tax_id: str | None
    address: str | None


class BillingProfileView(BaseModel):
    billing: SavedBillingDetails | None = Field(description="The details used last, to offer on the next purchase")
    card: CardView | None = Field(description="The saved card auto top-up charges")


# -- Price lists, for operators: PUT and GET /price-lists/{tenant_id} ------------------------------------


def _validity_months(schema: dict[str, Any]) -> None:
    # The range is billing's rule, answered 422 naming the field (not a malformed request), so pydantic
    # does not check it; the document still says it. Left out means unchanged, so no default is documented.
    schema.pop("default", None)
    for branch in schema.get("anyOf", []):
        if branch.get("type") == "integer":
            branch.update(minimum=1, maximum=120)


class PriceTierRequest(_Request):
    min_quantity: StrictInt = Field(gt=0)
    unit_price: Decimal = Field(max_digits=12, decimal_places=4, description="Ex tax, per credit")


class PriceListRequest(_Request):
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["AUD"])
    tax_name: str = Field(min_length=1, max_length=20, examples=["GST"])
    tax_rate: Decimal = Field(max_digits=6, decimal_places=4, examples=["0.10"])
    min_quantity: StrictInt
    max_quantity: StrictInt
    tiers: list[PriceTierRequest] = Field(min_length=1, max_length=50)
    credit_validity_months: StrictInt | None = Field(
        default=None, examples=[12], json_schema_extra=_validity_months,
        description="Credits bought under this list expire this many calendar months after payment (1 to 120); "
        "null: they never expire; left out: as they do now",
    )


class PriceTierView(BaseModel):
    min_quantity: int
    unit_price: str


class PriceListView(BaseModel):
    tenant_id: uuid.UUID
    source: Literal["tenant", "default"]
    currency: str
    tax_name: str
    tax_rate: str
    min_quantity: int
    max_quantity: int
    tiers: list[PriceTierView]
    credit_validity_months: int | None = Field(
        default=None, examples=[12],
        description="Credits bought expire this many calendar months after payment; null: they never expire",
    )


# -- The payment pages: GET /checkout-sessions/{id}, GET /stripe/pages/{token} ---------------------------


class CheckoutSession(BaseModel):
    """A hosted checkout session: the test provider's, or Stripe's page in the same shape, so that the
    gateway's confirmation page works with either provider. Its id is the capability: no tenant asks."""

    session_id: str
    purchase_id: str
    tenant_id: str
    status: CheckoutStatus
    quantity: int
    total: str
    currency: str
    description: str


class StripePage(BaseModel):
    """Stripe's payment page as billing renders it: no html once paid, then where to go instead."""

    status: CheckoutStatus
    confirmation_url: str
    html: str | None
    origins: list[str]  # what the page's Content-Security-Policy must allow besides 'self'
