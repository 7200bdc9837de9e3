"""Refunds, billing's side of the saga, with the ledger's answers played on the exchange."""

from __future__ import annotations

import io
import uuid
from typing import Any

from pypdf import PdfReader

from common.contracts import events
from common.contracts.events import RefundRequested
from tests.integration.billing.harness import Billing, Buyer, EventTap, invoice_number, note_number
from tests.integration.billing.ledger_support import credited_purchase, ledger_event, next_seq, publish
from tests.support import eventually

REFUND_FAILS_CARD = "4000000000005126"


def master_of(billing: Billing) -> Buyer:
    return Buyer(tenant_id=billing.buyer.tenant_id, role="master")


async def ask_refund(billing: Billing, purchase: dict[str, Any], quantity: int, who: Buyer | None = None,
                     key: str | None = None) -> tuple[int, Any]:
    headers = billing.headers(who or master_of(billing), key)
    response = await billing.client.post(f"/purchases/{purchase['id']}/refunds", json={"quantity": quantity},
                                         headers=headers)
    return response.status, await response.json()


async def ledger_debits(billing: Billing, published: EventTap, purchase: dict[str, Any], refund_id: str) -> None:
    """The ledger takes the credits back, as it answers billing.refund.requested."""
    requested = next(e.payload(RefundRequested) for e in await _requests(published, purchase)
                     if str(e.data["refund_id"]) == refund_id)
    debited = events.RefundDebited(refund_id=requested.refund_id, tenant_id=requested.tenant_id,
                                   account_id=requested.account_id, quantity=requested.quantity,
                                   transaction_id=uuid.uuid4(), seq=next_seq())
    await publish(billing, ledger_event(events.REFUND_DEBITED, debited))


async def _requests(published: EventTap, purchase: dict[str, Any]) -> list[events.Event]:
    await published.wait_for(events.REFUND_REQUESTED, purchase["id"])
    await published.drain(0.1)
    return published.of(events.REFUND_REQUESTED, purchase["id"])


async def settled(billing: Billing, purchase: dict[str, Any], refund_id: str) -> dict[str, Any]:
    path = f"/purchases/{purchase['id']}/refunds/{refund_id}"

    async def done() -> bool:
        return (await billing.get(path, master_of(billing)))[1]["status"] not in ("requested", "debited")

    await eventually(done)
    return dict((await billing.get(path, master_of(billing)))[1])


async def refunded(billing: Billing, published: EventTap, purchase: dict[str, Any], quantity: int) -> dict[str, Any]:
    status, refund = await ask_refund(billing, purchase, quantity)
    assert status == 201, refund
    await ledger_debits(billing, published, purchase, refund["id"])
    return await settled(billing, purchase, refund["id"])


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_a_full_refund_returns_the_money_and_its_adjustment_note_reverses_the_invoices_gst(
    billing: Billing, published: EventTap
) -> None:
    purchase = await credited_purchase(billing, 1234)  # 98.72 + 9.87 GST = 108.59
    status, refund = await ask_refund(billing, purchase, 1234)
    assert status == 201 and refund["status"] == "requested"
    assert (refund["subtotal"], refund["tax"], refund["total"]) == ("98.72", "9.87", "108.59")
    request = (await _requests(published, purchase))[0].payload(RefundRequested)
    invoice_no, note_no = invoice_number(billing.buyer, 1), note_number(billing.buyer, 1)
    assert (request.quantity, request.account_code, request.invoice_number) == (1234, "system", invoice_no)

    await ledger_debits(billing, published, purchase, refund["id"])
    done = await settled(billing, purchase, refund["id"])

    assert done["status"] == "refunded" and done["adjustment_note_number"] == note_no
    note_url = f"/api/v1/purchases/{purchase['id']}/refunds/{refund['id']}/adjustment-note.pdf"
    assert done["adjustment_note_url"] == note_url
    completed = (await published.wait_for(events.REFUND_COMPLETED, purchase["id"])).payload(events.RefundCompleted)
    assert (completed.total_cents, completed.tax_cents, completed.adjustment_note_number) == (10859, 987, note_no)
    invoice = pdf_text(await _pdf(billing, f"/purchases/{purchase['id']}/invoice.pdf"))
    note = pdf_text(await _pdf(billing, f"/purchases/{purchase['id']}/refunds/{refund['id']}/adjustment-note.pdf"))
    assert "GST (10%) $9.87" in invoice
    assert "Adjustment Note" in note and note_no in note and invoice_no in note
    assert "-$9.87" in note and "-$98.72" in note and "-$108.59" in note


async def _pdf(billing: Billing, path: str) -> bytes:
    response = await billing.client.get(path, headers=billing.headers(master_of(billing)))
    assert response.status == 200, await response.text()
    return await response.read()


