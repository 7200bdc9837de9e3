"""The delivery worker when an attempt goes wrong in an unusual way: whatever one attempt raises is a
failed attempt of that delivery, recorded, and nothing else is held up by it; what is recorded and logged
never holds the URL's path or query; and a slow receiver holds up its own deliveries only."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from tests.integration.webhooks.conftest import balance_low, delivery_log, register, stored_endpoint
from tests.support import eventually


async def _attempts(service, endpoint_id: uuid.UUID) -> list[dict]:
    rows = await service.pool.fetch(
        """SELECT a.status_code, a.error FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
           WHERE d.endpoint_id = $1 ORDER BY a.id""", endpoint_id)
    return [dict(row) for row in rows]


async def test_an_attempt_that_raises_is_a_recorded_failure_and_the_other_endpoints_get_theirs(webhooks, receivers):
    tenant = uuid.uuid4()
    healthy = await receivers()
    await register(webhooks, tenant, healthy.url)
    # A secret that is not base64: signing the attempt raises (binascii.Error), before anything is sent.
    broken = await stored_endpoint(webhooks, tenant, healthy.url, secret="whsec_abc")
    event = balance_low(tenant)
    await webhooks.publish(event)

    async def broken_tried_twice() -> bool:
        return len(await _attempts(webhooks, broken)) >= 2

    await eventually(broken_tried_twice)
    attempts = await _attempts(webhooks, broken)
    assert all(a["status_code"] is None and a["error"].startswith("attempt failed: Error:") for a in attempts)
    last_error = await webhooks.pool.fetchval("SELECT last_error FROM deliveries WHERE endpoint_id = $1", broken)
    assert last_error.startswith("attempt failed:")
    assert healthy.ids() == [str(event.id)]  # only the healthy endpoint's, once


@pytest.mark.parametrize("host", ["a..example.com", "x" * 64 + ".example.com"])
async def test_a_stored_url_whose_host_no_lookup_can_encode_fails_its_attempts_instead_of_jamming_the_worker(
        webhooks, receivers, host):
    tenant = uuid.uuid4()
    healthy = await receivers()
    await register(webhooks, tenant, healthy.url)
    odd = await stored_endpoint(webhooks, tenant, f"http://{host}/hooks")
    await webhooks.publish(balance_low(tenant))

    async def odd_tried_twice() -> bool:
        return len(await _attempts(webhooks, odd)) >= 2

    await eventually(odd_tried_twice)
    for attempt in await _attempts(webhooks, odd):
        assert attempt["error"].startswith("target refused:") and "not a valid host name" in attempt["error"]
    assert len(healthy.received) == 1


@pytest.fixture
async def malformed_receiver() -> AsyncIterator[int]:
    """A receiver on 127.0.0.1 that answers every request with a status line no HTTP client accepts."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 abc\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_a_credential_in_the_urls_path_or_query_is_in_no_log_line_and_no_stored_error(
        webhooks, malformed_receiver, caplog):
    caplog.set_level(logging.DEBUG)  # and every standard-library log line, aiohttp's included
    tenant = uuid.uuid4()
    # A Slack-style hook: the credential is in the path, and another in the query.
    url = f"http://127.0.0.1:{malformed_receiver}/services/T0K3N-IN-PATH/hook?key=K3Y-IN-QUERY"
    with capture_logs() as logs:
        endpoint = await register(webhooks, tenant, url)

        async def failed_twice() -> bool:
            return len(await _attempts(webhooks, uuid.UUID(endpoint["id"]))) >= 2

        await webhooks.publish(balance_low(tenant))
        await eventually(failed_twice)

    stored = [a["error"] for a in await _attempts(webhooks, uuid.UUID(endpoint["id"]))]
    [entry] = await delivery_log(webhooks, tenant, endpoint["id"])
    stored.append(entry["last_error"])
    # The failure is told (which kind, where to), just not the secret parts.
    assert all(error.startswith("connection failed: ClientResponseError: 400") for error in stored), stored
    assert all(f"127.0.0.1:{malformed_receiver}" in error for error in stored)
    attempt_logs = [line for line in logs if line["event"] == "webhook_attempt"]
    assert len(attempt_logs) >= 2
    everything = " ".join([*stored, *(repr(line) for line in logs), caplog.text])
    for secret in ("T0K3N-IN-PATH", "K3Y-IN-QUERY", "/services/"):
        assert secret not in everything


async def test_a_receiver_slow_to_answer_holds_up_only_its_own_deliveries(start_webhooks, receivers):
    webhooks = await start_webhooks(timeout_seconds=10.0)
    slow_tenant, fast_tenant = uuid.uuid4(), uuid.uuid4()
    slow = await receivers(delay=3.0)  # far longer than the three fast deliveries take, even on a busy machine
    fast = await receivers()
    await register(webhooks, slow_tenant, slow.url)
    fast_endpoint = await register(webhooks, fast_tenant, fast.url)
    await webhooks.publish(balance_low(slow_tenant))

    async def slow_in_flight() -> bool:
        return len(slow.received) == 1

    await eventually(slow_in_flight)
    sent = [balance_low(fast_tenant, available=n) for n in range(3)]
    for event in sent:
        await webhooks.publish(event)

    async def fast_delivered_and_logged() -> bool:
        log = await delivery_log(webhooks, fast_tenant, fast_endpoint["id"])
        return len(log) == 3 and all(e["status"] == "delivered" for e in log)

    await eventually(fast_delivered_and_logged)
    # All three went through, one after another, and were recorded, while the slow one was still waiting.
    assert slow.answered == 0
    assert fast.ids() == [str(e.id) for e in sent]
    await eventually(lambda: _answered(slow))


async def _answered(receiver) -> bool:
    return receiver.answered == 1
