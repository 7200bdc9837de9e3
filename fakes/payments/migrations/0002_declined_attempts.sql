-- A declined card no longer completes its checkout: the buyer may try another card on the same session,
-- so a session keeps every attempt (as a processor keeps every charge of a payment), not just one.
ALTER TABLE test_provider_charges DROP CONSTRAINT IF EXISTS test_provider_charges_session_id_key;
CREATE INDEX IF NOT EXISTS test_provider_charges_by_session ON test_provider_charges (session_id, created_at);
