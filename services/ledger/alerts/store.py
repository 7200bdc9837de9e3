"""The alerts' SQL: an account's levels and last purchase (read by the posting engine with its facts, and by
the alerts' own reads), and replacing an account's levels. Parameterised statements only; no rules."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence

import asyncpg

from services.ledger.alerts.domain import AccountAlerts, Level


def facts_subquery(account_ids: str) -> str:
    """A scalar subquery (JSON text) of the levels and last purchases of the accounts in the parameter
    `account_ids` (a uuid[] placeholder such as `$4`), for the posting engine's facts query: read in the
    round trip that reads the other facts, after the account locks that guard them. Decode with `decode`."""
    return f"""(SELECT json_build_object(
                   'levels', (SELECT coalesce(json_agg(json_build_object(
                                  'id', l.id, 'account_id', l.account_id, 'position', l.position, 'name', l.name,
                                  'kind', l.kind, 'value', l.value, 'below', l.below) ORDER BY l.position), '[]')
                              FROM alert_levels l WHERE l.account_id = ANY({account_ids}::uuid[])),
                   'purchases', (SELECT coalesce(json_object_agg(p.account_id, p.quantity), '{{}}')
                                 FROM alert_purchases p WHERE p.account_id = ANY({account_ids}::uuid[])
                                 AND EXISTS (SELECT 1 FROM alert_levels l WHERE l.account_id = p.account_id))
               )::text)"""  # noqa: S608 (`account_ids` names a placeholder)


def decode(text: str | None) -> dict[uuid.UUID, AccountAlerts]:
    """The accounts' alerts from `facts_subquery`'s JSON; an account with no levels is left out."""
    if not text:
        return {}
    found = json.loads(text)
    levels: dict[uuid.UUID, list[Level]] = {}
    for row in found["levels"]:
        level = Level(uuid.UUID(row["id"]), uuid.UUID(row["account_id"]), row["position"], row["name"],
                      row["kind"], int(row["value"]), bool(row["below"]))
        levels.setdefault(level.account_id, []).append(level)
    purchases = {uuid.UUID(k): int(v) for k, v in found["purchases"].items()}
    return {account: AccountAlerts(tuple(held), purchases.get(account)) for account, held in levels.items()}


async def account_alerts(conn: asyncpg.Connection, account_id: uuid.UUID) -> AccountAlerts:
    """One account's levels and last purchase (whether or not it has levels)."""
    row = await conn.fetchrow(
        f"""SELECT {facts_subquery('$1')} AS alerts,
                   (SELECT quantity FROM alert_purchases WHERE account_id = ANY($1::uuid[])) AS last_purchase""",  # noqa: S608
        [account_id],
    )
    assert row is not None
    found = decode(row["alerts"]).get(account_id, AccountAlerts())
    return AccountAlerts(found.levels, row["last_purchase"])


async def replace_levels(conn: asyncpg.Connection, tenant_id: uuid.UUID, account_id: uuid.UUID,
                         levels: Sequence[Level]) -> None:
    """The account's levels become these, (the caller holds the account's lock)."""
    await conn.execute("DELETE FROM alert_levels WHERE account_id = $1", account_id)
    await conn.execute(
        """INSERT INTO alert_levels (id, tenant_id, account_id, position, name, kind, value, below)
           SELECT l.id, $1, $2, l.position, l.name, l.kind, l.value, l.below
           FROM unnest($3::uuid[], $4::smallint[], $5::text[], $6::text[], $7::bigint[], $8::boolean[])
               AS l(id, position, name, kind, value, below)""",
        tenant_id, account_id, [lv.id for lv in levels], [lv.position for lv in levels],
        [lv.name for lv in levels], [lv.kind for lv in levels], [lv.value for lv in levels],
        [lv.below for lv in levels],
    )


def flag_rows(alerts: Iterable[AccountAlerts]) -> tuple[list[uuid.UUID], list[bool]]:
    """The levels' ids and flags as the posting engine's write statement stores them."""
    levels = [level for a in alerts for level in a.levels]
    return [level.id for level in levels], [level.below for level in levels]
