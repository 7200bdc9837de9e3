"""The e2e event capture's judgement, without a broker: what it counts as a violation, and that it cannot
pass having seen nothing."""

from __future__ import annotations

import json
from pathlib import Path

from common.contracts import events
from common.contracts.catalogue import CATALOGUE
from common.contracts.event_examples import example_event
from tests.e2e.event_capture import Captured, EventCapture, violations_of, whole_package_ran

E2E = Path(__file__).resolve().parents[2] / "e2e"


def _message(envelope: dict[str, object], routing_key: str | None = None) -> Captured:
    key = routing_key or events.routing_key(str(envelope["type"]))
    return Captured(json.dumps(envelope).encode(), key)


def test_every_example_passes_as_a_subscriber_receives_it() -> None:
    for event_type in CATALOGUE:
        message = _message(example_event(event_type))
        assert violations_of(message.body, message.routing_key) == [], event_type


def test_what_a_subscriber_could_not_rely_on_is_a_violation() -> None:
    posted = example_event(events.TRANSACTION_POSTED)
    without_subject = {k: v for k, v in posted.items() if k != "subject"}

    assert "not JSON" in violations_of(b"{oops", "ledger.transaction.posted")[0]
    assert "unknown type 'ledger.transaction.posted'" in violations_of(
        json.dumps({**posted, "type": "ledger.transaction.posted"}).encode(), "ledger.transaction.posted")[0]
    assert "not its type's routing key" in violations_of(_message(posted).body, "billing.purchase.paid")[0]
    [missing] = violations_of(_message(without_subject).body, "ledger.transaction.posted")
    assert f"{events.TRANSACTION_POSTED} {posted['id']}: (envelope): 'subject' is a required property" == missing


def test_the_capture_reports_violations_readably_and_too_few_types_as_a_failure() -> None:
    capture = EventCapture("amqp://unused", "e2e-x")
    capture.messages += [_message(example_event(t)) for t in sorted(CATALOGUE)[:4]]
    assert capture.problems(min_types=4) is None

    report = capture.problems(min_types=5)
    assert report is not None and "only 4 event type(s) seen" in report

    broken = {**example_event(events.PURCHASE_PAID), "sequence": "7"}
    capture.messages.append(_message(broken))
    report = capture.problems(min_types=0)
    assert report is not None and "1 violation(s)" in report and "sequence" in report


def test_the_minimum_of_types_applies_only_when_the_whole_package_ran() -> None:
    modules = sorted(E2E.glob("test_*.py"))

    assert whole_package_ran(modules, E2E)
    assert not whole_package_ran(modules[:1], E2E)
