-- The accounts billing tops up automatically (billing.topup.watch_changed): a transaction touching one
-- is published with the header auto-top-up-watched, and billing's queue takes only those and purchases.
CREATE TABLE top_up_watches (
    account_id uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    watched    boolean NOT NULL,
    version    bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- Transactions written before the headers existed and not yet published would pass billing's filter
-- by none of its headers: billing must see them all, as it did when they were written.
UPDATE outbox
SET headers = jsonb_build_object('ledger-kind', envelope -> 'data' ->> 'kind', 'auto-top-up-watched', 'yes')
WHERE published_at IS NULL AND routing_key = 'ledger.transaction.posted';
