"""What the gateway holds while it runs, under typed keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from common.runtime import CleanupCtx
from gateway.clients import ServiceClient
from gateway.ratelimit import Limits
from gateway.settings import GatewaySettings

SETTINGS = web.AppKey("settings", GatewaySettings)
LIMITS = web.AppKey("limits", Limits)
LEDGER = web.AppKey("ledger", ServiceClient)
BILLING = web.AppKey("billing", ServiceClient)
REPORTING = web.AppKey("reporting", ServiceClient)
MESSAGING = web.AppKey("messaging", ServiceClient)


def service_clients_ctx(settings: GatewaySettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        # One session for every call: its connection pool keeps connections to the services alive
        # between requests instead of paying a TCP handshake each time.
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30))
        secret, timeout = settings.internal_token_secret, settings.service_timeout
        app[LEDGER] = ServiceClient("ledger", settings.ledger_url, secret, session, timeout)
        app[BILLING] = ServiceClient("billing", settings.billing_url, secret, session, timeout)
        app[REPORTING] = ServiceClient("reporting", settings.reporting_url, secret, session, timeout)
        app[MESSAGING] = ServiceClient("messaging", settings.messaging_url, secret, session, timeout)
        yield
        await session.close()

    return ctx
