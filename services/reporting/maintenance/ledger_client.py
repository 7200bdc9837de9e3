"""The ledger's HTTP API as reconciliation and rebuilds use it: balances and the journal.

Reporting is otherwise fed only by events; these reads are for operators' commands, never for
answering a request (a slow ledger must not slow the log down)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from common.contracts.events import TransactionPosted
from common.identity import Identity, issue_internal_token

_AUDIENCE = "ledger"
# The ledger refuses more codes than this in one balance request.
MAX_CODES_PER_REQUEST = 1000


class LedgerUnavailable(Exception):
    """The ledger did not answer, or answered something other than what its contract promises."""


@dataclass(frozen=True)
class JournalPage:
    transactions: list[TransactionPosted]
    next_after_seq: int | None  # None: this was the last page


class LedgerClient:
    def __init__(self, base_url: str, secret: str, session: aiohttp.ClientSession) -> None:
        self._base_url = base_url.rstrip("/")
        self._secret = secret
        self._session = session

    def _headers(self, tenant_id: uuid.UUID | None) -> dict[str, str]:
        # Minted per request: the tokens live a minute, and a rebuild can run far longer.
        token = issue_internal_token(Identity(role="operator", tenant_id=tenant_id), self._secret, _AUDIENCE)
        return {"Authorization": f"Bearer {token}"}

    async def _get(self, path: str, params: list[tuple[str, str]], tenant_id: uuid.UUID | None) -> Any:
        url = f"{self._base_url}{path}"
        try:
            async with self._session.get(url, params=params, headers=self._headers(tenant_id)) as response:
                if response.status != 200:
                    detail = (await response.text())[:300]
                    raise LedgerUnavailable(f"GET {path} answered {response.status}: {detail}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise LedgerUnavailable(f"GET {path} failed: {exc!r}") from exc

    async def journal_page(self, after_seq: int, limit: int) -> JournalPage:
        body = await self._get("/transactions", [("after_seq", str(after_seq)), ("limit", str(limit))], None)
        try:
            transactions = [TransactionPosted.model_validate(t) for t in body["transactions"]]
            next_after_seq = body["next_after_seq"]
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerUnavailable(f"the journal page is not in the expected shape: {exc}") from exc
        return JournalPage(transactions, None if next_after_seq is None else int(next_after_seq))

    async def balances(self, tenant_id: uuid.UUID, codes: Sequence[str]) -> dict[str, int]:
        """The ledger's balance of each named account of the tenant (an account never opened reads 0)."""
        found: dict[str, int] = {}
        for start in range(0, len(codes), MAX_CODES_PER_REQUEST):
            chunk = codes[start : start + MAX_CODES_PER_REQUEST]
            body = await self._get("/accounts", [("code", code) for code in chunk], tenant_id)
            try:
                found.update({str(account["code"]): int(account["balance"]) for account in body})
            except (KeyError, TypeError, ValueError) as exc:
                raise LedgerUnavailable(f"the balances are not in the expected shape: {exc}") from exc
        return found
