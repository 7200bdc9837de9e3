"""What the ledger's features share at run time, each under its typed AppKey: the settings, and the
group-commit writer that transfers arriving together are posted through (a cleanup context of its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from common.runtime import DB, CleanupCtx
from services.ledger.postings.group_commit import GroupCommit
from services.ledger.settings import LedgerSettings

SETTINGS = web.AppKey("settings", LedgerSettings)
GROUP_COMMIT: web.AppKey[GroupCommit] = web.AppKey("group_commit")


def group_commit_ctx(max_group: int, writers: int) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        group = GroupCommit(app[DB], max_group, writers)
        group.start()
        app[GROUP_COMMIT] = group
        yield
        await group.stop()

    return ctx
