"""The ledger's promises, checked against the data itself: periodically beside the service, and on demand
as `python -m services.ledger check`."""
