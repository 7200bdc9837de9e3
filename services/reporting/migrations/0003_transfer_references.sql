-- Every log row names its ledger transaction (`transaction_id`, recorded from the start), and a
-- transfer's rows also carry a reference a client can follow: `transfer:<transaction id>`, the id
-- GET /api/v1/transfers/{id} reads. The ledger sends no reference for a transfer, so the consumer
-- derives it (entries.domain.log_reference); rows recorded before are given the same one here.
-- Nothing is unknown: every row already has its transaction id.
UPDATE log_entries SET reference = 'transfer:' || transaction_id::text
WHERE kind = 'transfer' AND reference IS NULL;
