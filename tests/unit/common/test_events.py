import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from common.contracts import catalogue, events
from common.contracts.events import Event, PurchasePaid
from common.logs import request_context


def _paid() -> PurchasePaid:
    return PurchasePaid(
        purchase_id=uuid.uuid4(), tenant_id=uuid.uuid4(), account_id=uuid.uuid4(), account_code="system",
        quantity=500, buyer_user_id=uuid.uuid4(), invoice_number="INV-000001", total_cents=4400,
        currency="AUD", paid_at=datetime.now(UTC),
    )


def test_envelope_round_trips_through_json_with_its_payload():
    paid = _paid()
    with request_context("req-123"):
        event = Event.new(type=events.PURCHASE_PAID, source="billing", subject="t/a", data=paid)
    decoded = Event.from_json(event.to_json())
    assert decoded == event
    assert decoded.specversion == "1.0"
    assert decoded.requestid == "req-123"
    assert decoded.payload(PurchasePaid) == paid


def test_envelope_without_required_attributes_is_refused():
    with pytest.raises(ValidationError):
        Event.from_json(b'{"specversion": "1.0", "type": "x", "data": {}}')


def test_envelope_of_another_spec_version_is_refused():
    event = Event.new(type=events.PURCHASE_PAID, source="billing", subject=None, data=_paid())
    body = event.to_json().replace(b'"specversion":"1.0"', b'"specversion":"0.3"')
    with pytest.raises(ValidationError):
        Event.from_json(body)


def test_payload_of_the_wrong_shape_is_refused():
    event = Event.new(type=events.PURCHASE_PAID, source="billing", subject=None, data=_paid())
    broken = event.model_copy(update={"data": {**event.data, "quantity": "lots"}})
    with pytest.raises(ValidationError):
        broken.payload(PurchasePaid)


def test_every_catalogued_type_is_a_routing_key_of_its_service():
    for event_type in catalogue.CATALOGUE:
        service = events.routing_key(event_type).split(".")[0]
        assert service in {"billing", "ledger", "gateway", "reporting", "messaging"}


def test_the_catalogue_names_every_type_once_with_its_payload():
    assert set(catalogue.CATALOGUE) == events.TYPES
    for spec in catalogue.CATALOGUE.values():
        assert spec.type.startswith(f"{events.NAMESPACE}.")
        assert spec.source == f"/sms-credits/{spec.publisher}"
        assert spec.subject.startswith("tenants/{tenant_id}")
        assert spec.sequenced == (spec.publisher == "ledger")


def test_an_event_written_before_types_had_a_namespace_is_read_as_its_namespaced_type():
    event = Event.new(type=events.PURCHASE_PAID, source="/sms-credits/billing", subject=None, data=_paid())
    legacy = event.model_dump(mode="json") | {"type": "billing.purchase.paid"}
    assert Event.model_validate(legacy).type == "com.smscredits.billing.purchase.paid"
    # A type no one ever published is left alone (and a consumer refuses it as unknown).
    assert Event.model_validate(legacy | {"type": "billing.purchase.stolen"}).type == "billing.purchase.stolen"


def test_every_new_event_points_at_its_schema_and_keeps_its_routing_key():
    event = Event.new(type=events.TRANSACTION_POSTED, source="/sms-credits/ledger", subject=None, data=_paid())
    assert event.dataschema is not None
    assert event.dataschema.endswith("/api/events/schemas/com.smscredits.ledger.transaction.posted.json")
    assert event.routing_key == "ledger.transaction.posted"


def test_sequences_are_text_that_sorts_as_numbers():
    assert events.sequence_text(9) < events.sequence_text(10) < events.sequence_text(2**62)
    event = Event.new(type=events.BALANCE_LOW, source="/sms-credits/ledger", subject=None, data=_paid())
    assert event.with_sequence(42).sequence_number == 42
