"""Operators' pages: the credit mode requests waiting for a decision, and promotional grants. Like the
app's shell, a page holds no data: its script reads the public API with the operator's bearer token
(gateway/static/app)."""

from __future__ import annotations

from aiohttp import web

from gateway.web.pages import render
from gateway.web.ui import assets_version

CREDIT_MODE_REQUESTS = "/admin/credit-mode-requests"
PROMOTIONAL_CREDITS = "/admin/promotional-credits"

routes = web.RouteTableDef()


@routes.get(CREDIT_MODE_REQUESTS)
async def credit_mode_requests(_: web.Request) -> web.Response:
    return _page("admin_requests.html")


@routes.get(PROMOTIONAL_CREDITS)
async def promotional_credits(_: web.Request) -> web.Response:
    return _page("admin_grants.html")


def _page(template: str) -> web.Response:
    response = render(template, assets=f"/app-assets/{assets_version()}")
    response.headers["Cache-Control"] = "no-cache"  # names the current assets, as the app's shell does
    return response
