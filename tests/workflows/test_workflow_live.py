"""The demo dispatcher in front of a real nb2service running the shipped notebooks.

One server for the session (``workflow_demo`` in tests/conftest.py); four notebook runs in all
(``WORKFLOW_RUNS``: each product once, one failure), submitted together so they share the two
kernels' time; later requests with the same values are answered from the jobs already done.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time

import pytest
import requests
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from shared_data import WORKFLOW_RUNS
from workflow_helpers import SHARED_ONTOLOGY, capture, shape

from oda_widgets import demo
from oda_widgets.client import Dispatcher
from oda_widgets.client.description import parse_description
from oda_widgets.client.job import Job, JobState
from oda_widgets.demo.workflows import DEMO_ONTOLOGY, WorkflowInstrument
from oda_widgets.demo.workflows.ontology import Ontology
from oda_widgets.errors import AnalysisFailed, RequestNotUnderstood

RUNS = WORKFLOW_RUNS
TIMEOUT = 240


@pytest.fixture(scope="module")
def server(workflow_demo):
    return workflow_demo


@pytest.fixture(scope="module")
def jobs(workflow_jobs):
    """The four runs, submitted at once; each job records the states it went through."""
    return workflow_jobs


def _done_body(server, key: str) -> dict:
    """The raw done answer of run ``key`` (the job exists: a new request is answered at once)."""
    instrument, product, params = RUNS[key]
    args = {"instrument": instrument, "product_type": product, "query_status": "new", "api": "True", **params}
    r = requests.get(f"{server.url}/run_analysis", params=args, timeout=60)
    assert r.status_code == 200
    body = r.json()
    assert body["query_status"] == "done"
    return body


def test_instruments_and_form_kinds(server):
    disp = Dispatcher(server.url)
    assert disp.instruments() == [
        "isgri",
        "jemx",
        "spi_acs",
        "optical_photometry",
        "optical_imaging",
        "multiwavelength_sed",
    ]
    lc = disp.description("optical_photometry").product("light_curve")
    kinds = {p.name: (p.kind, p.units) for p in lc.parameters}
    assert kinds == {
        "src_name": ("name", "str"),
        "RA": ("angle", "deg"),
        "DEC": ("angle", "deg"),
        "T1": ("time", "isot"),
        "T2": ("time", "isot"),
        "band": ("enum", "str"),
        "cadence_hours": ("time_interval", "hour"),
        "noise_mmag": ("float", None),
        "seed": ("integer", None),
    }
    assert lc.parameter("band").allowed_values == ("B", "I", "R", "V")
    assert (lc.parameter("cadence_hours").min_value, lc.parameter("cadence_hours").max_value) == (0.5, 48.0)
    assert lc.parameter("cadence_hours").label == "Cadence"
    assert lc.parameter("T1").default == "2023-09-01T00:00:00.000" and lc.defaults()["T_format"] == "isot"
    assert lc.parameter("src_name").default == "delta Cep"

    images = disp.description("optical_imaging").product("sky_images")
    assert {p.name: p.kind for p in images.parameters if p.block == "product"} == {
        "fov_deg": "angle",
        "pixels": "integer",
        "psf_arcmin": "float",
        "with_noise": "boolean",
    }
    assert images.parameter("fov_deg").units == "deg" and images.parameter("pixels").max_value == 1024
    assert images.parameter("src_name").default == "Pleiades"

    sed = disp.description("multiwavelength_sed").product("sed")
    assert sed.parameter("state").allowed_values == ("flare", "quiescent")
    assert sed.parameter("include_upper_limits").kind == "boolean"
    assert sed.parameter("detection_sigma").label == "Detection threshold (sigma)"


def test_the_query_form_builds_every_workflow_product(server):
    from oda_widgets.form import QueryForm

    for instrument, product in (
        ("optical_photometry", "light_curve"),
        ("optical_imaging", "sky_images"),
        ("multiwavelength_sed", "sed"),
    ):
        form = QueryForm(server.url, instrument, product, show_job=False)
        assert set(form.controls) >= {"src_name", "RA", "DEC"}
        assert not {k: v for k, v in form.validate().items() if v}
        assert (
            form.values["RA"]
            == Dispatcher(server.url).description(instrument).product(product).defaults()["RA"]
        )


def test_the_small_ontology_gives_the_same_meta_data(server):
    small = Ontology(DEMO_ONTOLOGY)
    for name in ("optical_photometry", "optical_imaging", "multiwavelength_sed"):
        served = server.workflows[name]
        offline = WorkflowInstrument(name, served.service, lambda: small, served.products)
        assert offline.meta_data() == served.meta_data()


def test_meta_data_has_the_real_dispatchers_shape(server):
    ours = requests.get(
        f"{server.url}/api/meta-data", params={"instrument": "optical_photometry"}, timeout=30
    ).json()
    real = capture("meta-data.json")
    assert shape(ours[0][:4]) == shape(real[0][:4]) or shape(ours[0][2][1]) == shape(real[0][2][1])
    parse_description(ours)  # and our client reads it
    par_names = requests.get(
        f"{server.url}/api/par-names",
        params={"instrument": "optical_photometry", "product_type": "light_curve"},
        timeout=30,
    ).json()
    assert par_names[:7] == ["src_name", "RA", "DEC", "T1", "T_format", "T2", "token"]


def test_light_curve_job_goes_through_every_state_to_done(jobs):
    job = jobs["lc"]
    products = job.wait(timeout=TIMEOUT)
    print(f"\nlight-curve job: {time.monotonic() - job.submitted_at_wall:.1f} s (four jobs queued together)")
    assert job.state is JobState.DONE
    order = ["new", "submitted", "progress", "ready", "done"]
    assert [order.index(s) for s in job.seen] == sorted(order.index(s) for s in job.seen)
    assert job.seen[-2:] == ["ready", "done"]
    names = [n for n, _ in products.items()]
    assert names == ["delta_Cep_V_mag_0", "delta_Cep_V_flux_1"]
    assert (
        "V-band points of delta Cep between 2023-09-01T00:00:00.000 and 2023-09-11T00:00:00.000"
        in job.comment
    )


def test_light_curve_lists_have_the_real_chains_shapes(jobs, server):
    jobs["lc"].wait(timeout=TIMEOUT)
    body = _done_body(server, "lc")
    real = capture("run_analysis_api_lightcurve_06.json")
    assert list(body) == list(real)
    assert list(body["products"]) == list(real["products"])
    assert shape(body["exit_status"]) == shape(real["exit_status"])
    assert shape(body["job_monitor"]) == shape(real["job_monitor"])
    ours, theirs = body["products"], real["products"]

    def without_units(entries):  # the value column differs (MAG/FLUX here, RATE there)
        return [
            {**e, "data_unit_list": [{**u, "units_dict": None} for u in e["data_unit_list"]]} for e in entries
        ]

    assert shape(without_units(ours["numpy_data_product_list"])) == shape(
        without_units(theirs["numpy_data_product_list"])
    )
    assert ours["prod_uris"] == {
        "light_curve_mag": "http://odahub.io/ontology#LightCurve",
        "light_curve_flux": "http://odahub.io/ontology#LightCurve",
    }
    assert ours["extra_metadata"] == {"light_curve_mag": {}, "light_curve_flux": {}}
    for entry in ours["numpy_data_product_list"]:
        assert json.loads(entry["meta_data"]) == {}
        lc_unit = entry["data_unit_list"][1]
        assert lc_unit["name"] == "LC" and lc_unit["header"] == {}  # no MJDREF: TIME is MJD
        assert lc_unit["units_dict"]["TIME"] == "d"
    units = [e["data_unit_list"][1]["units_dict"] for e in ours["numpy_data_product_list"]]
    assert units == [{"TIME": "d", "MAG": "mag", "ERROR": "mag"}, {"TIME": "d", "FLUX": "Jy", "ERROR": "Jy"}]
    assert body["exit_status"]["comment"] == jobs["lc"].comment


def test_images_and_picture(jobs, server):
    products = jobs["images"].wait(timeout=TIMEOUT)
    body = _done_body(server, "images")
    ours = body["products"]
    real_lc = capture("run_analysis_api_lightcurve_06.json")["products"]
    assert shape(ours["binary_image_product_list"]) == shape(real_lc["binary_image_product_list"])
    (picture,) = ours["binary_image_product_list"]
    assert picture["name"] == "colour_composite" and picture["img_type"] == "png"
    assert base64.urlsafe_b64decode(picture["b64data"]).startswith(b"\x89PNG")
    assert [e["name"] for e in ours["numpy_data_product_list"]] == ["Pleiades_B", "Pleiades_R"]
    assert ours["prod_uris"]["image_blue"] == "http://odahub.io/ontology#Image"
    for name in ("Pleiades_B_0", "Pleiades_R_1"):
        hdul = products[name].hdulist
        wcs = WCS(hdul[0].header)
        assert wcs.has_celestial and hdul[0].data.shape == (64, 64)
        ra, dec = wcs.all_pix2world(31.5, 31.5, 0)
        assert abs(ra - 56.75) < 0.05 and abs(dec - 24.1167) < 0.05


def test_sed_table_text_and_binary(jobs, server):
    jobs["sed"].wait(timeout=TIMEOUT)
    body = _done_body(server, "sed")
    ours = body["products"]
    real = capture("run_analysis_api_catalog_07.json")["products"]
    assert shape(ours["astropy_table_product_ascii_list"]) == shape(real["astropy_table_product_ascii_list"])
    assert shape(ours["text_product_list"]) == shape(real["text_product_list"])
    (table,) = ours["astropy_table_product_ascii_list"]
    assert table["name"] == "Mrk 421 SED"
    assert json.loads(json.loads(table["meta_data"])) == {"source": "Mrk 421", "state": "quiescent"}
    sed = Table.read(table["ascii"], format="ascii.ecsv")
    assert str(sed["frequency"].unit) == "Hz" and sed["nuFnu"].unit.to_string() == "erg / (s cm2)"
    assert sed["upper_limit"].dtype == bool and sed["upper_limit"].any() and not sed["upper_limit"].all()
    (text,) = ours["text_product_list"]
    assert text["name"] == "summary" and text["value"].startswith("SED of Mrk 421 (quiescent state)")
    (binary,) = ours["binary_data_product_list"]
    assert set(binary) == {"name", "data", "md5"} and binary["name"] == "Mrk_421_sed.fits"
    data = base64.urlsafe_b64decode(binary["data"])
    assert hashlib.md5(data).hexdigest() == binary["md5"]
    with fits.open(__import__("io").BytesIO(data)) as hdul:
        assert len(hdul[1].data) == len(sed)
    assert ours["prod_uris"] == {
        "sed_table": "http://odahub.io/ontology#ODAAstropyTable",
        "summary": "http://odahub.io/ontology#ODATextProduct",
        "sed_fits": "http://odahub.io/ontology#ODABinaryProduct",
    }


def test_oda_api_reads_the_workflow_products_unchanged(jobs, server):
    from oda_api.api import DispatcherAPI

    jobs["sed"].wait(timeout=TIMEOUT)
    instrument, product, params = RUNS["sed"]
    disp = DispatcherAPI(url=server.url, wait=True)
    collection = disp.get_product(instrument=instrument, product=product, **params)
    kinds = sorted(type(p).__name__ for p in collection._p_list)
    assert kinds == ["BinaryProduct", "ODAAstropyTable", "TextLikeProduct"]
    table = next(p for p in collection._p_list if type(p).__name__ == "ODAAstropyTable")
    assert str(table.table["frequency"].unit) == "Hz" and len(table.table) > 20


def test_failing_notebook_is_analysis_failed_with_the_backend_message(jobs):
    job = jobs["fail"]
    with pytest.raises(AnalysisFailed) as err:
        job.wait(timeout=TIMEOUT)
    assert job.state is JobState.FAILED
    assert "Backend failed. RuntimeError: src_name=FAIL_BACKEND asks this demo workflow to fail" in str(
        err.value
    )
    assert job.seen[-2:] == ["ready", "failed"]


def test_out_of_range_values_are_http_400_mapped_to_the_field(server):
    disp = Dispatcher(server.url)
    with pytest.raises(RequestNotUnderstood) as err:
        disp.submit("optical_imaging", "sky_images", {"pixels": 5000})
    assert err.value.parameter == "pixels"
    assert str(err.value) == "Parameter pixels wrong value 5000: should be lower or equal than 1024.0"
    with pytest.raises(RequestNotUnderstood) as err:
        Job(disp, "optical_photometry", "light_curve", {"band": "Z"}).submit()
    assert err.value.parameter == "band"
    assert "not in allowed ['B', 'I', 'R', 'V']" in str(err.value)
    with pytest.raises(RequestNotUnderstood) as err:
        disp.submit("optical_imaging", "sky_images", {"fov_deg": 0.01})
    assert err.value.parameter == "fov_deg"
    assert str(err.value) == "Parameter fov_deg wrong value 0.01deg: should be greater or equal than 0.1"


def test_call_backs_reach_known_jobs_only(jobs, server):
    jobs["lc"].wait(timeout=TIMEOUT)
    known = {"instrument_name": "optical_photometry", "job_id": jobs["lc"].job_id, "action": "done"}
    assert requests.get(f"{server.url}/call_back", params=known, timeout=10).status_code == 200
    unknown = {**known, "job_id": "0123456789abcdef"}
    assert requests.get(f"{server.url}/call_back", params=unknown, timeout=10).status_code == 404
    elsewhere = {**known, "instrument_name": "isgri"}
    assert requests.get(f"{server.url}/call_back", params=elsewhere, timeout=10).status_code == 404
    assert jobs["lc"].state is JobState.DONE


def test_stopping_the_demo_stops_nb2service_and_its_kernels():
    # a demo of its own: the session's serves the other tests (its nb2service starts, runs nothing)
    server = demo.start(ontology=SHARED_ONTOLOGY)
    service = server.workflows["optical_photometry"].service
    service.ensure_started()
    pid = service._proc.pid
    scratch = service._scratch
    server.stop()
    assert not service.running
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert not scratch.exists()
