"""The public shapes of credit mode requests: a master asks to switch their organisation between
individual and shared (system-wide) credits, with a reason; an operator approves or rejects it with a
note."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gateway.directory.mode_requests import ModeRequest
from gateway.schemas.credits import _Request

MAX_TEXT_LENGTH = 500
Mode = Literal["shared", "individual"]
Status = Literal["pending", "approved", "rejected"]


class NewCreditModeRequest(_Request):
    mode: Mode = Field(description="The credit mode asked for: `shared` (system-wide) or `individual`")
    reason: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH, description="Why, for the operator who decides")


class ApprovalNote(_Request):
    note: str | None = Field(default=None, max_length=MAX_TEXT_LENGTH, description="Told to the master who asked")


class RejectionNote(_Request):
    note: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH, description="Why not, told to the master who asked")


class CreditModeRequestsQuery(_Request):
    status: Status | None = Field(default=None, description="Only requests in this state, e.g. `pending`")
    limit: int = Field(default=50, ge=1, le=200, description="At most this many, newest first")


class PersonRef(BaseModel):
    id: uuid.UUID
    name: str


class CreditModeRequestView(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    mode: Mode
    previous_mode: Mode = Field(description="The tenant's credit mode when the request was made")
    reason: str
    status: Status
    requested_by: PersonRef
    requested_at: datetime
    decided_by: PersonRef | None
    decided_at: datetime | None
    note: str | None = Field(description="The operator's note on the decision")
    last_error: str | None = Field(description="Why the last approval could not be carried out (it stays pending)")
    last_attempt_at: datetime | None

    @classmethod
    def of(cls, r: ModeRequest) -> CreditModeRequestView:
        decider = PersonRef(id=r.decided_by, name=r.decided_by_name or "") if r.decided_by else None
        return cls(
            id=r.id, tenant_id=r.tenant_id, tenant_name=r.tenant_name, mode=r.mode, previous_mode=r.previous_mode,
            reason=r.reason, status=r.status, requested_by=PersonRef(id=r.requested_by, name=r.requested_by_name),
            requested_at=r.requested_at, decided_by=decider, decided_at=r.decided_at, note=r.note,
            last_error=r.last_error, last_attempt_at=r.last_attempt_at,
        )
