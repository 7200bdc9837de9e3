-- The directory: who exists, in which tenant, and what they may do. The gateway owns it.
CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    legal_name  text,
    abn         text,
    credit_mode text NOT NULL CHECK (credit_mode IN ('shared', 'individual')),
    timezone    text NOT NULL DEFAULT 'Australia/Sydney',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    -- Operators run the platform and belong to no tenant.
    tenant_id      uuid REFERENCES tenants (id),
    email          text NOT NULL,
    name           text NOT NULL,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('master', 'user', 'operator')),
    team           text,
    active         boolean NOT NULL DEFAULT true,
    send_sms       boolean NOT NULL DEFAULT true,
    manage_credits boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'operator') = (tenant_id IS NULL))
);
-- Sign-in looks people up by email whatever its case.
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_by_tenant ON users (tenant_id);
