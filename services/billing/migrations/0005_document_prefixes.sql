-- Every tenant's tax invoices are issued under the one supplier ABN, so their numbers must be unique
-- for the supplier, not only for the tenant: each tenant's gapless series now carries a prefix of its
-- own (INV-ACME-000012, ADJ-ACME-000003), derived once from the tenant's name and never changed (a
-- renamed tenant keeps it; the numbers it issued must still be findable). Unique across tenants.
CREATE TABLE document_prefixes (
    tenant_id   uuid PRIMARY KEY,
    prefix      text NOT NULL UNIQUE CHECK (prefix ~ '^[A-Z0-9]{1,8}$'),
    derived_from text,  -- the tenant's name it was made from; NULL when it was made from the id
    assigned_at timestamptz NOT NULL DEFAULT now()
);

-- Numbers issued before stay exactly as they are (INV-000001 of each tenant is printed on documents
-- already sent): no row is renumbered and the counters carry on, so a tenant's next invoice after
-- INV-000005 is INV-ACME-000006. Old numbers repeat across tenants, so uniqueness stays per tenant in
-- the tables (UNIQUE (tenant_id, invoice_number)); new numbers are unique overall through their prefix.
