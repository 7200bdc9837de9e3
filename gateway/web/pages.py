"""Server-rendered pages: the test provider's hosted checkout, the purchase confirmation, setting a
password from an emailed link, API docs.

The checkout session id is the capability here, as on a real hosted checkout page: it is unguessable
and known only to the person who started the purchase, so these pages need no signed-in user.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import swagger_ui_bundle
from aiohttp import web

from common.problems import MalformedRequest
from common.runtime import DB
from common.web import validate
from gateway.clients import UpstreamProblem
from gateway.clients.billing import CheckoutSession
from gateway.directory.onboarding import MIN_PASSWORD_LENGTH, PasswordLinkInvalid
from gateway.resources import BILLING, LEDGER
from gateway.schemas.credits import CardPayment
from gateway.usecases import checkout, onboarding
from gateway.web.api import Api

HERE = Path(__file__).parent.parent
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
routes = web.RouteTableDef()


def render(template: str, status: int = 200, **context: Any) -> web.Response:
    html = _templates.get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html")


async def _session(request: web.Request) -> CheckoutSession:
    return await checkout.session(request.app[BILLING], request.match_info["session"])


@routes.get("/checkout/{session}")
async def checkout_page(request: web.Request) -> web.Response:
    session = await _session(request)
    if session.status != "open":
        raise web.HTTPSeeOther(_confirmation_url(session))
    return render("checkout.html", session=session, errors={}, form={}, message=None)


@routes.post("/checkout/{session}")
async def pay(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    wants_json = request.content_type == "application/json"
    form = await _payment_form(request, wants_json)
    try:
        card = validate(CardPayment, form)
        await checkout.pay(request.app[BILLING], session, card)
    except (MalformedRequest, UpstreamProblem) as problem:
        # The form shows what the card was refused for; any other refusal is answered as it is.
        if wants_json or (isinstance(problem, UpstreamProblem) and problem.status != 422):
            raise
        errors = {e.get("field", ""): e.get("message", "") for e in problem.errors or []}
        safe_form = {"name": form.get("name", ""), "exp_month": form.get("exp_month", ""),
                     "exp_year": form.get("exp_year", "")}
        return render("checkout.html", status=422, session=session, errors=errors, form=safe_form,
                      message=problem.detail)
    if not wants_json:
        raise web.HTTPSeeOther(_confirmation_url(session))
    return web.json_response(await checkout.purchase_of(request.app[BILLING], session))


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


def _confirmation_url(session: CheckoutSession) -> str:
    return f"/purchases/{session.purchase_id}/confirmation?session={session.session_id}"


@routes.get("/purchases/{id}/confirmation")
async def confirmation_page(request: web.Request) -> web.Response:
    session = await checkout.session_of_purchase(request.app[BILLING], request.query.get("session", ""),
                                                 request.match_info["id"])
    confirmed = await checkout.confirmation(request.app[DB], request.app[LEDGER], request.app[BILLING], session)
    return render("confirmation.html", purchase=confirmed.purchase, session=session, balance=confirmed.balance,
                  credit_mode=confirmed.credit_mode)


@routes.get("/checkout/{session}/invoice.pdf")
async def checkout_invoice(request: web.Request) -> web.Response:
    session = await _session(request)
    pdf = await checkout.invoice_pdf(request.app[BILLING], session)
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": 'attachment; filename="tax-invoice.pdf"'})


@routes.get("/set-password")
async def set_password_page(request: web.Request) -> web.Response:
    """The page an invitation or reset email links to; the link's token is the capability, as above."""
    token = request.query.get("token", "")
    try:
        person = await onboarding.person_of_link(request.app[DB], token)
    except PasswordLinkInvalid as problem:
        return render("set_password.html", status=422, token="", person=None, message=problem.detail, done=False)
    return render("set_password.html", token=token, person=person, message=None, done=False)


@routes.post("/set-password")
async def set_password_form(request: web.Request) -> web.Response:
    form = await request.post()
    token, password = str(form.get("token", "")), str(form.get("password", "")).strip()
    # Trimmed as the API trims it (and sign-in trims what it is given), so both ways set the same password.
    retype = password != str(form.get("password_again", "")).strip() or len(password) < MIN_PASSWORD_LENGTH
    try:
        if retype:
            person = await onboarding.person_of_link(request.app[DB], token)
            message = f"Type the same password twice, at least {MIN_PASSWORD_LENGTH} characters long."
            return render("set_password.html", status=422, token=token, person=person, message=message, done=False)
        person = await onboarding.set_password(request.app[DB], token, password)
    except PasswordLinkInvalid as problem:
        return render("set_password.html", status=422, token="", person=None, message=problem.detail, done=False)
    return render("set_password.html", token="", person=person, message=None, done=True)


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

