"""The log's rows: every ledger transaction's postings and hold changes on user-facing accounts, recorded
from the ledger's `transaction.posted` events, exactly once."""
