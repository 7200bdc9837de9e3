"""The posting engine's SQL: the account locks, the facts a posting reads under them, and one statement that
writes transactions, postings, balances, journal and outbox together. Parameterised statements only; no rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from common.accounts import account_id, kind_of
from common.contracts.events import Event
from services.ledger.alerts import store as alerts_store
from services.ledger.alerts.domain import AccountAlerts
from services.ledger.lots import store as lots_store
from services.ledger.lots.domain import Holding
from services.ledger.postings.domain import Account, PlannedPosting
from services.ledger.top_ups import store as top_ups_store

ACCOUNT_COLUMNS = "id, tenant_id, code, kind, balance, held, low_balance_alerted"
_ACCOUNT_FIELDS = tuple(ACCOUNT_COLUMNS.split(", "))


def account_of(row: asyncpg.Record) -> Account:
    """An account as read with `ACCOUNT_COLUMNS`."""
    return Account(**{name: row[name] for name in _ACCOUNT_FIELDS})


# Any constant: with the two-key form it only has to differ from other two-key advisory locks.
_TENANT_POSTINGS_LOCK = 7_342_002


async def lock_tenant_postings(conn: asyncpg.Connection, tenant_id: uuid.UUID, *, exclusive: bool = False) -> None:
    """Every posting takes this tenant lock shared, before any account lock; a credit-mode switch takes
    it exclusive. Shared holders never wait for each other; the switch waits for postings in flight to
    commit and holds back new ones, so it sweeps everything they moved and they see the new mode."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(f"SELECT {function}($1, hashtext($2))", _TENANT_POSTINGS_LOCK, str(tenant_id))


async def open_accounts(conn: asyncpg.Connection, tenant_id: uuid.UUID, codes: Sequence[str]) -> None:
    """Create the accounts that do not exist yet, in id order so concurrent openers never deadlock.

    No conflict target: two transactions opening the same new account may meet on either unique index
    (the id, or the tenant and code), and both must mean "already there", not an error."""
    rows = sorted((account_id(tenant_id, code), code, kind_of(code)) for code in set(codes))
    await conn.execute(
        """INSERT INTO accounts (id, tenant_id, code, kind)
           SELECT id, $1, code, kind FROM unnest($2::uuid[], $3::text[], $4::text[]) AS t(id, code, kind)
           ON CONFLICT DO NOTHING""",
        tenant_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )


async def lock_for_posting(conn: asyncpg.Connection, tenant_id: uuid.UUID, codes: Sequence[str]) -> dict[str, Account]:
    """Everything `lock_tenant_postings`, `open_accounts` and `lock_accounts` do, in that order, in one
    round trip (the function `lock_posting_accounts`)."""
    locked = await lock_for_postings(conn, [(tenant_id, code) for code in codes], open_missing=True)
    return {code: account for (_, code), account in locked.items()}


