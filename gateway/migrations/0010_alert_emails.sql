-- The balance alert emails (gateway/alerts/): one row per recipient of a `ledger.balance.low` or
-- `ledger.balance.recovered` event, holding what the email says; the email outbox names it as its subject.
CREATE TABLE alert_emails (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL,
    event_id       uuid NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('balance_low', 'balance_recovered')),
    account_id     uuid NOT NULL,
    account_name   text,  -- the holder's name; none: System Credits
    recipient_name text NOT NULL,
    level          text NOT NULL,
    threshold      bigint NOT NULL,
    available      bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_kind_check;
ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_kind_check
    CHECK (kind IN ('invitation', 'password_reset', 'credit_mode_requested', 'credit_mode_decided',
                    'balance_low', 'balance_recovered'));
