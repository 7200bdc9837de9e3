-- The rate limits every gateway replica shares (gateway/web/ratelimit_store.py): one row per limit and key,
-- counting the events of the key's current window, which opens with its first counted event and ends at
-- `resets_at`. A row past `resets_at` counts as no row: the next event starts a new window in it, and the
-- gateway's sweep deletes the rows of keys that went quiet.
--
-- UNLOGGED: a counter of the last minutes is not worth a WAL record per request (every write through the
-- gateway updates a row here). A Postgres crash or a fail-over to a standby starts every window afresh,
-- as if the counters were in a cache that restarted; a clean restart keeps them.
-- fillfactor 70: room in each page for the updated row beside the old one (a HOT update, no index touched).
CREATE UNLOGGED TABLE rate_limit_windows (
    limit_name text NOT NULL,
    -- An HMAC of the email, address or person id under a secret of the gateway's: no personal data here.
    key        bytea NOT NULL,
    hits       integer NOT NULL,
    resets_at  timestamptz NOT NULL,
    PRIMARY KEY (limit_name, key)
) WITH (fillfactor = 70);
