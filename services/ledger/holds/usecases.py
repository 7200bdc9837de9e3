"""The holds' actions, one transaction each with the posting that reserves, captures or releases the
credits (and its event)."""

from __future__ import annotations

import uuid

import asyncpg

from common.accounts import SPENT
from common.accounts import account_id as account_id_of
from common.contracts import events
from common.contracts.events import Event, HoldExpired
from common.idempotency import request_fingerprint
from common.identity import Identity
from services.ledger.accounts import store as accounts_store
from services.ledger.directory import store as directory_store
from services.ledger.holds import domain, store
from services.ledger.holds.domain import HoldView
from services.ledger.limits import usecases as limits
from services.ledger.lots import store as lots_store
from services.ledger.lots.rules import LotRules
from services.ledger.postings import store as postings_store
from services.ledger.postings.domain import (
    Account,
    AccountNotFound,
    InsufficientCredits,
    Movement,
    PostingRequest,
    check_quantity,
)
from services.ledger.postings.usecases import SOURCE, post

_KEY_CONSTRAINTS = ("holds_tenant_id_idempotency_key_key", "transactions_tenant_id_idempotency_key_key")


async def place(
    pool: asyncpg.Pool, identity: Identity, account_id: uuid.UUID, quantity: int, reference: str | None,
    expires_in: int, key: str, maximum: int, note: str | None = None,
) -> HoldView:
    domain.require_service_or_sender(identity)
    check_quantity(quantity, maximum)
    # The note only describes the hold: a retry that words it differently is still the same request.
    fingerprint = request_fingerprint([str(account_id), quantity, reference, expires_in])
    # One key for two accounts: the requests take different locks, so the second meets the first's key
    # in a unique index instead of in post(). Run it again: post() then answers it as a replay or a 409.
    for attempt in (1, 2):
        try:
            return await _place(pool, identity, account_id, quantity, reference, note, expires_in, key,
                                fingerprint)
        except asyncpg.UniqueViolationError as exc:
            if attempt == 2 or exc.constraint_name not in _KEY_CONSTRAINTS:
                raise
    raise AssertionError("unreachable")


async def _place(
    pool: asyncpg.Pool, identity: Identity, account_id: uuid.UUID, quantity: int, reference: str | None,
    note: str | None, expires_in: int, key: str, fingerprint: str,
) -> HoldView:
    async with pool.acquire() as conn, conn.transaction():
        account = await _account_of(conn, identity, account_id, quantity)
        hold_id = uuid.uuid4()

        async def check(c: asyncpg.Connection, _: dict[str, Account], facts: postings_store.PostingFacts) -> None:
            # Read after the tenant and account locks: a mode switch cannot slip in before we commit.
            domain.check_hold_account(identity, account, facts.credit_mode)
            sender = domain.limited_sender(identity)
            if sender is not None:
                # On the locked account: a person's concurrent holds queue here (limits.usecases says why).
                await limits.check_hold(c, hold_id, account.tenant_id, sender, quantity, facts.now)
            await store.insert_hold(c, hold_id=hold_id, tenant_id=account.tenant_id, account=account.id,
                                    quantity=quantity, reference=reference, note=note, expires_in=expires_in,
                                    key=key,
                                    request_hash=fingerprint)

        request = PostingRequest(
            tenant_id=account.tenant_id, kind="hold", idempotency_key=f"hold:{account.tenant_id}:{key}",
            request_hash=fingerprint, movements=[], held_deltas={account.code: quantity}, hold_id=hold_id,
            reference=reference, note=note,
            # Who sends: their name goes on the reservation in the log (an internal system is no one).
            actor_user_id=identity.user_id if identity.role != "service" else None,
        )
        # A replayed key is recognised by post() (after the account lock) and answers the first hold.
        if (await post(conn, request, check)).replayed:
            existing = await store.hold_by_key(conn, account.tenant_id, key)
            assert existing is not None
            hold_id = existing["id"]
        return await _view(conn, hold_id)


