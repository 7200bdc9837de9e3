"""The expiry sweep as a periodic job (run by common.runtime.periodic): messages whose sender died are
settled with what the carrier accepted before their hold runs out."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from services.messaging.resources import SETTINGS
from services.messaging.sending import usecases


async def expire_overdue(app: web.Application) -> None:
    # Half the sender's margin: a segment submitted just before the sender's own cut-off still has
    # time for its answer before the sweeper gives up on the part.
    await usecases.expire_overdue(app[DB], app[SETTINGS].hold_margin_seconds / 2)


def sweep_interval(app: web.Application) -> float:
    return app[SETTINGS].expiry_sweep_seconds


async def expire_unreceipted(app: web.Application) -> None:
    """Recipients with no receipt within the validity period: `expired`, their credits given back."""
    await usecases.expire_unreceipted(app[DB], app[SETTINGS].receipt_validity_seconds)


def receipt_sweep_interval(app: web.Application) -> float:
    return app[SETTINGS].receipt_sweep_seconds
