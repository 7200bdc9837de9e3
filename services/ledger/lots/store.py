"""The lots' SQL: an account's holdings read under its lock, and a transaction's effect on lots written in
one statement. Parameterised statements only; no rules here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.ledger.lots.domain import Holding, LotMove
from services.ledger.lots.rules import Lot, Pin

_LOT_COLUMNS = "l.id, l.origin, l.paid, l.granted_at, l.expires_at, l.reference"


def _lot(row: asyncpg.Record) -> Lot:
    return Lot(row["id"], row["origin"], row["paid"], row["granted_at"], row["expires_at"], row["reference"])


def holdings_subquery(accounts: str) -> str:
    """Every holding of the accounts named by the parameter `accounts` (a uuid[]), as one array of rows: a
    posting's facts read them with everything else in one round trip (`decode_holdings`)."""
    return (f"ARRAY(SELECT (h.account_id, h.remaining, h.reserved, {_LOT_COLUMNS})"  # noqa: S608 (constants)
            f" FROM lot_holdings h JOIN lots l ON l.id = h.lot_id WHERE h.account_id = ANY({accounts}::uuid[]))")


def decode_holdings(rows: Iterable[tuple[Any, ...]]) -> dict[uuid.UUID, list[Holding]]:
    """`holdings_subquery`'s rows, by account id (an account with none is absent)."""
    found: dict[uuid.UUID, list[Holding]] = {}
    for account_id, remaining, reserved, *lot in rows:
        found.setdefault(account_id, []).append(Holding(Lot(*lot), remaining, reserved))
    return found


async def holdings(conn: asyncpg.Connection, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Holding]]:
    """Every holding of the accounts, by account id (an account with none is absent). Read it after the
    accounts are locked: their locks guard their holdings."""
    rows = await conn.fetchval("SELECT " + holdings_subquery("$1"), list(account_ids))
    return decode_holdings(rows)


@dataclass(frozen=True)
class LotWrite:
    """One transaction's effect on lots, ready to be stored."""

    transaction_id: uuid.UUID
    tenant_id: uuid.UUID
    new_lots: Sequence[tuple[Lot, int]]
    moves: Sequence[tuple[uuid.UUID, LotMove]]  # (account id, move)


def write_ctes(
    writes: Sequence[LotWrite], after: dict[tuple[uuid.UUID, uuid.UUID], Holding | None], first: int
) -> tuple[str, list[Any]]:
    """New lots, the holdings as they are now (`after`, by account and lot: None when it went to zero) and
    the lot movements of one or more transactions: the common table expressions that write them, with
    their parameters numbered from `$first`, for the posting's own statement to carry (one round trip)."""
    lots = [(w.tenant_id, lot, quantity) for w in writes for lot, quantity in w.new_lots]
    moves = [(w.transaction_id, account, move) for w in writes for account, move in w.moves]
    gone = [key for key, holding in after.items() if holding is None]
    kept = [(key, holding) for key, holding in after.items() if holding is not None]
    n = [f"${first + k}" for k in range(19)]
    sql = f"""new_lots AS (
               INSERT INTO lots (id, tenant_id, origin, paid, reference, granted_at, expires_at, quantity)
               SELECT * FROM unnest({n[0]}::uuid[], {n[1]}::uuid[], {n[2]}::text[], {n[3]}::boolean[], {n[4]}::text[],
                                    {n[5]}::timestamptz[], {n[6]}::timestamptz[], {n[7]}::bigint[])
           ), gone_holdings AS (
               DELETE FROM lot_holdings h USING unnest({n[8]}::uuid[], {n[9]}::uuid[]) AS g(account_id, lot_id)
               WHERE h.account_id = g.account_id AND h.lot_id = g.lot_id
           ), kept_holdings AS (
               INSERT INTO lot_holdings (account_id, lot_id, remaining, reserved)
               SELECT * FROM unnest({n[10]}::uuid[], {n[11]}::uuid[], {n[12]}::bigint[], {n[13]}::bigint[])
               ON CONFLICT (account_id, lot_id) DO UPDATE
                   SET remaining = EXCLUDED.remaining, reserved = EXCLUDED.reserved
           ), lot_moves AS (
               INSERT INTO lot_movements (transaction_id, account_id, lot_id, amount, reserved)
               SELECT * FROM unnest({n[14]}::uuid[], {n[15]}::uuid[], {n[16]}::uuid[], {n[17]}::bigint[],
                                    {n[18]}::bigint[])
           )"""  # noqa: S608 (parameter numbers only)
    args: list[Any] = [
        [lot.id for _, lot, _ in lots], [tenant for tenant, _, _ in lots], [lot.origin for _, lot, _ in lots],
        [lot.paid for _, lot, _ in lots], [lot.reference for _, lot, _ in lots],
        [lot.granted_at for _, lot, _ in lots], [lot.expires_at for _, lot, _ in lots], [q for _, _, q in lots],
        [a for a, _ in gone], [lot for _, lot in gone],
        [a for (a, _), _ in kept], [lot for (_, lot), _ in kept], [h.remaining for _, h in kept],
        [h.reserved for _, h in kept],
        [t for t, _, _ in moves], [a for _, a, _ in moves], [m.lot.id for _, _, m in moves],
        [m.amount for _, _, m in moves], [m.reserved for _, _, m in moves],
    ]
    return sql, args


