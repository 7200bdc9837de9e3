"""The one registry every public route module declares itself in, and what handlers share."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from common.problems import NotFound
from gateway.schemas.checkout import CardPayment, CheckoutPurchase
from gateway.web import pages
from gateway.web.api import Api, Link
from gateway.web.auth import Caller
from gateway.web.middleware import CALLER

api = Api()

# The extra answer of a read tagged with an ETag (gateway.web.caching.with_etag).
NOT_MODIFIED = ((304, "Not modified: the ETag sent in If-None-Match is still current"),)


def links_to(*operations: str, **parameters: str) -> tuple[Link, ...]:
    """The same parameters feed each of these operations, e.g. `id="$response.body#/id"`."""
    return tuple(Link(operation, tuple(parameters.items())) for operation in operations)


def caller_of(request: web.Request) -> Caller:
    return request[CALLER]


def no_such(what: str) -> Callable[[], NotFound]:
    """For `common.web.path_uuid`: a malformed id in the path names nothing that exists, 404 like an
    unknown one."""
    return lambda: NotFound(f"No such {what}.")


# The test provider's hosted checkout (gateway.web.pages) is a page, but a client that is not a browser
# pays on it with JSON: its session id (the end of a purchase's `checkout_url`) is the capability.
api.page("POST", "/checkout/{session}", "Pay a checkout with a card (JSON in, the purchase out; a form post "
         "answers 303 to the confirmation page instead)", pages.pay, body=CardPayment, answer=CheckoutPurchase,
         public=True, tags=("checkout",), errors=(400, 404, 409, 422))
api.page("GET", "/checkout/{session}/invoice.pdf", "The paid checkout's tax invoice", pages.checkout_invoice,
         content_type="application/pdf", public=True, tags=("checkout",), errors=(404,))
