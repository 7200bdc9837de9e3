"""Server-rendered pages: the test provider's hosted checkout, the purchase confirmation, API docs.

The checkout session id is the capability here, as on a real hosted checkout page: it is unguessable
and known only to the person who started the purchase, so these pages need no signed-in user.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jinja2
import swagger_ui_bundle
from aiohttp import web

from common.identity import Identity
from common.problems import MalformedRequest, NotFound
from common.runtime import DB
from common.web import validate
from gateway import usecases
from gateway.api import Api
from gateway.clients import UpstreamProblem
from gateway.resources import BILLING, LEDGER
from gateway.schemas import CardPayment
from gateway.usecases import purchase_identity

HERE = Path(__file__).parent
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
CHECKOUT = Identity(role="service")
routes = web.RouteTableDef()


def render(template: str, status: int = 200, **context: Any) -> web.Response:
    html = _templates.get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html")


async def _session(request: web.Request, session_id: str | None = None) -> dict[str, Any]:
    session_id = session_id or request.match_info["session"]
    if not session_id.replace("_", "").isalnum() or len(session_id) > 100:
        raise NotFound("No such checkout session.")
    session: dict[str, Any] = await request.app[BILLING].call(
        "GET", f"/checkout-sessions/{session_id}", CHECKOUT
    )
    return session


@routes.get("/checkout/{session}")
async def checkout_page(request: web.Request) -> web.Response:
    session = await _session(request)
    if session["status"] != "open":
        raise web.HTTPSeeOther(_confirmation_url(session))
    return render("checkout.html", session=session, errors={}, form={}, message=None)


@routes.post("/checkout/{session}")
async def pay(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    wants_json = request.content_type == "application/json"
    form = await _payment_form(request, wants_json)
    try:
        card = validate(CardPayment, form)
        await request.app[BILLING].call(
            "POST", f"/checkout-sessions/{session['session_id']}/pay", CHECKOUT,
            body=card.model_dump(),
        )
    except (MalformedRequest, UpstreamProblem) as problem:
        if wants_json or (problem.status != 422 and not isinstance(problem, MalformedRequest)):
            raise
        errors = {e.get("field", ""): e.get("message", "") for e in problem.errors or []}
        safe_form = {"name": form.get("name", ""), "exp_month": form.get("exp_month", ""),
                     "exp_year": form.get("exp_year", "")}
        return render("checkout.html", status=422, session=session, errors=errors, form=safe_form,
                      message=problem.detail)
    if not wants_json:
        raise web.HTTPSeeOther(_confirmation_url(session))
    purchase = await request.app[BILLING].call(
        "GET", f"/purchases/{session['purchase_id']}", purchase_identity(uuid.UUID(session["tenant_id"]))
    )
    return web.json_response(purchase)


async def _payment_form(request: web.Request, wants_json: bool) -> dict[str, Any]:
    if wants_json:
        try:
            body = await request.json()
        except ValueError as exc:
            raise MalformedRequest("The body is not valid JSON.") from exc
        except RecursionError:
            raise MalformedRequest("The body is nested too deeply.") from None
        if not isinstance(body, dict):
            raise MalformedRequest("The body must be a JSON object.")
        return body
    return dict(await request.post())


def _confirmation_url(session: dict[str, Any]) -> str:
    return f"/purchases/{session['purchase_id']}/confirmation?session={session['session_id']}"


@routes.get("/purchases/{id}/confirmation")
async def confirmation_page(request: web.Request) -> web.Response:
    session = await _session_of_query(request)
    identity = purchase_identity(uuid.UUID(session["tenant_id"]))
    purchase = await request.app[BILLING].call("GET", f"/purchases/{session['purchase_id']}", identity)
    tenant_id = uuid.UUID(session["tenant_id"])
    balance = None
    if purchase["status"] == "credited":
        ref = await usecases.account_by_id(request.app[DB], tenant_id, uuid.UUID(purchase["account_id"]))
        [account] = await request.app[LEDGER].call("GET", "/accounts", identity, query=[("code", ref.code)])
        balance = account["available"]
    tenant = await usecases.tenant_by_id(request.app[DB], tenant_id)
    return render("confirmation.html", purchase=purchase, session=session, balance=balance,
                  credit_mode=tenant.credit_mode if tenant else "shared")


@routes.get("/checkout/{session}/invoice.pdf")
async def checkout_invoice(request: web.Request) -> web.Response:
    session = await _session(request)
    identity = purchase_identity(uuid.UUID(session["tenant_id"]))
    _, pdf, _ = await request.app[BILLING].raw("GET", f"/purchases/{session['purchase_id']}/invoice.pdf", identity)
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": 'attachment; filename="tax-invoice.pdf"'})


async def _session_of_query(request: web.Request) -> dict[str, Any]:
    session_id = request.query.get("session", "")
    if not session_id:
        raise NotFound("No such purchase.")
    session = await _session(request, session_id)
    if session["purchase_id"] != request.match_info["id"]:
        raise NotFound("No such purchase.")
    return session


def docs_routes(api: Api) -> list[web.AbstractRouteDef]:
    document = json.dumps(api.document("SMS Credits API", "1.0.0"))

    async def openapi(_: web.Request) -> web.Response:
        return web.Response(text=document, content_type="application/json")

    async def docs(_: web.Request) -> web.Response:
        return render("docs.html")

    return [
        web.get("/api/openapi.json", openapi),
        web.get("/api/docs", docs),
        web.static("/api/docs/assets", swagger_ui_bundle.swagger_ui_path),
        web.static("/static", HERE / "static"),
    ]

