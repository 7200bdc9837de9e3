"""Messages as the gateway hands them over (already paid for by a hold) and as their sender reads them:
stored with one part per recipient, their status worked out from the carrier's answers and receipts."""
