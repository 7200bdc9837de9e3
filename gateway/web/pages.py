"""Server-rendered pages: the test provider's hosted checkout (the order named in the app's words, plain
per-field messages, another card after a decline), the purchase confirmation, setting a password from an
emailed link, API docs.

The checkout session id is the capability here, as on a real hosted checkout page: it is unguessable
and known only to the person who started the purchase, so these pages need no signed-in user.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import swagger_ui_bundle
from aiohttp import web

from common.accounts import SYSTEM_CREDITS
from common.contracts import problems
from common.problems import MalformedRequest
from common.runtime import DB
from common.web import validate
from gateway.clients import UpstreamProblem
from gateway.clients.billing import CheckoutSession
from gateway.directory import store as directory_store
from gateway.directory.onboarding import MIN_PASSWORD_LENGTH, PasswordLinkInvalid
from gateway.resources import BILLING, LEDGER
from gateway.schemas.credits import CardPayment
from gateway.usecases import checkout, onboarding
from gateway.usecases.accounts import account_by_id, account_name, tenant_by_id
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


# -- The checkout and the confirmation: product pages about one purchase ---------------------------------

# What a person types, checked before the processor sees it: plain words under the field at fault.
_MISSING = {
    "name": "Enter the name on the card",
    "card_number": "Enter the card number",
    "exp_month": "Enter the expiry month (1-12)",
    "exp_year": "Enter the expiry year (for example 2030)",
    "cvc": "Enter the security code (CVC)",
}
_CARD_FIELDS = tuple(_MISSING)
# Why a card was declined, as the buyer's bank would put it; an unknown code is simply "declined".
_DECLINE_REASONS = {
    "card_declined": "Your bank declined the card.",
    "insufficient_funds": "The card has insufficient funds.",
}
DEFAULT_RETURN = "/credits"
_MAX_RETURN_LENGTH = 300


def return_path(value: str | None) -> str:
    """Where Cancel and the confirmation's links go back to: a path of this site the app passed, never
    another origin (`//evil.test`, `https://...`, backslashes), else the app's credits page."""
    if (not value or len(value) > _MAX_RETURN_LENGTH or not value.startswith("/") or value.startswith("//")
            or "\\" in value or any(ord(c) < 32 for c in value)):
        return DEFAULT_RETURN
    return value


def money(amount: str) -> str:
    """A decimal amount as the buyer reads it: "6000.00" -> "6,000.00"; a unit price keeps the decimals
    it needs beyond two ("0.0800" -> "0.08", "0.0750" -> "0.075")."""
    whole, _, fraction = amount.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}.{fraction}"


def form_errors(form: dict[str, Any]) -> dict[str, str]:
    """Plain per-field messages for what is missing or not a number; the processor checks the rest."""
    errors = {field: message for field, message in _MISSING.items() if not str(form.get(field, "")).strip()}
    month, year = str(form.get("exp_month", "")).strip(), str(form.get("exp_year", "")).strip()
    if month and not (month.isdigit() and 1 <= int(month) <= 12):
        errors["exp_month"] = _MISSING["exp_month"]
    if year and not (year.isdigit() and len(year) in (2, 4)):
        errors["exp_year"] = _MISSING["exp_year"]
    return errors


def awaits_another_card(purchase: dict[str, Any], session: CheckoutSession) -> bool:
    """A declined attempt, not a payment on its way: the provider's checkout is still open for another
    card. Once another card has paid, billing may not have heard yet and still shows the decline: the
    confirmation then waits for it (sending the buyer back to a paid checkout would bounce them here)."""
    return bool(purchase["status"] == "pending" and purchase.get("failure_reason") and purchase.get("checkout_url")
                and session.status == "open")


def decline_message(failure_reason: str | None) -> str:
    return _DECLINE_REASONS.get(failure_reason or "", "The card was declined.")


@dataclass(frozen=True)
class PurchaseView:
    """Whom a purchase is for and who buys it, named as the app names them."""

    purchase: dict[str, Any]
    tenant_name: str
    account_name: str
    buyer_name: str

    @property
    def credits_of(self) -> str:
        """The account as the credits' destination: "Ben Carter's credits", or "System Credits"."""
        return self.account_name if self.account_name == SYSTEM_CREDITS else f"{self.account_name}'s credits"

    @property
    def balance_owner(self) -> str:
        """Whose balance it is: "Ben Carter's", or System Credits (a shared account, no possessive)."""
        return self.account_name if self.account_name == SYSTEM_CREDITS else f"{self.account_name}'s"


async def _purchase_view(request: web.Request, session: CheckoutSession, purchase: dict[str, Any]) -> PurchaseView:
    pool, tenant_id = request.app[DB], uuid.UUID(session.tenant_id)
    tenant = await tenant_by_id(pool, tenant_id)
    account = await account_by_id(pool, tenant_id, uuid.UUID(purchase["account_id"]))
    async with pool.acquire() as conn:
        buyer = await directory_store.person(conn, uuid.UUID(purchase["buyer_user_id"]))
    return PurchaseView(purchase, tenant.name if tenant else "", account_name(account),
                        buyer.name if buyer else purchase.get("buyer_name") or "")


