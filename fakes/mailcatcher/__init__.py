"""A local SMTP server that keeps every email it is given in a folder, for `make run` (see mailbox.py)."""
