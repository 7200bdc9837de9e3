"""The tenant's event log: every ledger event, numbered per tenant without gaps, kept for good, so that a
subscriber that missed some (or starts today) reads them again in order."""
