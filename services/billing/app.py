"""Builds the billing service: settings in, an aiohttp application out; nothing connects before start."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common.runtime import (
    background_ctx,
    broker_ctx,
    consumer_ctx,
    database_ctx,
    readiness_checks,
    relay_ctx,
)
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.billing import sweeper
from services.billing.account_routes import account_routes
from services.billing.consumers import (
    DIRECTORY_QUEUE,
    LEDGER_EVENTS_QUEUE,
    REFUND_OUTCOMES_QUEUE,
    directory_handler,
    ledger_events_handler,
    refund_outcomes_handler,
)
from services.billing.emails import EmailSender
from services.billing.providers import PaymentProvider
from services.billing.providers.stripe_provider import StripePaymentProvider
from services.billing.providers.test import TestPaymentProvider
from services.billing.refund_routes import refund_routes
from services.billing.routes import PROVIDER, SETTINGS, billing_routes
from services.billing.settings import BillingSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def payment_provider(settings: BillingSettings) -> PaymentProvider:
    providers: dict[str, type[TestPaymentProvider] | type[StripePaymentProvider]] = {
        "test": TestPaymentProvider,
        "stripe": StripePaymentProvider,
    }
    return providers[settings.payment_provider](settings)


def create_app(settings: BillingSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware("billing"),
            internal_auth_middleware(
                settings.internal_token_secret, audience="billing", public_prefixes=("/webhooks/",)
            ),
        ]
    )
    provider = payment_provider(settings)
    app[SETTINGS] = settings
    app[PROVIDER] = provider
    app.add_routes(billing_routes(provider.name))
    app.add_routes(refund_routes)
    app.add_routes(account_routes)
    app.add_routes(provider.routes())
    app.add_routes(health_routes(readiness_checks(app)))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            relay_ctx(settings.database_url),
            *provider.contexts(),
            consumer_ctx(LEDGER_EVENTS_QUEUE, ledger_events_handler),
            consumer_ctx(REFUND_OUTCOMES_QUEUE, refund_outcomes_handler),
            consumer_ctx(DIRECTORY_QUEUE, directory_handler),
            background_ctx("email-sender", EmailSender(settings).run),
            background_ctx("billing-sweeper", sweeper.sweep_forever),
        ]
    )
    return app
