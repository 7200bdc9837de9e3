-- Idempotent writes of the public API: the first final answer to (caller, endpoint, key), replayed to
-- every retry with the same body. A row with no status is a claim: its request is still in flight.
CREATE TABLE idempotent_requests (
    caller_id     uuid NOT NULL,
    -- The method and the route's template, e.g. `POST /api/v1/purchases/{id}/refunds`.
    endpoint      text NOT NULL,
    key           text NOT NULL,
    -- sha256 of the request's path and body (its JSON meaning when it parses): another request is a 409.
    request_hash  bytea NOT NULL,
    status        smallint,
    headers       jsonb,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller_id, endpoint, key)
);
-- The hourly purge of entries older than a day.
CREATE INDEX idempotent_requests_by_age ON idempotent_requests (created_at);
