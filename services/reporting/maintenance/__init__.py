"""Keeping the log right and small: the retention purge (a periodic job), and the operators' commands
`reconcile` (compare the log with the ledger) and `rebuild` (replay the ledger's journal into it)."""
