"""The package's top level: widgets importable from ``oda_widgets``, loaded only when asked for."""

import subprocess
import sys

import pytest


def test_top_level_import_does_not_load_the_widgets():
    code = "import sys, oda_widgets; print('ipywidgets' in sys.modules, 'bqplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize(
    "name",
    [
        "Explorer",
        "QueryForm",
        "JobStatus",
        "JobBoard",
        "LightCurveView",
        "SpectrumView",
        "MosaicView",
        "CatalogTable",
        "results_view",
        "Dispatcher",
        "Job",
    ],
)
def test_each_export_is_the_class_of_its_feature_module(name):
    import importlib

    import oda_widgets

    obj = getattr(oda_widgets, name)
    assert obj is getattr(importlib.import_module(oda_widgets._EXPORTS[name]), name)
    assert name in dir(oda_widgets)


def test_unknown_names_raise_attribute_error():
    import oda_widgets

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        oda_widgets.Nope