async def capture(pool: asyncpg.Pool, identity: Identity, hold_id: uuid.UUID, amount: int | None) -> HoldView:
    """Move what was used to `spent` and release the rest. Capturing again changes nothing."""
    domain.require_service(identity)
    async with pool.acquire() as conn, conn.transaction():
        hold = await _locked_hold(conn, identity, hold_id)
        if domain.resolution(hold, "captured"):
            taken = domain.capture_amount(hold, amount)
            await _resolve(conn, hold_id, "capture", "captured", taken,
                           [Movement(hold.code, -taken), Movement(SPENT, taken)] if taken else [])
        return await _view(conn, hold_id)


async def void(pool: asyncpg.Pool, identity: Identity, hold_id: uuid.UUID) -> HoldView:
    domain.require_service(identity)
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
                lapsed = HoldExpired(tenant_id=hold["tenant_id"], hold_id=hold_id, account_id=hold["account_id"],
                                     quantity=hold["quantity"])
                await postings_store.append_events(conn, hold["tenant_id"], [Event.new(
                    type=events.HOLD_EXPIRED, source=SOURCE, data=lapsed,
                    subject=events.account_subject(hold["tenant_id"], hold["account_id"]))])
                expired += 1
    return expired


async def open_holds(pool: asyncpg.Pool, tenant_id: uuid.UUID) -> int:
    """How many holds are open in a tenant: a credit-mode switch waits until there are none."""
    async with pool.acquire() as conn:
        return await store.open_holds_count(conn, tenant_id)


async def _resolve(
    conn: asyncpg.Connection, hold_id: uuid.UUID, kind: str, status: str, taken: int, movements: list[Movement]
) -> None:
    hold = await store.hold(conn, hold_id)
    assert hold is not None
    await store.resolve_hold(conn, hold_id, status, taken)
    # The release gives back, and a capture spends from, exactly the lots the hold reserved.
    pins = await lots_store.reserved_by(conn, hold_id)
    await post(conn, PostingRequest(
        tenant_id=hold["tenant_id"], kind=kind, idempotency_key=f"hold:{hold_id}:{kind}",
        request_hash=request_fingerprint([str(hold_id), kind, taken]), movements=movements,
        held_deltas={hold["code"]: -hold["quantity"]}, hold_id=hold_id, reference=hold["reference"],
        note=hold["note"],  # the capture or release reads as what the hold was for
        lots=LotRules(pins=pins),
    ))


async def _account_of(
    conn: asyncpg.Connection, identity: Identity, account_id: uuid.UUID, quantity: int = 0
) -> Account:
    account = await accounts_store.account_by_id(conn, account_id)
    if account is None and identity.role != "service" and identity.tenant_id is not None:
        mode = await directory_store.credit_mode(conn, identity.tenant_id) or identity.credit_mode
        if account_id == account_id_of(identity.tenant_id, domain.sending_code(identity, mode)):
            # A sender's own account that never held a credit has none to spend: a shortfall like any other.
            raise InsufficientCredits(f"The account has 0 credits available; {quantity} are needed.")
    if account is None or not account.user_facing or identity.tenant_id not in (None, account.tenant_id):
        # An account never opened has never held a credit: to the caller it does not exist yet.
        raise AccountNotFound("No such account, or it has never held credits.")
    return account


async def _locked_hold(conn: asyncpg.Connection, identity: Identity, hold_id: uuid.UUID) -> domain.HoldState:
    row = await store.hold(conn, hold_id, lock=True)
    if row is None or identity.tenant_id not in (None, row["tenant_id"]):
        raise domain.HoldNotFound("No such hold.")
    return domain.HoldState(row["id"], row["account_id"], row["code"], row["quantity"], row["captured"], row["status"])


async def _view(conn: asyncpg.Connection, hold_id: uuid.UUID) -> HoldView:
    row = await store.hold(conn, hold_id)
    assert row is not None
    account = await accounts_store.account_by_id(conn, row["account_id"])
    assert account is not None
    return HoldView(row["id"], row["account_id"], row["quantity"], row["captured"], row["status"],
                    row["reference"], row["expires_at"], account.balance, account.held, account.available)
