"""The `stripe` payment provider: PaymentIntents, their hosted payment page and Stripe's webhooks."""
