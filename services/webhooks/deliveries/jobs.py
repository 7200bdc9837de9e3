"""The delivery worker's step, run by common.runtime.periodic beside the server."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from services.webhooks.deliveries import usecases
from services.webhooks.resources import SETTINGS


async def deliver_due(app: web.Application) -> None:
    await usecases.deliver_due(app[DB], app[SETTINGS])


def poll_interval(app: web.Application) -> float:
    return app[SETTINGS].poll_seconds
