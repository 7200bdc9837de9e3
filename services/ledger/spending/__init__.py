"""Spending credits on SMS: once messaging has the carrier's answer for every part of a message, the ledger
captures the credits of what was accepted from the message's hold and releases the rest."""
