"""The billing service: price lists and quotes, purchases and their payments, tax invoices and
adjustment notes, refunds, auto top-up, billing profiles and emails, one feature package each, which
`app.py` composes."""
