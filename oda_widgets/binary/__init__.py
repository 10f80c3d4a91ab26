"""A binary product (any file a service sends): its size, guessed type, a preview and a save button."""

from oda_widgets.binary.widget import BinaryView, human_size

__all__ = ["BinaryView", "human_size"]
