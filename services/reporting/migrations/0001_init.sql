-- One row per posting on a user-facing account (System Credits or a user's credits): the 30-day log,
-- and later its CSV and printable report, read only this table. Internal accounts (`world`, `spent`)
-- are never written here; they are where credits come from and go to, not anyone's log.
CREATE TABLE log_entries (
    -- uuid5 of (transaction_id, account_id): the same posting always gets the same id, whichever
    -- event or redelivery brought it.
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    account_id        uuid NOT NULL,
    account_code      text NOT NULL,
    ledger_seq        bigint NOT NULL,
    transaction_id    uuid NOT NULL,
    occurred_at       timestamptz NOT NULL,
    direction         text NOT NULL CHECK (direction IN ('in', 'out')),
    quantity          bigint NOT NULL CHECK (quantity >= 0),
    kind              text NOT NULL,
    balance_after     bigint NOT NULL,
    -- The other side's account code when the transaction has exactly two postings, else NULL; the
    -- gateway turns codes into people's names.
    counterparty_code text,
    actor_user_id     uuid,
    reference         text,
    note              text,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    -- The rule itself, stated apart from how ids are derived: a posting is in the log once, even if the
    -- ledger announced its transaction in two different events (the inbox only catches equal ids).
    CONSTRAINT one_entry_per_posting UNIQUE (transaction_id, account_id)
);

-- Every log read is "these accounts of this tenant, newest first, before this cursor": the query walks
-- this index once per account, in order, and stops after one page.
CREATE INDEX log_entries_by_account_time
    ON log_entries (tenant_id, account_id, occurred_at DESC, id DESC);

-- Every ledger transaction applied here, including those with no user-facing posting, so a request
-- carrying a consistency token (a ledger seq) can tell whether its own write has arrived. Seqs are not
-- gap-free (a rolled-back ledger transaction burns one), so "caught up" means "this seq is here",
-- never "every seq up to it is here".
CREATE TABLE applied_transactions (
    seq            bigint PRIMARY KEY,
    transaction_id uuid NOT NULL,
    tenant_id      uuid NOT NULL,
    applied_at     timestamptz NOT NULL DEFAULT now()
);
