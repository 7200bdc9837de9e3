"""Stripe's way in through the gateway, the only public entry point: its webhooks, forwarded to
billing byte for byte (billing verifies the signature), and the Stripe payment page, which billing
renders and the gateway serves with a Content-Security-Policy that lets Stripe.js run.

These are not `/api/v1` routes: they are registered with the pages (`gateway.web.pages.routes`), the
other addresses a browser or a processor reaches directly.
"""

from __future__ import annotations

from aiohttp import web

from gateway.resources import BILLING
from gateway.usecases import checkout
from gateway.web.middleware import CONTENT_SECURITY_POLICY
from gateway.web.pages import routes

_FORWARDED_HEADERS = ("Stripe-Signature", "Content-Type")


@routes.post("/webhooks/stripe")
async def stripe_webhook(request: web.Request) -> web.Response:
    """Public: Stripe's signature, checked by billing over the exact body, is the authentication. A 5xx
    or no answer from billing is a 503 (Stripe retries); anything else is billing's answer, as it is."""
    body = await request.read()
    headers = {name: request.headers[name] for name in _FORWARDED_HEADERS if name in request.headers}
    answer = await checkout.relay_stripe_webhook(request.app[BILLING], body, headers)
    return web.Response(body=answer.body, status=answer.status, content_type=answer.content_type)


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
    page = await checkout.stripe_page(request.app[BILLING], request.match_info["session"])
    if page.html is None:
        raise web.HTTPSeeOther(page.confirmation_url)
    response = web.Response(text=page.html, content_type="text/html")
    response.headers["Content-Security-Policy"] = _policy(page.origins)
    response.headers["Cache-Control"] = "no-store"  # the page carries the payment's client secret
    return response


@routes.get("/stripe-checkout.js")
async def stripe_checkout_script(request: web.Request) -> web.Response:
    script = await checkout.stripe_script(request.app[BILLING])
    response = web.Response(body=script, content_type="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
