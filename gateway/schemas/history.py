"""The public shapes of the history a client reads back: a transfer, pages of transfers and of
purchases (keyset pages, newest first), and the query they take."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from common.contracts.ledger import MAX_PAGE_LIMIT
from gateway.schemas.credits import IsoDatetime, PurchaseView


class HistoryQuery(BaseModel):
    """Which transfers or purchases, and where the last page ended."""

    # Unknown parameters are refused rather than ignored: a typo in `since` must not list everything.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    account: list[uuid.UUID] | None = Field(
        default=None, max_length=100, description="Only what touches these accounts (repeat the parameter)"
    )
    since: IsoDatetime | None = Field(default=None, description="Created at or after this moment")
    until: IsoDatetime | None = Field(default=None, description="Created before this moment")
    cursor: str | None = Field(default=None, max_length=200, description="The last page's `next_cursor`")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE_LIMIT, description="How many items a page holds")


class AccountName(BaseModel):
    id: uuid.UUID
    name: str = Field(description="'System Credits' or the owner's name")


class PersonName(BaseModel):
    id: uuid.UUID
    name: str


class TransferView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: uuid.UUID = Field(description="The ledger transaction's id: the log's `transaction_id`")
    source: AccountName = Field(alias="from")
    target: AccountName = Field(alias="to")
    quantity: int
    note: str | None
    actor: PersonName | None = Field(description="Who made the transfer; null for an internal system")
    created_at: datetime
    terms_version: str | None = Field(description="The version of the conditions agreed to")


class TransferPage(BaseModel):
    items: list[TransferView] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class PurchasePage(BaseModel):
    items: list[PurchaseView] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
