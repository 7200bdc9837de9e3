"""The posting engine every feature that moves credits goes through, and the journal it writes."""
