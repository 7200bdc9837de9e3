-- Balance alerts per account (services/ledger/alerts/): up to five levels, each a number of credits or a
-- percentage of the account's last purchase, evaluated by every posting that changes the account.

-- `below`: the available balance is under this level (a `ledger.balance.low` was published, or the level was
-- set while already under it). Like `accounts.low_balance_alerted`, it is guarded by the account's row lock:
-- a posting reads it after locking the account and writes it with the balance; setting the levels locks the
-- account too. `position` keeps the order in which they were set.
CREATE TABLE alert_levels (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    account_id uuid NOT NULL REFERENCES accounts (id),
    position   smallint NOT NULL CHECK (position BETWEEN 0 AND 4),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    kind       text NOT NULL CHECK (kind IN ('absolute', 'percent')),
    value      bigint NOT NULL CHECK (value >= 1 AND (kind = 'absolute' OR value <= 100)),
    below      boolean NOT NULL DEFAULT false,
    UNIQUE (account_id, position)
);

-- The quantity of the latest purchase credited to each account: what a percent level is a percentage of.
-- Written by the purchase's posting, in the statement that writes its balances, so that a posting reads it
-- by key with the levels instead of searching the account's lot movements.
CREATE TABLE alert_purchases (
    account_id uuid PRIMARY KEY REFERENCES accounts (id),
    quantity   bigint NOT NULL CHECK (quantity > 0),
    granted_at timestamptz NOT NULL
);

-- The purchases credited before this migration: each account's latest purchase lot, as its purchase credited it.
INSERT INTO alert_purchases (account_id, quantity, granted_at)
SELECT DISTINCT ON (m.account_id) m.account_id, l.quantity, l.granted_at
FROM lot_movements m
JOIN lots l ON l.id = m.lot_id
JOIN transactions t ON t.id = m.transaction_id
WHERE l.origin = 'purchase' AND t.kind = 'purchase' AND m.amount > 0
ORDER BY m.account_id, l.granted_at DESC, l.id DESC;
