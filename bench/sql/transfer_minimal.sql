-- pgbench: the least SQL a transfer needs, as the ceiling for the ledger (the issue's "equivalent SQL"):
-- two balance updates, the first with the available-credits check; the transaction row the postings
-- reference; two postings; one outbox row (its trigger notifies the relay); one commit.
-- $tenant_id is filled by bench/pgbench.py, :envelope is given with -D; every variable is cast because
-- with -M prepared pgbench sends them as untyped parameters.
\set a random(1, 10000)
\set b 1 + (:a + random(0, 9998)) % 10000
\set q random(1, 5)
BEGIN;
UPDATE accounts SET balance = balance - (:q)::bigint WHERE id = md5('account:' || (:a)::text)::uuid AND balance - held >= (:q)::bigint RETURNING balance AS from_balance \gset
UPDATE accounts SET balance = balance + (:q)::bigint WHERE id = md5('account:' || (:b)::text)::uuid RETURNING balance AS to_balance \gset
INSERT INTO transactions (id, tenant_id, kind, idempotency_key, request_hash) VALUES (gen_random_uuid(), '$tenant_id', 'transfer', gen_random_uuid()::text, 'pgbench') RETURNING id AS transaction_id \gset
INSERT INTO postings (transaction_id, account_id, amount, balance_after) VALUES ((:transaction_id)::uuid, md5('account:' || (:a)::text)::uuid, -(:q)::bigint, (:from_balance)::bigint), ((:transaction_id)::uuid, md5('account:' || (:b)::text)::uuid, (:q)::bigint, (:to_balance)::bigint);
INSERT INTO outbox (event_id, routing_key, envelope) VALUES (gen_random_uuid(), 'ledger.transaction.posted', (:envelope)::jsonb);
END;
