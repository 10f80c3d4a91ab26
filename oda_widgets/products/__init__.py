"""Dispatcher products decoded into astropy objects (no widget imports)."""
