"""Two-phase spending: place a hold, then capture what was used or void it; expired holds are voided
by a sweeper. Each action is one transaction with its event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common.accounts import SPENT, SYSTEM, user_code
from common.accounts import account_id as account_id_of
from common.idempotency import request_fingerprint
from common.identity import Identity
from common.problems import Forbidden, RuleBroken
from services.ledger import domain, store
from services.ledger.domain import Movement
from services.ledger.usecases import PostingRequest, post


class HoldsNeedService(Forbidden):
    slug = "service-only"


class UserCreditsInSharedMode(RuleBroken):
    slug = "shared-mode"


@dataclass(frozen=True)
class HoldView:
    id: uuid.UUID
    account_id: uuid.UUID
    quantity: int
    captured: int
    status: str
    reference: str | None
    expires_at: datetime
    balance: int
    held: int
    available: int


def require_service(identity: Identity) -> None:
    if identity.role != "service":
        raise HoldsNeedService("Holds are for internal systems with a service token.")


class NotTheSendingAccount(Forbidden):
    slug = "account-forbidden"


def require_service_or_sender(identity: Identity) -> None:
    """Internal systems hold credits on any account; a person only when sending SMS (see below)."""
    if identity.role == "service" or (identity.role in ("master", "user") and identity.send_sms and identity.user_id):
        return
    raise HoldsNeedService("Holds are for internal systems, and for people allowed to send SMS.")


def sending_code(identity: Identity, mode: str | None) -> str:
    """The account a person's messages are paid from: System Credits in shared mode, else their own."""
    assert identity.user_id is not None
    return SYSTEM if mode == "shared" else user_code(identity.user_id)


def require_sending_account(identity: Identity, code: str, mode: str | None) -> None:
    if identity.role != "service" and code != sending_code(identity, mode):
        raise NotTheSendingAccount("A sender spends only from the account they send from: their own User Credits "
                                   "in individual mode, System Credits in shared mode.")


async def place(
    pool: asyncpg.Pool, identity: Identity, account_id: uuid.UUID, quantity: int, reference: str | None,
    expires_in: int, key: str, maximum: int,
) -> HoldView:
    require_service_or_sender(identity)
    domain.check_quantity(quantity, maximum)
    fingerprint = request_fingerprint([str(account_id), quantity, reference, expires_in])
    # One key for two accounts: the requests take different locks, so the second meets the first's key
    # in a unique index instead of in post(). Run it again: post() then answers it as a replay or a 409.
    for attempt in (1, 2):
        try:
            return await _place(pool, identity, account_id, quantity, reference, expires_in, key, fingerprint)
        except asyncpg.UniqueViolationError as exc:
            if attempt == 2 or exc.constraint_name not in _KEY_CONSTRAINTS:
                raise
    raise AssertionError("unreachable")


_KEY_CONSTRAINTS = ("holds_tenant_id_idempotency_key_key", "transactions_tenant_id_idempotency_key_key")


async def _place(
    pool: asyncpg.Pool, identity: Identity, account_id: uuid.UUID, quantity: int, reference: str | None,
    expires_in: int, key: str, fingerprint: str,
) -> HoldView:
    async with pool.acquire() as conn, conn.transaction():
        account = await _account_of(conn, identity, account_id, quantity)
        hold_id = uuid.uuid4()

        async def check(c: asyncpg.Connection, _: dict[str, domain.Account], facts: store.PostingFacts) -> None:
            # Read after the tenant and account locks: a mode switch cannot slip in before we commit.
            mode = facts.credit_mode
            require_sending_account(identity, account.code, mode or identity.credit_mode)
            if account.kind == "user" and mode == "shared":
                raise UserCreditsInSharedMode("In shared mode credits are spent from System Credits.")
            await store.insert_hold(c, hold_id=hold_id, tenant_id=account.tenant_id, account=account.id,
                                    quantity=quantity, reference=reference, expires_in=expires_in, key=key,
                                    request_hash=fingerprint)

        request = PostingRequest(
            tenant_id=account.tenant_id, kind="hold", idempotency_key=f"hold:{account.tenant_id}:{key}",
            request_hash=fingerprint, movements=[], held_deltas={account.code: quantity}, hold_id=hold_id,
            reference=reference,
        )
        # A replayed key is recognised by post() (after the account lock) and answers the first hold.
        if (await post(conn, request, check)).replayed:
            existing = await store.hold_by_key(conn, account.tenant_id, key)
            assert existing is not None
            hold_id = existing["id"]
        return await _view(conn, hold_id)


