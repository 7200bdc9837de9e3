"""Payments: what billing needs from whoever takes the buyer's money (the provider protocol), the
providers production runs (Stripe), and the signed webhooks through which a payment's outcome arrives."""