async def reserved_by(conn: asyncpg.Connection, hold_id: uuid.UUID) -> tuple[Pin, ...]:
    """What a hold reserved, lot by lot: its `hold` transaction's lot movements."""
    rows = await conn.fetch(
        """SELECT m.lot_id, sum(m.reserved) AS quantity FROM lot_movements m
           JOIN transactions t ON t.id = m.transaction_id
           WHERE t.hold_id = $1 AND t.kind = 'hold' AND m.reserved > 0
           GROUP BY m.lot_id ORDER BY m.lot_id""",
        hold_id,
    )
    return tuple(Pin(r["lot_id"], int(r["quantity"])) for r in rows)


async def lots_by_reference(conn: asyncpg.Connection, tenant_id: uuid.UUID, reference: str) -> list[Lot]:
    rows = await conn.fetch(
        f"SELECT {_LOT_COLUMNS} FROM lots l WHERE l.tenant_id = $1 AND l.reference = $2 ORDER BY l.id",  # noqa: S608
        tenant_id, reference,
    )
    return [_lot(r) for r in rows]


async def opening_lots(conn: asyncpg.Connection, account_id: uuid.UUID) -> list[Lot]:
    """The lot an account's credits from before lots existed were put in (none if it had none)."""
    rows = await conn.fetch(
        f"""SELECT {_LOT_COLUMNS} FROM lot_holdings h JOIN lots l ON l.id = h.lot_id
            WHERE h.account_id = $1 AND l.origin = 'opening'""",  # noqa: S608
        account_id,
    )
    return [_lot(r) for r in rows]


async def taken_by(conn: asyncpg.Connection, transaction_id: uuid.UUID) -> list[tuple[Lot, int]]:
    """The lots a transaction took credits out of, and how many of each (a refund's restore puts them back)."""
    rows = await conn.fetch(
        f"""SELECT {_LOT_COLUMNS}, -sum(m.amount) AS quantity FROM lot_movements m JOIN lots l ON l.id = m.lot_id
            WHERE m.transaction_id = $1 AND m.amount < 0 GROUP BY l.id ORDER BY l.id""",  # noqa: S608
        transaction_id,
    )
    return [(_lot(r), int(r["quantity"])) for r in rows]


@dataclass(frozen=True)
class Lapsed:
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    code: str
    lot_id: uuid.UUID


async def lapsed_holdings(conn: asyncpg.Connection, now: datetime, limit: int) -> list[Lapsed]:
    """Holdings of lapsed lots with credits no hold reserves: what the expiry sweeper takes next."""
    rows = await conn.fetch(
        """SELECT a.tenant_id, a.id AS account_id, a.code, l.id AS lot_id
           FROM lots l JOIN lot_holdings h ON h.lot_id = l.id JOIN accounts a ON a.id = h.account_id
           WHERE l.expires_at <= $1 AND h.remaining > h.reserved
           ORDER BY l.expires_at, l.id, a.id LIMIT $2""",
        now, limit,
    )
    return [Lapsed(r["tenant_id"], r["account_id"], r["code"], r["lot_id"]) for r in rows]


async def account_lots(conn: asyncpg.Connection, account_id: uuid.UUID) -> list[Holding]:
    return (await holdings(conn, [account_id])).get(account_id, [])


async def refilled_by(conn: asyncpg.Connection, transaction_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """What the transactions put back into each lot (earlier give-backs of one capture)."""
    rows = await conn.fetch(
        """SELECT lot_id, sum(amount) AS quantity FROM lot_movements
           WHERE transaction_id = ANY($1::uuid[]) AND amount > 0 GROUP BY lot_id""",
        list(transaction_ids),
    )
    return {r["lot_id"]: int(r["quantity"]) for r in rows}