async def _checkout(request: web.Request, session: CheckoutSession, status: int = 200, *,
                    errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                    declined_page: bool = False) -> web.Response:
    purchase = await checkout.purchase_of(request.app[BILLING], session)
    view = await _purchase_view(request, session, purchase)
    # Said only where billing recorded a decline on the purchase that is still open, whatever the address says.
    declined = None
    if declined_page and purchase["status"] == "pending" and purchase.get("failure_reason"):
        declined = decline_message(purchase["failure_reason"])
    # Only what is safe to show again: never the card number or its security code. The name on the card
    # starts as the buyer's.
    kept = {field: str((form or {}).get(field, "")) for field in ("name", "exp_month", "exp_year")}
    kept["name"] = kept["name"] or view.buyer_name
    return_to = return_path(request.query.get("return"))
    return render("checkout.html", status=status, session=session, view=view, quote=purchase["quote"],
                  money=money, errors=errors or {}, form=kept, declined=declined, return_to=return_to,
                  action=_checkout_url(session, return_to), missing=_MISSING)


@routes.get("/checkout/{session}")
async def checkout_page(request: web.Request) -> web.Response:
    session = await _session(request)
    if session.status == "succeeded":
        raise web.HTTPSeeOther(_confirmation_url(session, request))
    return await _checkout(request, session, declined_page="declined" in request.query)


@routes.post("/checkout/{session}")
async def pay(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    wants_json = request.content_type == "application/json"
    form = await _payment_form(request, wants_json)
    if not wants_json:
        form = {field: str(form.get(field, "")).strip() for field in _CARD_FIELDS}
        if errors := form_errors(form):
            return await _checkout(request, session, 422, errors=errors, form=form)
    try:
        card = validate(CardPayment, form)
        await checkout.pay(request.app[BILLING], session, card)
    except (MalformedRequest, UpstreamProblem) as problem:
        if (not wants_json and isinstance(problem, UpstreamProblem)
                and problem.problem.slug == problems.CHECKOUT_COMPLETED.slug):
            # A form posted again after the checkout was paid (in another tab): the page that says so. A JSON
            # client keeps its 409, the definite answer it retries towards.
            raise web.HTTPSeeOther(_confirmation_url(session, request)) from None
        # The form shows what the card was refused for; any other refusal is answered as it is.
        if wants_json or (isinstance(problem, UpstreamProblem) and problem.status != 422):
            raise
        errors = {e.get("field", ""): e.get("message", "") for e in problem.errors or []}
        return await _checkout(request, session, 422, errors=errors, form=form)
    if wants_json:
        return web.json_response(await checkout.purchase_of(request.app[BILLING], session))
    if (await _session(request)).status == "open":
        # Declined: the checkout stays open for another card, the billing details stay with the purchase.
        # Redirected, so that Back leads to the form and a reload pays nothing twice.
        url = f"/checkout/{session.session_id}?declined=1"
        raise web.HTTPSeeOther(_with_return(url, return_path(request.query.get("return"))))
    raise web.HTTPSeeOther(_confirmation_url(session, request))


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


def _with_return(url: str, return_to: str) -> str:
    if return_to == DEFAULT_RETURN:
        return url
    return url + ("&" if "?" in url else "?") + urlencode({"return": return_to})


def _checkout_url(session: CheckoutSession, return_to: str) -> str:
    return _with_return(f"/checkout/{session.session_id}", return_to)


def _confirmation_url(session: CheckoutSession, request: web.Request | None = None) -> str:
    url = f"/purchases/{session.purchase_id}/confirmation?session={session.session_id}"
    return _with_return(url, return_path(request.query.get("return") if request else None))


@routes.get("/purchases/{id}/confirmation")
async def confirmation_page(request: web.Request) -> web.Response:
    session = await checkout.session_of_purchase(request.app[BILLING], request.query.get("session", ""),
                                                 request.match_info["id"])
    confirmed = await checkout.confirmation(request.app[DB], request.app[LEDGER], request.app[BILLING], session)
    purchase = confirmed.purchase
    if awaits_another_card(purchase, session):
        raise web.HTTPSeeOther(_with_return(purchase["checkout_url"], return_path(request.query.get("return"))))
    view = await _purchase_view(request, session, confirmed.purchase)
    return render("confirmation.html", purchase=confirmed.purchase, session=session, balance=confirmed.balance,
                  credit_mode=confirmed.credit_mode, view=view, money=money,
                  return_to=return_path(request.query.get("return")))


@routes.get("/checkout/{session}/invoice.pdf")
async def checkout_invoice(request: web.Request) -> web.Response:
    session = await _session(request)
    purchase = await checkout.purchase_of(request.app[BILLING], session)
    pdf = await checkout.invoice_pdf(request.app[BILLING], session)
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{invoice_filename(purchase)}"'})


def invoice_filename(purchase: dict[str, Any]) -> str:
    """The invoice's own number names its file ("INV-ACME-000012.pdf"), so a saved copy can be found."""
    number = re.sub(r"[^A-Za-z0-9._-]", "", str(purchase.get("invoice_number") or ""))
    return f"{number or 'tax-invoice'}.pdf"


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

