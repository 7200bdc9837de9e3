-- Onboarding: people are created by an operator (a tenant's first master), by a master, or by the CRM's
-- directory sync, and set their own password from an emailed link. Until they do, they have none, and
-- no password can match (sign-in compares against a dummy hash).
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

-- The CRM's own id for a person, so that its sync names people by its ids, not ours. Unique within the
-- tenant: two CRMs (two tenants) may use the same ids.
ALTER TABLE users ADD COLUMN external_id text;
CREATE UNIQUE INDEX users_by_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;

-- An internal system bound to a tenant writes that tenant's people only (the directory sync); one with no
-- tenant (the SMS sender) may not sync anyone.
ALTER TABLE service_clients ADD COLUMN tenant_id uuid REFERENCES tenants (id);

-- The links that let a person set a password: an invitation (7 days) or a reset (1 hour). Only a hash of
-- the token is kept, so the table alone opens no account; a token is used once.
CREATE TABLE password_tokens (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    purpose    text NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_tokens_unused ON password_tokens (user_id) WHERE used_at IS NULL;

-- An operator's tenant creation, by its Idempotency-Key: the same key and body again answer the same
-- tenant and master; the same key with another body is refused.
CREATE TABLE tenant_creations (
    operator_id     uuid NOT NULL,
    idempotency_key text NOT NULL,
    fingerprint     text NOT NULL,
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    master_id       uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator_id, idempotency_key)
);

-- Emails owed (common.mail): written in the transaction that makes them due, sent after commit by the
-- sender, which marks only what the SMTP server accepted. The subject is the password token the email
-- carries a link for; the link itself is made again when the email is sent, never stored.
CREATE TABLE email_outbox (
    id              uuid PRIMARY KEY,
    tenant_id       uuid,  -- operators belong to no tenant
    kind            text NOT NULL CHECK (kind IN ('invitation', 'password_reset')),
    subject_id      uuid NOT NULL,
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
