"""Tax documents: tax invoices and adjustment notes, their gapless numbers and their PDFs."""
