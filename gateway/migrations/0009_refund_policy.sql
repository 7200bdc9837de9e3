-- A tenant's policy on messages that do not arrive (undeliverable, rejected, or no receipt in time):
-- their credits come back (the default, as Twilio does not charge failed messages), or, where the
-- tenant's contract says so, they stay charged. Announced to the ledger in TenantChanged.
ALTER TABLE tenants ADD COLUMN refund_undelivered boolean NOT NULL DEFAULT true;
