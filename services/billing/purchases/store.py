"""Purchases' SQL, parameterised; rows come back as purchases."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from common.keyset import Cursor
from services.billing.payments.provider import CardSummary, CheckoutSession
from services.billing.price_lists.domain import Quote
from services.billing.purchases.domain import (
    BillingDetails,
    Purchase,
    PurchaseOrder,
    PurchaseOrigin,
    Seller,
)


async def insert_purchase(
    conn: asyncpg.Connection,
    purchase_id: uuid.UUID,
    order: PurchaseOrder,
    quote: Quote,
    origin: PurchaseOrigin = "checkout",
) -> bool:
    """False when the tenant already used this idempotency key (the unique constraint decides). The quote's
    prices and credit validity are copied: editing the price list later changes nothing sold."""
    inserted = await conn.fetchval(
        """INSERT INTO purchases (
               id, tenant_id, idempotency_key, request_fingerprint, buyer_user_id, account_id,
               account_code, quantity, unit_price, subtotal_cents, tax_name, tax_rate, tax_cents,
               total_cents, currency, billing_name, billing_email, billing_company, billing_tax_id,
               billing_address, origin, credit_validity_months)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                   $22)
           ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
           RETURNING true""",
        purchase_id, order.tenant_id, order.idempotency_key, order.fingerprint(), order.buyer_user_id,
        order.account_id, order.account_code, quote.quantity, quote.unit_price, quote.subtotal_cents,
        quote.tax_name, quote.tax_rate, quote.tax_cents, quote.total_cents, quote.currency,
        order.billing.name, order.billing.email, order.billing.company, order.billing.tax_id,
        order.billing.address, origin, quote.credit_validity_months,
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


# Walks purchases_by_tenant_time (migration 0004) newest first and stops after a page; a scope or named
# accounts filter the walk. $2: the account ids (scope accounts), $3: include System Credits.
_PAGE = """
SELECT * FROM purchases
WHERE tenant_id = $1 AND (cardinality($2::uuid[]) = 0 OR account_id = ANY($2::uuid[]))
  AND ($3::boolean OR account_code <> 'system')
  AND created_at >= $4 AND created_at < $5 AND (created_at, id) < ($6, $7)
ORDER BY created_at DESC, id DESC
LIMIT $8
"""


async def purchases_page(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    account_ids: list[uuid.UUID],
    includes_system: bool,
    since: datetime,
    until: datetime,
    before: Cursor,
    rows: int,
) -> list[Purchase]:
    """Up to `rows` purchases of the accounts (every account of the tenant when none is named, System
    Credits only if `includes_system`) created in [since, until), older than `before`, newest first."""
    found = await conn.fetch(_PAGE, tenant_id, account_ids, includes_system, since, until, before.created_at,
                             before.id, rows)
    return [_purchase(row) for row in found]


async def find_purchase(conn: asyncpg.Connection, purchase_id: uuid.UUID) -> Purchase | None:
    row = await conn.fetchrow("SELECT * FROM purchases WHERE id = $1", purchase_id)
    return _purchase(row) if row else None


async def lock_purchase(conn: asyncpg.Connection, purchase_id: uuid.UUID) -> Purchase | None:
    """Lock the purchase for the rest of the transaction: status changes to one purchase queue here."""
    row = await conn.fetchrow("SELECT * FROM purchases WHERE id = $1 FOR UPDATE", purchase_id)
    return _purchase(row) if row else None


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
        credit_validity_months=row["credit_validity_months"],
    )


def _billing(row: asyncpg.Record) -> BillingDetails:
    return BillingDetails(
        name=row["billing_name"],
        email=row["billing_email"],
        company=row["billing_company"],
        tax_id=row["billing_tax_id"],
        address=row["billing_address"],
    )
