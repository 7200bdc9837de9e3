"""Sending: each queued message's segments submitted to the carrier over SMPP, the carrier's answers and
receipts recorded, and the message settled (the credits to capture announced) once every part is
answered or has run out of time."""
