"""Builds the gateway: the public API, the pages, and the resources it holds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from common.contracts import queues
from common.runtime import DB, CleanupCtx, broker_ctx, consumer_ctx, database_ctx, periodic, readiness_checks, relay_ctx
from common.web import ReadinessCheck, health_routes, observability_middleware
from gateway.alerts import consumers as alerts
from gateway.alerts import emails
from gateway.callers.feed import caller_cache_ctx
from gateway.clients import TypedClient
from gateway.live import feed as live
from gateway.resources import (
    BILLING,
    DEV_MAIL,
    LEDGER,
    LIMITS,
    MESSAGING,
    REPORTING,
    SETTINGS,
    WEBHOOKS,
    service_clients_ctx,
)
from gateway.routes import api
from gateway.settings import GatewaySettings
from gateway.usecases import auth
from gateway.web import admin_pages, caching, event_docs, idempotency, pages, problem_pages, ratelimit_store, ui
from gateway.web.dev_mail import routes as dev_mail_routes
from gateway.web.middleware import (
    api_answer_headers,
    authentication_middleware,
    cors_preflight_middleware,
    own_changes_middleware,
    security_headers_middleware,
    time_limit_middleware,
    write_limit_middleware,
)
from gateway.web.ratelimit import Limits

SERVICE = "gateway"
MIGRATIONS = Path(__file__).parent / "migrations"
MAX_BODY_BYTES = 64 * 1024
SESSION_PURGE_SECONDS = 3600.0


def create_app(settings: GatewaySettings) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[
            cors_preflight_middleware(settings.cors_origins),
            security_headers_middleware,
            problem_pages.absolute_problem_types(settings.public_base_url),
            observability_middleware(SERVICE),
            time_limit_middleware,
            own_changes_middleware,
            authentication_middleware(api),
            write_limit_middleware(),
        ],
    )
    app[SETTINGS] = settings
    app.on_response_prepare.append(api_answer_headers(settings.cors_origins))
    app.on_response_prepare.append(caching.gzip_when_accepted)
    app.on_shutdown.append(live.end_streams)  # before the server waits for open requests to finish
    app.add_routes(api.routes())
    app.add_routes(pages.routes)
    app.add_routes(pages.docs_routes(api))
    app.add_routes(event_docs.routes(settings))
    app.add_routes(ui.routes)
    app.add_routes(problem_pages.routes)
    app.add_routes(admin_pages.routes)
    caught_mail = dev_mail_routes()  # the caught emails, only when DEV_MAIL_DIR is set (`make run`)
    app.add_routes(caught_mail)
    app[DEV_MAIL] = bool(caught_mail)
    checks = readiness_checks(app)
    checks["ledger"] = _service_ready(lambda: app[LEDGER])
    checks["billing"] = _service_ready(lambda: app[BILLING])
    checks["reporting"] = _service_ready(lambda: app[REPORTING])
    checks["messaging"] = _service_ready(lambda: app[MESSAGING])
    checks["webhooks"] = _service_ready(lambda: app[WEBHOOKS])
    app.add_routes(health_routes(checks))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            _limits_ctx(settings),  # they count in the database: shared by every replica
            broker_ctx(settings.broker_url, settings.exchange),
            live.live_ctx(settings.live_buffer_size, settings.live_max_streams),
            caller_cache_ctx(settings.caller_cache_seconds, settings.caller_cache_size),
            relay_ctx(settings.database_url),
            service_clients_ctx(settings),
            emails.sender_ctx(settings),  # the alerts' and the directory's emails
            consumer_ctx(queues.GATEWAY_ALERTS, alerts.alerts_handler),
            periodic("session-purge", SESSION_PURGE_SECONDS, lambda app: auth.purge_ended_sessions(app[DB])),
            periodic("idempotency-purge", idempotency.PURGE_SECONDS, idempotency.purge),
            periodic("rate-limit-sweep", ratelimit_store.SWEEP_SECONDS, ratelimit_store.sweep, first_wait=True),
        ]
    )
    return app


def _limits_ctx(settings: GatewaySettings) -> CleanupCtx:
    """The rate limits, on the database pool (so after `database_ctx`)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[LIMITS] = Limits.from_settings(settings, app[DB])
        yield

    return ctx


def _service_ready(client: Callable[[], TypedClient]) -> ReadinessCheck:
    """Ready when the service answers its own readiness (its client exists once the app has started)."""

    async def check() -> None:
        await client().ready()

    return check

