from __future__ import annotations

import itertools
import uuid

import pytest

from common import accounts
from services.billing.invoices.domain import format_invoice_number
from services.billing.purchases.domain import (
    AccountMismatch,
    BillingDetails,
    PurchaseOrder,
    check_account,
    may_move,
    purchase_credited_by,
)

STATUSES = ("pending", "paid", "credited", "failed")
ALLOWED = {("pending", "paid"), ("pending", "failed"), ("paid", "credited")}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_only_pending_to_paid_or_failed_and_paid_to_credited_are_allowed(current: str, target: str) -> None:
    assert may_move(current, target) is ((current, target) in ALLOWED)  # type: ignore[arg-type]


def test_a_purchase_posting_names_its_purchase_and_other_postings_name_none() -> None:
    purchase_id = uuid.uuid4()
    assert purchase_credited_by("purchase", f"purchase:{purchase_id}") == purchase_id
    assert purchase_credited_by("transfer", f"purchase:{purchase_id}") is None
    assert purchase_credited_by("hold", None) is None


@pytest.mark.parametrize("reference", [None, "transfer:1", "purchase:not-a-uuid"])
def test_a_purchase_posting_without_a_purchase_reference_is_a_broken_contract(reference: str | None) -> None:
    with pytest.raises(ValueError):
        purchase_credited_by("purchase", reference)


def _order(**changes: object) -> PurchaseOrder:
    tenant = uuid.UUID(int=1)
    fields: dict[str, object] = {
        "tenant_id": tenant, "buyer_user_id": uuid.UUID(int=2), "account_id": accounts.account_id(tenant, "system"),
        "account_code": "system", "quantity": 1000, "billing": BillingDetails("Jo", "jo@example.com"),
        "idempotency_key": "k",
    }
    return PurchaseOrder(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_same_request_has_the_same_fingerprint_and_any_difference_changes_it() -> None:
    assert _order().fingerprint() == _order().fingerprint()
    variants = [
        _order(quantity=1001), _order(billing=BillingDetails("Jo", "jo@example.com", company="X")),
        _order(buyer_user_id=uuid.UUID(int=3)), _order(account_code="user:x"),
    ]
    assert len({_order().fingerprint(), *(v.fingerprint() for v in variants)}) == 5


def test_credits_are_bought_only_for_the_account_the_code_names() -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    check_account(tenant, accounts.account_id(tenant, "system"), "system")
    check_account(tenant, accounts.account_id(tenant, f"user:{user}"), f"user:{user}")
    with pytest.raises(AccountMismatch):
        check_account(tenant, accounts.account_id(uuid.uuid4(), "system"), "system")
    for internal in ("world", "spent", "nonsense"):
        with pytest.raises(AccountMismatch):
            check_account(tenant, accounts.account_id(tenant, internal), internal)


def test_invoice_numbers_are_zero_padded() -> None:
    assert format_invoice_number(1) == "INV-000001"
    assert format_invoice_number(1_234_567) == "INV-1234567"
