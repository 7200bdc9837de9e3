"""The reporting service's AppKeys: what create_app builds once and the features read."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.reporting.settings import ReportingSettings

SETTINGS = web.AppKey("settings", ReportingSettings)
# A CSV download holds a database connection for as long as the client takes to read it. Capped below
# the pool size so that slow downloads queue among themselves and never starve the event consumers
# and the JSON log of connections.
EXPORT_SLOTS = web.AppKey("export_slots", asyncio.Semaphore)


def export_slots(settings: ReportingSettings) -> asyncio.Semaphore:
    return asyncio.Semaphore(max(1, settings.db_pool_size // 2))
