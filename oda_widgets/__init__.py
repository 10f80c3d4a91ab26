"""oda-widgets: Jupyter widgets for the ODA/MMODA online data analysis service."""

__version__ = "0.1.0"
