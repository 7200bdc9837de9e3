"""Builds the ledger service: it composes the features' routes, consumers and periodic jobs with the
middlewares and the resources the ledger holds."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common.contracts import queues
from common.runtime import broker_ctx, consumer_ctx, database_ctx, periodic, readiness_checks, relay_ctx
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.ledger.accounts import routes as accounts_routes
from services.ledger.alerts import routes as alerts_routes
from services.ledger.directory.consumers import directory_handler
from services.ledger.events import routes as events_routes
from services.ledger.holds import routes as holds_routes
from services.ledger.holds.jobs import sweep_expired_holds
from services.ledger.invariants.jobs import check_invariants
from services.ledger.limits import routes as limits_routes
from services.ledger.lots import routes as lots_routes
from services.ledger.lots.jobs import expire_lapsed_lots
from services.ledger.postings import routes as journal_routes
from services.ledger.purchases.consumers import purchase_paid_handler
from services.ledger.refunds.consumers import refunds_handler
from services.ledger.resources import SETTINGS, group_commit_ctx
from services.ledger.settings import LedgerSettings
from services.ledger.spending.consumers import spending_handler
from services.ledger.top_ups.consumers import watches_handler
from services.ledger.transfers import routes as transfers_routes

SERVICE = "ledger"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: LedgerSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware(SERVICE),
            internal_auth_middleware(settings.internal_token_secret, audience=SERVICE),
        ]
    )
    app[SETTINGS] = settings
    for feature in (accounts_routes, transfers_routes, holds_routes, lots_routes, journal_routes, events_routes):
        app.add_routes(feature.routes)
    app.add_routes(limits_routes.routes)
    app.add_routes(alerts_routes.routes)
    app.add_routes(health_routes(readiness_checks(app)))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            relay_ctx(settings.database_url),
            *([group_commit_ctx(settings.group_commit_max, settings.group_commit_writers)]
              if settings.group_commit else []),
            consumer_ctx(queues.LEDGER_PURCHASES, purchase_paid_handler),
            consumer_ctx(queues.LEDGER_DIRECTORY, directory_handler),
            consumer_ctx(queues.LEDGER_REFUNDS, refunds_handler),
            consumer_ctx(queues.LEDGER_SPENDING, spending_handler),
            consumer_ctx(queues.LEDGER_TOP_UP_WATCHES, watches_handler),
            periodic("hold-sweeper", settings.hold_sweep_seconds, sweep_expired_holds),
            periodic("lot-expiry", settings.lot_expiry_seconds, expire_lapsed_lots),
            periodic("invariant-check", settings.invariant_check_seconds, check_invariants),
        ]
    )
    return app
