-- The ledger's journal: every posted transaction exactly as it was announced, in sequence order. The
-- outbox forgets published events after a week; this is what a read model is rebuilt from.
CREATE TABLE journal (
    seq       bigint PRIMARY KEY,
    tenant_id uuid NOT NULL,
    payload   jsonb NOT NULL
);
