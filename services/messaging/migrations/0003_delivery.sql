-- Delivery receipts settle SMS (issue 18): each recipient's part moves accepted -> delivered |
-- undeliverable | expired | rejected, and a part that will not arrive after its credits were captured is
-- announced once (messaging.message.undelivered) so the ledger gives its credits back.

-- What one segment to this recipient costs: destination pricing (1 in Australia, more abroad). Parts
-- handed over before this cost 1 a segment, as every message did.
ALTER TABLE parts ADD COLUMN credits_per_segment int NOT NULL DEFAULT 1 CHECK (credits_per_segment > 0);
-- When the carrier accepted the part's last segment: the receipt's validity runs from then.
ALTER TABLE parts ADD COLUMN accepted_at timestamptz;
-- The part's final delivery, from its receipts (or their absence); NULL while it is on its way.
ALTER TABLE parts ADD COLUMN delivery text
    CHECK (delivery IN ('delivered', 'undeliverable', 'expired', 'rejected'));
ALTER TABLE parts ADD COLUMN delivered_at timestamptz;
-- Set in the transaction that puts the part's `undelivered` event in the outbox: once per part.
ALTER TABLE parts ADD COLUMN refund_announced_at timestamptz;

-- Which part a carrier's message id belongs to: a receipt finds its part by it, even one that arrived
-- before we recorded the carrier's answer (the receipt waits in `receipts` and is read when the answer is).
CREATE TABLE segments (
    carrier_id text PRIMARY KEY,
    part_id    uuid NOT NULL REFERENCES parts (id)
);
INSERT INTO segments (carrier_id, part_id)
SELECT DISTINCT ON (c.carrier_id) c.carrier_id, p.id FROM parts p, unnest(p.carrier_ids) AS c(carrier_id)
ON CONFLICT DO NOTHING;

-- Parts handed over before this release: their delivery reads as their receipts say, and none of them is
-- expired for want of a receipt or announced for a refund (the policy starts with this release, it does
-- not rewrite what customers were charged before it).
ALTER TABLE parts ADD COLUMN legacy boolean NOT NULL DEFAULT false;
UPDATE parts SET legacy = true, accepted_at = CASE WHEN state = 'accepted' THEN updated_at END;
UPDATE parts SET delivery = 'rejected', delivered_at = updated_at WHERE state = 'rejected';
UPDATE parts AS p SET delivery = d.delivery, delivered_at = p.updated_at
FROM (SELECT p2.id,
             CASE WHEN bool_or(r.stat = 'REJECTD') THEN 'rejected'
                  WHEN bool_or(r.stat = 'EXPIRED') THEN 'expired'
                  WHEN bool_or(r.stat IN ('UNDELIV', 'DELETED', 'UNKNOWN')) THEN 'undeliverable'
                  WHEN count(r.carrier_id) = cardinality(p2.carrier_ids) AND bool_and(r.stat = 'DELIVRD')
                      THEN 'delivered'
             END AS delivery
      FROM parts p2 CROSS JOIN LATERAL unnest(p2.carrier_ids) AS c(carrier_id)
      LEFT JOIN receipts r ON r.carrier_id = c.carrier_id
      WHERE p2.state = 'accepted'
      GROUP BY p2.id, p2.carrier_ids) AS d
WHERE p.id = d.id AND d.delivery IS NOT NULL;

-- The receipt sweeper looks only at accepted parts still waiting for their receipt.
CREATE INDEX parts_awaiting_receipt ON parts (accepted_at) WHERE state = 'accepted' AND delivery IS NULL AND NOT legacy;
