"""Purchases as billing's API takes and answers them (`common.contracts.billing`): the contract's
request in, the domain's purchase out in the contract's shape. Money leaves as decimal strings."""

from __future__ import annotations

from common.contracts import billing as contract
from services.billing.price_lists.schemas import quote_answer
from services.billing.purchases.domain import BillingDetails, Purchase
from services.billing.purchases.usecases import PurchaseRows


def billing_details(given: contract.BillingDetails) -> BillingDetails:
    # An empty optional field means "not given", so that it does not print as a blank line.
    return BillingDetails(
        name=given.name,
        email=given.email,
        company=given.company or None,
        tax_id=given.tax_id or None,
        address=given.address or None,
    )


def purchase_answer(purchase: Purchase, *, creation: bool = False) -> contract.Purchase:
    """The purchase as read: its checkout page only while it is pending. The answer to its creation
    (`creation`), first or replayed under the same Idempotency-Key, always carries the checkout page it
    was created with: a retry after the buyer paid or was declined must answer what the first call did,
    and the gateway's answer to a creation requires the URL."""
    show_checkout = creation or purchase.status == "pending"
    return contract.Purchase(
        id=purchase.id,
        status=purchase.status,
        account_id=purchase.account_id,
        account_code=purchase.account_code,
        buyer_user_id=purchase.buyer_user_id,
        quantity=purchase.quote.quantity,
        quote=quote_answer(purchase.quote),
        checkout_url=purchase.checkout_url if show_checkout else None,
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


def purchase_page(page: PurchaseRows) -> contract.PurchasePage:
    return contract.PurchasePage(items=[purchase_answer(p) for p in page.purchases], next_cursor=page.next_cursor)
