"""GET /logs.csv against real Postgres and RabbitMQ: the same rows as the JSON log, safe to open."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common import accounts
from tests.integration.reporting.reporting_support import FakeDirectory, FakeLedger, Reporting, auth

TENANT = uuid.uuid4()
ALICE, BOB = uuid.uuid4(), uuid.uuid4()
NAMES = {accounts.user_code(ALICE): "Alice Nguyen", accounts.user_code(BOB): "Bob O'Brien, Jr."}
ZONE = "Australia/Sydney"
SYDNEY = ZoneInfo(ZONE)
KINDS = {"purchase": "Purchase", "transfer": "Transfer", "hold": "Hold", "capture": "Capture", "void": "Void"}


async def _tenant_with_history(reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory) -> None:
    await directory.tenant(TENANT, "Harbour Realty", ZONE, version=1)
    for user_id in (ALICE, BOB):
        await directory.user(TENANT, user_id, NAMES[accounts.user_code(user_id)], version=1)
        await reporting.wait_directory("directory_users", user_id, 1)
    await reporting.wait_directory("directory_tenants", TENANT, 1)
    alice, bob = accounts.user_code(ALICE), accounts.user_code(BOB)
    start = datetime.now(UTC) - timedelta(days=3)
    posted = [
        await ledger.post(TENANT, "purchase", [("world", -500, -500), ("system", 500, 500)], start,
                          actor_user_id=ALICE, reference="purchase:1", note="Invoice INV-0001"),
        await ledger.post(TENANT, "transfer", [("system", -40, 460), (alice, 40, 40)], start + timedelta(hours=1),
                          actor_user_id=ALICE, note='=HYPERLINK("x")'),
        await ledger.post(TENANT, "transfer", [(alice, -15, 25), (bob, 15, 15)], start + timedelta(hours=2),
                          actor_user_id=BOB, note="+61412345678"),
        await ledger.post(TENANT, "transfer", [(bob, -5, 10), (alice, 5, 30)], start + timedelta(hours=3),
                          actor_user_id=BOB, note='a "quoted", multi\nline note'),
        await ledger.post(TENANT, "hold", [], start + timedelta(hours=4), reserves=[(alice, 3, 3, 30)],
                          reference="msg-1"),
        await ledger.post(TENANT, "capture", [(alice, -3, 27), ("spent", 3, 3)], start + timedelta(hours=5),
                          reserves=[(alice, -3, 0, 27)], reference="msg-1"),
        await ledger.post(TENANT, "hold", [], start + timedelta(hours=6), reserves=[("system", 10, 10, 460)]),
        await ledger.post(TENANT, "void", [], start + timedelta(hours=7), reserves=[("system", -10, 0, 460)]),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))


def _expected_row(entry: dict[str, Any], codes: dict[str, str]) -> list[str]:
    """What the CSV must say for one JSON entry, written out independently of the service's code."""
    local = datetime.fromisoformat(entry["occurred_at"]).astimezone(SYDNEY)
    offset = local.strftime("%z")
    counterparty = entry["counterparty"]
    counterparty_name = {"system": "System Credits", "world": "Purchase", "spent": "SMS sent", None: ""}.get(
        counterparty, NAMES.get(counterparty or "", "")
    )
    actor = NAMES.get(accounts.user_code(uuid.UUID(entry["actor"])), "") if entry["actor"] else ""
    note = entry["note"] or ""
    if note.startswith("="):
        note = "'" + note
    return [
        f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}",
        "System Credits" if codes[entry["account_id"]] == "system" else NAMES[codes[entry["account_id"]]],
        entry["direction"].capitalize(),
        str(entry["quantity"]),
        KINDS[entry["kind"]],
        str(entry["balance_after"]),
        counterparty_name,
        actor,
        entry["reference"] or "",
        note,
        entry["transaction_id"],
        str(entry["promotional"]),
    ]


