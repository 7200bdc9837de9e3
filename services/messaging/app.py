"""Builds the messaging service: its features' routes, consumer and job, middlewares and resources;
nothing else."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common.contracts import queues
from common.runtime import broker_ctx, consumer_ctx, database_ctx, periodic, readiness_checks, relay_ctx
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.messaging.messages.routes import routes as message_routes
from services.messaging.pricing.routes import routes as pricing_routes
from services.messaging.resources import SETTINGS, carrier_ctx
from services.messaging.sending import jobs
from services.messaging.sending.consumers import outgoing_handler
from services.messaging.settings import MessagingSettings

SERVICE = "messaging"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: MessagingSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware(SERVICE),
            internal_auth_middleware(settings.internal_token_secret, audience=SERVICE),
        ]
    )
    app[SETTINGS] = settings
    app.add_routes(message_routes)
    app.add_routes(pricing_routes)
    # Ready without the carrier: messages are accepted and wait in the queue until it is back.
    app.add_routes(health_routes(readiness_checks(app)))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            relay_ctx(settings.database_url),
            carrier_ctx(settings),
            consumer_ctx(queues.MESSAGING_OUTGOING, outgoing_handler),
            periodic("expiry-sweeper", jobs.sweep_interval, jobs.expire_overdue),
            periodic("receipt-sweeper", jobs.receipt_sweep_interval, jobs.expire_unreceipted),
        ]
    )
    return app
