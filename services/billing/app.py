"""Builds the billing service: settings in, an aiohttp application out; nothing connects before start.

Only this module sees every feature: it mounts their routes, starts their consumers and jobs, and
chooses the payment provider the deployment runs.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common.contracts import queues
from common.runtime import (
    broker_ctx,
    consumer_ctx,
    database_ctx,
    periodic,
    readiness_checks,
    relay_ctx,
)
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.billing import sweeper
from services.billing.emails.sender import sender_ctx
from services.billing.invoices import routes as invoices
from services.billing.payments import routes as payments
from services.billing.payments.provider import PaymentProvider
from services.billing.payments.stripe import routes as stripe_page
from services.billing.payments.stripe.provider import StripePaymentProvider
from services.billing.price_lists import routes as price_lists
from services.billing.profiles import routes as profiles
from services.billing.profiles.consumers import directory_handler
from services.billing.purchases import routes as purchases
from services.billing.purchases.consumers import ledger_events_handler
from services.billing.refunds import routes as refunds
from services.billing.refunds.consumers import refund_outcomes_handler
from services.billing.resources import PROVIDER, SETTINGS
from services.billing.settings import BillingSettings
from services.billing.topups import routes as topups
from services.billing.topups import watches

MIGRATIONS = Path(__file__).parent / "migrations"


def payment_provider(settings: BillingSettings) -> tuple[PaymentProvider, list[web.RouteDef]]:
    """The deployment's payment provider and the endpoints of its payment page."""
    if settings.payment_provider == "test":
        # The test processor is a fake, outside production code: loaded only when it is chosen.
        from fakes.payments import routes as checkout_routes
        from fakes.payments.provider import TestPaymentProvider

        test = TestPaymentProvider(settings)
        return test, checkout_routes.checkout_routes(test.checkout)
    stripe = StripePaymentProvider(settings)
    return stripe, stripe_page.page_routes(stripe.page)


def provider_migrations(settings: BillingSettings) -> list[tuple[str, Path]]:
    """The tables the provider keeps beside billing's own: only the test processor has any."""
    if settings.payment_provider != "test":
        return []
    from fakes import payments as test_processor

    return [("fakes/payments", test_processor.MIGRATIONS)]


def create_app(settings: BillingSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware("billing"),
            internal_auth_middleware(
                settings.internal_token_secret, audience="billing", public_prefixes=("/webhooks/",)
            ),
        ]
    )
    provider, provider_routes = payment_provider(settings)
    app[SETTINGS] = settings
    app[PROVIDER] = provider
    app.add_routes(price_lists.routes)
    app.add_routes(purchases.routes)
    app.add_routes(invoices.routes)
    app.add_routes(payments.webhook_routes(provider.name))
    app.add_routes(profiles.routes)
    app.add_routes(refunds.routes)
    app.add_routes(topups.routes)
    app.add_routes(provider_routes)
    app.add_routes(health_routes(readiness_checks(app)))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size, provider_migrations(settings)),
            broker_ctx(settings.broker_url, settings.exchange),
            relay_ctx(settings.database_url),
            *provider.contexts(),
            consumer_ctx(queues.BILLING_LEDGER_EVENTS, ledger_events_handler),
            consumer_ctx(queues.BILLING_REFUND_OUTCOMES, refund_outcomes_handler),
            consumer_ctx(queues.BILLING_DIRECTORY, directory_handler),
            sender_ctx(settings),
            periodic("billing-sweeper", sweeper.sweep_interval, sweeper.sweep_once, first_wait=True),
            # Once after an upgrade there is something to announce; later rounds find nothing (one query).
            periodic("top-up-watches", 300, watches.announce_unannounced),
        ]
    )
    return app
