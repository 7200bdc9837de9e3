"""The client change request: a master asks to switch their organisation between individual and shared
(system-wide) credits, with a reason; an operator approves it, which runs the operator's switch
(`directory.switch_credit_mode`), or rejects it, each with a note. The operators hear of a new request and
the master of the decision by email (the gateway's email outbox, owed in the same transaction)."""

from __future__ import annotations

import uuid

import asyncpg

from common import mail
from common.contracts import problems
from common.problems import Conflict, Forbidden, NotFound, RuleBroken
from gateway.clients.ledger import LedgerClient
from gateway.directory import mode_requests as store
from gateway.directory import store as directory_store
from gateway.directory.mode_requests import ModeRequest, Status
from gateway.schemas.mode_requests import NewCreditModeRequest
from gateway.usecases.directory import MastersOnly, OpenHoldsBlockSwitch, require_operator, switch_credit_mode
from gateway.web.auth import Caller

REQUESTED_EMAIL = "credit_mode_requested"
DECIDED_EMAIL = "credit_mode_decided"


class RequestNotFound(NotFound):
    problem = problems.CREDIT_MODE_REQUEST_NOT_FOUND


class RequestPending(Conflict):
    problem = problems.CREDIT_MODE_REQUEST_PENDING


class RequestDecided(Conflict):
    problem = problems.CREDIT_MODE_REQUEST_DECIDED


class ModeUnchanged(RuleBroken):
    problem = problems.CREDIT_MODE_UNCHANGED


async def ask(pool: asyncpg.Pool, caller: Caller, body: NewCreditModeRequest) -> ModeRequest:
    """A master's request for their own tenant; one pending at a time."""
    if not caller.person.is_master or caller.tenant is None:
        raise MastersOnly("Only master users ask to change their organisation's credit mode.")
    tenant_id = caller.tenant.id
    async with pool.acquire() as conn, conn.transaction():
        tenant = await directory_store.tenant(conn, tenant_id)
        if tenant is None:
            raise NotFound("No such tenant.")
        if tenant.credit_mode == body.mode:
            raise ModeUnchanged(f"Your organisation already uses {_mode_name(body.mode)}.",
                                errors=[{"field": "mode", "message": "already the organisation's credit mode"}])
        request_id = uuid.uuid4()
        if not await store.insert(conn, request_id, tenant_id, body.mode, tenant.credit_mode, body.reason,
                                  caller.person.id):
            raise RequestPending("Your organisation already has a credit mode request waiting for a decision.")
        for operator_id, email in await store.operators(conn):
            notice_id = await store.add_notice(conn, request_id, operator_id)
            await mail.owe(conn, REQUESTED_EMAIL, notice_id, email, tenant_id)
        return await _read(conn, request_id)


async def listed(pool: asyncpg.Pool, caller: Caller, status: Status | None, limit: int) -> list[ModeRequest]:
    """An operator sees every tenant's requests; a master their own tenant's."""
    if caller.person.role == "operator":
        tenant_id = None
    elif caller.person.is_master and caller.tenant is not None:
        tenant_id = caller.tenant.id
    else:
        raise Forbidden("Only master users and platform operators see credit mode requests.")
    async with pool.acquire() as conn:
        return await store.listed(conn, tenant_id, status, limit)


async def approve(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, request_id: uuid.UUID, note: str | None
) -> ModeRequest:
    """Run the switch the request asks for, then mark it approved. Open holds block the switch (409, as
    they do the operator's own switch): the request stays pending with the reason recorded on it."""
    require_operator(caller, "Only platform operators decide credit mode requests.")
    blocked: OpenHoldsBlockSwitch | None = None
    async with pool.acquire() as conn, conn.transaction():
        # Held until the decision is written, so that two operators deciding at once (approve and
        # reject) are applied one after the other and a rejected request never has its switch made.
        # The switch and the decision are one transaction: both are made, or neither.
        request = await _pending(conn, request_id)
        try:
            await switch_credit_mode(conn, ledger, caller, request.tenant_id, request.mode)
        except OpenHoldsBlockSwitch as exc:
            blocked = exc
            await store.record_failed_approval(conn, request_id, exc.detail)
        else:
            await store.decide(conn, request_id, "approved", caller.person.id, note or None)
            await mail.owe(conn, DECIDED_EMAIL, request_id, request.requested_by_email, request.tenant_id)
            return await _read(conn, request_id)
    assert blocked is not None  # the only way out of the transaction without an answer
    raise blocked


async def reject(pool: asyncpg.Pool, caller: Caller, request_id: uuid.UUID, note: str) -> ModeRequest:
    require_operator(caller, "Only platform operators decide credit mode requests.")
    async with pool.acquire() as conn, conn.transaction():
        request = await _pending(conn, request_id)
        await store.decide(conn, request_id, "rejected", caller.person.id, note)
        await mail.owe(conn, DECIDED_EMAIL, request_id, request.requested_by_email, request.tenant_id)
        return await _read(conn, request_id)


async def _pending(conn: asyncpg.Connection, request_id: uuid.UUID) -> ModeRequest:
    request = await store.get(conn, request_id, lock=True)
    if request is None:
        raise RequestNotFound("No such credit mode request.")
    if request.status != "pending":
        raise RequestDecided(f"This request was already {request.status}.")
    return request


async def _read(conn: asyncpg.Connection, request_id: uuid.UUID) -> ModeRequest:
    request = await store.get(conn, request_id)
    assert request is not None  # written in this same transaction
    return request


def _mode_name(mode: str) -> str:
    return "shared System Credits" if mode == "shared" else "individual User Credits"
