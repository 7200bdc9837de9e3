-- The ledger's own copy of the directory facts its rules need (credit mode, who may receive, teams),
-- kept from the gateway's events. `version` orders the changes: an older event never overwrites a
-- newer one, whatever order RabbitMQ delivers them in.
CREATE TABLE tenants (
    id                    uuid PRIMARY KEY,
    credit_mode           text NOT NULL CHECK (credit_mode IN ('shared', 'individual')),
    low_balance_threshold bigint NOT NULL DEFAULT 0 CHECK (low_balance_threshold >= 0),
    version               bigint NOT NULL
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL,
    role           text NOT NULL,
    team           text,
    active         boolean NOT NULL,
    send_sms       boolean NOT NULL,
    manage_credits boolean NOT NULL,
    version        bigint NOT NULL
);
CREATE INDEX users_by_tenant ON users (tenant_id);

-- Two-phase spending: a hold reserves credits (accounts.held) without moving them; capture moves what
-- was used to `spent` and releases the rest; void or expiry releases it all.
CREATE TABLE holds (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    quantity        bigint NOT NULL CHECK (quantity > 0),
    captured        bigint NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= quantity),
    status          text NOT NULL CHECK (status IN ('open', 'captured', 'voided', 'expired')),
    reference       text,
    expires_at      timestamptz NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
-- The sweeper looks only for open holds past their expiry.
CREATE INDEX holds_open_by_expiry ON holds (expires_at) WHERE status = 'open';
CREATE INDEX holds_open_by_tenant ON holds (tenant_id) WHERE status = 'open';

-- A hold, void or expiry changes no balance, so it has no posting; the transaction row still records it
-- (and its event puts it in the log).
ALTER TABLE transactions ADD COLUMN hold_id uuid REFERENCES holds (id);

-- Low-balance alerts fire once per crossing: set when the alert is sent, cleared when the available
-- balance is back at or above the threshold.
ALTER TABLE accounts ADD COLUMN low_balance_alerted boolean NOT NULL DEFAULT false;

-- Times are taken when the row is written (after the account locks were granted), not when the
-- database transaction began: per account they then follow the order the balances changed in, which
-- balance history (`as_of`) and the log rely on.
ALTER TABLE transactions ALTER COLUMN created_at SET DEFAULT clock_timestamp();
ALTER TABLE postings ALTER COLUMN created_at SET DEFAULT clock_timestamp();
