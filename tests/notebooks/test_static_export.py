"""Notebooks read without a kernel show pictures: nbconvert's HTML (``oda_widgets.static.export_html``),
a renderer without widget JavaScript (as GitHub renders notebooks), and the shipped notebooks as saved."""

from __future__ import annotations

import base64
import re

import nbformat
import pytest
from nb_helpers import NOTEBOOKS
from nbconvert import HTMLExporter

from oda_widgets.static import LIGHT_CURVE_SIZE, MOSAIC_SIZE, SPECTRUM_SIZE, export_html, png_size

WIDGET = "application/vnd.jupyter.widget-view+json"
IMG = re.compile(r'<img[^>]*src="data:image/png;base64,([^"]+)"')

CELLS = [
    "from oda_widgets import demo\n"
    "from oda_widgets.client import Dispatcher\n"
    "from oda_widgets.results import results_view\n"
    "server = demo.start(speed=50)\n"
    "disp = Dispatcher(server.url, token='')",
    "from oda_widgets.light_curve import LightCurveView\n"
    "lc = disp.submit('spi_acs', 'spi_acs_lc', {'T1': '2022-10-09T13:15:00', 'T2': '2022-10-09T13:25:00',"
    " 'time_bin': 1}).wait(timeout=60)\n"
    "LightCurveView(lc.light_curves)",
    "image = results_view(disp.submit('isgri', 'isgri_image', {'max_pointings': 5}).wait(timeout=120), dispatcher=disp)\n"
    "image.first('mosaic')",
    "table = image.first('catalog').set_min_significance(8)\ntable",
]


def _png_sizes(page: str) -> list[tuple[int, int]]:
    return [png_size(base64.b64decode(data)) for data in IMG.findall(page)]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """A small notebook with a light curve, a sky image and a catalog, run and saved with widget state."""
    from nbclient import NotebookClient

    work = tmp_path_factory.mktemp("export")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    NotebookClient(
        nb, timeout=300, kernel_name="python3", store_widget_state=True, resources={"metadata": {"path": str(work)}}
    ).execute()
    path = work / "views.ipynb"
    nbformat.write(nb, path)
    return path


def test_export_html_shows_every_view_as_its_picture(executed):
    page = export_html(executed).read_text()
    assert _png_sizes(page) == [LIGHT_CURVE_SIZE, MOSAIC_SIZE]
    assert "sources shown (significance ≥ 8σ" in page  # the catalog as a table
    assert WIDGET not in page  # no live-widget placeholders that would stay empty offline
    assert nbformat.read(executed, as_version=4).metadata["widgets"]  # the notebook itself untouched


def test_a_renderer_without_widget_javascript_shows_the_pictures(executed):
    """GitHub-style: the saved notebook as it is (widget state included), rendered by something that
    does not know the widget mimetype."""
    from traitlets.config import Config

    priority = HTMLExporter().default_config["NbConvertBase"]["display_data_priority"]
    assert priority[0] == WIDGET  # nbconvert's own order: the widget first
    without_widgets = Config({"NbConvertBase": {"display_data_priority": [m for m in priority if m != WIDGET]}})
    page, _ = HTMLExporter(template_name="lab", config=without_widgets).from_notebook_node(
        nbformat.read(executed, as_version=4)
    )
    assert _png_sizes(page) == [LIGHT_CURVE_SIZE, MOSAIC_SIZE]


def test_plain_nbconvert_emits_live_widgets_when_their_state_is_saved(executed):
    """Why export_html drops the widget state: nbconvert prefers the widget (drawn by JavaScript
    from a CDN) over the picture whenever the model's state is in the notebook."""
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(executed, as_version=4))
    assert _png_sizes(page) == [] and page.count(f'<script type="{WIDGET}">') == 3


SHIPPED = ["quickstart.ipynb", "dashboard.ipynb", "seed_workflow.ipynb", "teaching.ipynb"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_widget_output_of_the_shipped_notebooks_has_a_static_picture(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    views = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("data", {}).get(WIDGET)
    ]
    assert views, f"{name} shows no widget"
    for out in views:
        assert {"image/png", "text/html"} & set(out["data"]), f"{name}: a widget output without a picture"


def test_the_seed_tutorial_exported_shows_its_light_curve_image_and_spectra(tmp_path):
    src = tmp_path / "seed_workflow.ipynb"
    src.write_text((NOTEBOOKS / "seed_workflow.ipynb").read_text())
    sizes = _png_sizes(export_html(src).read_text())
    assert LIGHT_CURVE_SIZE in sizes and MOSAIC_SIZE in sizes and SPECTRUM_SIZE in sizes
