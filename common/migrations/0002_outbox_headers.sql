-- The AMQP headers an event is published with, beside its envelope: queues that take only some events
-- of a type filter on them (common/contracts/headers.py). NULL: none.
ALTER TABLE outbox ADD COLUMN headers jsonb;
