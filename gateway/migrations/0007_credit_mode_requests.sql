-- A master's request to switch their tenant between individual and shared (system-wide) credits, and an
-- operator's decision on it. The row is the request's audit trail: who asked, when and why; who decided,
-- when and with what note; and why the last approval could not be carried out (open holds), if it failed.
CREATE TABLE credit_mode_requests (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    mode            text NOT NULL CHECK (mode IN ('shared', 'individual')),
    -- The mode when asked: what the master saw, kept although the tenant's may change meanwhile.
    previous_mode   text NOT NULL CHECK (previous_mode IN ('shared', 'individual')),
    reason          text NOT NULL,
    requested_by    uuid NOT NULL REFERENCES users (id),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by      uuid REFERENCES users (id),
    decided_at      timestamptz,
    note            text,
    last_error      text,
    last_attempt_at timestamptz,
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- One pending request per tenant: a second is refused (409) until an operator decides the first.
CREATE UNIQUE INDEX credit_mode_requests_one_pending ON credit_mode_requests (tenant_id) WHERE status = 'pending';
-- A tenant's requests, newest first; and the operators' list of pending ones.
CREATE INDEX credit_mode_requests_by_tenant ON credit_mode_requests (tenant_id, requested_at DESC);
CREATE INDEX credit_mode_requests_by_status ON credit_mode_requests (status, requested_at DESC);

-- The email to each operator about a new request: one outbox row per operator, each needing a subject of
-- its own (the outbox keeps one email per kind and subject), which names the request and the operator.
CREATE TABLE credit_mode_request_notices (
    id          uuid PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES credit_mode_requests (id),
    operator_id uuid NOT NULL REFERENCES users (id),
    UNIQUE (request_id, operator_id)
);

ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_kind_check;
ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_kind_check
    CHECK (kind IN ('invitation', 'password_reset', 'credit_mode_requested', 'credit_mode_decided'));
