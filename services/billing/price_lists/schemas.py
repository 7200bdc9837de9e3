"""Quotes and price lists as billing's API takes and answers them (`common.contracts.billing`): the
domain's values in, the contract's shapes out. Money leaves as decimal strings."""

from __future__ import annotations

import uuid

from common.contracts.billing import PriceListRequest, PriceListView, PriceTierView, Quote
from services.billing.price_lists import domain
from services.billing.price_lists.domain import PriceList, PriceTier, format_money, format_rate, format_unit_price


def quote_answer(quote: domain.Quote) -> Quote:
    return Quote(
        quantity=quote.quantity,
        unit_price=format_unit_price(quote.unit_price),
        subtotal=format_money(quote.subtotal_cents),
        tax_name=quote.tax_name,
        tax_rate=format_rate(quote.tax_rate),
        tax=format_money(quote.tax_cents),
        total=format_money(quote.total_cents),
        currency=quote.currency,
        credit_validity_months=quote.credit_validity_months,
    )


def requested_price_list(body: PriceListRequest) -> PriceList:
    """The price list an operator sent, its tiers in order; the domain checks its rules. A validity left
    out is None here: see `keeps_validity`."""
    tiers = tuple(PriceTier(t.min_quantity, t.unit_price) for t in sorted(body.tiers, key=lambda t: t.min_quantity))
    return domain.price_list_of(body.currency, body.tax_name, body.tax_rate, body.min_quantity, body.max_quantity,
                                tiers, body.credit_validity_months)


def keeps_validity(body: PriceListRequest) -> bool:
    """Whether the request left `credit_validity_months` out (unchanged), rather than sending null (never)."""
    return "credit_validity_months" not in body.model_fields_set


def price_list_answer(tenant_id: uuid.UUID, price_list: PriceList, own: bool) -> PriceListView:
    return PriceListView(
        tenant_id=tenant_id, source="tenant" if own else "default", currency=price_list.currency,
        tax_name=price_list.tax_name, tax_rate=format_rate(price_list.tax_rate),
        min_quantity=price_list.min_quantity, max_quantity=price_list.max_quantity,
        credit_validity_months=price_list.credit_validity_months,
        tiers=[PriceTierView(min_quantity=t.min_quantity, unit_price=format_unit_price(t.unit_price))
               for t in price_list.tiers],
    )
