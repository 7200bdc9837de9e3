"""Auto top-up of an account, and the caller's saved billing details and card that pay for it."""

from __future__ import annotations

import uuid

import asyncpg

from gateway.clients.billing import BillingClient
from gateway.directory import domain
from gateway.schemas.billing import AutoTopUpRequest, AutoTopUpView, BillingProfileView
from gateway.usecases.accounts import accounts_named
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


async def set_auto_top_up(
    pool: asyncpg.Pool, billing: BillingClient, caller: Caller, tenant: domain.Tenant, wanted: uuid.UUID,
    settings: AutoTopUpRequest,
) -> AutoTopUpView:
    [account] = await accounts_named(pool, tenant, wanted)
    # Whoever may buy credits for the account may have them bought automatically, with their own card.
    domain.authorise_purchase(caller.person, account)
    return await billing.set_auto_top_up(identity_for(caller), account.id, account.code, settings)


async def auto_top_up(
    pool: asyncpg.Pool, billing: BillingClient, caller: Caller, tenant: domain.Tenant, wanted: uuid.UUID
) -> AutoTopUpView:
    [account] = await accounts_named(pool, tenant, wanted)
    if not (domain.may_manage(caller.person, account) or domain.may_purchase_for(caller.person, account)):
        raise domain.AccountForbidden("You may not see this account.")
    return await billing.auto_top_up(identity_for(caller), account.id)


async def turn_off_auto_top_up(
    pool: asyncpg.Pool, billing: BillingClient, caller: Caller, tenant: domain.Tenant, wanted: uuid.UUID
) -> AutoTopUpView:
    [account] = await accounts_named(pool, tenant, wanted)
    if not domain.may_purchase_for(caller.person, account):
        raise domain.AccountForbidden("You may not change this account's auto top-up.")
    return await billing.turn_off_auto_top_up(identity_for(caller), account.id)


async def billing_details(billing: BillingClient, caller: Caller) -> BillingProfileView:
    """The caller's last billing details and saved card, to offer on the next purchase."""
    return await billing.billing_profile(identity_for(caller))
