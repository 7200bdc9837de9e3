-- Purchased credits expire: a price list says for how many calendar months after payment (NULL: never).
-- The column is added without a default first, so every price list that exists keeps NULL: the customers
-- paying it bought credits that never expire, and a schema change must not shorten their terms; an
-- operator who wants expiry for them sets it on the list, in the open.
ALTER TABLE price_lists
    ADD COLUMN credit_validity_months integer
        CHECK (credit_validity_months IS NULL OR credit_validity_months BETWEEN 1 AND 120);

-- A price list made from now on sells 12-month credits unless it says otherwise (billing's own writes
-- always say: PUT /price-lists keeps the validity in force when the request leaves it out).
ALTER TABLE price_lists ALTER COLUMN credit_validity_months SET DEFAULT 12;

-- The default list (tenant_id NULL, from 0002) is new too where nothing has been sold under it: a fresh
-- database (a new deployment, the demo, each test's database). There it sells 12-month credits, like any
-- new list. Where anything has been sold, it stays NULL for the reason above.
UPDATE price_lists SET credit_validity_months = 12
WHERE tenant_id IS NULL AND NOT EXISTS (SELECT 1 FROM purchases);

-- A purchase keeps the validity it was sold with, as it keeps its prices: editing the price list between
-- the quote and the payment changes nothing already bought. NULL: its credits never expire (every
-- purchase made before this migration, as sold).
ALTER TABLE purchases
    ADD COLUMN credit_validity_months integer
        CHECK (credit_validity_months IS NULL OR credit_validity_months BETWEEN 1 AND 120);
