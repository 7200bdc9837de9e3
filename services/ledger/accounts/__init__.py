"""Reading accounts: their balances now or as of a moment, and the accounts other features look up."""
