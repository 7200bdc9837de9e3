-- What a consumer under test does: one row per event it applied, however often it was delivered.
CREATE TABLE effects (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL
);
