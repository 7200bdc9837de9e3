"""Profiles' SQL, parameterised: the directory's names, saved billing details and saved cards."""

from __future__ import annotations

import uuid

import asyncpg

from common import accounts
from common.contracts.events import UserChanged
from common.logs import get_logger
from services.billing.payments.provider import SavedCard
from services.billing.purchases.domain import BillingDetails, Purchase

log = get_logger(__name__)


async def keep_name(conn: asyncpg.Connection, change: UserChanged) -> None:
    """Keep the newest name; an older version arriving late changes nothing."""
    await conn.execute(
        """INSERT INTO directory_users AS d (user_id, tenant_id, name, version) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, version = excluded.version
           WHERE d.version < excluded.version""",
        change.user_id, change.tenant_id, change.name, change.version,
    )


async def name_of(conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    name: str | None = await conn.fetchval(
        "SELECT name FROM directory_users WHERE user_id = $1 AND tenant_id = $2", user_id, tenant_id
    )
    return name


async def invoice_names(conn: asyncpg.Connection, purchase: Purchase) -> tuple[str | None, str | None]:
    """(who bought, whose credits they are) as the invoice names them."""
    buyer = await name_of(conn, purchase.tenant_id, purchase.buyer_user_id)
    owner = accounts.owner_of(purchase.account_code)
    if owner is None:
        return buyer, accounts.SYSTEM_CREDITS
    owner_name = await name_of(conn, purchase.tenant_id, owner)
    return buyer, f"User Credits of {owner_name}" if owner_name else "User Credits"


async def save_billing_details(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID, details: BillingDetails
) -> None:
    await conn.execute(
        """INSERT INTO saved_billing_details (tenant_id, user_id, name, email, company, tax_id, address)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, user_id) DO UPDATE
           SET name = excluded.name, email = excluded.email, company = excluded.company,
               tax_id = excluded.tax_id, address = excluded.address, updated_at = now()""",
        tenant_id, user_id, details.name, details.email, details.company, details.tax_id, details.address,
    )


async def billing_details_of(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> BillingDetails | None:
    row = await conn.fetchrow(
        "SELECT name, email, company, tax_id, address FROM saved_billing_details WHERE tenant_id = $1 AND user_id = $2",
        tenant_id, user_id,
    )
    return BillingDetails(**dict(row)) if row else None


async def save_card(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID, provider: str, card: SavedCard
) -> None:
    """The newest saved card replaces the one before: a person has one card on file per provider."""
    await conn.execute(
        """INSERT INTO saved_cards (tenant_id, user_id, provider, token, customer_ref, brand, last4)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, user_id, provider) DO UPDATE
           SET token = excluded.token, customer_ref = excluded.customer_ref, brand = excluded.brand,
               last4 = excluded.last4, saved_at = now()""",
        tenant_id, user_id, provider, card.token, card.customer_ref, card.brand, card.last4,
    )
    log.info("card_saved", user_id=str(user_id), brand=card.brand, last4=card.last4)


async def saved_card_of(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID, provider: str
) -> SavedCard | None:
    row = await conn.fetchrow(
        """SELECT token, brand, last4, customer_ref FROM saved_cards
           WHERE tenant_id = $1 AND user_id = $2 AND provider = $3""",
        tenant_id, user_id, provider,
    )
    return SavedCard(row["token"], row["brand"], row["last4"], row["customer_ref"]) if row else None
