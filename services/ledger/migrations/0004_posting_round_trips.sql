-- The locks of one posting, or of a group of postings committed together, in one round trip instead of
-- three. In this order, as before: each tenant's posting lock shared (a credit-mode switch takes it
-- exclusive), tenants in a fixed order; then the accounts that do not exist yet are opened (if asked); then every
-- account is row-locked in id order, so that postings touching the same accounts wait for each other
-- instead of deadlocking. Inside a function each statement sees the rows the previous one inserted,
-- which one SQL statement with CTEs would not.
CREATE FUNCTION lock_posting_accounts(
    p_tenants uuid[], p_ids uuid[], p_account_tenants uuid[], p_codes text[], p_kinds text[], p_open boolean
) RETURNS SETOF accounts LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
BEGIN
    FOREACH t IN ARRAY (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(p_tenants) AS x) LOOP
        PERFORM pg_advisory_xact_lock_shared(7342002, hashtext(t::text));
    END LOOP;
    -- Nearly always every account exists: look before trying to insert.
    -- A group commit opens nothing (p_open false): a transfer to an account never used goes on its own,
    -- so that if it is refused, the account it opened is rolled back with it.
    IF p_open AND (SELECT count(*) FROM accounts WHERE id = ANY(p_ids)) < cardinality(p_ids) THEN
        -- No conflict target: two openers of one new account may meet on either unique index (the id,
        -- or the tenant and code), and both mean "already there". Ids ascending, as every opener does.
        INSERT INTO accounts (id, tenant_id, code, kind)
        SELECT a.id, a.tenant_id, a.code, a.kind
        FROM unnest(p_ids, p_account_tenants, p_codes, p_kinds) AS a(id, tenant_id, code, kind)
        ORDER BY a.id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN QUERY SELECT * FROM accounts WHERE id = ANY(p_ids) ORDER BY id FOR UPDATE;
END $$;
