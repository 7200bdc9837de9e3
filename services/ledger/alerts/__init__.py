"""Balance alerts: an account's levels, evaluated by every posting that changes the account."""
