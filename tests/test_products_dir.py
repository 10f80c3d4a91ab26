"""Where products are saved: a folder outside the repository's notebooks (the working directory's
oda-products/, git-ignored inside the project), for every save path of the widgets and the core."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oda_widgets.cache import PRODUCTS_DIR_ENV, product_path, products_dir
from oda_widgets.client import Dispatcher

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv(PRODUCTS_DIR_ENV, raising=False)
    monkeypatch.setenv("ODA_WIDGETS_CACHE_DIR", str(tmp_path / "cache"))


def test_outside_the_project_products_go_to_the_working_directory(no_env, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert products_dir() == tmp_path.resolve() / "oda-products"
    assert product_path("lc.fits") == tmp_path.resolve() / "oda-products" / "lc.fits"
    assert product_path(tmp_path / "abs.fits") == tmp_path / "abs.fits"
    assert (
        product_path(None, default="isgri_image_123")
        == tmp_path.resolve() / "oda-products" / "isgri_image_123"
    )


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="runs from a git checkout")
def test_notebooks_of_the_project_save_at_its_root_in_a_git_ignored_folder(no_env, monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")  # where Jupyter starts the kernels of the shipped notebooks
    assert products_dir() == ROOT / "oda-products"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(products_dir() / "isgri_image_1" / "mosaic.fits")], cwd=ROOT
    )
    assert ignored.returncode == 0


def test_the_environment_variable_names_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(PRODUCTS_DIR_ENV, str(tmp_path / "class"))
    assert products_dir() == (tmp_path / "class").resolve()


@pytest.fixture
def products_env(monkeypatch, tmp_path):
    folder = tmp_path / "products"
    monkeypatch.setenv(PRODUCTS_DIR_ENV, str(folder))
    monkeypatch.setenv("ODA_WIDGETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return folder


def test_the_explorer_saves_in_the_products_folder_and_views_where_they_are_told(
    products_env, demo_dispatcher, tmp_path
):
    """What the widgets choose (the Explorer's default folder, a folder typed in its bar) is in the
    products folder; a path given to a view's save is a plain path, so save and load round-trip."""
    from oda_widgets.explorer import Explorer
    from oda_widgets.light_curve import LightCurveView
    from oda_widgets.spectrum import SpectrumView

    ex = Explorer(demo_dispatcher, token="", instrument="isgri", product="isgri_image")
    try:
        ex.form.set_values(max_pointings=5)
        image_job = ex.submit()
        view = ex.wait(image_job, timeout=120)
        default = ex.save_products(job=image_job)
        assert default and all(p.parent == products_env / f"isgri_image_{image_job.job_id}" for p in default)
        assert all(p.exists() for p in ex.save_products("lesson-1", job=image_job))
        assert (products_env / "lesson-1").is_dir()
        ex.directory.value = "typed-in-the-bar"
        assert ex.save_products(job=image_job)[0].parent == products_env / "typed-in-the-bar"
        assert str(products_env / "typed-in-the-bar") in ex.message.value

        table, mosaic = view.first("catalog"), view.first("mosaic")
        rows = len(table.catalog.table)
        assert (tmp_path / table.save("catalog.ecsv")).exists()
        assert len(table.load("catalog.ecsv").catalog.table) == rows
        mosaic.export_regions("field.reg")
        assert len(mosaic.load_regions("field.reg")) == len(mosaic.to_regions(("catalog",))) > 0

        spec_job = ex.spectrum_for_selected(image_job)
        spectra = ex.wait(spec_job, timeout=120).first("spectra")
        assert isinstance(spectra, SpectrumView)
        written = spectra.save(products_env / "xspec")
        assert all(p.parent == products_env / "xspec" for files in written.values() for p in files.values())

        ex.form.select("spi_acs", "spi_acs_lc")
        lc_view = ex.wait(ex.submit(), timeout=120).first("light_curves")
        assert isinstance(lc_view, LightCurveView)
        assert lc_view.save("acs.fits") == [Path("acs.fits")] and (tmp_path / "acs.fits").exists()
    finally:
        ex.close()
    assert not (tmp_path / "lesson-1").exists() and not (tmp_path / "typed-in-the-bar").exists()


def test_a_product_collection_saves_into_the_products_folder_by_default(products_env, demo_dispatcher):
    job = Dispatcher(demo_dispatcher, token="").submit("spi_acs", "spi_acs_lc", {"time_bin": 10})
    collection = job.wait(timeout=60)
    paths = collection.save()
    assert paths and all(p.parent == products_env / f"spi_acs_lc_{job.job_id}" for p in paths)
    assert collection.save("given")[0].parent == Path("given")  # an explicit folder is a plain path
