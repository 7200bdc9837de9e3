-- Delivery receipts settle SMS: a recipient's message that will not arrive (undeliverable, rejected, or no
-- receipt in time) after its credits were captured gives them back as a `delivery_refund`, keyed by the
-- recipient's part of the message, into the lots the capture took them from.
ALTER TABLE transactions DROP CONSTRAINT transactions_kind_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_kind_check CHECK (kind IN
    ('purchase', 'transfer', 'hold', 'capture', 'void', 'expiry', 'mode_change', 'refund', 'grant', 'lot_expiry',
     'delivery_refund'));

-- The tenant's policy (from the directory's TenantChanged): give undelivered messages' credits back.
ALTER TABLE tenants ADD COLUMN refund_undelivered boolean NOT NULL DEFAULT true;

-- A hold's give-backs are read by the hold: how much of its capture was given back already.
CREATE INDEX transactions_by_hold ON transactions (hold_id) WHERE hold_id IS NOT NULL;
