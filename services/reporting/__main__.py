"""`python -m services.reporting` serves; `python -m services.reporting migrate` migrates."""

from __future__ import annotations

from common.db import migrate
from common.logs import get_logger
from common.runtime import run_cli
from common.settings import load_settings
from services.reporting.app import MIGRATIONS, create_app
from services.reporting.settings import ReportingSettings

log = get_logger(__name__)


def main() -> None:
    settings = load_settings(ReportingSettings)

    async def migrate_database() -> int:
        applied = await migrate(settings.database_url, MIGRATIONS)
        log.info("migrations_done", applied=applied)
        return 0

    run_cli(
        "reporting",
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {"migrate": migrate_database},
    )


if __name__ == "__main__":
    main()
