"""Lots: credits kept by the purchase or grant they came from, with its expiry; grants; the expiry sweeper."""
