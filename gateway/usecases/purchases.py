"""Buying credits: a quote, a purchase for an account the buyer may buy for, and who may see a purchase
and its tax invoice afterwards; pages of the purchases for the accounts a caller manages."""

from __future__ import annotations

import uuid

import asyncpg

from common.contracts.billing import PurchaseOrder, PurchasesQuery
from gateway.clients.billing import BillingClient, Purchase
from gateway.directory import domain
from gateway.schemas.credits import PurchaseCreated, PurchaseRequest, PurchaseView, Quote
from gateway.schemas.history import HistoryQuery, PurchasePage
from gateway.usecases.accounts import account_named, accounts_named
from gateway.usecases.identity import identity_for
from gateway.usecases.logs import log_scope
from gateway.web.auth import Caller


async def quote(billing: BillingClient, caller: Caller, quantity: int) -> Quote:
    return await billing.quote(identity_for(caller), quantity)


async def create(
    pool: asyncpg.Pool, billing: BillingClient, caller: Caller, request: PurchaseRequest, idempotency_key: str
) -> PurchaseCreated:
    tenant = caller.require_tenant()
    [account] = await accounts_named(pool, tenant, request.account_id)
    domain.authorise_purchase(caller.person, account)
    # The tenant's legal name and ABN go on its tax invoices unless the buyer gave others.
    details = request.billing.model_copy(update={"company": request.billing.company or tenant.legal_name,
                                                 "tax_id": request.billing.tax_id or tenant.abn})
    order = PurchaseOrder(account_id=account.id, account_code=account.code, quantity=request.quantity,
                          billing=details)
    created = await billing.create_purchase(identity_for(caller), order, idempotency_key)
    return PurchaseCreated.model_validate(created, from_attributes=True)


async def visible_purchase(
    pool: asyncpg.Pool, billing: BillingClient, caller: Caller, purchase_id: uuid.UUID
) -> Purchase:
    """A purchase the caller bought, or one for an account the caller manages (billing answers 404 for
    another tenant's)."""
    purchase = await billing.purchase(identity_for(caller), purchase_id)
    await require_purchase_visible(pool, caller, purchase)
    return purchase


async def require_purchase_visible(pool: asyncpg.Pool, caller: Caller, purchase: Purchase) -> None:
    """A caller sees a purchase they bought, or one for an account they manage."""
    if purchase.buyer_user_id == caller.person.id:
        return
    account = await account_named(pool, caller.require_tenant(), purchase.account_id)
    if account is None or not domain.may_manage(caller.person, account):
        raise domain.AccountForbidden("You may not see this purchase.")


async def invoice(
    pool: asyncpg.Pool, billing: BillingClient, caller: Caller, purchase_id: uuid.UUID
) -> tuple[Purchase, bytes]:
    """A visible purchase and its tax invoice (a PDF)."""
    purchase = await visible_purchase(pool, billing, caller, purchase_id)
    return purchase, await billing.invoice_pdf(identity_for(caller), purchase.id)


async def read_purchases(
    pool: asyncpg.Pool, billing: BillingClient, caller: Caller, query: HistoryQuery
) -> PurchasePage:
    """A page of the purchases for the accounts the caller manages (a master: every one of the tenant),
    newest first. Whose they are is decided as for the log: the accounts named (each one the caller
    manages, else 404), or a scope, so that a large tenant's accounts never go into a URL."""
    scope = await log_scope(pool, caller, query.account)
    if not scope:
        return PurchasePage(items=[], next_cursor=None)  # a user of a tenant in shared mode manages nothing
    named = dict(scope)
    wanted = PurchasesQuery(
        scope=named.get("scope", "accounts"),  # type: ignore[arg-type]  # log_scope says tenant or users
        account=[uuid.UUID(value) for key, value in scope if key == "account"],
        since=query.since, until=query.until, cursor=query.cursor, limit=query.limit,
    )
    page = await billing.purchases(identity_for(caller), wanted)
    views = [PurchaseView.model_validate(purchase, from_attributes=True) for purchase in page.items]
    return PurchasePage(items=views, next_cursor=page.next_cursor)
