-- The test payment provider's own records, as a processor would keep them on its side. They lived in
-- billing's migrations once, so a database made before already has them, rows and all: every
-- statement here leaves what exists as it is (IF NOT EXISTS) and adds only what is missing.
CREATE TABLE IF NOT EXISTS test_provider_sessions (
    id           text PRIMARY KEY,  -- unguessable: it is the capability to see and pay the session
    purchase_id  uuid NOT NULL UNIQUE,
    tenant_id    uuid NOT NULL,
    quantity     integer NOT NULL,
    total_cents  bigint NOT NULL,
    currency     text NOT NULL,
    description  text NOT NULL,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'succeeded', 'declined')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);

-- Only the brand and last four digits: never the number or the security code.
CREATE TABLE IF NOT EXISTS test_provider_charges (
    id           text PRIMARY KEY,
    session_id   text NOT NULL UNIQUE REFERENCES test_provider_sessions (id),
    outcome      text NOT NULL CHECK (outcome IN ('succeeded', 'declined')),
    card_brand   text NOT NULL,
    card_last4   text NOT NULL,
    failure_code text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- What the charged card does later: its refunds fail, and the token it was kept as.
ALTER TABLE test_provider_charges
    ADD COLUMN IF NOT EXISTS refund_fails boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS token text;

-- Webhooks the provider owes billing, written with the charge and re-sent until acknowledged.
CREATE TABLE IF NOT EXISTS test_provider_webhooks (
    event_id        text PRIMARY KEY,
    session_id      text NOT NULL REFERENCES test_provider_sessions (id),
    body            text NOT NULL,  -- the exact bytes signed and sent, identical on every attempt
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS test_provider_webhooks_undelivered
    ON test_provider_webhooks (next_attempt_at) WHERE delivered_at IS NULL;

-- The vault: a card that paid, kept as a reusable token.
CREATE TABLE IF NOT EXISTS test_provider_tokens (
    token        text PRIMARY KEY,
    card_brand   text NOT NULL,
    card_last4   text NOT NULL,
    decline_code text,          -- the outcome the card's test number stands for, never the number
    refund_fails boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Refunds, once per idempotency key.
CREATE TABLE IF NOT EXISTS test_provider_refunds (
    idempotency_key text PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    session_id      text NOT NULL REFERENCES test_provider_sessions (id),
    amount_cents    bigint NOT NULL CHECK (amount_cents > 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);
