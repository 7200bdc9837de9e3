"""Price lists and quotes: each tenant's tiers, tax and currency, and what a quantity costs."""
