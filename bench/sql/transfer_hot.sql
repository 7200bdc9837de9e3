-- pgbench: the minimal transfer (transfer_minimal.sql) on a hot account, as bench/workloads.HotAccount
-- sends them through the gateway: one credit at a time from account 1 (a tenant's System Credits) to one
-- of three others. Every transaction waits on account 1's row lock until the one before it commits, so
-- this is the ceiling of one account's transfers when each is its own transaction (the ledger's group
-- commit puts many under one lock and one commit, so it may pass this one).
\set b random(2, 4)
BEGIN;
UPDATE accounts SET balance = balance - 1 WHERE id = md5('account:1')::uuid AND balance - held >= 1 RETURNING balance AS from_balance \gset
UPDATE accounts SET balance = balance + 1 WHERE id = md5('account:' || (:b)::text)::uuid RETURNING balance AS to_balance \gset
INSERT INTO transactions (id, tenant_id, kind, idempotency_key, request_hash) VALUES (gen_random_uuid(), '$tenant_id', 'transfer', gen_random_uuid()::text, 'pgbench') RETURNING id AS transaction_id \gset
INSERT INTO postings (transaction_id, account_id, amount, balance_after) VALUES ((:transaction_id)::uuid, md5('account:1')::uuid, -1, (:from_balance)::bigint), ((:transaction_id)::uuid, md5('account:' || (:b)::text)::uuid, 1, (:to_balance)::bigint);
INSERT INTO outbox (event_id, routing_key, envelope) VALUES (gen_random_uuid(), 'ledger.transaction.posted', (:envelope)::jsonb);
END;
