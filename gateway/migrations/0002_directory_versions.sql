-- Every directory change bumps a version, carried in the event that announces it, so services that
-- keep a copy apply changes in order whatever order the broker delivers them in.
ALTER TABLE tenants ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN low_balance_threshold bigint NOT NULL DEFAULT 100
    CHECK (low_balance_threshold >= 0);
ALTER TABLE users ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- Internal systems (the SMS sender, a CRM) that place and settle holds. Only a hash of the secret is
-- kept, like a password.
CREATE TABLE service_clients (
    id          text PRIMARY KEY,
    secret_hash text NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
