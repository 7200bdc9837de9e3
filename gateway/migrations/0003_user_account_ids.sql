-- Each user's ledger account id, kept beside the user so that a request naming an account finds its
-- owner by index instead of deriving the id of every person in the tenant (10,000 uuid5s per request
-- in a large tenant). The same derivation as common.accounts.account_id: uuid5 of "<tenant>/user:<id>"
-- in the accounts namespace; generated, so it can never disagree with the row it belongs to.
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
ALTER TABLE users ADD COLUMN account_id uuid GENERATED ALWAYS AS (
    uuid_generate_v5('6f1c1f0e-6d2b-4f43-9a57-2a7f3c9b8e10'::uuid, tenant_id::text || '/user:' || id::text)
) STORED;
CREATE INDEX users_by_account ON users (account_id);
