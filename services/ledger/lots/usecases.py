"""Lots read back, promotional grants, and the expiry sweeper: one transaction each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from common.accounts import EXPIRED, PROMOTIONS, account_id
from common.contracts.ledger import GrantOrder, GrantView
from common.idempotency import request_fingerprint
from common.identity import Identity
from common.logs import get_logger
from services.ledger.lots import domain, store
from services.ledger.lots.clock import CLOCK
from services.ledger.lots.domain import Holding
from services.ledger.lots.rules import LotRules, NewLot
from services.ledger.postings import store as postings_store
from services.ledger.postings.domain import Movement, PostingRequest, check_quantity
from services.ledger.postings.usecases import in_own_transaction, post

log = get_logger(__name__)

SOON = timedelta(days=30)


async def holdings_of(pool: asyncpg.Pool, tenant_id: uuid.UUID, codes: Sequence[str]) -> dict[str, list[Holding]]:
    """Each account's lots, in spending order (what a transfer or a message would take first comes first)."""
    ids = {account_id(tenant_id, code): code for code in codes}
    async with pool.acquire() as conn:
        found = await store.holdings(conn, ids)
    return {code: domain.in_spending_order(found.get(acc, [])) for acc, code in ids.items()}


def expiring_soon(holdings: Sequence[Holding]) -> int:
    """Credits that lapse within 30 days (the balance answer's `expiring_within_30_days`)."""
    return domain.expiring_by(holdings, CLOCK.now() + SOON)


async def grant(
    pool: asyncpg.Pool, identity: Identity, tenant_id: uuid.UUID, order: GrantOrder, key: str, maximum: int,
) -> GrantView:
    """Promotional credits from the `promotions` account into one account of the tenant: a lot of their
    own, unpaid (spent first, never refunded or invoiced), lapsing when the operator said."""
    identity.require_operator("Only platform operators grant promotional credits.")
    check_quantity(order.quantity, maximum)
    domain.check_grant_expiry(order.expires_at, CLOCK.now())
    grant_id = uuid.uuid5(uuid.NAMESPACE_URL, f"grant:{tenant_id}:{key}")  # a retry names the same grant
    lot = NewLot("grant", False, order.expires_at, f"grant:{grant_id}", id=grant_id)
    request = PostingRequest(
        tenant_id=tenant_id, kind="grant", idempotency_key=f"grant:{key}",
        request_hash=request_fingerprint(order.model_dump(mode="json")),
        movements=[Movement(PROMOTIONS, -order.quantity), Movement(order.account_code, order.quantity)],
        actor_user_id=identity.user_id, reference=f"grant:{grant_id}", note=order.reason, lots=LotRules(new_lot=lot),
    )
    posted = await in_own_transaction(pool, request, None)
    log.info("credits_granted", grant_id=str(grant_id), quantity=order.quantity, replayed=posted.replayed)
    return GrantView(
        id=grant_id, transaction_id=posted.id, lot_id=grant_id, account_code=order.account_code,
        quantity=order.quantity, expires_at=order.expires_at, reason=order.reason,
        balance_after=posted.balances[order.account_code][0],
    )


async def expire_lapsed(pool: asyncpg.Pool, batch: int = 100) -> int:
    """Post one `lot_expiry` transaction for each holding of a lapsed lot with unreserved credits; answers
    how many. Safe with several sweepers and across crashes: each one locks the account and reads what is
    left to expire under that lock, so a second sweeper (or a rerun) finds nothing left and posts nothing."""
    async with pool.acquire() as conn:
        due = await store.lapsed_holdings(conn, CLOCK.now(), batch)
    expired = 0
    for lapsed in due:
        async with pool.acquire() as conn, conn.transaction():
            expired += await _expire(conn, lapsed)
    return expired


async def _expire(conn: asyncpg.Connection, lapsed: store.Lapsed) -> int:
    await postings_store.lock_for_posting(conn, lapsed.tenant_id, [lapsed.code, EXPIRED])
    held = await store.account_lots(conn, lapsed.account_id)
    holding = next((h for h in held if h.lot.id == lapsed.lot_id), None)
    if holding is None or holding.free <= 0 or not holding.lot.lapsed(CLOCK.now()):
        return 0
    await post(conn, PostingRequest(
        tenant_id=lapsed.tenant_id, kind="lot_expiry",
        # The lock and the fresh read make it once; the key only has to be unique (a lot released by a hold
        # after it lapsed expires again, later, for what was released).
        idempotency_key=f"lot-expiry:{lapsed.lot_id}:{lapsed.account_id}:{uuid.uuid4()}",
        request_hash=request_fingerprint([str(lapsed.lot_id), lapsed.code, holding.free]),
        movements=[Movement(lapsed.code, -holding.free), Movement(EXPIRED, holding.free)],
        reference=f"lot:{lapsed.lot_id}", note=domain.expiry_note(holding),
        lots=LotRules(only_lots=frozenset({lapsed.lot_id}), include_lapsed=True),
    ))
    log.info("lot_expired", lot_id=str(lapsed.lot_id), account=lapsed.code, quantity=holding.free)
    return 1
