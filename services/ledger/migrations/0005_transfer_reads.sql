-- GET /transfers reads a tenant's transfers newest first and stops after a page: this index is that
-- walk. Only transfers are in it (purchases, holds and captures are most transactions and are never
-- listed here), which keeps it small.
CREATE INDEX transfers_by_tenant_time ON transactions (tenant_id, created_at DESC, id DESC)
    WHERE kind = 'transfer';
