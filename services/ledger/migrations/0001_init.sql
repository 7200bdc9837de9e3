-- Accounts hold their running balance so a transfer reads one row, not a sum; the postings remain the
-- truth and `python -m services.ledger check` proves the two agree.
CREATE TABLE accounts (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    code       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('system', 'user', 'world', 'spent')),
    balance    bigint NOT NULL DEFAULT 0,
    held       bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code),
    -- The last line of defence: even a bug in the rules cannot overdraw a user-facing account.
    -- `world` is where purchased credits come from, so it is the one account allowed below zero.
    CONSTRAINT available_never_negative CHECK (kind IN ('world', 'spent') OR balance - held >= 0)
);

CREATE TABLE transactions (
    id              uuid PRIMARY KEY,
    -- The ledger's sequence number, answered to clients as their consistency token.
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id       uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN
                        ('purchase', 'transfer', 'hold', 'capture', 'void', 'expiry', 'mode_change', 'refund')),
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    actor_user_id   uuid,
    reference       text,
    note            text,
    terms_version   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, idempotency_key)
);

CREATE TABLE postings (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id uuid NOT NULL REFERENCES transactions (id),
    account_id     uuid NOT NULL REFERENCES accounts (id),
    amount         bigint NOT NULL CHECK (amount <> 0),
    balance_after  bigint NOT NULL,
    held_after     bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX postings_by_transaction ON postings (transaction_id);
-- Balance history (`as_of`) walks an account's postings by time.
CREATE INDEX postings_by_account_time ON postings (account_id, created_at, id);

-- Double entry enforced by the database, checked at commit: whatever the code did, a transaction
-- whose postings do not sum to zero cannot be committed.
CREATE FUNCTION assert_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    SELECT coalesce(sum(amount), 0) INTO total FROM postings WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'transaction % is unbalanced by %', NEW.transaction_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION assert_transaction_balanced();
