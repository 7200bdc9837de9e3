"""The ledger's internal HTTP API (the gateway is its only caller)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from common.accounts import USER_FACING, account_id, kind_of
from common.runtime import DB
from common.web import idempotency_key, identity_of, json_response, parse_json, parse_query
from services.ledger import domain, holds, store, usecases
from services.ledger.group_commit import GROUP_COMMIT
from services.ledger.settings import LedgerSettings

SETTINGS = web.AppKey("settings", LedgerSettings)

routes = web.RouteTableDef()


def _user_facing(code: str) -> str:
    if kind_of(code) not in USER_FACING:
        raise ValueError(f"{code!r} is not a user-facing account")
    if code.startswith("user:"):
        uuid.UUID(code[5:])
    return code


UserFacingCode = Annotated[str, AfterValidator(_user_facing)]


class AccountsQuery(BaseModel):
    code: list[UserFacingCode] = Field(min_length=1, max_length=1000)
    as_of: datetime | None = None


class TransferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_code: UserFacingCode
    to_code: UserFacingCode
    quantity: StrictInt
    accept_terms: StrictBool
    note: str | None = Field(default=None, max_length=500)
    terms_version: str | None = Field(default=None, max_length=50)


class BalanceView(BaseModel):
    id: uuid.UUID
    code: str
    balance: int
    available: int


class TransferView(BaseModel):
    id: uuid.UUID
    source: BalanceView = Field(serialization_alias="from")
    target: BalanceView = Field(serialization_alias="to")
    consistency_token: int


class AccountView(BaseModel):
    id: uuid.UUID
    code: str
    kind: str
    balance: int
    held: int
    available: int

    @classmethod
    def of(cls, account: domain.Account) -> AccountView:
        return cls(
            id=account.id,
            code=account.code,
            kind=account.kind,
            balance=account.balance,
            held=account.held,
            available=account.available,
        )


@routes.get("/accounts")
async def list_accounts(request: web.Request) -> web.Response:
    query = parse_query(request, AccountsQuery, repeatable=("code",))
    tenant_id = identity_of(request).require_tenant()
    accounts = await usecases.account_balances(request.app[DB], tenant_id, query.code)
    views = [AccountView.of(a) for a in accounts]
    if query.as_of is not None:
        # History is the postings' record of the balance; reservations are not kept per moment.
        for view in views:
            view.balance = await usecases.balance_as_of(request.app[DB], tenant_id, view.code, query.as_of)
            view.held, view.available = 0, view.balance
    return json_response(views)


@routes.post("/transfers")
async def transfer(request: web.Request) -> web.Response:
    key = idempotency_key(request)
    body = await parse_json(request, TransferBody)
    identity = identity_of(request)
    order = usecases.TransferOrder(body.from_code, body.to_code, body.quantity, body.accept_terms, body.note,
                                   body.terms_version)
    posted = await usecases.transfer(request.app[DB], identity, order, key, request.app[SETTINGS].max_transfer_quantity,
                                     request.app.get(GROUP_COMMIT))
    tenant_id = identity.require_tenant()

    def side(code: str) -> BalanceView:
        balance, held = posted.balances[code]
        return BalanceView(id=account_id(tenant_id, code), code=code, balance=balance, available=balance - held)

    view = TransferView(id=posted.id, source=side(body.from_code), target=side(body.to_code),
                        consistency_token=posted.seq)
    return web.Response(text=view.model_dump_json(by_alias=True), status=201, content_type="application/json")



class HoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID
    quantity: StrictInt
    reference: str | None = Field(default=None, max_length=200)
    expires_in: StrictInt = Field(default=900, ge=1, description="Seconds until the hold expires")


class CaptureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: StrictInt | None = None


class HoldOut(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    quantity: int
    captured: int
    status: str
    reference: str | None
    expires_at: datetime
    account: dict[str, int]

    @classmethod
    def of(cls, hold: holds.HoldView) -> HoldOut:
        return cls(
            id=hold.id, account_id=hold.account_id, quantity=hold.quantity, captured=hold.captured,
            status=hold.status, reference=hold.reference, expires_at=hold.expires_at,
            account={"balance": hold.balance, "held": hold.held, "available": hold.available},
        )


@routes.post("/holds")
async def place_hold(request: web.Request) -> web.Response:
    key = idempotency_key(request)
    body = await parse_json(request, HoldBody)
    settings = request.app[SETTINGS]
    if body.expires_in > settings.max_hold_seconds:
        raise domain.QuantityOutOfRange(f"A hold lasts at most {settings.max_hold_seconds} seconds.")
    hold = await holds.place(request.app[DB], identity_of(request), body.account_id, body.quantity, body.reference,
                             body.expires_in, key, settings.max_transfer_quantity)
    return json_response(HoldOut.of(hold), status=201)


@routes.post("/holds/{id}/capture")
async def capture_hold(request: web.Request) -> web.Response:
    body = await parse_json(request, CaptureBody) if request.can_read_body else CaptureBody()
    hold = await holds.capture(request.app[DB], identity_of(request), _hold_id(request), body.quantity)
    return json_response(HoldOut.of(hold))


@routes.post("/holds/{id}/void")
async def void_hold(request: web.Request) -> web.Response:
    hold = await holds.void(request.app[DB], identity_of(request), _hold_id(request))
    return json_response(HoldOut.of(hold))


@routes.get("/tenants/{id}/open-holds")
async def open_holds(request: web.Request) -> web.Response:
    """How many holds are open in a tenant: a credit-mode switch waits until there are none."""
    if identity_of(request).role != "operator":
        raise holds.HoldsNeedService("Only operators ask this.")
    try:
        tenant_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise domain.AccountNotFound("No such tenant.") from None
    async with request.app[DB].acquire() as conn:
        count = await store.open_holds_count(conn, tenant_id)
    return web.json_response({"open_holds": count})


def _hold_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise domain.HoldNotFound("No such hold.") from None


class JournalQuery(BaseModel):
    after_seq: int = Field(default=0, ge=0)
    limit: int = Field(default=500, ge=1, le=5000)


@routes.get("/transactions")
async def journal(request: web.Request) -> web.Response:
    """Every posted transaction in sequence order, as announced in `ledger.transaction.posted`: what a
    read model (the reporting log) is rebuilt from. Operators and internal services only."""
    if identity_of(request).role not in ("operator", "service"):
        raise holds.HoldsNeedService("Only operators and internal services read the journal.")
    query = parse_query(request, JournalQuery)
    async with request.app[DB].acquire() as conn:
        page = await store.journal_page(conn, query.after_seq, query.limit)
    last = page[-1]["seq"] if page else None
    return web.json_response({"transactions": page, "next_after_seq": last if len(page) == query.limit else None})
