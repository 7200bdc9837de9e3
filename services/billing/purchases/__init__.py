"""Purchases: a buyer's order for credits, its checkout, and its way to paid and credited."""
