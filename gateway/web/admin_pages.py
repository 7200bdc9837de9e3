"""Operators' pages: the credit mode requests waiting for a decision. Like the app's shell, a page
holds no data: its script reads the public API with the operator's bearer token (gateway/static/app)."""

from __future__ import annotations

from aiohttp import web

from gateway.web.pages import render
from gateway.web.ui import assets_version

CREDIT_MODE_REQUESTS = "/admin/credit-mode-requests"

routes = web.RouteTableDef()


@routes.get(CREDIT_MODE_REQUESTS)
async def credit_mode_requests(_: web.Request) -> web.Response:
    response = render("admin_requests.html", assets=f"/app-assets/{assets_version()}")
    response.headers["Cache-Control"] = "no-cache"  # names the current assets, as the app's shell does
    return response
