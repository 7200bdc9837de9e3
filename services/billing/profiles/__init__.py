"""Billing profiles: what billing remembers about people (their names from the directory, the billing
details they used last and the card they saved)."""
