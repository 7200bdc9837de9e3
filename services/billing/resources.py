"""What billing's handlers, consumers and jobs share, under typed AppKeys set once in `create_app`:
the settings and the payment provider (the database pool is `common.runtime.DB`)."""

from __future__ import annotations

from aiohttp import web

from services.billing.payments.provider import PaymentProvider
from services.billing.purchases.domain import Seller
from services.billing.settings import BillingSettings

SETTINGS = web.AppKey("settings", BillingSettings)
PROVIDER = web.AppKey("payment_provider", PaymentProvider)


def seller_of(settings: BillingSettings) -> Seller:
    """Who issues the invoices: the platform, under its ABN, for every tenant."""
    return Seller(settings.seller_name, settings.seller_abn, settings.seller_address)
