"""The email to the master who made an endpoint, when it was disabled after a delivery failed for good."""

from __future__ import annotations

from email.message import EmailMessage

import asyncpg

from services.webhooks.deliveries import store


async def compose(pool: asyncpg.Pool, row: asyncpg.Record) -> EmailMessage:
    if row["kind"] != "endpoint_disabled":
        raise ValueError(f"unknown email kind {row['kind']!r}")
    async with pool.acquire() as conn:
        failure = await store.disabling_failure(conn, row["subject_id"])
    message = EmailMessage()
    message["Subject"] = "Your SMS Credits webhook was disabled"
    if failure is None:  # the endpoint was deleted since
        message.set_content("Hello,\n\nA webhook you registered was disabled after a delivery failed for about "
                            "three days, and has since been deleted.\n")
        return message
    name = f" ({failure['description']})" if failure["description"] else ""
    message.set_content(
        "Hello,\n\n"
        f"Your webhook to {failure['url']}{name} was disabled: the {failure['event_type']} event "
        f"{failure['event_id']} could not be delivered in {failure['attempts']} attempts over about three days.\n"
        f"The last attempt: {failure['last_error'] or 'answered ' + str(failure['last_status_code'])}.\n\n"
        "Events that arrive meanwhile wait for it. Once the receiver works again, enable the webhook "
        "(PATCH /api/v1/webhooks/{id} with {\"enabled\": true}): the waiting events are delivered in order, and "
        "the failed one can be sent again with a replay.\n"
    )
    return message