async def lock_for_postings(
    conn: asyncpg.Connection, wanted: Iterable[tuple[uuid.UUID, str]], *, open_missing: bool
) -> dict[tuple[uuid.UUID, str], Account]:
    """The same for the accounts of several postings at once, of one or more tenants; without
    `open_missing`, an account that does not exist is left out of the answer."""
    rows = sorted((account_id(tenant, code), tenant, code, kind_of(code)) for tenant, code in set(wanted))
    locked = await conn.fetch(
        "SELECT * FROM lock_posting_accounts($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6)",
        sorted({r[1] for r in rows}), [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
        [r[3] for r in rows], open_missing,
    )
    return {(row["tenant_id"], row["code"]): account_of(row) for row in locked}


@dataclass(frozen=True)
class DirectoryUser:
    id: uuid.UUID
    team: str | None
    can_receive: bool  # active and allowed to send SMS


@dataclass(frozen=True)
class PostingFacts:
    """What a posting reads once its accounts are locked, in one round trip: a transaction already
    stored under its idempotency key, the directory facts the rules need, and, for a new transaction,
    its sequence number and the moment it happens (taken after the locks, so per account the times
    follow the order the balances changed in)."""

    existing: StoredTransaction | None
    credit_mode: str | None
    low_balance_threshold: int
    users: dict[uuid.UUID, DirectoryUser]
    seq: int | None
    now: datetime
    last_sequence: int = 0  # the tenant's event stream before this posting (its row is locked)
    alerts: dict[uuid.UUID, AccountAlerts] = field(default_factory=dict)  # accounts with alert levels
    watched: frozenset[uuid.UUID] = frozenset()  # accounts with auto top-up on, of those locked
    holdings: dict[uuid.UUID, list[Holding]] = field(default_factory=dict)  # the lots of those locked


async def posting_facts(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, idempotency_key: str, user_ids: Sequence[uuid.UUID],
    account_ids: Sequence[uuid.UUID] = (),
) -> PostingFacts:
    """`account_ids`: the user-facing accounts locked, whose alert levels are read with the rest."""
    row = await conn.fetchrow(
        """SELECT tx.id, tx.seq, tx.kind, tx.request_hash, tx.created_at,
                  tn.credit_mode, coalesce(tn.low_balance_threshold, 0) AS threshold,
                  ARRAY(SELECT u.id FROM users u WHERE u.tenant_id = $1 AND u.id = ANY($3::uuid[])
                        ORDER BY u.id) AS user_ids,
                  ARRAY(SELECT u.team FROM users u WHERE u.tenant_id = $1 AND u.id = ANY($3::uuid[])
                        ORDER BY u.id) AS user_teams,
                  ARRAY(SELECT u.active AND u.send_sms FROM users u WHERE u.tenant_id = $1
                        AND u.id = ANY($3::uuid[]) ORDER BY u.id) AS user_can_receive,
                  -- CASE evaluates only the branch it takes: a replay draws no sequence number.
                  CASE WHEN tx.id IS NULL THEN nextval(pg_get_serial_sequence('transactions', 'seq')) END
                      AS next_seq,
                  clock_timestamp() AS now,
                  (SELECT last_sequence FROM event_streams WHERE tenant_id = $1) AS last_sequence,
                  """ + alerts_store.facts_subquery("$4") + """ AS alerts,
                  """ + top_ups_store.watched_subquery("$4") + """ AS watched,
                  """ + lots_store.holdings_subquery("$4") + """ AS holdings
           FROM (SELECT 1) AS one
           LEFT JOIN transactions tx ON tx.tenant_id = $1 AND tx.idempotency_key = $2
           LEFT JOIN tenants tn ON tn.id = $1""",  # noqa: S608 (a constant subquery)
        tenant_id, idempotency_key, list(user_ids), list(account_ids),
    )
    assert row is not None
    existing = None
    if row["id"] is not None:
        existing = StoredTransaction(row["id"], row["seq"], row["kind"], row["request_hash"], row["created_at"])
    users = {
        user_id: DirectoryUser(user_id, team, can_receive)
        for user_id, team, can_receive in zip(row["user_ids"], row["user_teams"], row["user_can_receive"], strict=True)
    }
    return PostingFacts(existing, row["credit_mode"], int(row["threshold"]), users, row["next_seq"], row["now"],
                        row["last_sequence"] or 0, alerts_store.decode(row["alerts"]), frozenset(row["watched"]),
                        lots_store.decode_holdings(row["holdings"]))


@dataclass(frozen=True)
class NewTransaction:
    id: uuid.UUID
    seq: int
    tenant_id: uuid.UUID
    kind: str
    idempotency_key: str
    request_hash: str
    actor_user_id: uuid.UUID | None
    reference: str | None
    note: str | None
    terms_version: str | None
    hold_id: uuid.UUID | None
    created_at: datetime


@dataclass(frozen=True)
class PostingWrite:
    """One transaction ready to be stored: its row, its postings, its journal entry (JSON text) and its
    events (numbered in the tenant's stream: outbox and event log rows both)."""

    transaction: NewTransaction
    postings: Sequence[PlannedPosting]
    journal_payload: str
    events: Sequence[Event]
    # The alert levels of the accounts that have some, as they are to be stored (their flags), and each
    # account a purchase credited, with its quantity and moment (the last purchase a percent level follows).
    alerts: dict[uuid.UUID, AccountAlerts] = field(default_factory=dict)
    purchases: Sequence[tuple[uuid.UUID, int, datetime]] = ()
    # The AMQP headers (as JSON text) of those events that have some, by event id.
    headers: Mapping[uuid.UUID, str] = field(default_factory=dict)

    @property
    def last_sequence(self) -> int:
        return max(e.sequence_number or 0 for e in self.events)


async def write_postings(
    conn: asyncpg.Connection, writes: Sequence[PostingWrite], accounts: Sequence[Account],
    lots: Sequence[lots_store.LotWrite] = (), holdings: dict[tuple[uuid.UUID, uuid.UUID], Holding | None] | None = None,
) -> None:
    """The transactions, their postings, the accounts as they are now (alert flags; a purchase's quantity as
    the account's last), journal, outbox and lots (`lots_store.write_ctes`): one statement for one transaction
    or a group. Its parts cannot see each other's rows, and need not: references to the transaction are
    checked at the end of the statement, the balance check at commit."""
    txs = [w.transaction for w in writes]
    postings = [(w.transaction.id, p) for w in writes for p in w.postings]
    logged = [(w.transaction.tenant_id, e) for w in writes for e in w.events]
    envelopes = [e.model_dump_json(exclude_none=True) for _, e in logged]  # serialised once, for both tables
    streams = {w.transaction.tenant_id: w.last_sequence for w in writes}  # in order: the last one wins
    # Like the accounts, levels and purchases several transactions of a group touched are stored as the last left them.
    level_ids, level_flags = alerts_store.flag_rows({a: al for w in writes for a, al in w.alerts.items()}.values())
    bought = {account: (quantity, at) for w in writes for account, quantity, at in w.purchases}
    lot_ctes, lot_args = lots_store.write_ctes(lots, holdings or {}, first=37)
    await conn.execute(
        """WITH tx AS (
               INSERT INTO transactions (id, seq, tenant_id, kind, idempotency_key, request_hash,
                                         actor_user_id, reference, note, terms_version, hold_id, created_at)
               OVERRIDING SYSTEM VALUE
               SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                                    $7::uuid[], $8::text[], $9::text[], $10::text[], $11::uuid[], $12::timestamptz[])
           ), posted AS (
               INSERT INTO postings (transaction_id, account_id, amount, balance_after, held_after)
               SELECT * FROM unnest($13::uuid[], $14::uuid[], $15::bigint[], $16::bigint[], $17::bigint[])
           ), balances AS (
               UPDATE accounts AS a SET balance = t.balance, held = t.held, low_balance_alerted = t.alerted
               FROM unnest($18::uuid[], $19::bigint[], $20::bigint[], $21::boolean[]) AS t(id, balance, held, alerted)
               WHERE a.id = t.id
           ), journal AS (
               INSERT INTO journal (seq, tenant_id, payload)
               SELECT j.seq, j.tenant_id, j.payload::jsonb
               FROM unnest($2::bigint[], $3::uuid[], $22::text[]) AS j(seq, tenant_id, payload)
           ), streams AS (
               UPDATE event_streams AS s SET last_sequence = t.last
               FROM unnest($26::uuid[], $27::bigint[]) AS t(tenant_id, last) WHERE s.tenant_id = t.tenant_id
           ), logged AS (
               INSERT INTO event_log (tenant_id, sequence, event_id, type, envelope)
               SELECT l.tenant_id, l.sequence, l.id, l.type, l.envelope::jsonb
               FROM unnest($28::uuid[], $29::bigint[], $23::uuid[], $30::text[], $25::text[])
                   AS l(tenant_id, sequence, id, type, envelope)
           ), alert_flags AS (
               UPDATE alert_levels AS l SET below = f.below
               FROM unnest($31::uuid[], $32::boolean[]) AS f(id, below) WHERE l.id = f.id AND l.below <> f.below
           ), bought AS (
               INSERT INTO alert_purchases AS p (account_id, quantity, granted_at)
               SELECT * FROM unnest($33::uuid[], $34::bigint[], $35::timestamptz[])
               ON CONFLICT (account_id) DO UPDATE SET quantity = EXCLUDED.quantity, granted_at = EXCLUDED.granted_at
               WHERE p.granted_at <= EXCLUDED.granted_at
           ), """ + lot_ctes + """
           INSERT INTO outbox (event_id, routing_key, envelope, headers)
           SELECT e.id, e.key, e.envelope::jsonb, e.headers::jsonb
           FROM unnest($23::uuid[], $24::text[], $25::text[], $36::text[]) AS e(id, key, envelope, headers)""",  # noqa: S608
        [t.id for t in txs], [t.seq for t in txs], [t.tenant_id for t in txs], [t.kind for t in txs],
        [t.idempotency_key for t in txs], [t.request_hash for t in txs], [t.actor_user_id for t in txs],
        [t.reference for t in txs], [t.note for t in txs], [t.terms_version for t in txs],
        [t.hold_id for t in txs], [t.created_at for t in txs],
        [tx_id for tx_id, _ in postings], [p.account_id for _, p in postings], [p.amount for _, p in postings],
        [p.balance_after for _, p in postings], [p.held_after for _, p in postings],
        [a.id for a in accounts], [a.balance for a in accounts], [a.held for a in accounts],
        [a.low_balance_alerted for a in accounts],
        [w.journal_payload for w in writes],
        [e.id for _, e in logged], [e.routing_key for _, e in logged], envelopes,
        list(streams), list(streams.values()),
        [tenant for tenant, _ in logged], [e.sequence_number for _, e in logged], [e.type for _, e in logged],
        level_ids, level_flags, list(bought), [q for q, _ in bought.values()], [at for _, at in bought.values()],
        [w.headers.get(e.id) for w in writes for e in w.events],
        *lot_args,
    )


async def append_events(conn: asyncpg.Connection, tenant_id: uuid.UUID, events: Sequence[Event]) -> None:
    """Ledger events that come with no posting of their own (a refund refused, a hold lapsed), numbered
    next in the tenant's stream and written to the outbox and the event log. Inside the caller's
    transaction, after any account locks it takes (the stream row is locked last, as a posting does)."""
    if not events:
        return
    last = await conn.fetchval(
        """INSERT INTO event_streams AS s (tenant_id, last_sequence) VALUES ($1, $2)
           ON CONFLICT (tenant_id) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence
           RETURNING last_sequence""",
        tenant_id, len(events),
    )
    numbered = [e.with_sequence(last - len(events) + n) for n, e in enumerate(events, 1)]
    envelopes = [e.model_dump_json(exclude_none=True) for e in numbered]
    await conn.execute(
        """WITH logged AS (
               INSERT INTO event_log (tenant_id, sequence, event_id, type, envelope)
               SELECT $1, l.sequence, l.id, l.type, l.envelope::jsonb
               FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[]) AS l(sequence, id, type, envelope)
           )
           INSERT INTO outbox (event_id, routing_key, envelope)
           SELECT o.id, o.key, o.envelope::jsonb
           FROM unnest($3::uuid[], $6::text[], $5::text[]) AS o(id, key, envelope)""",
        tenant_id, [e.sequence_number for e in numbered], [e.id for e in numbered], [e.type for e in numbered],
        envelopes, [e.routing_key for e in numbered],
    )


# --- Group commit: the facts of many postings at once ------------------------------------------------


async def transactions_by_key(
    conn: asyncpg.Connection, keys: Sequence[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], StoredTransaction]:
    rows = await conn.fetch(
        """SELECT tx.tenant_id, tx.idempotency_key, tx.id, tx.seq, tx.kind, tx.request_hash, tx.created_at
           FROM unnest($1::uuid[], $2::text[]) AS k(tenant_id, idempotency_key)
           JOIN transactions tx ON tx.tenant_id = k.tenant_id AND tx.idempotency_key = k.idempotency_key""",
        [k[0] for k in keys], [k[1] for k in keys],
    )
    return {
        (r["tenant_id"], r["idempotency_key"]): StoredTransaction(r["id"], r["seq"], r["kind"], r["request_hash"],
                                                                  r["created_at"])
        for r in rows
    }


@dataclass(frozen=True)
class DirectoryFacts:
    tenants: dict[uuid.UUID, tuple[str, int]]  # tenant -> (credit mode, low-balance threshold)
    users: dict[uuid.UUID, tuple[uuid.UUID, DirectoryUser]]  # user -> (their tenant, facts)
    seqs: list[int]  # sequence numbers drawn for the transactions to come
    now: datetime
    last_sequences: dict[uuid.UUID, int]  # each tenant's event stream before the group (rows locked)
    alerts: dict[uuid.UUID, AccountAlerts] = field(default_factory=dict)  # accounts with alert levels
    watched: frozenset[uuid.UUID] = frozenset()  # accounts with auto top-up on
    holdings: dict[uuid.UUID, list[Holding]] = field(default_factory=dict)  # their lots


async def directory_facts(
    conn: asyncpg.Connection, tenant_ids: Sequence[uuid.UUID], user_ids: Sequence[uuid.UUID], transactions: int,
    account_ids: Sequence[uuid.UUID] = (),
) -> DirectoryFacts:
    row = await conn.fetchrow(
        """SELECT ARRAY(SELECT id FROM tenants WHERE id = ANY($1::uuid[]) ORDER BY id) AS tenant_ids,
                  ARRAY(SELECT credit_mode FROM tenants WHERE id = ANY($1::uuid[]) ORDER BY id) AS modes,
                  ARRAY(SELECT low_balance_threshold FROM tenants WHERE id = ANY($1::uuid[]) ORDER BY id)
                      AS thresholds,
                  ARRAY(SELECT id FROM users WHERE id = ANY($2::uuid[]) ORDER BY id) AS user_ids,
                  ARRAY(SELECT tenant_id FROM users WHERE id = ANY($2::uuid[]) ORDER BY id) AS user_tenants,
                  ARRAY(SELECT team FROM users WHERE id = ANY($2::uuid[]) ORDER BY id) AS teams,
                  ARRAY(SELECT active AND send_sms FROM users WHERE id = ANY($2::uuid[]) ORDER BY id) AS receive,
                  ARRAY(SELECT nextval(pg_get_serial_sequence('transactions', 'seq'))
                        FROM generate_series(1, $3)) AS seqs,
                  clock_timestamp() AS now,
                  ARRAY(SELECT tenant_id FROM event_streams WHERE tenant_id = ANY($1::uuid[]) ORDER BY tenant_id)
                      AS stream_tenants,
                  ARRAY(SELECT last_sequence FROM event_streams WHERE tenant_id = ANY($1::uuid[])
                        ORDER BY tenant_id) AS stream_positions,
                  """ + alerts_store.facts_subquery("$4") + """ AS alerts,
                  """ + top_ups_store.watched_subquery("$4") + """ AS watched,
                  """ + lots_store.holdings_subquery("$4") + """ AS holdings""",  # noqa: S608 (constant subqueries)
        list(tenant_ids), list(user_ids), transactions, list(account_ids),
    )
    assert row is not None
    tenants = {t: (m, int(h)) for t, m, h in zip(row["tenant_ids"], row["modes"], row["thresholds"], strict=True)}
    users = {
        u: (t, DirectoryUser(u, team, receive))
        for u, t, team, receive in zip(row["user_ids"], row["user_tenants"], row["teams"], row["receive"], strict=True)
    }
    streams = dict(zip(row["stream_tenants"], row["stream_positions"], strict=True))
    return DirectoryFacts(tenants, users, list(row["seqs"]), row["now"], streams, alerts_store.decode(row["alerts"]),
                          frozenset(row["watched"]), lots_store.decode_holdings(row["holdings"]))


async def lock_accounts(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, Account]:
    """Row-lock the accounts in id order: every writer takes locks in the same order, so two
    transfers A->B and B->A wait for each other instead of deadlocking."""
    ids = sorted({account_id(tenant_id, code) for code in codes})
    rows = await conn.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",  # noqa: S608
        ids,
    )
    return {row["code"]: account_of(row) for row in rows}


@dataclass(frozen=True)
class StoredTransaction:
    id: uuid.UUID
    seq: int
    kind: str
    request_hash: str
    created_at: datetime


async def find_transaction(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, idempotency_key: str
) -> StoredTransaction | None:
    row = await conn.fetchrow(
        """SELECT id, seq, kind, request_hash, created_at FROM transactions
           WHERE tenant_id = $1 AND idempotency_key = $2""",
        tenant_id,
        idempotency_key,
    )
    return StoredTransaction(**dict(row)) if row else None


async def transaction_postings(conn: asyncpg.Connection, transaction_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT p.account_id, a.code, p.amount, p.balance_after, p.held_after
           FROM postings p JOIN accounts a ON a.id = p.account_id
           WHERE p.transaction_id = $1 ORDER BY p.id""",
        transaction_id,
    )


# --- The journal, read -------------------------------------------------------------------------------


async def journal_page(conn: asyncpg.Connection, after_seq: int, limit: int) -> list[dict[str, object]]:
    rows = await conn.fetch("SELECT payload FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2", after_seq, limit)
    return [r["payload"] for r in rows]
