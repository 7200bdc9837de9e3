-- An endpoint: an outside system's URL subscribed to some of a tenant's public event types. The signing
-- secret is kept (it is needed to sign every delivery) and shown to the master only when made; after a
-- rotation the previous one stays valid until `previous_secret_expires_at`, and deliveries carry both
-- signatures until then. `creator_email` is who is told when the endpoint is disabled.
CREATE TABLE endpoints (
    id                         uuid PRIMARY KEY,
    tenant_id                  uuid NOT NULL,
    url                        text NOT NULL,
    description                text,
    event_types                text[] NOT NULL,
    enabled                    boolean NOT NULL DEFAULT true,
    disabled_reason            text,
    secret                     text NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    created_by                 uuid,
    creator_email              text NOT NULL,
    -- The gateway's derived Idempotency-Key of the creation, and of the last rotation: a retry answers
    -- what the first request did instead of making a second endpoint or rotating twice.
    idempotency_key            text,
    rotation_key               text,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX endpoints_of_tenant ON endpoints (tenant_id, created_at);

-- The events received, each as the exact envelope bytes every delivery of it sends (and signs).
CREATE TABLE events (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    type        text NOT NULL,
    body        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- One event to one endpoint. `position` orders an endpoint's deliveries: only the earliest pending one
-- of an endpoint is ever attempted, so a receiver sees its events in the order they were received, a
-- failure holding back the ones behind it. A replay moves a delivery to the back (a new position).
-- A position is drawn when the row is inserted, not when it commits: so whoever draws one holds its
-- endpoint's row lock (`FOR UPDATE`, taken before inserting), and the positions of one endpoint commit in
-- the order they were drawn; otherwise a later one could commit, and be sent, before an earlier one.
-- `made` is the order deliveries were made in, which never changes: a replay of several sends them again
-- in that order. `leased_until` marks one being attempted: no other worker takes it (or anything behind it) meanwhile,
-- and if its worker dies the lease runs out and it is attempted again.
CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    endpoint_id      uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_id         uuid NOT NULL REFERENCES events (id),
    position         bigserial NOT NULL,
    made             bigserial NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         int NOT NULL DEFAULT 0,
    round_attempts   int NOT NULL DEFAULT 0,  -- since it was made or last replayed: the back-off's step
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    leased_until     timestamptz,
    last_status_code int,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX deliveries_pending ON deliveries (endpoint_id, position) WHERE status = 'pending';
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_log ON deliveries (endpoint_id, created_at DESC, id DESC);

-- Every attempt, as it went: the receiver's status, or what stopped us (refused target, timeout, ...).
CREATE TABLE attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  int,
    error        text,
    duration_ms  int NOT NULL
);
CREATE INDEX attempts_of_delivery ON attempts (delivery_id, id);

-- Each time an endpoint was disabled, and the delivery whose failure did it. The same delivery can
-- disable it again (replayed after the endpoint was enabled, and failing again): each disabling is a row
-- of its own, and its creator is told of each (the email's subject is the disabling, not the delivery).
CREATE TABLE disablings (
    id          uuid PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    disabled_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX disablings_of_delivery ON disablings (delivery_id);

-- Email (common/mail.py): the master who made an endpoint, told when it was disabled.
CREATE TABLE email_outbox (
    id              uuid PRIMARY KEY,
    tenant_id       uuid,
    kind            text NOT NULL CHECK (kind IN ('endpoint_disabled')),
    subject_id      uuid NOT NULL,  -- the disabling (disablings.id) it tells of
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
