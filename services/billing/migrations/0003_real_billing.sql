-- Purchases for others: the invoice names who bought and whose credits they are, as they were called
-- the day it was paid. `origin` tells a buyer's checkout from an automatic top-up.
ALTER TABLE purchases
    ADD COLUMN buyer_name   text,
    ADD COLUMN account_name text,
    ADD COLUMN origin       text NOT NULL DEFAULT 'checkout' CHECK (origin IN ('checkout', 'auto_top_up'));

-- Names of the tenant's people, from the gateway's directory events (newest version wins).
CREATE TABLE directory_users (
    user_id   uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    name      text NOT NULL,
    version   bigint NOT NULL
);

-- The billing details a person used last, offered on their next purchase.
CREATE TABLE saved_billing_details (
    tenant_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    name       text NOT NULL,
    email      text NOT NULL,
    company    text,
    tax_id     text,
    address    text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- A person's saved card, as the provider's reusable reference (a test token, a Stripe PaymentMethod
-- id) with its brand and last four: never the number.
CREATE TABLE saved_cards (
    tenant_id    uuid NOT NULL,
    user_id      uuid NOT NULL,
    provider     text NOT NULL,
    token        text NOT NULL,
    customer_ref text,
    brand        text NOT NULL,
    last4        text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    saved_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, provider)
);

-- Refunds: requested -> debited (the ledger took the credits) -> refunded (the provider gave the
-- money back) | failed (it refused; the ledger restores the credits); or requested -> rejected (the
-- credits were no longer there). Amounts are fixed when requested, in cents, from the purchase's quote.
CREATE TABLE refunds (
    id                     uuid PRIMARY KEY,
    tenant_id              uuid NOT NULL,
    purchase_id            uuid NOT NULL REFERENCES purchases (id),
    idempotency_key        text NOT NULL,
    request_fingerprint    text NOT NULL,
    requested_by           uuid NOT NULL,
    quantity               integer NOT NULL CHECK (quantity > 0),
    subtotal_cents         bigint NOT NULL CHECK (subtotal_cents >= 0),
    tax_cents              bigint NOT NULL CHECK (tax_cents >= 0),
    total_cents            bigint NOT NULL,
    status                 text NOT NULL DEFAULT 'requested'
                           CHECK (status IN ('requested', 'debited', 'refunded', 'rejected', 'failed')),
    failure_reason         text,
    provider_refund_id     text,
    ledger_seq             bigint,
    adjustment_note_number text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    debited_at             timestamptz,
    settled_at             timestamptz,
    credits_restored_at    timestamptz,
    CHECK (total_cents = subtotal_cents + tax_cents),
    CHECK (status <> 'refunded' OR (adjustment_note_number IS NOT NULL AND settled_at IS NOT NULL)),
    UNIQUE (tenant_id, idempotency_key),
    UNIQUE (tenant_id, adjustment_note_number)
);
CREATE INDEX refunds_by_purchase ON refunds (purchase_id);
CREATE INDEX refunds_unsettled ON refunds (debited_at) WHERE status = 'debited';

-- Adjustment notes have their own gapless series per tenant, allocated like invoice numbers.
CREATE TABLE adjustment_note_counters (
    tenant_id   uuid PRIMARY KEY,
    last_number bigint NOT NULL CHECK (last_number > 0)
);

-- Auto top-up, per account: when available credits fall below `threshold`, buy `quantity` with the
-- payer's saved card, at most `daily_cap` credits a day. `topped_up_through_seq` is the ledger
-- sequence of the last top-up's credit: older ledger events describe balances before it and are
-- ignored, so a late event can never set off a second charge.
CREATE TABLE auto_top_ups (
    account_id            uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL,
    account_code          text NOT NULL,
    payer_user_id         uuid NOT NULL,
    threshold             integer NOT NULL CHECK (threshold > 0),
    quantity              integer NOT NULL CHECK (quantity > 0),
    daily_cap             integer NOT NULL CHECK (daily_cap >= quantity),
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'off')),
    suspended_reason      text,
    topped_up_through_seq bigint NOT NULL DEFAULT 0,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE top_ups (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES auto_top_ups (account_id),
    tenant_id    uuid NOT NULL,
    purchase_id  uuid NOT NULL UNIQUE REFERENCES purchases (id),
    quantity     integer NOT NULL CHECK (quantity > 0),
    status       text NOT NULL DEFAULT 'charging' CHECK (status IN ('charging', 'succeeded', 'failed')),
    trigger_seq  bigint NOT NULL,
    local_day    date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    settled_at   timestamptz
);
-- At most one top-up in flight per account, whatever the timing: the database refuses a second.
CREATE UNIQUE INDEX top_ups_one_in_flight ON top_ups (account_id) WHERE status = 'charging';
CREATE INDEX top_ups_by_day ON top_ups (account_id, local_day);

-- Emails owed, written in the transaction that makes them due (the payment, the refund), sent after
-- commit by the sender, which marks only what the SMTP server accepted.
CREATE TABLE email_outbox (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('tax_invoice', 'adjustment_note', 'top_up_failed')),
    subject_id      uuid NOT NULL,  -- the purchase or refund it is about
    recipient       text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz,
    abandoned_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, subject_id)
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE sent_at IS NULL AND abandoned_at IS NULL;

-- Stripe: the capability token of each hosted payment page, and each person's Stripe Customer.
CREATE TABLE stripe_checkouts (
    token             text PRIMARY KEY,
    purchase_id       uuid NOT NULL UNIQUE REFERENCES purchases (id),
    tenant_id         uuid NOT NULL,
    payment_intent_id text NOT NULL UNIQUE,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE stripe_customers (
    tenant_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    customer_id text NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
