"""HTTP handlers: parse and validate, call a use case, shape the answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from common.problems import Forbidden
from common.runtime import DB
from common.web import identity_of, json_response, parse_query
from services.reporting import usecases
from services.reporting.domain import Direction, Kind, LogEntry, LogPage, log_filter

CONSISTENCY_WAIT_SECONDS = web.AppKey("consistency_wait_seconds", float)

routes = web.RouteTableDef()


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # Required: the gateway decides which accounts the caller may view and always names them.
    account: list[uuid.UUID] = Field(min_length=1)
    # Ranges are checked by the domain (422, a rule); here only the shape (400).
    days: int = 30
    kind: Kind | None = None
    direction: Direction | None = None
    cursor: str | None = None
    limit: int = 100
    consistency_token: int | None = Field(default=None, ge=1)


class LogEntryOut(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    account_id: uuid.UUID
    direction: Direction
    quantity: int
    kind: str
    balance_after: int
    counterparty: str | None
    actor: str | None
    reference: str | None
    note: str | None

    @classmethod
    def of(cls, entry: LogEntry) -> LogEntryOut:
        return cls(
            id=entry.id,
            occurred_at=entry.occurred_at.astimezone(UTC),
            account_id=entry.account_id,
            direction=entry.direction,
            quantity=entry.quantity,
            kind=entry.kind,
            balance_after=entry.balance_after,
            counterparty=entry.counterparty_code,
            actor=str(entry.actor_user_id) if entry.actor_user_id else None,
            reference=entry.reference,
            note=entry.note,
        )


class LogPageOut(BaseModel):
    entries: list[LogEntryOut]
    next_cursor: str | None
    stale: bool

    @classmethod
    def of(cls, page: LogPage) -> LogPageOut:
        entries = [LogEntryOut.of(entry) for entry in page.entries]
        return cls(entries=entries, next_cursor=page.next_cursor, stale=page.stale)


@routes.get("/logs")
async def get_logs(request: web.Request) -> web.Response:
    query = parse_query(request, LogQuery, repeatable=("account",))
    tenant_id = identity_of(request).tenant_id
    if tenant_id is None:
        raise Forbidden("Logs belong to a tenant, and this caller has none.")
    wanted = log_filter(
        # The tenant comes from the signed identity only: an account id of another tenant then
        # simply matches nothing.
        tenant_id=tenant_id,
        account_ids=query.account,
        days=query.days,
        kind=query.kind,
        direction=query.direction,
        cursor=query.cursor,
        limit=query.limit,
        now=datetime.now(UTC),
    )
    page = await usecases.read_log(
        request.app[DB], wanted, query.consistency_token, request.app[CONSISTENCY_WAIT_SECONDS]
    )
    return json_response(LogPageOut.of(page))
