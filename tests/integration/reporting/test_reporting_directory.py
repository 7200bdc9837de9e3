"""The directory replica: names and time zones from the gateway's events, newest version wins."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from common import accounts
from common.contracts.events import Event
from tests.integration.reporting.reporting_support import (
    APPLY_TIMEOUT_SECONDS,
    FakeDirectory,
    FakeLedger,
    Reporting,
    html_tables,
)

TENANT = uuid.uuid4()
ALICE, BOB = uuid.uuid4(), uuid.uuid4()


async def _wait_handled(reporting: Reporting, *events: Event) -> None:
    """Until the consumer has taken each event (applied or skipped): its inbox row is there."""
    async with asyncio.timeout(APPLY_TIMEOUT_SECONDS):
        while True:
            rows = await reporting.sql(
                "SELECT count(*) AS n FROM inbox WHERE consumer = 'reporting.directory' AND event_id = ANY($1)",
                [e.id for e in events],
            )
            if rows[0]["n"] == len(events):
                return
            await asyncio.sleep(0.02)


async def _csv_rows(reporting: Reporting) -> list[list[str]]:
    status, _, body = await reporting.download("/logs.csv", TENANT, [("scope", "tenant")])
    assert status == 200
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))[1:]


async def test_names_and_the_time_zone_in_the_csv_and_report_come_from_directory_events(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    handled = [
        await directory.tenant(TENANT, "Harbour Realty", "Australia/Perth", version=1),
        await directory.user(TENANT, ALICE, "Alice Nguyen", version=1),
        await directory.user(TENANT, BOB, "Bob Smith", version=1),
    ]
    await _wait_handled(reporting, *handled)
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    transfer = await ledger.post(
        TENANT, "transfer", [(accounts.user_code(ALICE), -4, 6), (accounts.user_code(BOB), 4, 4)], when,
        actor_user_id=ALICE,
    )
    await reporting.wait_applied(transfer.seq)

    rows = await _csv_rows(reporting)
    status, _, page = await reporting.download("/logs/report", TENANT, [("scope", "tenant")], user_id=BOB)

    perth = when.astimezone(ZoneInfo("Australia/Perth"))
    assert {(r[0], r[1], r[6], r[7]) for r in rows} == {
        (f"{perth:%Y-%m-%d %H:%M:%S} +08:00", "Alice Nguyen", "Bob Smith", "Alice Nguyen"),
        (f"{perth:%Y-%m-%d %H:%M:%S} +08:00", "Bob Smith", "Alice Nguyen", "Alice Nguyen"),
    }
    html = page.decode()
    assert status == 200 and "Harbour Realty" in html and "(Australia/Perth)" in html and "by Bob Smith" in html
    assert {row[0] for row in html_tables(html)["totals"][1:]} == {"Alice Nguyen", "Bob Smith"}


async def test_an_older_version_does_not_overwrite_a_newer_one(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    newer = [
        await directory.tenant(TENANT, "Harbour Realty", "Australia/Sydney", version=5),
        await directory.user(TENANT, ALICE, "Alice Carter", version=3),
    ]
    await _wait_handled(reporting, *newer)
    late = [
        await directory.tenant(TENANT, "Old Name Pty Ltd", "UTC", version=4),
        await directory.user(TENANT, ALICE, "Alice Nguyen", version=2),
    ]
    await _wait_handled(reporting, *late)
    purchase = await ledger.post(TENANT, "transfer", [("system", -1, 9), (accounts.user_code(ALICE), 1, 1)])
    await reporting.wait_applied(purchase.seq)

    rows = await _csv_rows(reporting)

    assert {r[1] for r in rows} == {"System Credits", "Alice Carter"}
    assert all(r[0].endswith(("+11:00", "+10:00")) for r in rows)  # Sydney, not the late UTC
    assert [dict(r) for r in await reporting.sql("SELECT name, version FROM directory_users")] == [
        {"name": "Alice Carter", "version": 3}
    ]
    renamed = await directory.user(TENANT, ALICE, "Alice Nguyen-Carter", version=4)
    await _wait_handled(reporting, renamed)
    assert {r[1] for r in await _csv_rows(reporting)} == {"System Credits", "Alice Nguyen-Carter"}


async def test_a_directory_event_delivered_twice_is_applied_once(
    reporting: Reporting, directory: FakeDirectory
) -> None:
    event = await directory.user(TENANT, ALICE, "Alice Nguyen", version=1)
    await _wait_handled(reporting, event)
    await directory.broker.publish(event.model_dump(mode="json", exclude_none=True), event.routing_key)
    follower = await directory.user(TENANT, BOB, "Bob Smith", version=1)
    await _wait_handled(reporting, follower)

    rows = await reporting.sql("SELECT count(*) AS n FROM inbox WHERE consumer = 'reporting.directory'")
    assert rows[0]["n"] == 2
    assert len(await reporting.sql("SELECT 1 FROM directory_users")) == 2
