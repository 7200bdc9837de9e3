"""Holds: two-phase spending. Credits are reserved, then what was used is captured and the rest released;
expired holds are voided by a sweeper."""
