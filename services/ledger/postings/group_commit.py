"""Group commit: transfers that arrive while earlier ones are being written are posted together, in one
database transaction and one fixed sequence of statements, so that the cost of a commit and of each
round trip is shared instead of paid by every transfer.

Nothing of the single-transfer path is given up. Each transfer is checked and planned on its own,
against the balances as its predecessors in the group left them: one that breaks a rule is refused
alone and its neighbours go ahead. Locks are taken in the same order as everywhere else (tenant locks,
then accounts by id), so a group waits for, or is waited for by, any other posting, never deadlocks
with it. A transfer whose key was used before, or twice in one group, is answered by the single path,
which knows how to replay it, and so is one naming an account never opened (opening it belongs to the
transfer's own transaction, so that a refused transfer leaves no account behind); and if the group's
transaction fails as a whole (a database error, a key racing a posting outside the group), every
transfer in it is retried on the single path, so a failure of one can never become the failure of
another.

There is no timer: the window in which a group gathers is the time the previous group takes to
commit, so a lone transfer waits for nothing and a busy ledger writes large groups.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from dataclasses import dataclass, replace
from datetime import timedelta

import asyncpg
from prometheus_client import Histogram

from common.accounts import owner_of
from common.logs import current_request_id, get_logger
from common.problems import DependencyUnavailable, DomainError
from services.ledger.alerts.domain import AccountAlerts
from services.ledger.lots.domain import Holding
from services.ledger.postings import domain, store
from services.ledger.postings.domain import PostedTransaction, PostingRequest
from services.ledger.postings.usecases import Check, Prepared, in_own_transaction, prepare, write

log = get_logger(__name__)

GROUP_SIZE = Histogram(
    "ledger_group_commit_size", "Transfers posted per group commit", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256)
)


@dataclass
class _Waiting:
    request: PostingRequest
    check: Check
    done: asyncio.Future[PostedTransaction]

    @property
    def key(self) -> tuple[uuid.UUID, str]:
        return self.request.tenant_id, self.request.idempotency_key


class _Single:
    """Marks a transfer to be answered by the single path after its group."""


_SINGLE = _Single()
Outcome = PostedTransaction | DomainError | _Single


class GroupCommit:
    def __init__(self, pool: asyncpg.Pool, max_group: int, writers: int) -> None:
        self._pool = pool
        self._max_group = max_group
        self._writers = writers
        self._queue: deque[_Waiting] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write_forever(), name=f"group-commit-{i}")
                       for i in range(self._writers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while self._queue:
            waiting = self._queue.popleft()
            if not waiting.done.done():
                waiting.done.set_exception(DependencyUnavailable("The ledger is shutting down; please try again."))

    async def post(self, request: PostingRequest, check: Check) -> PostedTransaction:
        # The writer task serves many requests: each transfer takes its own request's id with it.
        request = replace(request, request_id=request.request_id or current_request_id())
        done: asyncio.Future[PostedTransaction] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(request, check, done))
        self._wake.set()
        # A caller that goes away while queued cancels the future, and its transfer is dropped unwritten.
        return await done

    def _take(self) -> list[_Waiting]:
        """The next group, in arrival order: at most `max_group`, without cancelled callers, and without
        a second use of one key (it waits for the next group, where it is answered as a replay)."""
        group: list[_Waiting] = []
        keys: set[tuple[uuid.UUID, str]] = set()
        deferred: list[_Waiting] = []
        while self._queue and len(group) < self._max_group:
            waiting = self._queue.popleft()
            if waiting.done.done():
                continue
            if waiting.key in keys:
                deferred.append(waiting)
                continue
            keys.add(waiting.key)
            group.append(waiting)
        self._queue.extendleft(reversed(deferred))
        return group

    async def _write_forever(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            group = self._take()
            if group:
                await self._settle(group)

    async def _settle(self, group: list[_Waiting]) -> None:
        try:
            outcomes = await self._write_group(group)
        except asyncio.CancelledError:
            for waiting in group:
                if not waiting.done.done():
                    waiting.done.set_exception(DependencyUnavailable("The ledger is shutting down; please try again."))
            raise
        except Exception as exc:  # the group as a whole failed: nothing of it was written
            log.warning("group_commit_retried_singly", size=len(group), error=repr(exc))
            outcomes = [_SINGLE] * len(group)
        GROUP_SIZE.observe(len(group))
        singles = []
        for waiting, outcome in zip(group, outcomes, strict=True):
            if waiting.done.done():
                continue
            if isinstance(outcome, _Single):
                singles.append(self._single(waiting))
            elif isinstance(outcome, DomainError):
                waiting.done.set_exception(outcome)
            else:
                waiting.done.set_result(outcome)
        await asyncio.gather(*singles)

    async def _single(self, waiting: _Waiting) -> None:
        try:
            result = await in_own_transaction(self._pool, waiting.request, waiting.check)
        except Exception as exc:
            if not waiting.done.done():
                waiting.done.set_exception(exc)
        else:
            if not waiting.done.done():
                waiting.done.set_result(result)

    async def _write_group(self, group: list[_Waiting]) -> list[Outcome]:
        outcomes: list[Outcome] = [_SINGLE] * len(group)
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await store.lock_for_postings(
                conn, [(w.request.tenant_id, code) for w in group for code in w.request.codes], open_missing=False
            )
            used = await store.transactions_by_key(conn, [w.key for w in group])
            # A replay, or a transfer to an account never opened, is answered on its own afterwards.
            fresh = [i for i, w in enumerate(group) if w.key not in used
                     and all((w.request.tenant_id, code) in locked for code in w.request.codes)]
            if not fresh:
                return outcomes
            owners = {owner for w in group for code in w.request.codes if (owner := owner_of(code))}
            facing = [a.id for a in locked.values() if a.user_facing]
            facts = await store.directory_facts(
                conn, sorted({w.request.tenant_id for w in group}), sorted(owners), len(fresh), facing
            )
            prepared = await _plan_in_turn(conn, group, fresh, locked, facts, facts.holdings, outcomes)
            if prepared:
                await write(conn, prepared)
        return outcomes


async def _plan_in_turn(
    conn: asyncpg.Connection, group: list[_Waiting], fresh: list[int],
    locked: dict[tuple[uuid.UUID, str], domain.Account], facts: store.DirectoryFacts,
    holdings: dict[uuid.UUID, list[Holding]], outcomes: list[Outcome],
) -> list[Prepared]:
    """Check and plan each fresh transfer on the balances and lots its predecessors left, recording its
    outcome (a result, or the rule it broke); answers what to write, in order."""
    balances = dict(locked)  # as each transfer leaves them for the next
    lots = {account: {h.lot.id: h for h in held} for account, held in holdings.items()}  # likewise
    streams = dict(facts.last_sequences)  # each tenant's last event number, as each transfer leaves it
    alerts = dict(facts.alerts)  # each account's alert levels and their flags, likewise
    planned = []
    for n, i in enumerate(fresh):
        waiting = group[i]
        request = waiting.request
        own_facts = _facts_of(request.tenant_id, facts, n, streams.get(request.tenant_id, 0), alerts)
        accounts = {code: balances[(request.tenant_id, code)] for code in request.codes}
        own_lots = {code: list(lots.get(a.id, {}).values()) for code, a in accounts.items()}
        try:
            await waiting.check(conn, accounts, own_facts)
            prepared = prepare(request, accounts, own_facts, own_lots)
        except DomainError as exc:
            outcomes[i] = exc
            continue
        for account in prepared.accounts_after:
            balances[(account.tenant_id, account.code)] = account
        for (account_id, lot_id), holding in prepared.holdings_after.items():
            if holding is None:
                lots.get(account_id, {}).pop(lot_id, None)
            else:
                lots.setdefault(account_id, {})[lot_id] = holding
        alerts.update(prepared.write.alerts)
        planned.append(prepared)
        streams[request.tenant_id] = prepared.write.last_sequence
        outcomes[i] = prepared.result
    return planned


_MICROSECOND = timedelta(microseconds=1)


def _facts_of(
    tenant_id: uuid.UUID, facts: store.DirectoryFacts, n: int, last_sequence: int,
    alerts: dict[uuid.UUID, AccountAlerts],
) -> store.PostingFacts:
    """The facts one transfer of the group sees: its tenant's, its own sequence number, and its own
    moment. Moments within a group step by a microsecond so that, per account, times still follow the
    order in which the balances changed; the next group on the same accounts reads its moment after
    this one committed, and writing a group takes far longer than a microsecond per transfer."""
    mode, threshold = facts.tenants.get(tenant_id, (None, 0))
    users = {user: found for user, (tenant, found) in facts.users.items() if tenant == tenant_id}
    return store.PostingFacts(
        existing=None, credit_mode=mode, low_balance_threshold=threshold, users=users, seq=facts.seqs[n],
        now=facts.now + _MICROSECOND * n, last_sequence=last_sequence, alerts=alerts, watched=facts.watched,
    )
