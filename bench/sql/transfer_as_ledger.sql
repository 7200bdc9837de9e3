-- pgbench: every statement the ledger sends for one transfer today, in its order (services/ledger
-- store.py: post(), the transfer's checks, alerts.after_change), with the same shapes (unnest arrays,
-- FOR UPDATE in id order). The gap between this and transfer_minimal.sql is what the statements cost;
-- the gap between this and the ledger service is what Python, HTTP and the driver cost.
-- The pool's reset on release (asyncpg sends "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
-- RESET ALL;" in one round trip) is stood for by its first statement: -M prepared allows one per command.
\set a random(1, 10000)
\set b 1 + (:a + random(0, 9998)) % 10000
\set q random(1, 5)
\set key random(1, 2000000000)
BEGIN;
SELECT pg_advisory_xact_lock_shared(7342002, hashtext('$tenant_id'));
INSERT INTO accounts (id, tenant_id, code, kind) SELECT id, '$tenant_id', code, kind FROM unnest(ARRAY[md5('account:' || (:a)::text)::uuid, md5('account:' || (:b)::text)::uuid], ARRAY['user:' || md5('user:' || (:a)::text)::uuid, 'user:' || md5('user:' || (:b)::text)::uuid], ARRAY['user', 'user']) AS t(id, code, kind) ON CONFLICT (id) DO NOTHING;
SELECT id, tenant_id, code, kind, balance, held FROM accounts WHERE id = ANY(ARRAY[md5('account:' || (:a)::text)::uuid, md5('account:' || (:b)::text)::uuid]) ORDER BY id FOR UPDATE;
SELECT id, seq, kind, request_hash, created_at FROM transactions WHERE tenant_id = '$tenant_id' AND idempotency_key = 'pgbench:' || (:key)::text;
SELECT id, team, active, send_sms FROM users WHERE id = md5('user:' || (:a)::text)::uuid AND tenant_id = '$tenant_id';
SELECT id, team, active, send_sms FROM users WHERE id = md5('user:' || (:b)::text)::uuid AND tenant_id = '$tenant_id';
SELECT credit_mode FROM tenants WHERE id = '$tenant_id';
INSERT INTO transactions (id, tenant_id, kind, idempotency_key, request_hash, actor_user_id, reference, note, terms_version, hold_id) VALUES (gen_random_uuid(), '$tenant_id', 'transfer', gen_random_uuid()::text, '$request_hash', md5('user:1')::uuid, NULL, NULL, 'bench', NULL) RETURNING id AS transaction_id, seq AS transaction_seq \gset
INSERT INTO postings (transaction_id, account_id, amount, balance_after, held_after) SELECT (:transaction_id)::uuid, * FROM unnest(ARRAY[md5('account:' || (:a)::text)::uuid, md5('account:' || (:b)::text)::uuid], ARRAY[-(:q)::bigint, (:q)::bigint], ARRAY[1000000000, 1000000000]::bigint[], ARRAY[0, 0]::bigint[]);
UPDATE accounts AS a SET balance = a.balance + t.delta, held = t.held FROM unnest(ARRAY[md5('account:' || (:a)::text)::uuid, md5('account:' || (:b)::text)::uuid], ARRAY[-(:q)::bigint, (:q)::bigint], ARRAY[0, 0]::bigint[]) AS t(id, delta, held) WHERE a.id = t.id;
INSERT INTO journal (seq, tenant_id, payload) VALUES ((:transaction_seq)::bigint, '$tenant_id', (:payload)::jsonb);
INSERT INTO outbox (event_id, routing_key, envelope) VALUES (gen_random_uuid(), 'ledger.transaction.posted', (:envelope)::jsonb);
SELECT low_balance_threshold FROM tenants WHERE id = '$tenant_id';
SELECT id, low_balance_alerted FROM accounts WHERE id = ANY(ARRAY[md5('account:' || (:a)::text)::uuid, md5('account:' || (:b)::text)::uuid]);
UPDATE accounts SET low_balance_alerted = true WHERE id = ANY(ARRAY[]::uuid[]) AND low_balance_alerted <> true;
UPDATE accounts SET low_balance_alerted = false WHERE id = ANY(ARRAY[md5('account:' || (:a)::text)::uuid, md5('account:' || (:b)::text)::uuid]) AND low_balance_alerted <> false;
END;
SELECT pg_advisory_unlock_all();
