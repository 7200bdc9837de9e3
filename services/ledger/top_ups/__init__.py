"""The accounts billing tops up automatically, as billing announces them: the ledger marks the
transactions that touch one (an AMQP header), so billing's queue receives those and purchases only."""
