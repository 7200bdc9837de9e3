-- Credits by lot (services/ledger/lots/domain.py): every credit in a user-facing account belongs to the
-- purchase, promotional grant or compensation it came from, with that lot's expiry and whether it was paid.

-- The ledger's own accounts gain two: `expired`, where lapsed credits go, and `promotions`, where an
-- operator's promotional grants come from (like `world` for purchases, it runs below zero).
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('system', 'user', 'world', 'spent', 'expired', 'promotions'));
ALTER TABLE accounts DROP CONSTRAINT available_never_negative;
ALTER TABLE accounts ADD CONSTRAINT available_never_negative
    CHECK (kind IN ('world', 'spent', 'expired', 'promotions') OR balance - held >= 0);

-- `grant`: promotional credits given by an operator; `lot_expiry`: one lot's credits in one account lapsed.
-- (`expiry` keeps its published meaning: a hold lapsed.)
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_kind_check CHECK (kind IN
    ('purchase', 'transfer', 'hold', 'capture', 'void', 'expiry', 'mode_change', 'refund', 'grant', 'lot_expiry'));

CREATE TABLE lots (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    origin      text NOT NULL CHECK (origin IN ('purchase', 'grant', 'compensation', 'opening')),
    paid        boolean NOT NULL,
    reference   text,
    granted_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    quantity    bigint NOT NULL CHECK (quantity > 0),
    -- Promotional credits are never paid for: nothing may refund or invoice them.
    CHECK (origin <> 'grant' OR NOT paid)
);
CREATE INDEX lots_by_reference ON lots (tenant_id, reference);
CREATE INDEX lots_by_expiry ON lots (expires_at) WHERE expires_at IS NOT NULL;

-- What each account holds of each lot now. The account's row lock guards its holdings: every writer locks
-- the accounts first (lock_posting_accounts), so no holding needs a lock of its own. A holding at zero is
-- deleted, so an account's read stays as small as its live lots.
CREATE TABLE lot_holdings (
    account_id uuid   NOT NULL REFERENCES accounts (id),
    lot_id     uuid   NOT NULL REFERENCES lots (id),
    remaining  bigint NOT NULL CHECK (remaining >= 0),
    reserved   bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= remaining),
    PRIMARY KEY (account_id, lot_id)
);
CREATE INDEX lot_holdings_by_lot ON lot_holdings (lot_id);

-- Every transaction's effect on lots, line by line: what a hold reserved (its capture spends exactly
-- that), what a purchase's credits became (a refund takes back only those), the audit of each credit.
CREATE TABLE lot_movements (
    transaction_id uuid   NOT NULL REFERENCES transactions (id),
    account_id     uuid   NOT NULL REFERENCES accounts (id),
    lot_id         uuid   NOT NULL REFERENCES lots (id),
    amount         bigint NOT NULL,
    reserved       bigint NOT NULL,
    CHECK (amount <> 0 OR reserved <> 0)
);
CREATE INDEX lot_movements_by_transaction ON lot_movements (transaction_id);

-- Credits held before lots existed: one lot per account, paid (they were bought) and never expiring,
-- granted when the account was opened. Reserved as the account's open holds reserve.
INSERT INTO lots (id, tenant_id, origin, paid, reference, granted_at, expires_at, quantity)
SELECT md5('opening:' || a.id::text)::uuid, a.tenant_id, 'opening', true, NULL, a.created_at, NULL, a.balance
FROM accounts a WHERE a.kind IN ('system', 'user') AND a.balance > 0;

INSERT INTO lot_holdings (account_id, lot_id, remaining, reserved)
SELECT a.id, md5('opening:' || a.id::text)::uuid, a.balance, a.held
FROM accounts a WHERE a.kind IN ('system', 'user') AND a.balance > 0;

-- An open hold's capture spends what its hold transaction reserved: the holds open now reserved the
-- opening lot.
INSERT INTO lot_movements (transaction_id, account_id, lot_id, amount, reserved)
SELECT t.id, h.account_id, md5('opening:' || h.account_id::text)::uuid, 0, h.quantity
FROM holds h JOIN transactions t ON t.hold_id = h.id AND t.kind = 'hold'
WHERE h.status = 'open';
