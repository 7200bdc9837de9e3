-- The transactional outbox: an event is written here in the same transaction as the change it
-- announces, and the relay publishes it afterwards. published_at stays NULL until the broker confirmed.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    routing_key  text NOT NULL,
    envelope     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
-- The relay only ever looks for unpublished rows; a partial index keeps that cheap as the table grows.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- The inbox: one row per consumed event, written in the consumer's own transaction, so a redelivered
-- event finds its row and changes nothing.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Wake the relay when events are written. A statement-level trigger costs no extra round trip, and
-- Postgres delivers the notification only if (and when) the writing transaction commits.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_written AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
