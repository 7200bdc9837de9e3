"""The ledger's API as the gateway calls it: balances, transfers and holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from common.contracts.ledger import (
    AccountsQuery,
    Balance,
    CaptureRequest,
    HoldRequest,
    HoldView,
    OpenHolds,
    PostedTransfer,
    TransferOrder,
)
from common.identity import Identity
from gateway.clients.base import TypedClient


class LedgerClient(TypedClient):
    async def balances(
        self, identity: Identity, codes: Sequence[str], as_of: datetime | None = None
    ) -> list[Balance]:
        """The balances of these accounts (now, or at the moment `as_of`), in any order."""
        query = AccountsQuery(code=list(codes), as_of=as_of)
        answer = await self._service.call("GET", "/accounts", identity, query=query.params())
        return [Balance.model_validate(b) for b in answer]

    async def transfer(self, identity: Identity, order: TransferOrder, idempotency_key: str) -> PostedTransfer:
        answer = await self._service.call("POST", "/transfers", identity, body=order.model_dump(mode="json"),
                                          headers={"Idempotency-Key": idempotency_key})
        return PostedTransfer.model_validate(answer)

    async def place_hold(self, identity: Identity, hold: HoldRequest, idempotency_key: str) -> HoldView:
        answer = await self._service.call("POST", "/holds", identity, body=hold.model_dump(mode="json"),
                                          headers={"Idempotency-Key": idempotency_key})
        return HoldView.model_validate(answer)

    async def capture_hold(self, identity: Identity, hold_id: uuid.UUID, capture: CaptureRequest) -> HoldView:
        answer = await self._service.call("POST", f"/holds/{hold_id}/capture", identity,
                                          body=capture.model_dump(exclude_none=True))
        return HoldView.model_validate(answer)

    async def void_hold(self, identity: Identity, hold_id: uuid.UUID) -> HoldView:
        return HoldView.model_validate(await self._service.call("POST", f"/holds/{hold_id}/void", identity))

    async def open_holds(self, identity: Identity, tenant_id: uuid.UUID) -> int:
        answer = await self._service.call("GET", f"/tenants/{tenant_id}/open-holds", identity)
        return OpenHolds.model_validate(answer).open_holds
