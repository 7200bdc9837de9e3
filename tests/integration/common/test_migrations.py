from common.db import migrate
from tests.conftest import NewDatabase
from tests.integration.common.conftest import EFFECTS_MIGRATIONS


async def test_migrations_run_twice_change_nothing(new_database: NewDatabase):
    dsn = await new_database("migrate")
    first = await migrate(dsn, EFFECTS_MIGRATIONS)
    second = await migrate(dsn, EFFECTS_MIGRATIONS)
    assert first == ["shared/0001_outbox_inbox.sql", "shared/0002_outbox_headers.sql", "service/0001_effects.sql"]
    assert second == []


async def test_a_missing_database_is_created(infra):
    import uuid

    import asyncpg

    name = f"t_{infra.run_id}_created_{uuid.uuid4().hex[:6]}"
    dsn = infra.database_url(name)
    try:
        await migrate(dsn, EFFECTS_MIGRATIONS)
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 3
        await conn.close()
    finally:
        admin = await asyncpg.connect(infra.database_url("postgres"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
