"""Refunds: a master gives back part or all of a purchase, a saga between billing, the ledger and the
payment provider."""