async def capture(pool: asyncpg.Pool, identity: Identity, hold_id: uuid.UUID, amount: int | None) -> HoldView:
    """Move what was used to `spent` and release the rest. Capturing again changes nothing."""
    require_service(identity)
    async with pool.acquire() as conn, conn.transaction():
        hold = await _locked_hold(conn, identity, hold_id)
        if domain.resolution(hold, "captured"):
            taken = domain.capture_amount(hold, amount)
            await _resolve(conn, hold_id, "capture", "captured", taken,
                           [Movement(hold.code, -taken), Movement(SPENT, taken)] if taken else [])
        return await _view(conn, hold_id)


async def void(pool: asyncpg.Pool, identity: Identity, hold_id: uuid.UUID) -> HoldView:
    require_service(identity)
    async with pool.acquire() as conn, conn.transaction():
        hold = await _locked_hold(conn, identity, hold_id)
        if domain.resolution(hold, "voided"):
            await _resolve(conn, hold_id, "void", "voided", 0, [])
        return await _view(conn, hold_id)


async def settle(conn: asyncpg.Connection, hold_id: uuid.UUID, tenant_id: uuid.UUID, amount: int) -> bool:
    """Capture `amount` of a hold (none: void it) inside the caller's transaction, such as a consumer's
    with its inbox row. False when it was settled so already."""
    hold = await _locked_hold(conn, Identity(role="service", tenant_id=tenant_id), hold_id)
    if not domain.resolution(hold, "captured" if amount else "voided"):
        return False
    if amount:
        taken = domain.capture_amount(hold, amount)
        movements = [Movement(hold.code, -taken), Movement(SPENT, taken)]
        await _resolve(conn, hold_id, "capture", "captured", taken, movements)
    else:
        await _resolve(conn, hold_id, "void", "voided", 0, [])
    return True


async def expire_due(pool: asyncpg.Pool, batch: int = 100) -> int:
    """Void every open hold past its expiry, each in its own transaction; answers how many."""
    async with pool.acquire() as conn:
        due = await store.expired_hold_ids(conn, batch)
    expired = 0
    for hold_id in due:
        async with pool.acquire() as conn, conn.transaction():
            hold = await store.hold(conn, hold_id, lock=True)
            if hold is not None and hold["status"] == "open":  # a capture may have won the race
                await _resolve(conn, hold_id, "expiry", "expired", 0, [])
                expired += 1
    return expired


async def _resolve(
    conn: asyncpg.Connection, hold_id: uuid.UUID, kind: str, status: str, taken: int, movements: list[Movement]
) -> None:
    hold = await store.hold(conn, hold_id)
    assert hold is not None
    await store.resolve_hold(conn, hold_id, status, taken)
    await post(conn, PostingRequest(
        tenant_id=hold["tenant_id"], kind=kind, idempotency_key=f"hold:{hold_id}:{kind}",
        request_hash=request_fingerprint([str(hold_id), kind, taken]), movements=movements,
        held_deltas={hold["code"]: -hold["quantity"]}, hold_id=hold_id, reference=hold["reference"],
    ))


async def _account_of(
    conn: asyncpg.Connection, identity: Identity, account_id: uuid.UUID, quantity: int = 0
) -> domain.Account:
    account = await store.account_by_id(conn, account_id)
    if account is None and identity.role != "service" and identity.tenant_id is not None:
        mode = await store.credit_mode(conn, identity.tenant_id) or identity.credit_mode
        if account_id == account_id_of(identity.tenant_id, sending_code(identity, mode)):
            # A sender's own account that never held a credit has none to spend: a shortfall like any other.
            raise domain.InsufficientCredits(f"The account has 0 credits available; {quantity} are needed.")
    if account is None or not account.user_facing or identity.tenant_id not in (None, account.tenant_id):
        # An account never opened has never held a credit: to the caller it does not exist yet.
        raise domain.AccountNotFound("No such account, or it has never held credits.")
    return account


async def _locked_hold(conn: asyncpg.Connection, identity: Identity, hold_id: uuid.UUID) -> domain.HoldState:
    row = await store.hold(conn, hold_id, lock=True)
    if row is None or identity.tenant_id not in (None, row["tenant_id"]):
        raise domain.HoldNotFound("No such hold.")
    return domain.HoldState(row["id"], row["account_id"], row["code"], row["quantity"], row["captured"], row["status"])


async def _view(conn: asyncpg.Connection, hold_id: uuid.UUID) -> HoldView:
    row = await store.hold(conn, hold_id)
    assert row is not None
    account = await store.account_by_id(conn, row["account_id"])
    assert account is not None
    return HoldView(row["id"], row["account_id"], row["quantity"], row["captured"], row["status"],
                    row["reference"], row["expires_at"], account.balance, account.held, account.available)
