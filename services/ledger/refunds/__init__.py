"""Refunds: the ledger's steps in a refund's saga, taking the refunded credits back before any money
moves, and giving them back if the payment provider then refuses the refund."""
