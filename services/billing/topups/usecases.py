"""Auto top-up: settings per account, and the top-ups themselves.

The trigger is the ledger's `ledger.transaction.posted`, which carries every touched account's
balance and reserved credits after the change. Deciding and recording a top-up is one transaction
under the account's settings row lock, and the partial unique index on `top_ups` refuses a second
one in flight whatever the timing; only after that commits is the saved card charged. A crash
between the commit and the charge leaves the top-up `charging`: the sweeper charges it then, with the
same idempotency key, so the card is charged at most once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from common.contracts.events import TransactionPosted
from common.identity import Identity
from common.logs import get_logger
from common.problems import Forbidden
from services.billing.payments import usecases as payments
from services.billing.payments.provider import PaymentNotice, PaymentProvider, ProviderUnavailable, SavedCard
from services.billing.price_lists import domain as pricing
from services.billing.price_lists import store as price_lists
from services.billing.profiles import store as profiles
from services.billing.purchases import store as purchase_store
from services.billing.purchases.domain import Purchase, PurchaseOrder, Seller, check_account, checkout_order
from services.billing.topups import domain, store, watches
from services.billing.topups.domain import AutoTopUp, TopUpRequest

log = get_logger(__name__)


def _payer(identity: Identity) -> tuple[uuid.UUID, uuid.UUID]:
    if identity.user_id is None:
        raise Forbidden("Auto top-up charges a person's saved card: call with a user's identity.")
    return identity.require_tenant(), identity.user_id


async def configure(
    pool: asyncpg.Pool, identity: Identity, provider_name: str, wanted: TopUpRequest
) -> tuple[AutoTopUp, SavedCard]:
    """Turn auto top-up on (or change it) for an account, paid with the caller's saved card."""
    tenant_id, payer = _payer(identity)
    check_account(tenant_id, wanted.account_id, wanted.account_code)
    async with pool.acquire() as conn, conn.transaction():
        price_list = await price_lists.load_price_list(conn, tenant_id)
        domain.check_settings(wanted.threshold, wanted.quantity, wanted.daily_cap, price_list,
                              wanted.monthly_cap_cents)
        card = await profiles.saved_card_of(conn, tenant_id, payer, provider_name)
        if card is None or await profiles.billing_details_of(conn, tenant_id, payer) is None:
            raise domain.NoSavedCard(
                "There is no saved card to charge: pay for a purchase first, and its card is kept for top-ups."
            )
        saved = await store.save_config(
            conn, AutoTopUp(wanted.account_id, tenant_id, wanted.account_code, payer, wanted.threshold,
                            wanted.quantity, wanted.daily_cap, monthly_cap_cents=wanted.monthly_cap_cents)
        )
        await watches.announce(conn, saved)
    log.info("auto_top_up_set", account_id=str(saved.account_id), threshold=saved.threshold,
             quantity=saved.quantity, daily_cap=saved.daily_cap)
    return saved, card


async def turn_off(pool: asyncpg.Pool, identity: Identity, account_id: uuid.UUID) -> AutoTopUp:
    tenant_id = identity.require_tenant()
    async with pool.acquire() as conn, conn.transaction():
        if await store.get_config(conn, tenant_id, account_id) is None:
            raise domain.AutoTopUpNotFound()
        await store.set_status(conn, account_id, "off", None)
        config = await store.get_config(conn, tenant_id, account_id)
        assert config is not None
        await watches.announce(conn, config)
    return config


async def settings_of(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, account_id: uuid.UUID, provider_name: str
) -> tuple[AutoTopUp, SavedCard | None]:
    async with pool.acquire() as conn:
        config = await store.get_config(conn, tenant_id, account_id)
        if config is None:
            raise domain.AutoTopUpNotFound()
        return config, await profiles.saved_card_of(conn, tenant_id, config.payer_user_id, provider_name)


async def consider(
    pool: asyncpg.Pool, provider: PaymentProvider, posted: TransactionPosted, seller: Seller, timezone: str
) -> None:
    """A ledger transaction happened: top up each account it left below its threshold."""
    levels = domain.available_after(posted)
    if not levels:
        return
    async with pool.acquire() as conn:
        watched = await store.active_among(conn, list(levels))
    today = datetime.now(ZoneInfo(timezone)).date()
    for account_id in watched:
        purchase_id = await _start(pool, provider.name, account_id, levels[account_id], posted.seq, today)
        if purchase_id is not None:
            await charge(pool, provider, purchase_id, seller)


