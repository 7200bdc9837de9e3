-- A hold, void or expiry reserves or releases credits without moving the balance. Such rows are in the
-- log so a user sees where their available credits went, but totals count only rows that move the
-- balance: this flag is what they filter on.
ALTER TABLE log_entries ADD COLUMN reservation boolean NOT NULL DEFAULT false;

-- "Every account of the tenant" (masters) and "every user account" (manage_credits users) read the
-- tenant's rows newest first in one index walk and stop after a page, however many accounts it has;
-- the per-account index would need one walk per account.
CREATE INDEX log_entries_by_tenant_time ON log_entries (tenant_id, occurred_at DESC, id DESC);

-- The retention purge deletes the oldest rows of every tenant in small batches; without this index
-- each batch would scan the whole table to find them.
CREATE INDEX log_entries_by_time ON log_entries (occurred_at);

-- Every account that has ever had a row, so a report lists each account in scope (with its opening
-- balance) even when it did not move in the period, and reconciliation knows what to compare. Tiny:
-- one row per account, not per entry.
CREATE TABLE log_accounts (
    account_id   uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    account_code text NOT NULL
);
CREATE INDEX log_accounts_by_tenant ON log_accounts (tenant_id, account_code);
INSERT INTO log_accounts (account_id, tenant_id, account_code)
SELECT DISTINCT ON (account_id) account_id, tenant_id, account_code FROM log_entries
ON CONFLICT DO NOTHING;

-- Purged with the log, oldest first.
CREATE INDEX applied_transactions_by_time ON applied_transactions (applied_at);

-- The directory facts reporting shows: names and time zones, copied from the gateway's events. Each
-- keeps the version it was copied at, so a late, older event never overwrites a newer fact.
CREATE TABLE directory_tenants (
    id       uuid PRIMARY KEY,
    name     text NOT NULL,
    timezone text NOT NULL,
    version  bigint NOT NULL
);

CREATE TABLE directory_users (
    id        uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    name      text NOT NULL,
    version   bigint NOT NULL
);
CREATE INDEX directory_users_by_tenant ON directory_users (tenant_id);
