"""The log as people read it: a page of JSON, the whole selection as CSV, and the printable report,
each after waiting (bounded) for the ledger transaction the caller just made."""
