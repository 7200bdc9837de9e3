-- Credits by lot: every credit belongs to a lot (a purchase, a promotional grant, ...), and the ledger now
-- says per transaction which lots it moved (TransactionPosted.lots). A row records how many of its
-- credits were promotional (lots nobody paid for), so totals, the CSV and the usage chart can tell
-- purchased credits from promotional ones without reading lots back. Rows recorded before lots existed
-- moved purchased credits only: 0 is true of them. A constant default adds the column without rewriting
-- the table; the consumer keeps promotional between 0 and quantity (entries.domain), so no CHECK scan.
ALTER TABLE log_entries ADD COLUMN promotional bigint NOT NULL DEFAULT 0;

-- A `lot_expiry` row (credits of one lot lapsed): when the lot expired, for its description. NULL on
-- every other kind.
ALTER TABLE log_entries ADD COLUMN lot_expires_at timestamptz;
