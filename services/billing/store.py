"""Billing's SQL, parameterised; rows come back as domain objects."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.billing.cards import CardSummary
from services.billing.domain import (
    BillingDetails,
    PriceList,
    PriceTier,
    Purchase,
    PurchaseOrder,
    PurchaseOrigin,
    Quote,
    Seller,
)
from services.billing.providers import CheckoutSession


async def load_price_list(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> PriceList:
    """The tenant's own price list, else the default one (tenant_id NULL)."""
    row = await conn.fetchrow(
        """SELECT id, currency, tax_name, tax_rate, min_quantity, max_quantity FROM price_lists
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
    )


async def save_price_list(conn: asyncpg.Connection, tenant_id: uuid.UUID, price_list: PriceList) -> None:
    """Replace the tenant's own price list. Purchases copied their prices, so none of them changes."""
    list_id = await conn.fetchval(
        """INSERT INTO price_lists (tenant_id, currency, tax_name, tax_rate, min_quantity, max_quantity)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id) DO UPDATE
           SET currency = excluded.currency, tax_name = excluded.tax_name, tax_rate = excluded.tax_rate,
               min_quantity = excluded.min_quantity, max_quantity = excluded.max_quantity
           RETURNING id""",
        tenant_id, price_list.currency, price_list.tax_name, price_list.tax_rate, price_list.min_quantity,
        price_list.max_quantity,
    )
    await conn.execute("DELETE FROM price_tiers WHERE price_list_id = $1", list_id)
    await conn.executemany(
        "INSERT INTO price_tiers (price_list_id, min_quantity, unit_price) VALUES ($1, $2, $3)",
        [(list_id, tier.min_quantity, tier.unit_price) for tier in price_list.tiers],
    )


async def has_own_price_list(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM price_lists WHERE tenant_id = $1", tenant_id))


async def insert_purchase(
    conn: asyncpg.Connection,
    purchase_id: uuid.UUID,
    order: PurchaseOrder,
    quote: Quote,
    origin: PurchaseOrigin = "checkout",
) -> bool:
    """False when the tenant already used this idempotency key (the unique constraint decides)."""
    inserted = await conn.fetchval(
        """INSERT INTO purchases (
               id, tenant_id, idempotency_key, request_fingerprint, buyer_user_id, account_id,
               account_code, quantity, unit_price, subtotal_cents, tax_name, tax_rate, tax_cents,
               total_cents, currency, billing_name, billing_email, billing_company, billing_tax_id,
               billing_address, origin)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
           ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
           RETURNING true""",
        purchase_id, order.tenant_id, order.idempotency_key, order.fingerprint(), order.buyer_user_id,
        order.account_id, order.account_code, quote.quantity, quote.unit_price, quote.subtotal_cents,
        quote.tax_name, quote.tax_rate, quote.tax_cents, quote.total_cents, quote.currency,
        order.billing.name, order.billing.email, order.billing.company, order.billing.tax_id,
        order.billing.address, origin,
    )
    return bool(inserted)


async def set_checkout(conn: asyncpg.Connection, purchase_id: uuid.UUID, session: CheckoutSession) -> None:
    await conn.execute(
        "UPDATE purchases SET checkout_session_id = $2, checkout_url = $3 WHERE id = $1",
        purchase_id, session.id, session.url,
    )


async def find_by_idempotency_key(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, key: str
) -> tuple[Purchase, str] | None:
    row = await conn.fetchrow(
        "SELECT * FROM purchases WHERE tenant_id = $1 AND idempotency_key = $2", tenant_id, key
    )
    return (_purchase(row), row["request_fingerprint"]) if row else None


async def get_purchase(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, purchase_id: uuid.UUID
) -> Purchase | None:
    row = await conn.fetchrow("SELECT * FROM purchases WHERE id = $1 AND tenant_id = $2", purchase_id, tenant_id)
    return _purchase(row) if row else None


async def find_purchase(conn: asyncpg.Connection, purchase_id: uuid.UUID) -> Purchase | None:
    row = await conn.fetchrow("SELECT * FROM purchases WHERE id = $1", purchase_id)
    return _purchase(row) if row else None


async def lock_purchase(conn: asyncpg.Connection, purchase_id: uuid.UUID) -> Purchase | None:
    """Lock the purchase for the rest of the transaction: status changes to one purchase queue here."""
    row = await conn.fetchrow("SELECT * FROM purchases WHERE id = $1 FOR UPDATE", purchase_id)
    return _purchase(row) if row else None


async def next_invoice_number(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> int:
    number: int = await conn.fetchval(
        """INSERT INTO invoice_counters AS c (tenant_id, last_number) VALUES ($1, 1)
           ON CONFLICT (tenant_id) DO UPDATE SET last_number = c.last_number + 1
           RETURNING last_number""",
        tenant_id,
    )
    return number


async def mark_paid(
    conn: asyncpg.Connection,
    purchase_id: uuid.UUID,
    invoice_number: str,
    card: CardSummary | None,
    paid_at: datetime,
    seller: Seller,
    names: tuple[str | None, str | None] = (None, None),
) -> None:
    """Paid, with the invoice's number and what it names (seller, buyer, credited account) as they are
    now; a failure recorded before (a declined first card) is cleared."""
    await conn.execute(
        """UPDATE purchases SET status = 'paid', invoice_number = $2, card_brand = $3, card_last4 = $4,
                  paid_at = $5, seller_name = $6, seller_abn = $7, seller_address = $8,
                  buyer_name = $9, account_name = $10, failure_reason = NULL
           WHERE id = $1""",
        purchase_id, invoice_number, card.brand if card else None, card.last4 if card else None, paid_at,
        seller.name, seller.abn, seller.address, names[0], names[1],
    )


async def set_session_id(conn: asyncpg.Connection, purchase_id: uuid.UUID, session_id: str) -> None:
    """An off-session charge learns its payment's id from the provider's answer."""
    await conn.execute(
        "UPDATE purchases SET checkout_session_id = $2 WHERE id = $1 AND checkout_session_id IS NULL",
        purchase_id, session_id,
    )


async def mark_failed(
    conn: asyncpg.Connection, purchase_id: uuid.UUID, reason: str, card: CardSummary | None
) -> None:
    await conn.execute(
        """UPDATE purchases SET status = 'failed', failure_reason = $2, card_brand = $3, card_last4 = $4,
                  failed_at = now()
           WHERE id = $1""",
        purchase_id, reason, card.brand if card else None, card.last4 if card else None,
    )


async def mark_credited(conn: asyncpg.Connection, purchase_id: uuid.UUID, consistency_token: int) -> None:
    await conn.execute(
        "UPDATE purchases SET status = 'credited', consistency_token = $2, credited_at = now() WHERE id = $1",
        purchase_id, consistency_token,
    )


def _purchase(row: asyncpg.Record) -> Purchase:
    seller = Seller(row["seller_name"], row["seller_abn"], row["seller_address"]) if row["seller_name"] else None
    return Purchase(
        id=row["id"],
        tenant_id=row["tenant_id"],
        buyer_user_id=row["buyer_user_id"],
        account_id=row["account_id"],
        account_code=row["account_code"],
        status=row["status"],
        quote=_quote(row),
        billing=_billing(row),
        checkout_session_id=row["checkout_session_id"],
        checkout_url=row["checkout_url"],
        created_at=row["created_at"],
        paid_at=row["paid_at"],
        invoice_number=row["invoice_number"],
        card_brand=row["card_brand"],
        card_last4=row["card_last4"],
        failure_reason=row["failure_reason"],
        consistency_token=row["consistency_token"],
        seller=seller,
        buyer_name=row["buyer_name"],
        account_name=row["account_name"],
        origin=row["origin"],
    )


def _quote(row: asyncpg.Record) -> Quote:
    return Quote(
        quantity=row["quantity"],
        unit_price=row["unit_price"],
        subtotal_cents=row["subtotal_cents"],
        tax_name=row["tax_name"],
        tax_rate=row["tax_rate"],
        tax_cents=row["tax_cents"],
        total_cents=row["total_cents"],
        currency=row["currency"],
    )


def _billing(row: asyncpg.Record) -> BillingDetails:
    return BillingDetails(
        name=row["billing_name"],
        email=row["billing_email"],
        company=row["billing_company"],
        tax_id=row["billing_tax_id"],
        address=row["billing_address"],
    )
