"""The fault campaign's short form, part of `make test` and CI: about a minute of concurrent purchases,
transfers, holds and SMS while every process, RabbitMQ and Postgres are killed and restarted, then every
promise checked. `make chaos` runs the long form."""

from __future__ import annotations

import os
from collections import Counter

from tests.chaos.campaign import run_campaign
from tests.chaos.system import SERVICES

SHORT_SECONDS = float(os.environ.get("CHAOS_SHORT_SECONDS", "60"))


async def test_no_credit_is_created_lost_or_counted_twice_under_faults():
    report = await run_campaign(SHORT_SECONDS, workers=6)
    print("\n" + report.render())
    targets = {kind.split()[1] for kind in report.injected}
    assert {f"kill {service}" for service in SERVICES} <= set(report.injected), report.injected
    assert {"rabbitmq", "postgres"} <= targets, report.injected
    figures = report.figures()["total"]
    assert figures["accepted"] > 500 and figures["rejected"] > 0, figures
    assert report.figures().get("sms", Counter())["accepted"] > 0, report.sms
    assert report.ok, report.render()
