"""Pure-Python dispatcher client (no widget imports)."""
