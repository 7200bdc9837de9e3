"""Balance alert emails: the ledger's `ledger.balance.low` and `ledger.balance.recovered` events of an
account's own alert levels, emailed once each to the account's holder and the tenant's masters."""
