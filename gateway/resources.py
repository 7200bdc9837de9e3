"""What the gateway holds while it runs, under typed keys: its settings, its limits and one typed client
per service, all built once by `create_app` (the clients when the app starts, on one shared session)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from common.runtime import CleanupCtx
from gateway.callers.cache import CallerCache
from gateway.callers.owners import OwnerCache
from gateway.clients import (
    BillingClient,
    LedgerClient,
    MessagingClient,
    ReportingClient,
    ServiceClient,
    WebhooksClient,
)
from gateway.settings import GatewaySettings
from gateway.web.ratelimit import Limits

SETTINGS = web.AppKey("settings", GatewaySettings)
# Whether /dev/mail exists (DEV_MAIL_DIR, `make run` only): the app then points operators to it.
DEV_MAIL = web.AppKey("dev_mail", bool)
LIMITS = web.AppKey("limits", Limits)
LEDGER = web.AppKey("ledger", LedgerClient)
BILLING = web.AppKey("billing", BillingClient)
REPORTING = web.AppKey("reporting", ReportingClient)
MESSAGING = web.AppKey("messaging", MessagingClient)
WEBHOOKS = web.AppKey("webhooks", WebhooksClient)
# The callers this process verified lately, and the owners of accounts it looked up (gateway.callers), built
# with their bus subscription.
CALLER_CACHE = web.AppKey("caller_cache", CallerCache)
OWNER_CACHE = web.AppKey("owner_cache", OwnerCache)


def service_clients_ctx(settings: GatewaySettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        # One session for every call: its connection pool keeps connections to the services alive
        # between requests instead of paying a TCP handshake each time.
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30))

        def transport(name: str, url: str) -> ServiceClient:
            return ServiceClient(name, url, settings.internal_token_secret, session, settings.service_timeout)

        app[LEDGER] = LedgerClient(transport("ledger", settings.ledger_url))
        app[BILLING] = BillingClient(transport("billing", settings.billing_url))
        app[REPORTING] = ReportingClient(transport("reporting", settings.reporting_url))
        app[MESSAGING] = MessagingClient(transport("messaging", settings.messaging_url))
        app[WEBHOOKS] = WebhooksClient(transport("webhooks", settings.webhooks_url))
        yield
        await session.close()

    return ctx
