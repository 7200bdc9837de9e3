"""Stripe's API as the provider and its payment page call it: one client, open while the app runs.

Keys and secrets live in settings as SecretStr and are never logged; errors are logged by type and
code only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import aiohttp
import stripe
from aiohttp import web

from common.logs import get_logger
from services.billing.payments.provider import ProviderUnavailable
from services.billing.settings import BillingSettings

log = get_logger(__name__)

# Worth trying again later; anything else Stripe answers is a refusal.
_TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError, stripe.AuthenticationError)
T = TypeVar("T")


async def unless_unavailable(call: Awaitable[T], what: str) -> T:
    """Stripe's answer; a failure worth trying again later becomes ProviderUnavailable."""
    try:
        return await call
    except _TRANSIENT as exc:
        log.warning("stripe_unavailable", call=what, error=type(exc).__name__, code=exc.code)
        raise ProviderUnavailable("The payment provider is unavailable; please try again shortly.") from exc


class StripeApi:
    def __init__(self, settings: BillingSettings) -> None:
        self._settings = settings
        self._client: stripe.StripeClient | None = None

    @property
    def client(self) -> stripe.StripeClient:
        assert self._client is not None, "the provider's Stripe client context is not running"
        return self._client

    async def client_secret(self, payment_intent_id: str) -> str:
        """What Stripe.js needs to confirm the PaymentIntent in the buyer's browser."""
        intent = await unless_unavailable(
            self.client.v1.payment_intents.retrieve_async(payment_intent_id), "retrieve_payment_intent"
        )
        return str(intent.client_secret)

    async def context(self, _: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        base = {"api": self._settings.stripe_api_base} if self._settings.stripe_api_base else None
        assert self._settings.stripe_secret_key is not None
        self._client = stripe.StripeClient(
            self._settings.stripe_secret_key.get_secret_value(),
            http_client=stripe.AIOHTTPClient(session=session),
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=1,
        )
        try:
            yield
        finally:
            self._client = None
            await session.close()
