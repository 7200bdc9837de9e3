"""One realistic example of every event type, as a subscriber would receive it: the payloads are built
with the contract's own models (so an example that no longer fits its model fails at import, and in
`tests/unit/contracts/test_asyncapi.py`), and the envelopes with the contract's `Event`. The AsyncAPI
document and the events page show them.

The values are fixed (ids, times, the request id) so the published document is the same on every start
and every replica: one story of one tenant, Acme, whose master Mia buys 5,000 credits, gives some to Sam,
sends an SMS from them and refunds part of the purchase."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from common.contracts import events
from common.contracts.catalogue import CATALOGUE
from common.contracts.events import (
    BalanceLow,
    BalanceRecovered,
    CreditModeChanged,
    Event,
    HoldExpired,
    MessageQueued,
    MessageSettled,
    MessageUndelivered,
    Posting,
    PurchaseFailed,
    PurchasePaid,
    RefundCompleted,
    RefundDebited,
    RefundFailed,
    RefundRejected,
    RefundRequested,
    RefundRestored,
    TenantChanged,
    TopUpFailed,
    TopUpWatchChanged,
    TransactionPosted,
    UserChanged,
)

TENANT = uuid.UUID("5b0f3c9e-2d4a-4c1b-8e7f-1a2b3c4d5e60")
MASTER = uuid.UUID("0c6e2f51-8a3d-4b7e-9f10-2b3c4d5e6f71")  # Mia, the tenant's master
USER = uuid.UUID("9d1a7b42-5c6e-4f80-a1b2-3c4d5e6f7a82")  # Sam, who sends SMS
MASTER_ACCOUNT = uuid.UUID("3f8e1d20-7b6a-4c59-8d4e-5f6a7b8c9d03")
USER_ACCOUNT = uuid.UUID("6a2b9c31-4d5e-4f6a-b7c8-d9e0f1a2b314")
PURCHASE = uuid.UUID("e4d3c2b1-a0f9-4e8d-9c7b-6a5f4e3d2c25")
TRANSACTION = uuid.UUID("1b2c3d4e-5f60-4718-89a0-b1c2d3e4f536")
HOLD = uuid.UUID("7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e47")
MESSAGE = uuid.UUID("2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a58")
REFUND = uuid.UUID("8f9a0b1c-2d3e-4f4a-8b5c-6d7e8f9a0b69")
REQUEST_ID = "4f1c2e9a7b3d4c5e8f6a0b1c2d3e4f5a"
# When each fact happened: a morning in Sydney, in UTC.
AT = datetime(2026, 3, 2, 23, 14, 5, 120000, tzinfo=UTC)
# The tenant's ledger events are numbered from 1; this one is its 42nd.
SEQUENCE = 42

MASTER_CODE = "ACME-MIA"
USER_CODE = "ACME-SAM"
INVOICE = "INV-2026-000317"

PAYLOADS: dict[str, BaseModel] = {
    events.PURCHASE_PAID: PurchasePaid(
        purchase_id=PURCHASE, tenant_id=TENANT, account_id=MASTER_ACCOUNT, account_code=MASTER_CODE,
        quantity=5000, buyer_user_id=MASTER, invoice_number=INVOICE, total_cents=27500, currency="AUD",
        paid_at=AT, credits_expire_at=AT.replace(year=AT.year + 1),  # a 12-month price list
    ),
    events.PURCHASE_FAILED: PurchaseFailed(
        purchase_id=PURCHASE, tenant_id=TENANT, account_id=MASTER_ACCOUNT, reason="card_declined",
    ),
    events.TRANSACTION_POSTED: TransactionPosted(
        transaction_id=TRANSACTION, seq=1873, tenant_id=TENANT, kind="transfer", occurred_at=AT,
        actor_user_id=MASTER, reference=None, note="Campaign week",
        postings=[
            Posting(account_id=MASTER_ACCOUNT, account_code=MASTER_CODE, amount=-1200, balance_after=3800),
            Posting(account_id=USER_ACCOUNT, account_code=USER_CODE, amount=1200, balance_after=1450, held_after=6),
        ],
        holds=[],
        terms_version="2026-01",
    ),
    events.BALANCE_LOW: BalanceLow(
        tenant_id=TENANT, account_id=USER_ACCOUNT, account_code=USER_CODE, available=87, threshold=100,
    ),
    events.HOLD_EXPIRED: HoldExpired(tenant_id=TENANT, hold_id=HOLD, account_id=USER_ACCOUNT, quantity=6),
    events.CREDIT_MODE_CHANGED: CreditModeChanged(
        tenant_id=TENANT, mode="individual", previous_mode="shared", user_ids=[MASTER, USER],
        actor_user_id=MASTER, version=12,
    ),
    events.TENANT_CHANGED: TenantChanged(
        tenant_id=TENANT, name="Acme Pty Ltd", credit_mode="individual", timezone="Australia/Sydney",
        low_balance_threshold=100, version=12,
    ),
    events.USER_CHANGED: UserChanged(
        tenant_id=TENANT, user_id=USER, name="Sam Lee", role="user", team="Sales", active=True, send_sms=True,
        manage_credits=False, version=13, actor_user_id=MASTER,
    ),
    events.REFUND_REQUESTED: RefundRequested(
        refund_id=REFUND, purchase_id=PURCHASE, tenant_id=TENANT, account_id=MASTER_ACCOUNT,
        account_code=MASTER_CODE, quantity=1000, requested_by=MASTER, invoice_number=INVOICE,
    ),
    events.REFUND_COMPLETED: RefundCompleted(
        refund_id=REFUND, purchase_id=PURCHASE, tenant_id=TENANT, account_id=MASTER_ACCOUNT, quantity=1000,
        total_cents=5500, tax_cents=500, currency="AUD", adjustment_note_number="ADJ-2026-000021",
        invoice_number=INVOICE,
    ),
    events.REFUND_FAILED: RefundFailed(
        refund_id=REFUND, purchase_id=PURCHASE, tenant_id=TENANT, account_id=MASTER_ACCOUNT,
        account_code=MASTER_CODE, quantity=1000, reason="charge_already_disputed", requested_by=MASTER,
    ),
    events.REFUND_DEBITED: RefundDebited(
        refund_id=REFUND, tenant_id=TENANT, account_id=MASTER_ACCOUNT, quantity=1000, transaction_id=TRANSACTION,
        seq=1874,
    ),
    events.REFUND_REJECTED: RefundRejected(
        refund_id=REFUND, tenant_id=TENANT, account_id=MASTER_ACCOUNT, quantity=1000, available=640,
        reason="The account holds only 640 available credits.",
    ),
    events.REFUND_RESTORED: RefundRestored(
        refund_id=REFUND, tenant_id=TENANT, account_id=MASTER_ACCOUNT, quantity=1000, transaction_id=TRANSACTION,
        seq=1875,
    ),
    events.TOP_UP_FAILED: TopUpFailed(
        tenant_id=TENANT, account_id=MASTER_ACCOUNT, account_code=MASTER_CODE, purchase_id=PURCHASE,
        payer_user_id=MASTER, quantity=2000, reason="insufficient_funds",
    ),
    events.TOP_UP_WATCH_CHANGED: TopUpWatchChanged(
        tenant_id=TENANT, account_id=MASTER_ACCOUNT, account_code=MASTER_CODE, watched=True, version=3,
    ),
    events.MESSAGE_QUEUED: MessageQueued(message_id=MESSAGE, tenant_id=TENANT),
    events.MESSAGE_SETTLED: MessageSettled(
        message_id=MESSAGE, tenant_id=TENANT, hold_id=HOLD, account_code=USER_CODE, segments=2, recipients=3,
        accepted_recipients=3, captured_credits=6, sender_user_id=USER,
    ),
    events.MESSAGE_UNDELIVERED: MessageUndelivered(
        message_id=MESSAGE, tenant_id=TENANT, hold_id=HOLD, part_id=uuid.UUID("5d0e4c9a-0b7e-4c61-9a43-6f2d8e1b7c55"),
        account_code=USER_CODE, recipient="+61*******78", status="undeliverable", credits=2, sender_user_id=USER,
    ),
    events.BALANCE_RECOVERED: BalanceRecovered(
        tenant_id=TENANT, account_id=USER_ACCOUNT, account_code=USER_CODE, available=250, threshold=100,
        alert_id=uuid.UUID("0f3c8a51-9d2e-4b7a-8c16-5e9f2a4d3b70"), level="Low",
    ),
}

# Caused by no request: the hold lapsed, and a periodic job noticed.
_WITHOUT_REQUEST = frozenset({events.HOLD_EXPIRED})


def example_payload(event_type: str) -> BaseModel:
    return PAYLOADS[event_type]


def example_event(event_type: str) -> dict[str, Any]:
    """The whole envelope of an example, as JSON would carry it (`KeyError` for a type not catalogued)."""
    spec = CATALOGUE[event_type]
    data = PAYLOADS[event_type].model_dump(mode="json")
    event = Event(
        id=uuid.uuid5(uuid.NAMESPACE_URL, event_type),
        source=spec.source,
        type=event_type,
        time=AT,
        subject=spec.subject.format(**data),
        dataschema=events.schema_url(event_type),
        requestid=None if event_type in _WITHOUT_REQUEST else REQUEST_ID,
        data=data,
    )
    if spec.sequenced:
        event = event.with_sequence(SEQUENCE)
    envelope: dict[str, Any] = json.loads(event.to_json())
    return envelope
