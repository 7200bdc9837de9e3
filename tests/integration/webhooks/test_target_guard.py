"""The SSRF guard with private targets refused (as in production): at creation, and before each attempt
(a name that resolved to a public address when registered may point inside later)."""

from __future__ import annotations

import uuid

import pytest

from common.contracts import events
from tests.integration.webhooks.conftest import balance_low, delivery_log
from tests.support import eventually


@pytest.fixture
async def guarded(start_webhooks):
    return await start_webhooks(allow_private=False)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/hooks",
    "http://10.1.2.3/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost:{port}/hooks",
    "http://[::1]:{port}/hooks",
    "http://[::ffff:127.0.0.1]:{port}/hooks",
    "http://0.0.0.0:{port}/hooks",
])
async def test_a_target_inside_is_refused_at_creation(guarded, receivers, url):
    receiver = await receivers()
    response = await guarded.client.post(
        "/endpoints", json={"url": url.format(port=receiver.port), "event_types": [events.BALANCE_LOW],
                            "creator_email": "a@b.test"},
        headers=guarded.auth("master", uuid.uuid4()))
    body = await response.json()
    assert response.status == 422 and body["type"] == "/problems/webhook-target-refused", body
    assert await guarded.pool.fetchval("SELECT count(*) FROM endpoints") == 0
    assert receiver.received == []


async def test_a_target_that_now_resolves_inside_is_refused_at_delivery_and_nothing_is_sent(guarded, receivers):
    receiver = await receivers()
    tenant = uuid.uuid4()
    # As if `localhost` had been a public name when it was registered (DNS rebinding).
    endpoint_id = uuid.uuid4()
    await guarded.pool.execute(
        """INSERT INTO endpoints (id, tenant_id, url, event_types, secret, creator_email)
           VALUES ($1, $2, $3, $4, 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'a@b.test')""",
        endpoint_id, tenant, f"http://localhost:{receiver.port}/hooks", [events.BALANCE_LOW])
    await guarded.publish(balance_low(tenant))

    async def attempted() -> bool:
        log = await delivery_log(guarded, tenant, str(endpoint_id))
        return bool(log) and log[0]["attempts"] >= 2

    await eventually(attempted)
    [entry] = await delivery_log(guarded, tenant, str(endpoint_id))
    assert entry["last_error"].startswith("target refused") and entry["last_status_code"] is None
    assert "127.0.0.1" in entry["last_error"] or "::1" in entry["last_error"]
    assert receiver.received == []


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("host", ["a..example.com", "x" * 64 + ".example.com"])
async def test_a_host_no_lookup_could_encode_is_a_clear_422_at_creation_and_change(start_webhooks, allow_private,
                                                                                    host):
    # Guarded, the lookup raised UnicodeError (a 500); unguarded, the URL was stored, to fail every attempt.
    service = await start_webhooks(allow_private=allow_private)
    tenant = uuid.uuid4()
    master = service.auth("master", tenant)
    url = f"https://{host}/hooks"
    created = await service.client.post(
        "/endpoints", json={"url": url, "event_types": [events.BALANCE_LOW], "creator_email": "a@b.test"},
        headers=master)
    body = await created.json()
    assert created.status == 422 and body["type"] == "/problems/webhook-url-invalid", body
    assert "not a valid host name" in body["detail"]
    assert await service.pool.fetchval("SELECT count(*) FROM endpoints") == 0

    good = await service.client.post(
        "/endpoints", json={"url": "https://8.8.8.8/hooks", "event_types": [events.BALANCE_LOW],
                            "creator_email": "a@b.test"}, headers=master)
    assert good.status == 201
    endpoint_id = (await good.json())["id"]
    changed = await service.client.patch(f"/endpoints/{endpoint_id}", json={"url": url}, headers=master)
    assert changed.status == 422 and (await changed.json())["type"] == "/problems/webhook-url-invalid"
    assert await service.pool.fetchval("SELECT url FROM endpoints") == "https://8.8.8.8/hooks"
