"""Share links both ways, checked against the frontend's and the dispatcher's own code.

* ``data/frontend_share_links.json``: links the MMODA frontend's Share button makes, produced by
  running its ``get_query_url()`` (with jQuery's ``$.param``) on real ``analysis_parameters`` (see
  the file's ``provenance``): we read every one back to the request it came from.
* The dispatcher's ``generate_products_url_from_par_dict`` (the links of its e-mails), run in the
  real dispatcher's venv: we write the same bytes for the same request.
* Job links: ``Job.from_url`` re-attaches to jobs of the demo and of the real dispatcher 1.3.3.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import zlib
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from client_helpers import real_token
from shared_data import ROOT

from oda_widgets import demo
from oda_widgets.client import Dispatcher, links
from oda_widgets.client.job import Job, JobState
from oda_widgets.client.protocol import NOT_PARAMETERS
from oda_widgets.errors import InvalidParameter, OdaError, RequestNotUnderstood, Unauthorized

FIXTURE = json.loads((Path(__file__).parent / "data" / "frontend_share_links.json").read_text())
CASES = FIXTURE["cases"]
DISPATCHER_VENV = Path(os.environ.get("ODA_DISPATCHER_VENV", ROOT / ".venv-dispatcher"))


def _same_value(text, expected) -> bool:
    """A link's text value against the JSON value it was made from."""
    if isinstance(expected, bool):
        return text.lower() == str(expected).lower()
    if isinstance(expected, (int, float)):
        return float(text) == float(expected)
    if isinstance(expected, list):
        return text == [str(e) for e in expected]
    return text == expected


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_frontends_own_links_read_back_to_their_request(case):
    link = links.read_link(case["link"])
    ap = case["analysis_parameters"]
    assert link.kind == "query" and link.job_id is None
    assert link.dispatcher_url == "https://www.astro.unige.ch/mmoda/dispatch-data"
    assert link.instrument == ap["instrument"] and link.product == ap["product_type"]
    assert link.query_type == ap["query_type"]
    expected = {
        k: v
        for k, v in ap.items()
        if k not in NOT_PARAMETERS | {"instrument", "product_type", "query_type"} and v not in (None, [], "")
    }
    assert set(link.parameters) == set(expected), case["link"]
    for key, value in expected.items():
        assert _same_value(link.parameters[key], value), (key, link.parameters[key], value)
    assert "TOKEN-REMOVED" not in case["link"] and link.token is None


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_our_link_carries_what_the_frontends_carries(case):
    ap = case["analysis_parameters"]
    ours = links.frontend_link(ap, FIXTURE["base"])
    theirs = dict(parse_qsl(urlsplit(case["link"]).query, keep_blank_values=True))
    mine = dict(parse_qsl(urlsplit(ours).query, keep_blank_values=True))
    assert ours.startswith(FIXTURE["base"] + "?")
    # the frontend writes every null as "key=" and keeps its bookkeeping; we leave both out
    shared = {k: v for k, v in theirs.items() if v != "" and k not in ("api", "query_status")}
    assert set(shared) <= set(mine)
    for key, value in shared.items():
        assert mine[key] == value or float(mine[key]) == float(value), key
    # and both read back the same (numbers written 5 or 5.0; an empty list "[]" or nothing)
    assert _plain(links.read_link(ours).par_dict) == _plain(links.read_link(case["link"]).par_dict)


def _plain(par_dict):
    out = {}
    for key, value in par_dict.items():
        if value == "[]":
            continue
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


