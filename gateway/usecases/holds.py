"""Holds, for internal systems signed in with a service token: reserve credits, then capture what was
used or void the rest. The ledger checks the role again."""

from __future__ import annotations

import uuid

from common.contracts import problems
from common.problems import Forbidden
from gateway.clients.ledger import LedgerClient
from gateway.schemas.credits import CaptureRequest, HoldRequest, HoldView
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


class ServiceTokenRequired(Forbidden):
    problem = problems.SERVICE_ONLY


def require_service(caller: Caller) -> None:
    if caller.person.role != "service":
        raise ServiceTokenRequired("Holds are for internal systems signed in with a service token.")


async def place(ledger: LedgerClient, caller: Caller, request: HoldRequest, idempotency_key: str) -> HoldView:
    require_service(caller)
    return await ledger.place_hold(identity_for(caller), request, idempotency_key)


async def capture(ledger: LedgerClient, caller: Caller, hold_id: uuid.UUID, request: CaptureRequest) -> HoldView:
    require_service(caller)
    return await ledger.capture_hold(identity_for(caller), hold_id, request)


async def void(ledger: LedgerClient, caller: Caller, hold_id: uuid.UUID) -> HoldView:
    require_service(caller)
    return await ledger.void_hold(identity_for(caller), hold_id)
