"""The ledger's internal HTTP API (the gateway is its only caller)."""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from common.accounts import USER_FACING, kind_of
from common.runtime import DB
from common.web import identity_of, json_response, parse_query
from services.ledger import domain, usecases

routes = web.RouteTableDef()


class AccountsQuery(BaseModel):
    code: list[str] = Field(min_length=1, max_length=1000)

    @field_validator("code")
    @classmethod
    def user_facing_only(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if kind_of(code) not in USER_FACING:
                raise ValueError(f"{code!r} is not a user-facing account")
            if code.startswith("user:"):
                uuid.UUID(code[5:])
        return codes


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
    return json_response([AccountView.of(a) for a in accounts])
