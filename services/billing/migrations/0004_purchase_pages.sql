-- GET /purchases reads a tenant's purchases newest first and stops after a page: this index is that
-- walk (a scope or named accounts filter it as it goes).
CREATE INDEX purchases_by_tenant_time ON purchases (tenant_id, created_at DESC, id DESC);
