"""`python -m gateway [serve|migrate|seed|announce|service-client <id> [--tenant <tenant id>]]`."""

from __future__ import annotations

import argparse
import sys
import uuid

from common.db import connect, migrate
from common.runtime import migrate_command, run_cli
from common.settings import load_settings
from gateway.app import MIGRATIONS, SERVICE, create_app
from gateway.directory.events import announce_everyone
from gateway.seed import create_service_client, seed
from gateway.settings import GatewaySettings


def main() -> None:
    settings = load_settings(GatewaySettings)

    async def seed_command() -> int:
        await migrate(settings.database_url, MIGRATIONS)
        added = await seed(settings.database_url)
        print(f"gateway: demo data ready ({added} people added)")
        return 0

    async def service_client_command() -> int:
        parser = argparse.ArgumentParser(prog="python -m gateway service-client")
        parser.add_argument("client_id")
        parser.add_argument("--tenant", type=uuid.UUID, default=None,
                            help="the tenant whose directory it may sync (PUT /api/v1/directory/users/...)")
        args = parser.parse_args(sys.argv[2:])
        await migrate(settings.database_url, MIGRATIONS)
        try:
            secret = await create_service_client(settings.database_url, args.client_id, args.tenant)
        except LookupError as exc:
            sys.stderr.write(f"{exc}\n")
            return 2
        print(secret)
        return 0

    async def announce_command() -> int:
        await migrate(settings.database_url, MIGRATIONS)
        conn = await connect(settings.database_url)
        try:
            tenants, people = await announce_everyone(conn)
        finally:
            await conn.close()
        print(f"gateway: announced {tenants} tenants and {people} people again (sent once the gateway runs; "
              "a service that has a version already changes nothing)")
        return 0

    run_cli(
        SERVICE,
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {
            "migrate": migrate_command(SERVICE, settings.database_url, MIGRATIONS),
            "seed": seed_command,
            "service-client": service_client_command,
            "announce": announce_command,
        },
    )


if __name__ == "__main__":
    main()
