"""Problem types as absolute URIs that answer a page: `GET /problems/{slug}` explains each catalogued type
(`common.contracts.problems`) to the developer who met it, and every problem+json the gateway answers,
its own or relayed from a service, carries `type` as an absolute URI under PUBLIC_BASE_URL (never the
request's Host, which a caller chooses)."""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp.typedefs import Middleware

from common.contracts import problems
from common.web import PROBLEM_JSON, Handler
from gateway.web.pages import render

PATH = "/problems/"

# What each type means and the status it comes with. A type not listed here (one added since) still
# gets its page, with its title.
_MEANING: dict[str, tuple[int, str]] = {
    "malformed-request": (400, "The body or query does not have the expected shape; `errors` names the fields."),
    "unauthenticated": (401, "No valid access token was sent: sign in and send it as a Bearer token."),
    "forbidden": (403, "You are signed in, but your role does not allow this."),
    "not-found": (404, "There is nothing at this address, or it belongs to another tenant."),
    "conflict": (409, "The request conflicts with the current state of the thing it changes."),
    "rule-broken": (422, "The request is well formed but breaks one of the product's rules."),
    "rate-limited": (429, "Too many requests: wait for the seconds in Retry-After, then try again."),
    "unavailable": (503, "A service the request needs is down or too slow: retry after a moment."),
    "not-ready": (503, "The service is starting or lost a dependency; it is not ready for traffic."),
    "internal": (500, "Something went wrong on our side; it has been logged with the request id."),
    "tenant-users-only": (403, "Only a tenant's users may do this; operators and internal systems have no tenant."),
    "service-only": (403, "Only an internal system signed in with a service token may do this."),
    "masters-only": (403, "Only a tenant's master users may do this."),
    "operators-only": (403, "Only platform operators may do this."),
    "idempotency-key-reused": (409, "This Idempotency-Key was already used by you on this endpoint with a "
                                    "different body. Use a new key for a new request."),
    "idempotency-request-in-progress": (409, "The first request with this Idempotency-Key is still being "
                                             "answered: retry after Retry-After to get its answer."),
    "invalid-signature": (400, "The webhook's signature does not match its body."),
    "invalid-cursor": (400, "The page cursor is not one this API handed out; start again from the first page."),
    "filter-out-of-range": (422, "A filter (a date range, a limit) is outside what the log keeps or allows."),
    "accounts-missing": (400, "The log was asked for without the accounts to read."),
    "account-not-found": (404, "No such account, or it is not yours to see."),
    "account-forbidden": (403, "You may not act on this account."),
    "not-sending-account": (403, "Credits for this sender are spent from another account."),
    "insufficient-credits": (422, "The account does not hold enough available credits for this."),
    "quantity-out-of-range": (422, "The quantity is outside the range this action allows."),
    "terms-not-accepted": (422, "The conditions of a transfer must be accepted."),
    "same-account": (422, "A transfer needs two different accounts."),
    "shared-mode": (422, "The tenant shares one pool of credits, so this needs individual credit mode."),
    "recipient-cannot-receive": (422, "The recipient's account cannot receive credits."),
    "open-holds": (409, "Credits are still reserved by open holds; the switch waits until they are settled."),
    "hold-not-found": (404, "No such hold, or it is not yours."),
    "hold-resolved": (409, "The hold was already captured, voided or expired."),
    "send-sms-forbidden": (403, "You are not allowed to send SMS."),
    "invalid-message": (422, "The message cannot be sent as it is (recipients, length or text)."),
    "attempt-cancelled": (409, "This sending attempt was cancelled; send again with a new key."),
    "message-not-found": (404, "No such message, or it is not yours to see."),
    "message-forbidden": (403, "You may not see this message."),
    "purchase-not-found": (404, "No such purchase, or it is not yours to see."),
    "invoice-not-ready": (404, "The tax invoice is issued once the purchase is paid."),
    "account-mismatch": (400, "The account given does not match the purchase's account."),
    "price-list-invalid": (422, "The price list's tiers or tax are not consistent."),
    "checkout-not-found": (404, "No such checkout session."),
    "checkout-completed": (409, "The checkout was already paid or declined."),
    "card-invalid": (422, "The card details are not valid."),
    "refund-forbidden": (403, "Only master users may refund purchases."),
    "refund-not-found": (404, "No such refund of this purchase."),
    "adjustment-note-not-ready": (404, "The adjustment note is issued once the refund is done."),
    "refund-quantity-out-of-range": (422, "More credits than remain refundable on this purchase."),
    "purchase-not-refundable": (422, "Only a paid and credited purchase can be refunded."),
    "auto-top-up-invalid": (422, "The auto top-up's threshold, quantity or daily cap is not valid."),
    "auto-top-up-not-found": (404, "No auto top-up is set for this account."),
    "no-saved-card": (422, "An auto top-up needs a saved card: make one purchase and save the card first."),
    "report-too-large": (422, "The report would be too large to print; narrow the dates or download the CSV."),
    "token-expired": (401, "The access token has expired: renew it with the refresh token."),
    "email-taken": (409, "Someone already uses this email address."),
    "password-link-invalid": (422, "The password link has expired or was already used; ask for a new one."),
    "service-client-unbound": (403, "This internal system is bound to no tenant, so it cannot act on one."),
    "unsupported-media-type": (415, "The body must be JSON: send it with Content-Type: application/json."),
    "method-not-allowed": (405, "This address does not take that method; the Allow header lists those it does."),
    "request-too-large": (413, "The request body is larger than the gateway accepts."),
}

