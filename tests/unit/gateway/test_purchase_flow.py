"""Starting a purchase: the account must be the buyer's tenant's and one they may buy for, and the
tenant's legal details go on the invoice unless the buyer gave others. Driven with a fake billing."""

from __future__ import annotations

import uuid

import pytest

from common.accounts import SYSTEM, account_id
from gateway.directory import domain
from gateway.schemas.credits import BillingDetails, PurchaseRequest
from gateway.usecases import purchases
from tests.unit.gateway.fakes import NO_DATABASE, FakeBilling, caller, paid_purchase, shared_tenant, system_account


def _request(account: uuid.UUID, **billing: str) -> PurchaseRequest:
    return PurchaseRequest(account_id=account, quantity=500,
                           billing=BillingDetails(name="Gail Stone", email="gail@globex.test", **billing))


async def test_a_master_buys_system_credits_with_the_tenants_legal_details_on_the_invoice():
    tenant = shared_tenant()
    billing = FakeBilling()
    created = await purchases.create(NO_DATABASE, billing, caller(tenant, "master"),
                                     _request(system_account(tenant)), "key-1")

    assert created.status == "pending"
    [(order, key)] = billing.orders
    assert key == "key-1"
    assert (order.account_id, order.account_code, order.quantity) == (system_account(tenant), SYSTEM, 500)
    assert (order.billing.company, order.billing.tax_id) == (tenant.legal_name, tenant.abn)


async def test_the_buyers_own_company_and_tax_id_are_kept():
    tenant = shared_tenant()
    billing = FakeBilling()
    await purchases.create(NO_DATABASE, billing, caller(tenant, "master"),
                           _request(system_account(tenant), company="Globex Sales", tax_id="51 824 753 556"), "k")
    [(order, _)] = billing.orders
    assert (order.billing.company, order.billing.tax_id) == ("Globex Sales", "51 824 753 556")


async def test_a_user_may_not_buy_system_credits_and_billing_is_not_asked():
    tenant = shared_tenant()
    billing = FakeBilling()
    with pytest.raises(domain.AccountForbidden):
        await purchases.create(NO_DATABASE, billing, caller(tenant, "user"), _request(system_account(tenant)), "k")
    assert billing.orders == []


async def test_another_tenants_account_or_an_unknown_one_is_not_found():
    tenant = shared_tenant()
    billing = FakeBilling()
    for account in (account_id(uuid.uuid4(), SYSTEM), uuid.uuid4()):
        with pytest.raises(domain.AccountNotFound):
            await purchases.create(NO_DATABASE, billing, caller(tenant, "master"), _request(account), "k")
    assert billing.orders == []


async def test_a_purchase_is_visible_to_its_buyer_and_to_whoever_manages_its_account():
    tenant = shared_tenant()
    buyer = caller(tenant, "user")
    purchase = paid_purchase(tenant, buyer=buyer.person.id)
    billing = FakeBilling(purchase)
    assert await purchases.visible_purchase(NO_DATABASE, billing, buyer, purchase.id) == purchase
    assert await purchases.visible_purchase(NO_DATABASE, billing, caller(tenant, "master"), purchase.id) == purchase
    with pytest.raises(domain.AccountForbidden):
        await purchases.visible_purchase(NO_DATABASE, billing, caller(tenant, "user"), purchase.id)
