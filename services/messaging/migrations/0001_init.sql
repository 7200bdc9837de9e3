-- A message: one body to one or more recipients, paid for by one ledger hold placed by the gateway
-- before the message was handed over. `hold_expires_at` is the ledger's expiry of that hold: nothing is
-- submitted after it (less a margin), because the ledger may have released the credits by then.
CREATE TABLE messages (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    sender_user_id   uuid NOT NULL,
    account_code     text NOT NULL,
    hold_id          uuid NOT NULL UNIQUE,
    hold_expires_at  timestamptz NOT NULL,
    body             text NOT NULL,
    encoding         text NOT NULL CHECK (encoding IN ('gsm7', 'ucs2')),
    segments         int NOT NULL CHECK (segments > 0),
    credits          int NOT NULL CHECK (credits > 0),
    request_hash     text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Set, with the settlement event in the outbox, by the transaction that records the last answer.
    settled_at       timestamptz,
    captured_credits int
);

-- One part per recipient. Its segments are submitted in order; `next_segment` is the one to submit
-- next (1-based) and `carrier_ids` the carrier's ids of those it accepted. `submitting` means a
-- segment may be with the carrier without our knowing its answer (a crash between submit_sm and
-- recording submit_sm_resp): it is submitted again with the same reference, which the carrier (and
-- the simulator) recognises and answers without sending twice.
CREATE TABLE parts (
    id            uuid PRIMARY KEY,
    message_id    uuid NOT NULL REFERENCES messages (id),
    position      int NOT NULL,
    recipient     text NOT NULL,
    state         text NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'submitting', 'accepted', 'rejected', 'expired')),
    next_segment  int NOT NULL DEFAULT 1,
    carrier_ids   text[] NOT NULL DEFAULT '{}',
    attempts      int NOT NULL DEFAULT 0,
    error_code    int,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, position)
);
-- The expiry sweeper looks only at parts still waiting for an answer.
CREATE INDEX parts_unanswered ON parts (message_id) WHERE state IN ('queued', 'submitting');

-- Delivery receipts (deliver_sm) by the carrier's id of the segment. Kept apart from the parts so a
-- receipt that overtakes our own record of the carrier's id (it can: the carrier may deliver before
-- we commit) is never lost; a part's delivery is read by joining the two.
CREATE TABLE receipts (
    carrier_id  text PRIMARY KEY,
    stat        text NOT NULL,
    error       text,
    received_at timestamptz NOT NULL DEFAULT now()
);
