"""Refunds of purchases: a master refunds a paid purchase in full or in part, up to the credits still
available in the account that received them.

The refund is a saga between billing and the ledger (credits back first, then the money, then the
adjustment note). The gateway answers 422 at once when the account plainly lacks the credits, then
waits a few seconds for the saga: 201 with the adjustment note once refunded (or with `failed` when
the provider refused and the credits were restored), 422 if the ledger found the credits gone, and
202 with the refund to poll if it is still under way.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiohttp import web

from common.problems import NotFound, RuleBroken
from common.runtime import DB
from common.web import json_response, parse_json
from gateway import domain, usecases
from gateway.billing_schemas import RefundRequest, RefundView
from gateway.clients import ServiceClient
from gateway.resources import BILLING, LEDGER
from gateway.routes.registry import api, caller_of, links_to, path_uuid

REFUND_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.1
_UNDER_WAY = ("requested", "debited")


class NotEnoughCreditsToRefund(RuleBroken):
    slug = "insufficient-credits"
    title = "Not enough credits"


def _refund_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["refund_id"])
    except ValueError:
        raise NotFound("No such refund.") from None


async def _purchase(request: web.Request) -> dict[str, Any]:
    """The purchase, if it is the caller's tenant's (billing answers 404 otherwise)."""
    purchase_id = path_uuid(request, "purchase")
    identity = usecases.identity_for(caller_of(request))
    purchase: dict[str, Any] = await request.app[BILLING].call("GET", f"/purchases/{purchase_id}", identity)
    return purchase


async def _visible_purchase(request: web.Request) -> dict[str, Any]:
    """A purchase the caller bought, or one for an account the caller manages."""
    caller = caller_of(request)
    purchase = await _purchase(request)
    await usecases.require_purchase_visible(request.app[DB], caller, purchase)
    return purchase


async def _check_available(request: web.Request, purchase: dict[str, Any], quantity: int) -> None:
    """Answer at once when the account plainly lacks the credits; the ledger decides in the end."""
    identity = usecases.identity_for(caller_of(request))
    [account] = await request.app[LEDGER].call(
        "GET", "/accounts", identity, query=[("code", purchase["account_code"])]
    )
    if quantity > account["available"]:
        raise NotEnoughCreditsToRefund(
            f"The account has {account['available']:,} credits available; {quantity:,} cannot be refunded.",
            errors=[{"field": "quantity", "message": f"At most {account['available']:,} credits are available."}],
        )


async def _settled(billing: ServiceClient, request: web.Request, path: str) -> dict[str, Any]:
    """The refund once its saga has finished, or as it is when the wait runs out."""
    identity = usecases.identity_for(caller_of(request))
    deadline = time.monotonic() + REFUND_WAIT_SECONDS
    while True:
        refund: dict[str, Any] = await billing.call("GET", path, identity)
        if refund["status"] not in _UNDER_WAY or time.monotonic() >= deadline:
            return refund
        await asyncio.sleep(_POLL_SECONDS)


@api.route("POST", "/purchases/{id}/refunds", "Refund a paid purchase in full or in part (masters)",
           body=RefundRequest, answer=RefundView, status=201, tags=("purchases",),
           links=links_to("get_refund", "adjustment_note", id="$request.path.id", refund_id="$response.body#/id"))
async def refund_purchase(request: web.Request) -> web.Response:
    caller = caller_of(request)
    body = await parse_json(request, RefundRequest)
    purchase = await _purchase(request)
    if not caller.person.is_master:
        raise domain.AccountForbidden("Only a master may refund a purchase.")
    await _check_available(request, purchase, body.quantity)
    key = request.headers.get("Idempotency-Key", "").strip()
    billing = request.app[BILLING]
    created = await billing.call(
        "POST", f"/purchases/{purchase['id']}/refunds", usecases.identity_for(caller),
        body={"quantity": body.quantity}, headers={"Idempotency-Key": key} if key else None,
    )
    refund = await _settled(billing, request, f"/purchases/{purchase['id']}/refunds/{created['id']}")
    if refund["status"] == "rejected":
        raise NotEnoughCreditsToRefund(refund.get("failure_reason") or "The credits are no longer available.")
    status = 202 if refund["status"] in _UNDER_WAY else 201
    response = json_response(RefundView.model_validate(refund), status=status)
    if status == 202:
        response.headers["Location"] = f"/api/v1/purchases/{purchase['id']}/refunds/{refund['id']}"
    return response


@api.route("GET", "/purchases/{id}/refunds", "A purchase's refunds", answer=RefundView, answer_is_list=True,
           tags=("purchases",))
async def list_refunds(request: web.Request) -> web.Response:
    purchase = await _visible_purchase(request)
    refunds = await request.app[BILLING].call(
        "GET", f"/purchases/{purchase['id']}/refunds", usecases.identity_for(caller_of(request))
    )
    return json_response([RefundView.model_validate(r) for r in refunds])


@api.route("GET", "/purchases/{id}/refunds/{refund_id}", "One refund and its status", answer=RefundView,
           tags=("purchases",))
async def get_refund(request: web.Request) -> web.Response:
    purchase = await _visible_purchase(request)
    refund = await request.app[BILLING].call(
        "GET", f"/purchases/{purchase['id']}/refunds/{_refund_id(request)}", usecases.identity_for(caller_of(request))
    )
    return json_response(RefundView.model_validate(refund))


@api.route("GET", "/purchases/{id}/refunds/{refund_id}/adjustment-note.pdf", "A refund's adjustment note",
           content_type="application/pdf", tags=("purchases",))
async def adjustment_note(request: web.Request) -> web.Response:
    purchase = await _visible_purchase(request)
    refund_id = _refund_id(request)
    _, pdf, _ = await request.app[BILLING].raw(
        "GET", f"/purchases/{purchase['id']}/refunds/{refund_id}/adjustment-note.pdf",
        usecases.identity_for(caller_of(request)),
    )
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="adjustment-note-{refund_id}.pdf"'})
