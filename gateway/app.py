"""Builds the gateway: the public API, the pages, and the resources it holds."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common.runtime import broker_ctx, database_ctx, readiness_checks, relay_ctx
from common.web import ReadinessCheck, health_routes, observability_middleware
from gateway import pages, ui
from gateway.clients import ServiceClient
from gateway.middleware import (
    authentication_middleware,
    security_headers_middleware,
    time_limit_middleware,
    write_limit_middleware,
)
from gateway.ratelimit import Limits
from gateway.resources import BILLING, LEDGER, LIMITS, MESSAGING, REPORTING, SETTINGS, service_clients_ctx
from gateway.routes import api
from gateway.settings import GatewaySettings

SERVICE = "gateway"
MIGRATIONS = Path(__file__).parent / "migrations"
MAX_BODY_BYTES = 64 * 1024


def create_app(settings: GatewaySettings) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[
            security_headers_middleware,
            observability_middleware(SERVICE),
            time_limit_middleware,
            authentication_middleware(api),
            write_limit_middleware(),
        ],
    )
    app[SETTINGS] = settings
    app[LIMITS] = Limits(settings.sign_in_limit_per_ip, settings.sign_in_limit_per_email,
                         settings.write_limit_per_user, settings.lockout_failures, settings.lockout_seconds)
    app.add_routes(api.routes())
    app.add_routes(pages.routes)
    app.add_routes(pages.docs_routes(api))
    app.add_routes(ui.routes)
    checks = readiness_checks(app)
    for name, key in (("ledger", LEDGER), ("billing", BILLING), ("reporting", REPORTING), ("messaging", MESSAGING)):
        checks[name] = _service_ready(app, key)
    app.add_routes(health_routes(checks))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            relay_ctx(settings.database_url),
            service_clients_ctx(settings),
        ]
    )
    return app


def _service_ready(app: web.Application, key: web.AppKey[ServiceClient]) -> ReadinessCheck:
    async def check() -> None:
        await app[key].ready()

    return check

