"""The ledger's internal HTTP API: what the gateway sends the ledger and what the ledger answers, declared
once. The ledger's routes validate requests and shape answers with these classes; the gateway's ledger
client (`gateway.clients.ledger`) sends and parses with the very same ones.

Accounts are named by code here (`system`, `user:<id>`): the ids clients see are the gateway's to give.
A hold reaches the public API unchanged, so its classes double as the public schemas: hence their
descriptions, and no docstring on them (it would become the OpenAPI document's description).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from common.accounts import USER_FACING, kind_of

HoldStatus = Literal["open", "captured", "voided", "expired"]


def _user_facing(code: str) -> str:
    if kind_of(code) not in USER_FACING:
        raise ValueError(f"{code!r} is not a user-facing account")
    if code.startswith("user:"):
        uuid.UUID(code[5:])
    return code


# The accounts a request may name: System Credits and User Credits, never the ledger's own (world, spent).
UserFacingCode = Annotated[str, AfterValidator(_user_facing)]


class _Request(BaseModel):
    # Unknown fields are refused rather than ignored: a typo must not quietly become a default.
    model_config = ConfigDict(extra="forbid")


# -- Balances: GET /accounts?code=...&as_of=... ----------------------------------------------------------


class AccountsQuery(BaseModel):
    """The accounts whose balances are wanted, by code (the `code` parameter repeated), now or as of a
    past moment."""

    code: list[UserFacingCode] = Field(min_length=1, max_length=1000)
    as_of: datetime | None = None

    def params(self) -> list[tuple[str, str]]:
        """The query string's parameters, `code` once per account."""
        return [("code", code) for code in self.code] + ([("as_of", self.as_of.isoformat())] if self.as_of else [])


class Balance(BaseModel):
    """One account's balance; as of a past moment, `held` is 0 (reservations are not kept per moment)."""

    id: uuid.UUID
    code: str
    kind: str
    balance: int
    held: int
    available: int
    expiring_within_30_days: int = 0


# -- Lots: GET /accounts/lots?code=..., POST /tenants/{id}/grants ----------------------------------------
# Both reach the public API unchanged (GET /api/v1/accounts/{id}/lots, the operators' grants), so their
# classes carry descriptions and no docstrings, as the holds' do.

LotOrigin = Literal["purchase", "grant", "compensation", "opening"]


class LotView(BaseModel):
    id: uuid.UUID
    origin: LotOrigin = Field(description=(
        "Where the credits came from: a purchase, a promotional grant, credits given back (compensation), "
        "or `opening`: what the account held before credits were kept by lot (paid, never expiring)"))
    paid: bool = Field(description="False for promotional credits: spent first, never refunded or invoiced")
    reference: str | None = Field(description="`purchase:<id>` or `grant:<id>`")
    granted_at: datetime
    expires_at: datetime | None = Field(description="When the lot's unspent credits lapse; null: never")
    remaining: int = Field(description="Credits of this lot in the account")
    reserved: int = Field(description="Of those, how many holds (messages being sent) reserve")


class GrantOrder(_Request):
    account_code: UserFacingCode
    quantity: StrictInt
    expires_at: datetime | None = None
    reason: str = Field(min_length=1, max_length=200)


class GrantView(BaseModel):
    id: uuid.UUID = Field(description="The grant; its credits are the lot with reference `grant:<id>`")
    transaction_id: uuid.UUID
    lot_id: uuid.UUID
    account_code: str
    quantity: int
    expires_at: datetime | None
    reason: str
    balance_after: int


# -- Transfers: POST /transfers ----------------------------------------------------------------------------


class TransferOrder(_Request):
    """A transfer between two accounts of the caller's tenant, with the version of the conditions the
    caller agreed to."""

    from_code: UserFacingCode
    to_code: UserFacingCode
    quantity: StrictInt
    accept_terms: StrictBool
    note: str | None = Field(default=None, max_length=500)
    terms_version: str | None = Field(default=None, max_length=50)


class BalanceAfter(BaseModel):
    """One side of a posted transfer: the account's balance right after it."""

    id: uuid.UUID
    code: str
    balance: int
    available: int


