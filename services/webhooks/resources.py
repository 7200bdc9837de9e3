"""The webhooks service's AppKeys."""

from __future__ import annotations

from aiohttp import web

from services.webhooks.settings import WebhooksSettings

SETTINGS = web.AppKey("settings", WebhooksSettings)
