"""The directory: the tenant and user facts the ledger's rules need, kept from the gateway's events, and the
credits moved when a change requires it (a user who may no longer receive, a switch to shared mode)."""
