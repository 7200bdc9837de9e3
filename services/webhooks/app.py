"""Builds the webhooks service: endpoints (a tenant's outside systems subscribed to its public events), the
consumer that turns each event into deliveries, the worker that sends them, and the email sender."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common import mail
from common.runtime import broker_ctx, database_ctx, periodic, readiness_checks
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.webhooks.deliveries import emails, jobs
from services.webhooks.deliveries.consumers import events_ctx
from services.webhooks.deliveries.routes import routes as delivery_routes
from services.webhooks.endpoints.routes import routes as endpoint_routes
from services.webhooks.resources import SETTINGS
from services.webhooks.settings import WebhooksSettings

SERVICE = "webhooks"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: WebhooksSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware(SERVICE),
            internal_auth_middleware(settings.internal_token_secret, audience=SERVICE),
        ]
    )
    app[SETTINGS] = settings
    app.add_routes(endpoint_routes)
    app.add_routes(delivery_routes)
    app.add_routes(health_routes(readiness_checks(app)))
    # No outbox relay: this service publishes no events. The worker is a periodic job beside the server,
    # never a request handler; two processes may run it at once (deliveries are claimed SKIP LOCKED).
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            events_ctx(),
            periodic("webhook-deliveries", jobs.poll_interval, jobs.deliver_due),
            mail.sender_ctx(settings, emails.compose),
        ]
    )
    return app


