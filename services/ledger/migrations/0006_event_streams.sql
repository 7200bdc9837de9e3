-- Each tenant's ledger events are numbered 1, 2, 3, ... without a gap (the CloudEvents `sequence`), so a
-- subscriber can tell it missed one, and the log keeps every one of them, so it can read what it missed
-- (GET /api/v1/events?after_sequence=N). A posting locks its tenant's stream row after its accounts and
-- numbers its events under that lock: numbers follow the order in which the tenant's transactions commit.
CREATE TABLE event_streams (
    tenant_id     uuid PRIMARY KEY,
    last_sequence bigint NOT NULL DEFAULT 0 CHECK (last_sequence >= 0)
);

CREATE TABLE event_log (
    tenant_id uuid   NOT NULL,
    sequence  bigint NOT NULL,
    event_id  uuid   NOT NULL UNIQUE,
    type      text   NOT NULL,
    envelope  jsonb  NOT NULL,
    PRIMARY KEY (tenant_id, sequence)
);

-- What was posted before the log existed, from the journal (every transaction as it was announced), as
-- `transaction.posted` events with new ids, numbered in the order they were posted.
INSERT INTO event_log (tenant_id, sequence, event_id, type, envelope)
SELECT j.tenant_id, j.n, j.event_id, 'com.smscredits.ledger.transaction.posted',
       jsonb_build_object(
           'specversion', '1.0', 'id', j.event_id, 'source', '/sms-credits/ledger',
           'type', 'com.smscredits.ledger.transaction.posted', 'time', j.payload->'occurred_at',
           'subject', 'tenants/' || j.tenant_id || '/transactions/' || (j.payload->>'transaction_id'),
           'datacontenttype', 'application/json', 'sequence', lpad(j.n::text, 20, '0'), 'data', j.payload)
FROM (SELECT tenant_id, payload, gen_random_uuid() AS event_id,
             row_number() OVER (PARTITION BY tenant_id ORDER BY seq) AS n
      FROM journal) AS j;

INSERT INTO event_streams (tenant_id, last_sequence)
SELECT tenant_id, max(sequence) FROM event_log GROUP BY tenant_id;

-- The posting locks, as in 0004, and then each tenant's event stream, tenants in order: every writer
-- takes accounts before streams, so none waits for an account while holding a stream.
CREATE OR REPLACE FUNCTION lock_posting_accounts(
    p_tenants uuid[], p_ids uuid[], p_account_tenants uuid[], p_codes text[], p_kinds text[], p_open boolean
) RETURNS SETOF accounts LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    tenants uuid[] := (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(p_tenants) AS x);
BEGIN
    FOREACH t IN ARRAY tenants LOOP
        PERFORM pg_advisory_xact_lock_shared(7342002, hashtext(t::text));
    END LOOP;
    IF p_open AND (SELECT count(*) FROM accounts WHERE id = ANY(p_ids)) < cardinality(p_ids) THEN
        INSERT INTO accounts (id, tenant_id, code, kind)
        SELECT a.id, a.tenant_id, a.code, a.kind
        FROM unnest(p_ids, p_account_tenants, p_codes, p_kinds) AS a(id, tenant_id, code, kind)
        ORDER BY a.id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN QUERY SELECT * FROM accounts WHERE id = ANY(p_ids) ORDER BY id FOR UPDATE;
    IF (SELECT count(*) FROM event_streams WHERE tenant_id = ANY(tenants)) < cardinality(tenants) THEN
        INSERT INTO event_streams (tenant_id) SELECT x FROM unnest(tenants) AS x ORDER BY x ON CONFLICT DO NOTHING;
    END IF;
    PERFORM 1 FROM event_streams WHERE tenant_id = ANY(tenants) ORDER BY tenant_id FOR UPDATE;
END $$;
