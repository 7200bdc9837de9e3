"""The Stripe payment page, rendered here and served to buyers by the gateway (which adds the
Content-Security-Policy that lets Stripe.js run). The page's token is the capability, as a checkout
session id is with the test provider; the PaymentIntent's client secret is fetched from Stripe when
the page is shown, never stored or logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import asyncpg
import jinja2
from pydantic import BaseModel

from common.contracts import problems
from common.problems import NotFound
from services.billing.payments.stripe import store
from services.billing.payments.stripe.client import StripeApi
from services.billing.price_lists.domain import format_money
from services.billing.purchases.domain import checkout_description
from services.billing.settings import BillingSettings

_HERE = Path(__file__).resolve().parents[2]  # the service's folder, with its templates and static files
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
SCRIPT = (_HERE / "static" / "stripe_checkout.js").read_text()
PageStatus = Literal["open", "succeeded", "declined"]
# A declined PaymentIntent can still be paid with another card: its page stays open for that.
_STATUS: dict[str, PageStatus] = {"pending": "open", "paid": "succeeded", "credited": "succeeded", "failed": "open"}


class CheckoutNotFound(NotFound):
    problem = problems.CHECKOUT_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("There is no such checkout session.")


class CheckoutView(BaseModel):
    """The same shape as the test provider's checkout session, so the gateway's confirmation page
    works with either provider."""

    session_id: str
    purchase_id: str
    tenant_id: str
    status: PageStatus
    quantity: int
    total: str
    currency: str
    description: str

    @classmethod
    def of(cls, row: asyncpg.Record) -> CheckoutView:
        status = _STATUS[row["status"]]
        return cls(
            session_id=row["token"], purchase_id=str(row["purchase_id"]), tenant_id=str(row["tenant_id"]),
            status=status, quantity=row["quantity"], total=format_money(row["total_cents"]),
            currency=row["currency"], description=checkout_description(row["quantity"]),
        )


class PageOut(BaseModel):
    status: str
    confirmation_url: str
    html: str | None
    origins: list[str]  # what the page's Content-Security-Policy must allow besides 'self'


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class StripePage:
    def __init__(self, settings: BillingSettings, api: StripeApi) -> None:
        self._settings = settings
        self._api = api
        api_base = settings.stripe_api_base or "https://api.stripe.com"
        self.origins = sorted({_origin(settings.stripe_js_url), _origin(api_base), "https://hooks.stripe.com"})

    async def checkout(self, pool: asyncpg.Pool, token: str) -> asyncpg.Record:
        async with pool.acquire() as conn:
            row = await store.checkout(conn, token)
        if row is None:
            raise CheckoutNotFound()
        return row

    async def page(self, pool: asyncpg.Pool, token: str) -> PageOut:
        row = await self.checkout(pool, token)
        view = CheckoutView.of(row)
        confirmation = f"/purchases/{view.purchase_id}/confirmation?session={token}"
        if view.status != "open":
            return PageOut(status=view.status, confirmation_url=confirmation, html=None, origins=self.origins)
        client_secret = await self._api.client_secret(row["payment_intent_id"])
        html = _TEMPLATES.get_template("stripe_checkout.html").render(
            description=view.description, currency=view.currency, total=view.total,
            publishable_key=self._settings.stripe_publishable_key, client_secret=client_secret,
            return_url=confirmation, stripe_js_url=self._settings.stripe_js_url,
        )
        return PageOut(status=view.status, confirmation_url=confirmation, html=html, origins=self.origins)
