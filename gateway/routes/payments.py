"""Stripe's way in through the gateway, the only public entry point: its webhooks, forwarded to
billing byte for byte (billing verifies the signature), and the Stripe payment page, which billing
renders and the gateway serves with a Content-Security-Policy that lets Stripe.js run.

These are not `/api/v1` routes: they are registered with the pages (`gateway.pages.routes`), the
other addresses a browser or a processor reaches directly.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from common.logs import current_request_id
from common.problems import DependencyUnavailable, NotFound
from common.web import REQUEST_ID_HEADER
from gateway.clients import ServiceClient
from gateway.middleware import CONTENT_SECURITY_POLICY
from gateway.pages import CHECKOUT, routes
from gateway.resources import BILLING

_FORWARDED_HEADERS = ("Stripe-Signature", "Content-Type")


async def _forward_bytes(client: ServiceClient, path: str, body: bytes, headers: dict[str, str]) -> web.Response:
    """POST exact bytes to a service and answer what it answered (a 5xx or no answer is a 503).

    ServiceClient speaks JSON; a webhook's signature covers its exact bytes, so they go as bytes, on
    the client's own connection pool."""
    request_id = current_request_id()
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    try:
        async with client._session.post(
            client._base.join(URL(path)), data=body, headers=headers, timeout=client._timeout
        ) as response:
            payload = await response.read()
            if response.status < 500:
                return web.Response(body=payload, status=response.status, content_type=response.content_type)
    except (aiohttp.ClientError, TimeoutError):
        pass
    raise DependencyUnavailable("The billing service is unavailable; the webhook will be retried.")


@routes.post("/webhooks/stripe")
async def stripe_webhook(request: web.Request) -> web.Response:
    """Public: Stripe's signature, checked by billing over the exact body, is the authentication."""
    body = await request.read()
    headers = {name: request.headers[name] for name in _FORWARDED_HEADERS if name in request.headers}
    return await _forward_bytes(request.app[BILLING], "/webhooks/stripe", body, headers)


def _policy(origins: list[str]) -> str:
    """The gateway's policy, opened only as far as Stripe.js needs: its script, its card frames and
    the API it confirms the payment with."""
    allowed = " ".join(origins)
    return (
        CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {allowed}")
        .replace("connect-src 'self'", f"connect-src 'self' {allowed}")
        + f"; frame-src {allowed}"
    )


@routes.get("/stripe-checkout/{session}")
async def stripe_checkout_page(request: web.Request) -> web.Response:
    token = request.match_info["session"]
    if not token.replace("_", "").isalnum() or len(token) > 100:
        raise NotFound("No such checkout session.")
    page: dict[str, Any] = await request.app[BILLING].call("GET", f"/stripe/pages/{token}", CHECKOUT)
    if page["html"] is None:
        raise web.HTTPSeeOther(page["confirmation_url"])
    response = web.Response(text=page["html"], content_type="text/html")
    response.headers["Content-Security-Policy"] = _policy(page["origins"])
    response.headers["Cache-Control"] = "no-store"  # the page carries the payment's client secret
    return response


@routes.get("/stripe-checkout.js")
async def stripe_checkout_script(request: web.Request) -> web.Response:
    _, script, _ = await request.app[BILLING].raw("GET", "/stripe/checkout.js", CHECKOUT)
    response = web.Response(body=script, content_type="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