async def _start(
    pool: asyncpg.Pool, provider_name: str, account_id: uuid.UUID, available: int, seq: int, today: date
) -> uuid.UUID | None:
    """Record a top-up and its pending purchase if this moment calls for one; its purchase id if so."""
    async with pool.acquire() as conn, conn.transaction():
        config = await store.lock_config(conn, account_id)
        if config is None:
            return None
        decision = domain.decide(config, available, seq, await store.in_flight(conn, account_id),
                                 await store.bought_on(conn, account_id, today))
        if decision != "top_up":
            if decision == "daily_cap":
                log.warning("top_up_capped", account_id=str(account_id), daily_cap=config.daily_cap)
            return None
        purchase_id = await _pending_purchase(conn, config)
        if purchase_id is None:
            return None
        await store.insert_top_up(conn, uuid.uuid4(), config, purchase_id, seq, today)
    log.info("top_up_started", account_id=str(account_id), available=available, quantity=config.quantity, seq=seq)
    return purchase_id


async def _pending_purchase(conn: asyncpg.Connection, config: AutoTopUp) -> uuid.UUID | None:
    details = await profiles.billing_details_of(conn, config.tenant_id, config.payer_user_id)
    if details is None:
        log.warning("top_up_without_billing_details", account_id=str(config.account_id))
        return None
    purchase_id = uuid.uuid4()
    order = PurchaseOrder(
        tenant_id=config.tenant_id, buyer_user_id=config.payer_user_id, account_id=config.account_id,
        account_code=config.account_code, quantity=config.quantity, billing=details,
        idempotency_key=f"auto-top-up:{purchase_id}",
    )
    quote = pricing.quote(await price_lists.load_price_list(conn, config.tenant_id), config.quantity)
    await purchase_store.insert_purchase(conn, purchase_id, order, quote, origin="auto_top_up")
    return purchase_id


async def charge(pool: asyncpg.Pool, provider: PaymentProvider, purchase_id: uuid.UUID, seller: Seller) -> None:
    """Charge a top-up's saved card and apply the outcome; asking again answers the first outcome."""
    async with pool.acquire() as conn:
        purchase = await purchase_store.find_purchase(conn, purchase_id)
        card = await _card_for(conn, purchase, provider.name) if purchase else None
    if purchase is None or purchase.status != "pending":
        return
    if card is None:
        notice = PaymentNotice(f"no-card:{purchase.id}", purchase.id, None, False, None, "no_saved_card")
    elif not await _within_monthly_cap(pool, purchase):
        # Not charged: failed as a decline is (recorded, `billing.topup.failed`, the payer emailed, auto
        # top-up suspended until set again), so the next low balance does not try and email again.
        log.warning("top_up_monthly_cap_reached", account_id=str(purchase.account_id), purchase_id=str(purchase.id))
        notice = PaymentNotice(f"monthly-cap:{purchase.id}", purchase.id, None, False, None,
                               domain.MONTHLY_CAP_REACHED)
    else:
        order = checkout_order(purchase.id, _order_of(purchase), purchase.quote)
        try:
            found = await provider.charge_saved_card(pool, order, card)
        except ProviderUnavailable as exc:
            log.warning("top_up_charge_postponed", purchase_id=str(purchase.id), error=exc.detail)
            return
        if found is None:
            return  # the outcome comes by webhook
        notice = found
    await payments.record_payment(pool, provider, notice, seller)


async def _within_monthly_cap(pool: asyncpg.Pool, purchase: Purchase) -> bool:
    """Whether this top-up's total fits under its account's monthly cap, with the month's others (in the
    zone its local day was counted in, as the daily cap). Only one top-up of an account is ever charging
    (a unique index), so the others are settled and cannot change under this check."""
    async with pool.acquire() as conn:
        config = await store.get_config(conn, purchase.tenant_id, purchase.account_id)
        top_up = await store.top_up_of(conn, purchase.id)
        if config is None or config.monthly_cap_cents is None or top_up is None:
            return True
        first, following = domain.month_of(top_up["local_day"])
        charged = await store.charged_between(conn, purchase.account_id, first, following, purchase.id)
    return domain.within_monthly_cap(config.monthly_cap_cents, charged, purchase.quote.total_cents)


async def _card_for(conn: asyncpg.Connection, purchase: Purchase, provider_name: str) -> SavedCard | None:
    return await profiles.saved_card_of(conn, purchase.tenant_id, purchase.buyer_user_id, provider_name)


def _order_of(purchase: Purchase) -> PurchaseOrder:
    return PurchaseOrder(purchase.tenant_id, purchase.buyer_user_id, purchase.account_id, purchase.account_code,
                         purchase.quote.quantity, purchase.billing, f"auto-top-up:{purchase.id}")


async def resume_stalled(pool: asyncpg.Pool, provider: PaymentProvider, seller: Seller, older_than: float) -> int:
    async with pool.acquire() as conn:
        stalled = await store.stalled(conn, older_than)
    for row in stalled:
        await charge(pool, provider, row["purchase_id"], seller)
    return len(stalled)
