-- Spending limits: a monthly credit limit per person, enforced when a hold is placed for their message.

-- The month a limit counts is the calendar month in the tenant's zone (from `TenantChanged`); a tenant
-- heard of before this column existed counts in UTC until its next change arrives.
ALTER TABLE tenants ADD COLUMN timezone text;
-- Who is refused is named in the refusal ("Ben has 40 of their 500 credits left this month").
ALTER TABLE users ADD COLUMN name text;

-- One row per person with a limit; no row is no limit (setting null deletes it).
CREATE TABLE spending_limits (
    tenant_id            uuid NOT NULL,
    user_id              uuid NOT NULL,
    monthly_credit_limit bigint NOT NULL CHECK (monthly_credit_limit BETWEEN 1 AND 10000000),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- The month each hold for a person's message counts in, decided once, when it is placed (by the clock
-- the limit is checked on), whenever it is settled. What it counts is read from the hold itself: all of
-- it while open, what was captured once settled (a void or an expiry captured nothing). Written in the
-- hold's transaction just before the hold's row, hence no foreign key. Holds internal systems place for
-- themselves are no one's and are not here.
CREATE TABLE limit_holds (
    hold_id         uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    user_id         uuid NOT NULL,
    month_starts_at timestamptz NOT NULL
);
CREATE INDEX limit_holds_by_month ON limit_holds (tenant_id, user_id, month_starts_at);