def _parse(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_the_csv_parsed_back_equals_the_json_rows_in_the_same_order(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    await _tenant_with_history(reporting, ledger, directory)
    codes = {str(accounts.account_id(TENANT, c)): c for c in ("system", *NAMES)}
    entries = await reporting.scoped(TENANT, "tenant")

    status, headers, body = await reporting.download("/logs.csv", TENANT, [("scope", "tenant")])

    assert status == 200, body
    rows = _parse(body)
    assert rows[0] == ["Date/time", "Account", "Direction", "Quantity", "Kind", "Balance after", "Counterparty",
                       "By", "Reference", "Note", "Transaction", "Promotional"]
    assert rows[1:] == [_expected_row(entry, codes) for entry in entries]
    assert len(rows) == 1 + 11
    today = datetime.now(SYDNEY).strftime("%Y-%m-%d")
    assert headers["Content-Disposition"] == f'attachment; filename="sms-credits-log-{today}.csv"'
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Cache-Control"] == "no-store" and headers["X-Log-Stale"] == "false"


async def test_a_formula_note_comes_back_neutralised_and_a_phone_number_stays_readable(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    await _tenant_with_history(reporting, ledger, directory)

    _, _, body = await reporting.download("/logs.csv", TENANT, [("scope", "users"), ("kind", "transfer")])

    notes = {row[9] for row in _parse(body)[1:]}
    assert notes == {"'=HYPERLINK(\"x\")", "+61412345678", 'a "quoted", multi\nline note'}


async def test_the_csv_takes_the_same_filters_as_the_log(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    await _tenant_with_history(reporting, ledger, directory)
    bob = accounts.account_id(TENANT, accounts.user_code(BOB))

    _, _, body = await reporting.download("/logs.csv", TENANT, [("account", str(bob)), ("direction", "in")])
    _, _, nothing = await reporting.download("/logs.csv", TENANT, [("scope", "tenant"), ("days", "1")])

    bob_in = [(r[1], r[2], r[3], r[7]) for r in _parse(body)[1:]]
    assert bob_in == [("Bob O'Brien, Jr.", "In", "15", "Bob O'Brien, Jr.")]
    assert len(_parse(nothing)) == 1  # the header alone


async def test_another_tenants_csv_is_empty(reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory) -> None:
    await _tenant_with_history(reporting, ledger, directory)

    status, headers, body = await reporting.download("/logs.csv", uuid.uuid4(), [("scope", "tenant")])

    assert status == 200
    assert len(_parse(body)) == 1
    assert headers["Content-Disposition"].startswith('attachment; filename="sms-credits-log-')


async def test_an_abandoned_download_gives_back_its_connection_and_its_slot(reporting: Reporting) -> None:
    tenant = uuid.uuid4()
    await reporting.sql(
        """INSERT INTO log_entries (id, tenant_id, account_id, account_code, ledger_seq, transaction_id, occurred_at,
               direction, quantity, kind, balance_after)
           SELECT gen_random_uuid(), $1, $2, 'system', n, gen_random_uuid(), now() - make_interval(secs => n),
                  'in', 1, 'purchase', n
           FROM generate_series(1, 20000) AS n""",
        tenant, accounts.account_id(tenant, "system"),
    )
    # More abandoned downloads than there are export slots (half the test pool of 4): a leaked slot or
    # connection would make the last, complete download wait forever.
    for _ in range(3):
        response = await reporting.client.get("/logs.csv", params={"scope": "tenant"}, headers=auth(tenant))
        assert response.status == 200
        await response.content.readexactly(1000)
        response.close()

    async with asyncio.timeout(10):
        status, _, body = await reporting.download("/logs.csv", tenant, [("scope", "tenant")])
        idle_in_transaction = "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = $1"
        while await reporting.sql(idle_in_transaction, "idle in transaction"):  # noqa: ASYNC110 (polls the database)
            await asyncio.sleep(0.05)

    assert status == 200 and body.count(b"\r\n") == 20001


async def test_a_consistency_token_not_yet_applied_marks_the_download_stale(reporting: Reporting) -> None:
    status, headers, body = await reporting.download(
        "/logs.csv", TENANT, [("scope", "tenant"), ("consistency_token", "987654321")]
    )

    assert status == 200 and headers["X-Log-Stale"] == "true"
    assert len(_parse(body)) == 1
