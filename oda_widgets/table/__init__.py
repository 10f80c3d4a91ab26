"""Any astropy table as a sortable, virtual-scrolled table with an x/y plot (``js/table.js``)."""

from oda_widgets.table.widget import TableView, as_table, wire_column

__all__ = ["TableView", "as_table", "wire_column"]