routes = web.RouteTableDef()


def type_uri(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}{slug}"


@routes.get(PATH + "{slug}")
async def problem_page(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    problem = problems.CATALOGUE.get(slug)
    if problem is None:
        return render("problem.html", status=404, page=False, slug=slug, title="Unknown problem type",
                      status_code=None, meaning="This problem type is not one the API answers with.")
    status, meaning = _MEANING.get(slug, (None, problem.title + "."))
    return render("problem.html", page=False, slug=slug, title=problem.title, status_code=status, meaning=meaning)


# A person who follows a stale link or mistypes an address gets a page, not a JSON document; the API,
# its documents and the app's files keep answering problem+json, which is what their callers parse.
_MACHINE_PATHS = ("/api/", "/app-assets/", "/static/", "/problems/")
_PAGES: dict[int, tuple[str, str]] = {
    404: ("Page not found", "There is nothing at this address. The link may be old, or the address mistyped."),
    500: ("Something went wrong", "Something went wrong on our side and it has been logged. Try again in a moment."),
}


def wants_page(request: web.Request, status: int) -> bool:
    """A browser's navigation (it asks for HTML) to a page address that failed."""
    if request.method not in ("GET", "HEAD") or request.path.startswith(_MACHINE_PATHS) or request.path == "/api":
        return False
    return (status == 404 or status >= 500) and "text/html" in request.headers.get("Accept", "")


def error_page(status: int) -> web.Response:
    title, meaning = _PAGES.get(status, _PAGES[500])
    response = render("problem.html", status=status, page=True, slug=None, title=title, status_code=status,
                      meaning=meaning)
    response.headers["Cache-Control"] = "no-store"
    return response


def absolute_problem_types(base_url: str) -> Middleware:
    """Rewrite `/problems/x` in every problem+json answer to its absolute URI (RFC 9457 wants a type a
    client can dereference). Runs outside the error mapping, so framework errors and relayed service
    problems are rewritten too; only error answers are touched, so its cost is nil on the happy path.
    A browser's navigation to a page address that is missing or failed gets the HTML page instead."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if (isinstance(response, web.Response) and not response.prepared and isinstance(response.body, bytes)
                and response.content_type == PROBLEM_JSON):
            if wants_page(request, response.status):
                return error_page(response.status)
            body = json.loads(response.body)
            kind = body.get("type") if isinstance(body, dict) else None
            if isinstance(kind, str) and kind.startswith(PATH):
                body["type"] = type_uri(base_url, kind[len(PATH):])
                response.body = json.dumps(body).encode()
        return response

    return middleware
