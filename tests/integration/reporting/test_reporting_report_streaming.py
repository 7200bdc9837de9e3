"""GET /logs/report at any size: 5,000 rows (more than the old 2,000-row limit) stream as chunked HTML with
every row and the right totals, and as a multi-page PDF drawn from the same cursor. That memory stays flat
as the rows grow is measured by `make bench` (bench/benchmarks/report.py), not here."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pypdf

from common import accounts
from services.reporting.logs.usecases import REPORT_CHUNK_ROWS
from tests.integration.reporting.reporting_support import Reporting, auth, html_tables

ROWS = 5000
OPENING = 1000
TENANT = uuid.uuid4()
ALICE, BOB = uuid.uuid4(), uuid.uuid4()
NAMES = {accounts.user_code(ALICE): "Alice Nguyen", accounts.user_code(BOB): "Bob Smith"}


async def _fill(database_url: str) -> dict[str, tuple[int, int, int, int]]:
    """ROWS movements over the last few hours, straight into the log; answers each name's expected totals
    (opening, in, out, closing), counted here from what was inserted."""
    codes = list(NAMES)
    balances = dict.fromkeys(codes, OPENING)
    sums = {code: [0, 0] for code in codes}
    now = datetime.now(UTC)
    records = []
    for n in range(1, ROWS + 1):
        code = codes[n % 2]
        direction, quantity = ("out", n % 7 + 1) if n % 3 == 0 else ("in", n % 5 + 1)
        balances[code] += quantity if direction == "in" else -quantity
        sums[code][direction == "out"] += quantity
        records.append((
            uuid.uuid4(), TENANT, accounts.account_id(TENANT, code), code, n, uuid.uuid4(),
            now - timedelta(hours=3) + timedelta(seconds=n), direction, quantity, "transfer", balances[code],
            codes[(n + 1) % 2], ALICE, f"REF-{n:05d}", f"note {n}", False,
        ))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO directory_tenants (id, name, timezone, version) "
                           "VALUES ($1, 'Harbour Realty', 'Australia/Sydney', 1)", TENANT)
        await conn.executemany("INSERT INTO directory_users (id, tenant_id, name, version) VALUES ($1, $2, $3, 1)",
                               [(ALICE, TENANT, "Alice Nguyen"), (BOB, TENANT, "Bob Smith")])
        await conn.executemany("INSERT INTO log_accounts (account_id, tenant_id, account_code) VALUES ($1, $2, $3)",
                               [(accounts.account_id(TENANT, code), TENANT, code) for code in codes])
        await conn.copy_records_to_table(
            "log_entries", records=records,
            columns=["id", "tenant_id", "account_id", "account_code", "ledger_seq", "transaction_id", "occurred_at",
                     "direction", "quantity", "kind", "balance_after", "counterparty_code", "actor_user_id",
                     "reference", "note", "reservation"],
        )
        await conn.execute("ANALYZE log_entries")
    finally:
        await conn.close()
    return {NAMES[code]: (OPENING, sums[code][0], sums[code][1], balances[code]) for code in codes}


async def test_a_report_of_any_size_streams_as_html_and_draws_as_a_multi_page_pdf(reporting: Reporting) -> None:
    expected_totals = await _fill(reporting.database_url)
    query = {"scope": "tenant", "days": "1"}

    # HTML: chunked (no length known up front), every row oldest first, totals that add up.
    response = await reporting.client.get("/logs/report", params=query, headers=auth(TENANT, ALICE))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in response.headers
    pieces = [piece async for piece in response.content.iter_any()]
    html = b"".join(pieces).decode()
    assert len(pieces) > 1
    tables = html_tables(html)
    rows = tables["rows"][1:]
    assert [row[8] for row in rows] == [f"REF-{n:05d}" for n in range(1, ROWS + 1)]
    assert ROWS > 2 * REPORT_CHUNK_ROWS  # the rows crossed cursor chunks
    totals = {row[0]: tuple(int(cell.replace(",", "")) for cell in row[1:]) for row in tables["totals"][1:]}
    # Opening, purchased in, promotional in, out, expired, closing: nothing here is promotional or expired.
    assert totals == {name: (opening, credits_in, 0, credits_out, 0, closing)
                      for name, (opening, credits_in, credits_out, closing) in expected_totals.items()}
    assert html.rstrip().endswith("</html>")

    # PDF: many pages, the first and the last row on them, the tenant's time zone in the times.
    response = await reporting.client.get("/logs/report", params={**query, "format": "pdf"},
                                          headers=auth(TENANT, ALICE))
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/pdf"
    body = await response.read()
    assert int(response.headers["Content-Length"]) == len(body)
    pages = pypdf.PdfReader(io.BytesIO(body)).pages
    assert len(pages) > 1
    first, last = pages[0].extract_text(), pages[-1].extract_text()
    assert "Harbour Realty" in first and "Alice Nguyen" in first
    assert "REF-00001" in first and f"REF-{ROWS:05d}" in last
    assert "+10:00" in first or "+11:00" in first  # Sydney time, not UTC
    assert re.search(rf"\b{len(pages)} /\s*{len(pages)}\b", last)  # "n / N" on the last page
    # Each total's closing balance as the page prints it.
    for opening, credits_in, credits_out, closing in expected_totals.values():
        assert f"{closing:,}" in first and opening + credits_in - credits_out == closing