class PostedTransfer(BaseModel):
    """A posted transfer; its sides are `from` and `to` in JSON (names Python keeps for itself), and
    `source` and `target` when built in Python."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: uuid.UUID
    source: BalanceAfter = Field(validation_alias="from", serialization_alias="from")
    target: BalanceAfter = Field(validation_alias="to", serialization_alias="to")
    consistency_token: int


# -- Holds: POST /holds, POST /holds/{id}/capture and /void, GET /tenants/{id}/open-holds ----------------


class HoldRequest(_Request):
    account_id: uuid.UUID
    quantity: StrictInt
    reference: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=200, description=(
        "What the credits are for, in words (\"SMS to 3 recipients\"): the log shows it on the hold and on "
        "its capture or release"))
    expires_in: StrictInt = Field(default=900, ge=1, description="Seconds until an unsettled hold expires")


class CaptureRequest(_Request):
    quantity: StrictInt | None = Field(default=None, description="Credits to spend; all of the hold if absent")


class HoldView(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    quantity: int
    captured: int
    status: HoldStatus
    reference: str | None
    expires_at: datetime
    account: dict[str, int] = Field(description="The account's balance, held and available after this")


class OpenHolds(BaseModel):
    """How many holds are open in a tenant: a credit-mode switch waits until there are none."""

    open_holds: int


# -- Transfer reads: GET /transfers/{id}, GET /transfers --------------------------------------------------

# A page holds at most this many transfers (and purchases, in billing's API): one keyset walk each.
MAX_PAGE_LIMIT = 100


class TransfersQuery(BaseModel):
    """A page of the caller's tenant's transfers, newest first: those touching any of the accounts named
    by `account` (a code, repeated), or every transfer of the tenant when none is named; created at or
    after `since` and before `until`; after the page `cursor` ended."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    account: list[UserFacingCode] = Field(default_factory=list, max_length=1000)
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=MAX_PAGE_LIMIT)

    def params(self) -> list[tuple[str, str]]:
        """The query string's parameters, `account` once per account."""
        named = [("account", code) for code in self.account]
        rest = self.model_dump(mode="json", exclude={"account"}, exclude_none=True)
        return named + [(key, str(value)) for key, value in rest.items()]


class TransferRecord(BaseModel):
    """A posted transfer as the journal holds it: accounts by code, the actor by user id."""

    id: uuid.UUID
    from_code: str
    to_code: str
    quantity: int
    note: str | None
    actor_user_id: uuid.UUID | None
    created_at: datetime
    terms_version: str | None


class TransferPage(BaseModel):
    items: list[TransferRecord]
    next_cursor: str | None


# -- The tenant's event log: GET /events?after_sequence=N ------------------------------------------------


MAX_SEQUENCE = 2**63 - 1  # a bigint: anything larger names no event and cannot be asked of Postgres


class EventsQuery(BaseModel):
    """A tenant's ledger events numbered after `after_sequence` (0: from the first), in order. The tenant
    is the caller's; an internal system or an operator, who belong to none, names it in `tenant_id`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tenant_id: uuid.UUID | None = None
    after_sequence: int = Field(default=0, ge=0, le=MAX_SEQUENCE)
    limit: int = Field(default=MAX_PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)


class EventPage(BaseModel):
    """`events` are CloudEvents envelopes exactly as published; `last_sequence` is the newest event the
    tenant has so far, so a reader knows how far behind it is; `next_after_sequence` is the
    `after_sequence` of the next page, or null when this page reached the end."""

    events: list[dict[str, Any]]
    next_after_sequence: int | None
    last_sequence: int


# -- Spending limits: GET and PUT /users/{id}/limits --------------------------------------------------------
# Reach the public API unchanged (GET/PUT /api/v1/users/{id}/limits): descriptions, no docstrings.


class UserLimitRequest(_Request):
    monthly_credit_limit: StrictInt | None = Field(description=(
        "Credits the user may spend (hold for SMS) per calendar month in the tenant's time zone; null: no limit"))


class UserLimitView(BaseModel):
    user_id: uuid.UUID
    monthly_credit_limit: int | None
    used_this_month: int = Field(description="Credits held or spent for this user's messages this month")
    remaining: int | None = Field(description="What the limit leaves this month; null without a limit")
    resets_at: datetime = Field(description="The start of next month in the tenant's time zone")


# -- Balance alerts: GET and PUT /accounts/alerts?code=... ------------------------------------------------
# Reach the public API unchanged (GET/PUT /api/v1/accounts/{id}/alerts).


class AlertLevel(_Request):
    name: str = Field(min_length=1, max_length=40, description="What the level is called: \"Low\", \"Critical\"")
    kind: Literal["absolute", "percent"] = Field(description=(
        "`absolute`: `value` credits; `percent`: `value` per cent of the account's last purchase"))
    value: StrictInt = Field(description="Credits (absolute, at least 1) or a percentage (1 to 100)")


class AlertLevels(_Request):
    levels: list[AlertLevel] = Field(max_length=5, description="At most five; an empty list turns alerts off")


class AlertView(BaseModel):
    id: uuid.UUID
    name: str
    kind: Literal["absolute", "percent"]
    value: int
    threshold: int = Field(description="The level in credits now (a percentage follows the last purchase)")
    below: bool = Field(description="The available balance is below this level (an alert was sent)")
