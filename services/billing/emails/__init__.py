"""Emails from an outbox: the tax invoice, the adjustment note, a declined top-up."""
