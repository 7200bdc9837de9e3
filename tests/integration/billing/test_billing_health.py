from __future__ import annotations

from tests.integration.billing.harness import Billing


async def test_health_and_readiness_answer_without_a_token_once_database_and_broker_are_up(billing: Billing) -> None:
    for path in ("/healthz", "/readyz"):
        response = await billing.client.get(path)
        assert response.status == 200, path
    body = await (await billing.client.get("/readyz")).json()
    assert body["checks"] == ["broker", "database"]
