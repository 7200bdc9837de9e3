"""Auto top-up: per account, buy credits with the payer's saved card when the balance runs low."""
