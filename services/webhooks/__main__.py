"""`python -m services.webhooks [serve|migrate]`."""

from __future__ import annotations

from common.runtime import migrate_command, run_cli
from common.settings import load_settings
from services.webhooks.app import MIGRATIONS, SERVICE, create_app
from services.webhooks.settings import WebhooksSettings


def main() -> None:
    settings = load_settings(WebhooksSettings)
    run_cli(
        SERVICE,
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {"migrate": migrate_command(SERVICE, settings.database_url, MIGRATIONS)},
    )


if __name__ == "__main__":
    main()
