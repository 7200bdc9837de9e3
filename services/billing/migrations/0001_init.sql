-- Price lists: one row per tenant that has its own, and the default (tenant_id NULL) for all others.
CREATE TABLE price_lists (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid UNIQUE NULLS NOT DISTINCT,  -- at most one default row
    currency     text NOT NULL,
    tax_name     text NOT NULL,
    tax_rate     numeric(6, 4) NOT NULL CHECK (tax_rate >= 0),
    min_quantity integer NOT NULL CHECK (min_quantity > 0),
    max_quantity integer NOT NULL,
    CHECK (max_quantity >= min_quantity)
);

-- Volume tiers: the whole quantity is priced at the tier whose min_quantity it reaches.
CREATE TABLE price_tiers (
    price_list_id bigint NOT NULL REFERENCES price_lists (id) ON DELETE CASCADE,
    min_quantity  integer NOT NULL CHECK (min_quantity > 0),
    unit_price    numeric(12, 4) NOT NULL CHECK (unit_price >= 0),  -- ex tax, per credit
    PRIMARY KEY (price_list_id, min_quantity)
);

-- A purchase keeps the prices it was quoted: amounts are copied here in whole cents, not looked up.
CREATE TABLE purchases (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL,
    idempotency_key     text NOT NULL,
    request_fingerprint text NOT NULL,
    buyer_user_id       uuid NOT NULL,
    account_id          uuid NOT NULL,
    account_code        text NOT NULL,
    quantity            integer NOT NULL CHECK (quantity > 0),
    unit_price          numeric(12, 4) NOT NULL,
    subtotal_cents      bigint NOT NULL CHECK (subtotal_cents >= 0),
    tax_name            text NOT NULL,
    tax_rate            numeric(6, 4) NOT NULL,
    tax_cents           bigint NOT NULL CHECK (tax_cents >= 0),
    total_cents         bigint NOT NULL,
    currency            text NOT NULL,
    billing_name        text NOT NULL,
    billing_email       text NOT NULL,
    billing_company     text,
    billing_tax_id      text,
    billing_address     text,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'paid', 'credited', 'failed')),
    checkout_session_id text UNIQUE,
    checkout_url        text,
    card_brand          text,
    card_last4          text,
    failure_reason      text,
    invoice_number      text,
    seller_name         text,
    seller_abn          text,
    seller_address      text,
    consistency_token   bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    paid_at             timestamptz,
    failed_at           timestamptz,
    credited_at         timestamptz,
    CHECK (total_cents = subtotal_cents + tax_cents),
    CHECK (status NOT IN ('paid', 'credited') OR (invoice_number IS NOT NULL AND paid_at IS NOT NULL)),
    -- The idempotency key is the buyer's; two concurrent requests with it meet here.
    UNIQUE (tenant_id, idempotency_key),
    UNIQUE (tenant_id, invoice_number)
);

-- Each tenant's invoices are numbered without gaps: the counter row is updated inside the paying
-- transaction, so a rolled-back payment gives its number back and concurrent ones queue on the row.
CREATE TABLE invoice_counters (
    tenant_id   uuid PRIMARY KEY,
    last_number bigint NOT NULL CHECK (last_number > 0)
);

-- The test payment provider's tables stood here once; they are the fake's own now, created by
-- fakes/payments/migrations only where that provider runs (a database made before keeps them).
