"""The real chain's captured answers (dispatcher 1.3.6 + nb2workflow plugin + nb2service) replayed
through our client: form kinds, full job sequences, the failure, the 400s mapped to their field."""

from __future__ import annotations

import pytest
from workflow_helpers import ReplayServer, capture, captured_query_status

from oda_widgets.client import Dispatcher
from oda_widgets.client.description import parse_description
from oda_widgets.client.job import Job, JobState
from oda_widgets.errors import AnalysisFailed, RequestNotUnderstood


@pytest.fixture(scope="module")
def replay():
    server = ReplayServer()
    yield server
    server.stop()


def test_form_kinds_from_the_captured_meta_data():
    desc = parse_description(capture("meta-data.json"))
    assert desc.instrument == "nb2wtest"
    assert desc.products == {"catalog": "catalog_query", "lightcurve": "lightcurve_query"}
    for product in ("lightcurve", "catalog"):
        p = desc.product(product)
        kinds = {s.name: s.kind for s in p.parameters}
        assert kinds == {
            "T1": "time",
            "T2": "time",
            "RA": "angle",
            "DEC": "angle",
            "src_name": "name",
            "E1_keV": "energy",
            "E2_keV": "energy",
            "mode": "enum",
            "with_background": "boolean",
            "n_bins": "integer",
        }
        assert p.parameter("E1_keV").min_value == 15.0 and p.parameter("E1_keV").max_value == 800.0
        assert p.parameter("n_bins").min_value == 2 and p.parameter("n_bins").max_value == 1000
        assert p.parameter("mode").allowed_values == ("accurate", "fast", "robust")
        assert p.parameter("T1").format_name == "T_format" and p.parameter("T2").format_name == "T_format"
        assert p.parameter("T1").default == "2022-10-10T00:00:00.000"
        assert p.defaults()["T_format"] == "isot"


def test_description_through_the_client(replay):
    disp = Dispatcher(replay.url)
    assert disp.instruments() == ["nb2wtest"]
    assert (
        disp.description("nb2wtest", "lightcurve").product("lightcurve").parameter("n_bins").kind == "integer"
    )


def _run(replay, sequence: str, product: str) -> tuple[Job, list[str], list[str]]:
    names = replay.play(sequence)
    job = Job(Dispatcher(replay.url), "nb2wtest", product, {"n_bins": 25})
    job.submit()
    states = [job.state.value]
    while not job.finished:
        job.poll()
        states.append(job.state.value)
    return job, states, names


@pytest.mark.parametrize(
    "sequence, product",
    [
        ("api_lightcurve", "lightcurve"),
        ("api_catalog", "catalog"),
        ("lightcurve", "lightcurve"),
        ("catalog", "catalog"),
    ],
)
def test_full_job_sequence_to_done(replay, sequence, product):
    job, states, names = _run(replay, sequence, product)
    assert states == capture("_index.json")["sequences"][sequence]
    assert states[-2:] == ["ready", "done"]
    # The client asked what the captured client asked, at every step (ready → assemble → done).
    assert [r["query_status"] for r in replay.requests] == [captured_query_status(n) for n in names]
    last = capture(f"{names[-1]}.json")
    assert job.job_id == last["job_monitor"]["job_id"]
    assert job.session_id == last["session_id"]
    if sequence.startswith("api_"):
        products = job.result()
        assert len(list(products.items())) == 2
        assert job.comment == last["exit_status"]["comment"]


@pytest.mark.parametrize("sequence", ["api_lightcurve_failing", "lightcurve_failing"])
def test_failing_notebook_is_analysis_failed_with_the_backend_message(replay, sequence):
    job, states, _ = _run(replay, sequence, "lightcurve")
    assert states[-2:] == ["ready", "failed"]
    assert job.state is JobState.FAILED
    assert isinstance(job.error, AnalysisFailed)
    assert "Backend failed. RuntimeError: n_bins=999 asks this test workflow to fail" in str(job.error)
    with pytest.raises(AnalysisFailed, match="n_bins=999 asks this test workflow to fail"):
        job.result()


@pytest.mark.parametrize(
    "sequence, field, sent",
    [
        ("catalog_nbins_out_of_range", "n_bins", {"n_bins": 5000}),
        ("catalog_bad_mode", "mode", {"mode": "bacon"}),
        ("catalog_energy_out_of_range", "E1_keV", {"E1_keV": 5.0}),
    ],
)
def test_out_of_range_values_are_mapped_to_their_field(replay, sequence, field, sent):
    replay.play(sequence)
    job = Job(Dispatcher(replay.url), "nb2wtest", "catalog", sent)
    with pytest.raises(RequestNotUnderstood) as err:
        job.submit()
    assert err.value.parameter == field
    assert str(err.value).startswith(f"Parameter {field} wrong value")
    assert err.value.status_code == 400
