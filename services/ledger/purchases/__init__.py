"""Purchases: credits a paid purchase brings into the account it was bought for, exactly once."""
