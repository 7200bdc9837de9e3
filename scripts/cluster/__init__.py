"""`make cluster`: every part of the system more than once, on this machine (docs/cluster.md draws it)."""
