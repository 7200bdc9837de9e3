"""Reporting: the credit log read model, built from the ledger's events and served to the gateway."""
