-- The demo prices every tenant without a price list of its own pays: AUD, ex GST, GST at 10%.
WITH default_list AS (
    INSERT INTO price_lists (tenant_id, currency, tax_name, tax_rate, min_quantity, max_quantity)
    VALUES (NULL, 'AUD', 'GST', 0.10, 100, 1000000)
    RETURNING id
)
INSERT INTO price_tiers (price_list_id, min_quantity, unit_price)
SELECT default_list.id, tier.min_quantity, tier.unit_price
FROM default_list,
     (VALUES (100, 0.0800), (10000, 0.0700), (50000, 0.0600), (200000, 0.0500))
         AS tier (min_quantity, unit_price);
