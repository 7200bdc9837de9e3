"""The ledger's API as the gateway calls it: balances, transfers (made and read back) and holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from common.contracts.ledger import (
    AccountsQuery,
    AlertLevels,
    AlertView,
    Balance,
    CaptureRequest,
    EventPage,
    EventsQuery,
    GrantOrder,
    GrantView,
    HoldRequest,
    HoldView,
    LotView,
    OpenHolds,
    PostedTransfer,
    TransferOrder,
    TransferPage,
    TransferRecord,
    TransfersQuery,
    UserLimitRequest,
    UserLimitView,
)
from common.identity import Identity
from gateway.clients.base import TypedClient, as_json


class LedgerClient(TypedClient):
    async def balances(
        self, identity: Identity, codes: Sequence[str], as_of: datetime | None = None
    ) -> list[Balance]:
        """The balances of these accounts (now, or at the moment `as_of`), in any order."""
        query = AccountsQuery(code=list(codes), as_of=as_of)
        answer = await self._service.call("GET", "/accounts", identity, query=query.params())
        return [Balance.model_validate(b) for b in answer]

    async def lots(self, identity: Identity, code: str) -> list[LotView]:
        """The account's credits by lot, in spending order."""
        answer = await self._service.call("GET", "/accounts/lots", identity, query={"code": code})
        return [LotView.model_validate(lot) for lot in answer]

    async def grant(
        self, identity: Identity, tenant_id: uuid.UUID, order: GrantOrder, idempotency_key: str
    ) -> GrantView:
        answer = await self._service.call("POST", f"/tenants/{tenant_id}/grants", identity,
                                          body=order.model_dump(mode="json"),
                                          headers={"Idempotency-Key": idempotency_key})
        return GrantView.model_validate(answer)

    async def transfer(self, identity: Identity, order: TransferOrder, idempotency_key: str) -> PostedTransfer:
        return await self._service.call_as(PostedTransfer, "POST", "/transfers", identity, content=as_json(order),
                                           headers={"Idempotency-Key": idempotency_key})

    async def place_hold(self, identity: Identity, hold: HoldRequest, idempotency_key: str) -> HoldView:
        return HoldView.model_validate_json(await self.place_hold_as_answered(identity, hold, idempotency_key))

    async def place_hold_as_answered(self, identity: Identity, hold: HoldRequest, idempotency_key: str) -> bytes:
        """The hold as the ledger answered it, a `HoldView`'s JSON: what the public API answers too, relayed."""
        answer = await self._service.send("POST", "/holds", identity, as_json(hold),
                                          headers={"Idempotency-Key": idempotency_key})
        return answer.body

    async def capture_hold_as_answered(self, identity: Identity, hold_id: uuid.UUID, capture: CaptureRequest) -> bytes:
        answer = await self._service.send("POST", f"/holds/{hold_id}/capture", identity,
                                          as_json(capture, exclude_none=True))
        return answer.body

    async def void_hold(self, identity: Identity, hold_id: uuid.UUID) -> HoldView:
        return HoldView.model_validate_json(await self.void_hold_as_answered(identity, hold_id))

    async def void_hold_as_answered(self, identity: Identity, hold_id: uuid.UUID) -> bytes:
        return (await self._service.send("POST", f"/holds/{hold_id}/void", identity, None)).body

    async def open_holds(self, identity: Identity, tenant_id: uuid.UUID) -> int:
        answer = await self._service.call("GET", f"/tenants/{tenant_id}/open-holds", identity)
        return OpenHolds.model_validate(answer).open_holds

    async def transfer_record(self, identity: Identity, transfer_id: uuid.UUID) -> TransferRecord:
        """The transfer if it is the identity's tenant's; the ledger answers 404 otherwise."""
        return TransferRecord.model_validate(await self._service.call("GET", f"/transfers/{transfer_id}", identity))

    async def transfers(self, identity: Identity, query: TransfersQuery) -> TransferPage:
        """A page of the identity's tenant's transfers (the ledger checks the cursor: 400 if not its own)."""
        return TransferPage.model_validate(await self._service.call("GET", "/transfers", identity,
                                                                     query=query.params()))

    async def events_after(
        self, identity: Identity, tenant_id: uuid.UUID | None, after: int, limit: int
    ) -> EventPage:
        """A tenant's ledger events numbered after `after`, in order: the identity's tenant, or for an
        internal system (no tenant) the one named."""
        query = EventsQuery(tenant_id=tenant_id, after_sequence=after, limit=limit)
        answer = await self._service.call("GET", "/events", identity,
                                          query=query.model_dump(mode="json", exclude_none=True))
        return EventPage.model_validate(answer)

    async def alert_levels(self, identity: Identity, code: str) -> list[AlertView]:
        """The account's balance alert levels, in the order they were set."""
        answer = await self._service.call("GET", "/accounts/alerts", identity, query={"code": code})
        return [AlertView.model_validate(a) for a in answer]

    async def set_alert_levels(self, identity: Identity, code: str, levels: AlertLevels) -> list[AlertView]:
        """Replace the account's balance alert levels (the ledger checks the rules of a level)."""
        answer = await self._service.call("PUT", "/accounts/alerts", identity, query={"code": code},
                                          body=levels.model_dump(mode="json"))
        return [AlertView.model_validate(a) for a in answer]

    async def user_limit(self, identity: Identity, user_id: uuid.UUID) -> UserLimitView:
        """A person's monthly credit limit and what is left of it this month (the ledger checks who asks)."""
        return UserLimitView.model_validate(await self._service.call("GET", f"/users/{user_id}/limits", identity))

    async def set_user_limit(self, identity: Identity, user_id: uuid.UUID, wanted: UserLimitRequest) -> UserLimitView:
        answer = await self._service.call("PUT", f"/users/{user_id}/limits", identity,
                                          body=wanted.model_dump(mode="json"))
        return UserLimitView.model_validate(answer)
