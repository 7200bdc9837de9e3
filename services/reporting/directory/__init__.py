"""The directory replica: tenants' names and time zones and people's names, copied from the gateway's
directory events, so the CSV and the report show names instead of ids."""
