"""Messaging's pure rules: PDUs, receipts, statuses, what is captured, the hold's cut-off, throttling."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common import sms
from services.messaging.messages import domain
from services.messaging.messages.domain import Order, PartView
from services.messaging.pricing.domain import RatesInvalid, check_rates
from services.messaging.sending import domain as sending
from services.messaging.sending.smpp import TokenBucket


def test_a_single_gsm_segment_goes_without_a_header():
    [pdu] = sending.pdus(sms.segment("Hi €"), reference=7)
    assert pdu == sending.Pdu(b"Hi \x1be", 0x00, 0)


def test_concatenated_parts_each_carry_the_udh_with_reference_count_and_sequence():
    parts = sending.pdus(sms.segment("a" * 200), reference=0xAB)
    assert [p.short_message[:6] for p in parts] == [b"\x05\x00\x03\xab\x02\x01", b"\x05\x00\x03\xab\x02\x02"]
    assert all(p.esm_class == sending.ESM_CLASS_UDHI and p.data_coding == 0 for p in parts)
    assert [len(p.short_message) - 6 for p in parts] == [153, 47]


def test_ucs2_parts_are_utf16_big_endian_with_data_coding_8():
    parts = sending.pdus(sms.segment("ж" * 80), reference=1)
    assert [p.data_coding for p in parts] == [8, 8]
    assert parts[0].short_message[6:] == ("ж" * 67).encode("utf-16-be")


def test_the_concatenation_reference_is_stable_for_a_message():
    message = uuid.uuid4()
    assert sending.concat_reference(message) == sending.concat_reference(message) == message.int & 0xFF


def _order(**changes: object) -> Order:
    base = {"message_id": uuid.uuid4(), "hold_id": uuid.uuid4(), "hold_expires_at": datetime.now(UTC),
            "tenant_id": uuid.uuid4(), "sender_user_id": uuid.uuid4(), "account_code": "system",
            "recipients": ("+61412345678", "+61412345679"), "body": "a" * 161, "segments": 2, "credits": 4}
    return Order(**{**base, **changes})  # type: ignore[arg-type]


RATES = {"AU": 1, "NZ": 2, "*": 3}
NZ, UK = "+6421234567", "+447400123456"


def test_an_order_must_pay_for_exactly_what_would_be_sent():
    segmentation, priced = domain.check_order(_order(), RATES)
    assert (segmentation.segments, priced) == (2, (1, 1))
    for wrong in ({"credits": 3}, {"segments": 1, "credits": 2}, {"body": "", "segments": 0, "credits": 0},
                  {"recipients": ("+61412345678", "+61412345678")}, {"recipients": ("0412345678", "+61412345679")},
                  {"recipients": ()}):
        with pytest.raises(domain.InvalidMessage):
            domain.check_order(_order(**wrong), RATES)


def test_each_recipient_is_priced_by_destination_and_a_quote_from_an_older_table_is_refused():
    order = _order(recipients=("+61412345678", NZ, UK), credits=2 * (1 + 2 + 3), credits_per_segment=(1, 2, 3))
    assert domain.check_order(order, RATES)[1] == (1, 2, 3)
    with pytest.raises(domain.InvalidMessage):  # priced at home rates: pays for less than is sent
        domain.check_order(_order(recipients=("+61412345678", NZ, UK), credits=6), RATES)
    with pytest.raises(domain.PricesChanged):  # the gateway quoted New Zealand at 1; the table says 2 now
        domain.check_order(_order(recipients=(NZ,), credits=2, credits_per_segment=(1,)), RATES)


def test_a_recipients_delivery_reads_from_its_segments_receipts():
    assert domain.final_delivery(["DELIVRD", "DELIVRD"], 2) == "delivered"
    assert domain.final_delivery(["DELIVRD", None], 2) is None  # one segment still on its way
    assert domain.final_delivery(["DELIVRD", "UNDELIV"], 2) == "undeliverable"  # a part missing: not readable
    assert domain.final_delivery(["REJECTD"], 1) == "rejected"
    assert domain.final_delivery(["EXPIRED"], 1) == "expired"
    assert domain.final_delivery(["ENROUTE"], 1) is None
    accepted = PartView("+61412345678", "accepted", ("a", "b"), None, credits_per_segment=2)
    assert (domain.delivery_of(accepted), accepted.captured_credits) == ("pending", 4)
    assert domain.delivery_of(PartView("+61412345678", "rejected", (), 11)) == "rejected"


def test_receipts_are_read_from_the_text_or_the_tlv():
    text = b"id:0000000007 sub:001 dlvrd:001 submit date:2611261200 done date:2611261200 stat:DELIVRD err:000 text:"
    assert sending.parse_receipt(text) == sending.Receipt("0000000007", "DELIVRD", "000")
    assert sending.parse_receipt(text, receipted_id="abc") == sending.Receipt("abc", "DELIVRD", "000")
    assert sending.parse_receipt(b"hello there") is None


def _part(state: str, ids: tuple[str, ...] = ()) -> PartView:
    return PartView("+61412345678", state, ids, None)  # type: ignore[arg-type]


def test_a_recipient_is_delivered_only_when_every_segment_is():
    part = _part("accepted", ("a", "b"))
    assert domain.part_status(part, 2, {"a": "DELIVRD"}) == "submitted"
    assert domain.part_status(part, 2, {"a": "DELIVRD", "b": "DELIVRD"}) == "delivered"
    assert domain.part_status(part, 2, {"a": "DELIVRD", "b": "UNDELIV"}) == "failed"
    assert domain.part_status(_part("rejected"), 2, {}) == "failed"
    assert domain.part_status(_part("submitting", ("a",)), 2, {"a": "DELIVRD"}) == "queued"


def test_a_message_status_follows_its_recipients():
    assert domain.message_status(["delivered", "queued"]) == "queued"
    assert domain.message_status(["delivered", "submitted"]) == "submitted"
    assert domain.message_status(["delivered", "failed"]) == "delivered"
    assert domain.message_status(["failed", "failed"]) == "failed"


def test_what_is_captured_is_one_credit_per_accepted_segment_per_recipient():
    parts = [_part("accepted", ("a", "b")), _part("rejected"), _part("rejected", ("c",)), _part("expired")]
    assert sending.captured_credits(parts) == 3


def test_nothing_is_submitted_within_the_margin_before_the_hold_expires():
    now = datetime.now(UTC)
    assert sending.may_submit(now + timedelta(seconds=61), now, 60)
    assert not sending.may_submit(now + timedelta(seconds=59), now, 60)


def test_the_token_bucket_allows_a_burst_then_the_rate():
    clock = [0.0]
    bucket = TokenBucket(rate=10, burst=2, clock=lambda: clock[0])
    assert [bucket.wait_for_token() for _ in range(3)] == [0.0, 0.0, pytest.approx(0.1)]
    clock[0] = 0.1
    assert bucket.wait_for_token() == 0.0


def test_a_table_needs_known_countries_sane_rates_and_a_default() -> None:
    assert check_rates({"AU": 1, "*": 2}) == {"AU": 1, "*": 2}
    for wrong in ({"AU": 1}, {"XX": 1, "*": 2}, {"AU": 0, "*": 1}, {"AU": 101, "*": 1}, {"au": 1, "*": 1}):
        with pytest.raises(RatesInvalid) as refused:
            check_rates(wrong)
        assert refused.value.errors
