-- Billing tells the ledger which accounts it tops up (billing.topup.watch_changed), so that the ledger's
-- transactions reach billing only when they touch one. Each change numbers the account's announcements;
-- the settings that existed before are announced once by the first billing process to start.
ALTER TABLE auto_top_ups
    ADD COLUMN watch_version bigint NOT NULL DEFAULT 0,
    ADD COLUMN watch_announced boolean NOT NULL DEFAULT false;
CREATE INDEX auto_top_ups_unannounced ON auto_top_ups (account_id) WHERE NOT watch_announced;
