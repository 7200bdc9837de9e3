"""Spending limits: a monthly credit limit per person, enforced when a hold is placed for their message."""
