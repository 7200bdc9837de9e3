"""The directory's lookups by account id, on the real schema: the stored account id is the one the
rest of the system derives, and a lookup finds only the tenant's own people."""

from __future__ import annotations

import uuid

from common.accounts import account_id, user_code
from common.db import connect, migrate
from gateway.app import MIGRATIONS
from gateway.directory import store
from gateway.seed import ACME, GLOBEX, PEOPLE, seed
from tests.conftest import NewDatabase


async def _seeded(new_database: NewDatabase) -> str:
    dsn = await new_database("gateway")
    await migrate(dsn, MIGRATIONS)
    await seed(dsn)
    return dsn


async def test_every_users_stored_account_id_is_the_derived_one(new_database: NewDatabase):
    conn = await connect(await _seeded(new_database))
    try:
        rows = await conn.fetch("SELECT id, tenant_id, account_id FROM users")
    finally:
        await conn.close()
    assert len(rows) == len(PEOPLE)
    for row in rows:
        expected = account_id(row["tenant_id"], user_code(row["id"])) if row["tenant_id"] else None
        assert row["account_id"] == expected


async def test_people_are_found_by_account_only_within_their_tenant(new_database: NewDatabase):
    conn = await connect(await _seeded(new_database))
    ben = next(p for p in PEOPLE if p.email == "ben@acme.test")
    gail = next(p for p in PEOPLE if p.email == "master@globex.test")
    bens, gails = account_id(ACME.id, user_code(ben.id)), account_id(GLOBEX.id, user_code(gail.id))
    try:
        found = await store.people_by_account(conn, ACME.id, [bens, gails, uuid.uuid4()])
        assert found == {bens: ben}
        # Ben's id under another tenant's namespace is not his account.
        assert await store.people_by_account(conn, GLOBEX.id, [bens]) == {}
        named = await store.people_named(conn, ACME.id, [gail.id, ben.id], [])
        assert named == [(ben, bens)]
    finally:
        await conn.close()


async def test_the_caller_comes_with_their_tenant_in_one_lookup(new_database: NewDatabase):
    conn = await connect(await _seeded(new_database))
    ben = next(p for p in PEOPLE if p.email == "ben@acme.test")
    olive = next(p for p in PEOPLE if p.role == "operator")
    try:
        assert await store.caller(conn, ben.id) == (ben, ACME)
        assert await store.caller(conn, olive.id) == (olive, None)
        assert await store.caller(conn, uuid.uuid4()) is None
    finally:
        await conn.close()
