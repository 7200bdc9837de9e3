from __future__ import annotations

import json
import uuid

import pytest

from common.problems import MalformedRequest
from services.billing.payments.stripe.events import parse


def _event(event_type: str, **intent: object) -> bytes:
    obj = {"id": "pi_123", "object": "payment_intent", "metadata": {}, **intent}
    return json.dumps({"id": "evt_1", "object": "event", "type": event_type, "data": {"object": obj}}).encode()


def test_a_succeeded_payment_intent_names_its_purchase_from_the_metadata() -> None:
    purchase_id = uuid.uuid4()
    event, intent = parse(_event("payment_intent.succeeded", metadata={"purchase_id": str(purchase_id)},
                                 payment_method="pm_1", customer="cus_1", setup_future_usage="off_session"))
    assert event.id == "evt_1" and intent is not None
    assert (intent.purchase_id, intent.keeps_card) == (purchase_id, True)


def test_a_payment_intent_that_is_not_ours_names_no_purchase() -> None:
    _, intent = parse(_event("payment_intent.succeeded", metadata={"order": "elsewhere"}))
    assert intent is not None and intent.purchase_id is None and not intent.keeps_card


def test_a_failure_reports_the_decline_code_first() -> None:
    _, intent = parse(_event("payment_intent.payment_failed",
                             last_payment_error={"code": "card_declined", "decline_code": "insufficient_funds"}))
    assert intent is not None and intent.failure_code == "insufficient_funds"
    _, intent = parse(_event("payment_intent.payment_failed"))
    assert intent is not None and intent.failure_code == "payment_failed"


def test_other_event_types_are_read_but_not_handled() -> None:
    event, intent = parse(_event("charge.refunded"))
    assert event.type == "charge.refunded" and intent is None


@pytest.mark.parametrize("body", [b"not json", b'{"id": "evt_1"}', _event("payment_intent.succeeded", id="ch_1")])
def test_a_body_billing_cannot_read_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        parse(body)
