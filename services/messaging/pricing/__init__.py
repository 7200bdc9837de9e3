"""Destination pricing: the operator's table of credits per SMS segment by the recipient's country."""
