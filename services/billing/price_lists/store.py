"""Price lists' SQL, parameterised; rows come back as price lists."""

from __future__ import annotations

import uuid

import asyncpg

from services.billing.price_lists.domain import PriceList, PriceTier


async def load_price_list(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> PriceList:
    """The tenant's own price list, else the default one (tenant_id NULL)."""
    row = await conn.fetchrow(
        """SELECT id, currency, tax_name, tax_rate, min_quantity, max_quantity, credit_validity_months
           FROM price_lists
           WHERE tenant_id = $1 OR tenant_id IS NULL
           ORDER BY tenant_id NULLS LAST LIMIT 1""",
        tenant_id,
    )
    if row is None:
        raise LookupError("no default price list: migration 0002 has not been applied")
    tiers = await conn.fetch(
        "SELECT min_quantity, unit_price FROM price_tiers WHERE price_list_id = $1 ORDER BY min_quantity",
        row["id"],
    )
    return PriceList(
        currency=row["currency"],
        tax_name=row["tax_name"],
        tax_rate=row["tax_rate"],
        min_quantity=row["min_quantity"],
        max_quantity=row["max_quantity"],
        tiers=tuple(PriceTier(t["min_quantity"], t["unit_price"]) for t in tiers),
        credit_validity_months=row["credit_validity_months"],
    )


async def save_price_list(conn: asyncpg.Connection, tenant_id: uuid.UUID, price_list: PriceList) -> None:
    """Replace the tenant's own price list. Purchases copied their prices, so none of them changes."""
    list_id = await conn.fetchval(
        """INSERT INTO price_lists (tenant_id, currency, tax_name, tax_rate, min_quantity, max_quantity,
                                   credit_validity_months)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id) DO UPDATE
           SET currency = excluded.currency, tax_name = excluded.tax_name, tax_rate = excluded.tax_rate,
               min_quantity = excluded.min_quantity, max_quantity = excluded.max_quantity,
               credit_validity_months = excluded.credit_validity_months
           RETURNING id""",
        tenant_id, price_list.currency, price_list.tax_name, price_list.tax_rate, price_list.min_quantity,
        price_list.max_quantity, price_list.credit_validity_months,
    )
    await conn.execute("DELETE FROM price_tiers WHERE price_list_id = $1", list_id)
    await conn.executemany(
        "INSERT INTO price_tiers (price_list_id, min_quantity, unit_price) VALUES ($1, $2, $3)",
        [(list_id, tier.min_quantity, tier.unit_price) for tier in price_list.tiers],
    )


async def has_own_price_list(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM price_lists WHERE tenant_id = $1", tenant_id))
