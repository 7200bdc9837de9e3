"""`python -m fakes.smsc`: the SMSC simulator, its SMPP port and its HTTP API, until interrupted."""

from __future__ import annotations

import asyncio
import contextlib

from common.logs import configure_logging
from fakes.smsc.simulator import SimulatorSettings, run


def main() -> None:
    settings = SimulatorSettings()
    configure_logging("smsc-simulator", settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))


if __name__ == "__main__":
    main()
