"""The AMQP headers the ledger sets on `ledger.transaction.posted`, beside the CloudEvents envelope in
the body: a consumer that needs only some transactions binds a headers filter to them, and RabbitMQ
leaves the rest out of its queue (billing needs purchases and the accounts it tops up, not every
transfer). Part of the published event contract (docs/events.md)."""

from __future__ import annotations

KIND = "ledger-kind"  # the transaction's kind: purchase, transfer, capture, ...
TOP_UP_WATCHED = "auto-top-up-watched"  # "yes" when an account it touched has auto top-up switched on
YES = "yes"


def transaction_headers(kind: str, touches_watched_account: bool) -> dict[str, str]:
    headers = {KIND: kind}
    if touches_watched_account:
        headers[TOP_UP_WATCHED] = YES
    return headers


def schema_of(event_type: str) -> dict[str, object] | None:
    """The JSON Schema of the headers an event type is published with (the AsyncAPI message's `headers`)."""
    from common.contracts.events import TRANSACTION_POSTED

    if event_type != TRANSACTION_POSTED:
        return None
    return {
        "type": "object",
        "properties": {
            KIND: {"type": "string", "description": "The transaction's kind, as `data.kind`."},
            TOP_UP_WATCHED: {"const": YES, "description": "Present when the transaction touched an account "
                                                          "whose auto top-up is on."},
        },
        "required": [KIND],
    }
