"""Transfers: credits moved between two user-facing accounts of a tenant, by a person allowed to."""
