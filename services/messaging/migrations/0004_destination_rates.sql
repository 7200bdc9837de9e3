-- Destination pricing: credits per SMS segment by the recipient's country. Australia is home (1 credit a
-- segment, as every message cost until now), New Zealand 2, every other country the default, 3, until an
-- operator prices it (PUT /api/v1/admin/destination-rates).
CREATE TABLE destination_rates (
    region              text PRIMARY KEY CHECK (region = '*' OR region ~ '^[A-Z]{2}$'),
    credits_per_segment int NOT NULL CHECK (credits_per_segment BETWEEN 1 AND 100),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
INSERT INTO destination_rates (region, credits_per_segment) VALUES ('AU', 1), ('NZ', 2), ('*', 3);
