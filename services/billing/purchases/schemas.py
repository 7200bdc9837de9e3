"""Purchases as billing's API takes and answers them (`common.contracts.billing`): the contract's
request in, the domain's purchase out in the contract's shape. Money leaves as decimal strings."""

from __future__ import annotations

from common.contracts import billing as contract
from services.billing.price_lists.schemas import quote_answer
from services.billing.purchases.domain import BillingDetails, Purchase


def billing_details(given: contract.BillingDetails) -> BillingDetails:
    # An empty optional field means "not given", so that it does not print as a blank line.
    return BillingDetails(
        name=given.name,
        email=given.email,
        company=given.company or None,
        tax_id=given.tax_id or None,
        address=given.address or None,
    )


def purchase_answer(purchase: Purchase) -> contract.Purchase:
    return contract.Purchase(
        id=purchase.id,
        status=purchase.status,
        account_id=purchase.account_id,
        account_code=purchase.account_code,
        buyer_user_id=purchase.buyer_user_id,
        quantity=purchase.quote.quantity,
        quote=quote_answer(purchase.quote),
        checkout_url=purchase.checkout_url if purchase.status == "pending" else None,
        invoice_number=purchase.invoice_number,
        invoice_url=f"/api/v1/purchases/{purchase.id}/invoice.pdf" if purchase.is_paid else None,
        failure_reason=purchase.failure_reason,
        consistency_token=purchase.consistency_token,
        created_at=purchase.created_at,
        paid_at=purchase.paid_at,
        buyer_name=purchase.buyer_name,
        account_name=purchase.account_name,
        origin=purchase.origin,
    )
