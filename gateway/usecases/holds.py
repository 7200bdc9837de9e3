"""Holds, for internal systems signed in with a service token: reserve credits, then capture what was
used or void the rest. The ledger checks the role again."""

from __future__ import annotations

import uuid

from common.contracts import problems
from common.problems import Forbidden
from gateway.clients.ledger import LedgerClient
from gateway.schemas.credits import CaptureRequest, HoldRequest
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


class ServiceTokenRequired(Forbidden):
    problem = problems.SERVICE_ONLY


def require_service(caller: Caller) -> None:
    if caller.person.role != "service":
        raise ServiceTokenRequired("Holds are for internal systems signed in with a service token.")


async def place(ledger: LedgerClient, caller: Caller, request: HoldRequest, idempotency_key: str) -> bytes:
    """The hold as the ledger answered it. The public answer is the contract's `HoldView` unchanged, so the
    ledger's JSON is relayed as it came, never decoded and encoded again; so are a capture's and a void's."""
    require_service(caller)
    return await ledger.place_hold_as_answered(identity_for(caller), request, idempotency_key)


async def capture(ledger: LedgerClient, caller: Caller, hold_id: uuid.UUID, request: CaptureRequest) -> bytes:
    require_service(caller)
    return await ledger.capture_hold_as_answered(identity_for(caller), hold_id, request)


async def void(ledger: LedgerClient, caller: Caller, hold_id: uuid.UUID) -> bytes:
    require_service(caller)
    return await ledger.void_hold_as_answered(identity_for(caller), hold_id)