def _dispatcher_links(cases):
    """Links the real dispatcher's own code writes: ``generate_products_url_from_par_dict``."""
    script = (
        "import json, sys\n"
        "from cdci_data_analysis.analysis.email_helper import generate_products_url_from_par_dict\n"
        "cases = json.load(sys.stdin)\n"
        "print(json.dumps([generate_products_url_from_par_dict(base, p) for base, p in cases]))\n"
    )
    python = DISPATCHER_VENV / "bin" / "python"
    assert python.exists(), f"the real dispatcher's venv is missing: {DISPATCHER_VENV}"
    out = subprocess.run(
        [str(python), "-c", script], input=json.dumps(cases), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.real_dispatcher
def test_we_write_the_dispatchers_products_url_byte_for_byte():
    from oda_widgets.client.description import parse_description
    from oda_widgets.demo.instruments import meta_data
    from oda_widgets.form import FormModel

    requests_ = []
    for instrument, product, values in [
        ("isgri", "isgri_image", {"src_name": "4U 1700+24", "T_format": "mjd", "T1": 57818.5, "T2": 57819.5}),
        ("jemx", "jemx_lc", {"scw_list": "005100410010.001, 005100420010.001", "time_bin": 250}),
        ("spi_acs", "spi_acs_lc", {"src_name": "GRB 221009A & friends", "time_bin": 0.05}),
        (
            "isgri",
            "isgri_spectrum",
            {"selected_catalog": CASES[-1]["analysis_parameters"]["selected_catalog"]},
        ),
    ]:
        model = FormModel(
            "https://www.astro.unige.ch/mmoda/dispatch-data",
            instrument,
            product,
            description=parse_description(meta_data(instrument, None)),
        )
        model.set_values(values)
        requests_.append({**model.values, "query_type": "Real"})
    base = "https://www.astro.unige.ch/mmoda/"
    # what the dispatcher is given: the request as it keeps it, use_scws as its set_use_scws adds it
    given = []
    for r in requests_:
        p = {k: v for k, v in r.items() if k not in links.NOT_IN_LINKS}
        p["use_scws"] = "form_list" if p.get("scw_list") else "no"
        given.append([base, p])
    theirs = _dispatcher_links(given)
    ours = [links.frontend_link(r, base) for r in requests_]
    assert ours == theirs
    assert "T_format=mjd" in ours[0] and "use_scws=form_list" in ours[1] and "%26+friends" in ours[2]


def test_a_link_is_read_as_the_frontend_reads_it():
    url = (
        "https://www.astro.unige.ch/mmoda/?instrument=isgri&product_type=isgri_image&src_name=A&src_name=B"
        "&scw_list=066500220010.001&scw_list=066500230010.001%2C+066500240010.001&use_scws=form_list"
        "&token=abc&session_id=S&image_scale_min=&T1=2017-03-06"
    )
    link = links.read_link(url)
    assert link.parameters["src_name"] == "B"  # a repeated key: the last wins (PHP)
    assert link.parameters["scw_list"] == ["066500220010.001", "066500230010.001", "066500240010.001"]
    assert "image_scale_min" not in link.parameters and link.parameters["T_format"] == "isot"
    assert "token" in link.dropped and "token" not in link.par_dict and link.kind == "query"
    assert "abc" not in repr(link)
    off = links.read_link(url.replace("use_scws=form_list", "use_scws=no"))
    assert "scw_list" not in off.par_dict and "scw_list" in off.dropped


def test_compressed_catalogs_errors_and_what_is_not_a_link():
    catalog = {"cat_column_names": ["src_names"], "cat_column_list": [["A"]]}
    packed = "z:" + base64.b64encode(zlib.compress(json.dumps([catalog]).encode())).decode()
    link = links.read_link(
        links.frontend_link({"instrument": "isgri", "selected_catalog": packed}, "https://x/")
    )
    assert json.loads(link.par_dict["selected_catalog"]) == catalog
    with pytest.raises(Unauthorized, match="Request not authorized"):
        links.read_link("https://x/mmoda/?error_message=Request+not+authorized&status_code=403")
    with pytest.raises(RequestNotUnderstood):
        links.read_link("https://x/mmoda/?error_message=bad&status_code=400")
    for text in (
        "https://x/mmoda/?src_name=Crab",
        "par_dict = {}",
        "https://x/dispatch-data/resolve-job-url?token=t",
    ):
        with pytest.raises(InvalidParameter):
            links.read_link(text)
    assert (
        links.frontend_base("https://www.astro.unige.ch/mmoda/dispatch-data/")
        == "https://www.astro.unige.ch/mmoda/"
    )
    assert links.frontend_base("http://127.0.0.1:8100") == "http://127.0.0.1:8100/"
    job = links.read_link(
        "https://www.astro.unige.ch/mmoda/dispatch-data/resolve-job-url?job_id=j&session_id=s&token=t"
    )
    assert job.needs_resolving and job.dispatcher_url == "https://www.astro.unige.ch/mmoda/dispatch-data"


# -- jobs from links: the demo -----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_server():
    server = demo.start(speed=50.0)
    yield server
    server.stop()


def test_a_job_comes_back_from_each_of_its_links(demo_server):
    token = demo.make_token()
    disp = Dispatcher(demo_server.url, token=token)
    job = disp.submit("isgri", "isgri_image", {"src_name": "GX 339-4", "RA": 255.7057, "DEC": -48.7897})
    job.wait(120)
    share = job.share_link()
    assert share.startswith(demo_server.url + "/?") and token not in share
    # the frontend link: the same request by the same user is the same job
    again = Job.from_url(share, disp)
    assert again.job_id == job.job_id and again.state in (JobState.DONE, JobState.READY, JobState.PROGRESS)
    # its own dispatcher, found below the page (…/dispatch-data), by a Dispatcher made from the link
    alone = Job.from_url(share, submit=False)
    assert alone.dispatcher.url == demo_server.url + "/dispatch-data" and alone.state is JobState.NEW
    # the poll URL: re-attached by its ids, no new job
    polled = Job.from_url(job.poll_link(), disp)
    assert polled.state is JobState.SUBMITTED and polled.job_id == job.job_id
    assert "token" not in job.poll_link() and polled.poll() in (JobState.DONE, JobState.READY)
    # the dispatcher's job link (its e-mails): the parameters come from the dispatcher
    resolved = Job.from_url(links.job_link(demo_server.url, job.job_id, job.session_id, token))
    assert resolved.job_id == job.job_id and resolved.session_id == job.session_id
    assert resolved.params["src_name"] == "GX 339-4" and token not in json.dumps(resolved.to_dict())
    products = resolved.wait(timeout=120)
    assert products.mosaic is not None
    # another user's token, an unknown job: the dispatcher's error, typed
    with pytest.raises(Unauthorized):
        Job.from_url(
            links.job_link(demo_server.url, job.job_id, job.session_id, demo.make_token("eve@example.org"))
        )
    with pytest.raises(OdaError, match="unable to find any record"):
        Job.from_url(links.job_link(demo_server.url, "0123456789abcdef", job.session_id, token))


# -- the real dispatcher 1.3.3 -----------------------------------------------------------------


def test_the_real_dispatchers_job_link_reattaches(real_dispatcher):
    token = real_token()
    disp = Dispatcher(real_dispatcher.url, token=token)
    job = disp.submit("empty", "numerical", {"p": 7.0}, query_type="Dummy")
    assert job.state is JobState.DONE
    link = links.job_link(real_dispatcher.url, job.job_id, job.session_id, token)
    again = Job.from_url(link)
    assert (again.instrument, again.product, again.query_type) == ("empty", "numerical", "Dummy")
    assert again.job_id == job.job_id and float(again.params["p"]) == 7.0
    assert token not in json.dumps(again.to_dict()) and token not in repr(again)
    products = again.wait(timeout=60)
    assert again.state is JobState.DONE and len(list(products.items())) > 0
    with pytest.raises(Unauthorized, match="Request not authorized"):
        Job.from_url(
            links.job_link(real_dispatcher.url, job.job_id, job.session_id, real_token(sub="eve@example.org"))
        )
    # its products URL (the frontend link it redirects to) is one we read as a query link
    form_link = Job.from_url(link).share_link("https://www.astro.unige.ch/mmoda/")
    assert links.read_link(form_link).parameters["p"] in ("7.0", 7.0)
