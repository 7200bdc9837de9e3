"""`python -m services.billing` serves; `python -m services.billing migrate` applies migrations."""

from __future__ import annotations

from common.db import migrate
from common.runtime import run_cli
from common.settings import load_settings
from services.billing.app import MIGRATIONS, create_app, provider_migrations
from services.billing.settings import BillingSettings


def main() -> None:
    settings = load_settings(BillingSettings)

    async def apply_migrations() -> int:
        await migrate(settings.database_url, MIGRATIONS, provider_migrations(settings))
        return 0

    run_cli(
        "billing",
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {"migrate": apply_migrations},
    )


if __name__ == "__main__":
    main()