async def test_partial_refunds_add_up_to_the_invoice_to_the_cent_and_number_their_notes_without_gaps(
    billing: Billing, published: EventTap
) -> None:
    purchase = await credited_purchase(billing, 1234)
    parts = [await refunded(billing, published, purchase, quantity) for quantity in (411, 411, 412)]

    assert [p["status"] for p in parts] == ["refunded"] * 3
    assert [p["adjustment_note_number"] for p in parts] == [note_number(billing.buyer, n) for n in (1, 2, 3)]
    cents = [(round(float(p["subtotal"]) * 100), round(float(p["tax"]) * 100)) for p in parts]
    assert (sum(s for s, _ in cents), sum(t for _, t in cents)) == (9872, 987)
    status, problem = await ask_refund(billing, purchase, 1)
    assert status == 422 and problem["errors"][0]["field"] == "quantity"


async def test_a_refund_of_more_credits_than_the_purchase_has_left_is_refused(
    billing: Billing, published: EventTap
) -> None:
    purchase = await credited_purchase(billing, 1000)
    assert (await ask_refund(billing, purchase, 1001))[0] == 422
    await refunded(billing, published, purchase, 600)
    status, problem = await ask_refund(billing, purchase, 401)
    assert status == 422 and "400" in problem["detail"]


async def test_the_ledger_refusing_the_debit_rejects_the_refund_and_no_money_moves(
    billing: Billing, published: EventTap
) -> None:
    purchase = await credited_purchase(billing, 1000)
    _, refund = await ask_refund(billing, purchase, 1000)
    request = (await _requests(published, purchase))[0].payload(RefundRequested)
    rejected = events.RefundRejected(refund_id=request.refund_id, tenant_id=request.tenant_id,
                                     account_id=request.account_id, quantity=1000, available=200,
                                     reason="The account has 200 credits available; 1000 are needed.")
    await publish(billing, ledger_event(events.REFUND_REJECTED, rejected))

    done = await settled(billing, purchase, refund["id"])
    assert done["status"] == "rejected" and "200 credits available" in done["failure_reason"]
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM test_provider_refunds") == 0
    status, _ = await ask_refund(billing, purchase, 1000)  # a rejected refund holds nothing back
    assert status == 201


async def test_a_refund_the_provider_refuses_fails_and_asks_the_ledger_to_restore_the_credits(
    billing: Billing, published: EventTap
) -> None:
    purchase = await credited_purchase(billing, 500, card=REFUND_FAILS_CARD)
    done = await refunded(billing, published, purchase, 500)

    assert done["status"] == "failed" and done["failure_reason"] == "refund_failed"
    assert done["adjustment_note_url"] is None and done["credits_restored"] is False
    failed = (await published.wait_for(events.REFUND_FAILED, purchase["id"])).payload(events.RefundFailed)
    assert (failed.quantity, failed.account_code, failed.reason) == (500, "system", "refund_failed")
    restored = events.RefundRestored(refund_id=failed.refund_id, tenant_id=failed.tenant_id,
                                     account_id=failed.account_id, quantity=500, transaction_id=uuid.uuid4(),
                                     seq=next_seq())
    await publish(billing, ledger_event(events.REFUND_RESTORED, restored))

    async def restored_seen() -> bool:
        path = f"/purchases/{purchase['id']}/refunds/{done['id']}"
        return bool((await billing.get(path, master_of(billing)))[1]["credits_restored"])

    await eventually(restored_seen)


async def test_a_redelivered_debit_refunds_the_money_once(billing: Billing, published: EventTap) -> None:
    purchase = await credited_purchase(billing, 1000)
    _, refund = await ask_refund(billing, purchase, 300)
    await ledger_debits(billing, published, purchase, refund["id"])
    await ledger_debits(billing, published, purchase, refund["id"])
    await settled(billing, purchase, refund["id"])
    await published.drain(1.0)

    assert len(published.of(events.REFUND_COMPLETED, purchase["id"])) == 1
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM test_provider_refunds") == 1
        assert await conn.fetchval("SELECT last_number FROM adjustment_note_counters") == 1


async def test_only_a_master_of_the_tenant_refunds_and_a_key_replays_the_same_refund(billing: Billing) -> None:
    purchase = await credited_purchase(billing, 1000)
    assert (await ask_refund(billing, purchase, 10, who=billing.buyer))[0] == 403
    assert (await ask_refund(billing, purchase, 10, who=Buyer(role="master")))[0] == 404

    first = await ask_refund(billing, purchase, 10, key="refund-key-1")
    again = await ask_refund(billing, purchase, 10, key="refund-key-1")
    other = await ask_refund(billing, purchase, 20, key="refund-key-1")
    assert (first[0], again[0], other[0]) == (201, 200, 409)
    assert again[1]["id"] == first[1]["id"]
    status, listed = await billing.get(f"/purchases/{purchase['id']}/refunds", master_of(billing))
    assert status == 200 and [r["id"] for r in listed] == [first[1]["id"]]


async def test_a_purchase_not_yet_credited_cannot_be_refunded(billing: Billing) -> None:
    purchase = await billing.purchase()
    assert (await ask_refund(billing, purchase, 10))[0] == 422
    await billing.pay(purchase)
    status, problem = await ask_refund(billing, purchase, 10)
    assert status == 422 and problem["type"].endswith("purchase-not-refundable")
