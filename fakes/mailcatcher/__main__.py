"""`python -m fakes.mailcatcher`: catch email on MAILCATCHER_HOST:MAILCATCHER_PORT into DEV_MAIL_DIR."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.logs import configure_logging, get_logger
from common.settings import load_settings
from fakes.mailcatcher.catcher import serve

log = get_logger("fakes.mailcatcher")


class MailCatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="SMS_CREDITS_FIELD_")

    host: str = Field(default="127.0.0.1", validation_alias="MAILCATCHER_HOST")
    port: int = Field(default=1025, validation_alias="MAILCATCHER_PORT", ge=1, le=65535)
    folder: Path = Field(default=Path(".local/mail"), validation_alias="DEV_MAIL_DIR")


async def main(settings: MailCatcherSettings) -> None:
    server = await serve(settings.folder, settings.host, settings.port)
    log.info("mailcatcher_started", smtp=f"{settings.host}:{settings.port}", folder=str(settings.folder))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    settings = load_settings(MailCatcherSettings)
    configure_logging("mailcatcher", "INFO")
    asyncio.run(main(settings))
