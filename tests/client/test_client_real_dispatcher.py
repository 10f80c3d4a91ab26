"""Our client against the real dispatcher (cdci-data-analysis 1.3.3) and its dummy instruments."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from client_helpers import fresh_p, real_token

from oda_widgets.client import (
    AnalysisFailed,
    Dispatcher,
    Job,
    JobState,
    Redirected,
    RequestNotUnderstood,
    ServerError,
    Unauthorized,
)
from oda_widgets.client.token import JWT_PATTERN, REDACTED

pytestmark = pytest.mark.real_dispatcher


@pytest.fixture
def disp(real_dispatcher, token):
    return Dispatcher(real_dispatcher.url, token=token)


@pytest.fixture
def via_proxy(proxy, token):
    return Dispatcher(proxy.url, token=token)


@pytest.fixture
def backend(real_dispatcher):
    """The empty-async backend, reset to "submitted" before and after the test."""
    real_dispatcher.set_backend_state(None)
    yield real_dispatcher
    real_dispatcher.set_backend_state(None)


# -- instruments and descriptions ---------------------------------------------------------------
def test_instruments(via_proxy, proxy, token):
    assert via_proxy.instruments() == ["empty", "empty-async", "empty-semi-async"]
    (seen,) = proxy.seen("/api/instr-list")
    assert seen.params["token"] == [token]


def test_instruments_follows_a_redirect_like_newer_dispatchers(via_proxy, proxy, real_dispatcher):
    # 1.3.6+ answers /api/instr-list with a 302 to /instr-list on the same host: followed for GETs
    # (a redirect to another host is not: tests/client/test_transport_hostile.py).
    proxy.plan(("redirect", proxy.url + "/api/instr-list?instrument=mock"))
    assert "empty-async" in via_proxy.instruments()


def test_par_names(disp):
    names = disp.par_names("empty", "numerical")
    assert names[:3] == ["src_name", "RA", "DEC"] and "p" in names


def test_description_of_the_legacy_format(disp):
    description = disp.description("empty", "numerical")
    p = description.product("numerical").parameter("p")
    assert p.default == 10.0 and p.units == "W"


def test_unknown_product_is_a_server_error_with_a_hint(disp):
    with pytest.raises(ServerError) as err:
        disp.par_names("empty", "nonexistent")
    assert err.value.status_code == 500 and "<" not in str(err.value)
    with pytest.raises(ServerError) as err:
        disp.description("empty", "nonexistent")
    assert "has no product 'nonexistent'" in str(err.value)


def test_unknown_instrument(disp):
    with pytest.raises(RequestNotUnderstood) as err:
        disp.submit("nope", "dummy", {}, query_type="Dummy")
    assert err.value.parameter == "instrument"
    assert "known" in str(err.value)


def test_resolver_reserved_to_a_role(disp):
    with pytest.raises(Unauthorized) as err:
        disp.resolve("Crab")
    assert err.value.missing_roles == ["gallery contributor"]


# -- synchronous products ------------------------------------------------------------------------
def test_numerical_done_and_result(via_proxy, proxy, token):
    p = fresh_p()
    job = via_proxy.submit("empty", "numerical", {"p": p}, query_type="Dummy")
    assert job.state is JobState.DONE and job.finished
    assert job.job_id and len(job.job_id) == 16
    assert job.last_response["products"]["analysis_parameters"]["token"] == REDACTED
    # product payloads hold decoded bytes (loads_response): serialise those as a placeholder
    assert token not in json.dumps(job.last_response, default=lambda _: "<bytes>") and token not in repr(job)
    (sent,) = proxy.seen()
    # the token goes in the body, never in the URL (1.3.3 reads run_analysis forms)
    assert sent.method == "POST" and sent.params["api"] == ["True"] and "token" not in sent.query
    assert sent.params["query_status"] == ["new"] and sent.params["p"] == [repr(p)]
    products = job.result()
    assert products is job.result()  # decoded once
    ((name, product),) = products.items()
    assert name == "numerical_0"  # oda_api's naming
    assert product.hdulist[0].data.shape == (100, 100)


def test_run_analysis_for_scripts(disp, token):
    body = disp.run_analysis(
        {
            "instrument": "empty",
            "product_type": "numerical",
            "query_type": "Dummy",
            "query_status": "new",
            "p": fresh_p(),
        }
    )
    assert body["query_status"] == "done"
    assert "numpy_data_product_list" in body["products"]
    text = json.dumps(body, default=lambda _: "<bytes>")  # decoded product payloads
    assert token not in text and not JWT_PATTERN.search(text)


def test_failing_is_analysis_failed(disp):
    job = disp.submit("empty", "failing", {}, query_type="Dummy")
    assert job.state is JobState.FAILED
    assert isinstance(job.error, AnalysisFailed)
    with pytest.raises(AnalysisFailed) as err:
        job.wait()
    assert str(err.value) == "failing query"
    assert "product: failing failed" in err.value.error_message
    with pytest.raises(AnalysisFailed):
        disp.run_analysis(
            {"instrument": "empty", "product_type": "failing", "query_type": "Dummy", "query_status": "new"}
        )


def test_p900_names_the_parameter(disp):
    with pytest.raises(RequestNotUnderstood) as err:
        disp.submit("empty", "numerical", {"p": 900}, query_type="Dummy")
    assert err.value.parameter == "p"
    assert "800" in str(err.value)


def test_p55_needs_a_role(disp, real_dispatcher):
    with pytest.raises(Unauthorized) as err:
        disp.submit("empty", "numerical", {"p": 55}, query_type="Dummy")
    assert err.value.missing_roles == ["unige-hpc-full"]
    assert "unige-hpc-full" in str(err.value)
    strong = Dispatcher(real_dispatcher.url, token=real_token(roles="general, unige-hpc-full"))
    assert strong.submit("empty", "numerical", {"p": 56}, query_type="Dummy").state is JobState.DONE


def test_numerical_without_token_is_a_clear_error(real_dispatcher):
    public = Dispatcher(real_dispatcher.url, token="")
    with pytest.raises(Unauthorized) as err:
        public.submit("empty", "numerical", {"p": fresh_p()}, query_type="Dummy")
    assert err.value.missing_roles == ["general"]
    assert "You sent no token" in str(err.value)


def test_long_parameters_go_as_post(via_proxy, proxy):
    note = "x" * 1500
    job = via_proxy.submit("empty", "numerical", {"p": fresh_p(), "note": note}, query_type="Dummy")
    assert job.state is JobState.DONE
    (sent,) = proxy.seen()
    assert sent.method == "POST" and sent.params["note"] == [note]
    assert sent.params["query_status"] == ["new"] and sent.params["api"] == ["True"]


def test_redirect_of_run_analysis_is_reported(via_proxy, proxy):
    proxy.plan(("redirect", "https://moved.example.org/dispatch-data/run_analysis?x=1"))
    with pytest.raises(Redirected) as err:
        via_proxy.submit("empty", "numerical", {"p": fresh_p()}, query_type="Dummy")
    assert err.value.location.startswith("https://moved.example.org/")
    assert "Dispatcher('https://moved.example.org/dispatch-data')" in str(err.value)


# -- the asynchronous state machine ---------------------------------------------------------------
def test_async_lifecycle(via_proxy, proxy, backend, token):
    job = via_proxy.submit("empty-async", "numerical", {"p": fresh_p()})
    seen_states = []
    job.observe(lambda j: seen_states.append(j.state))
    assert job.state is JobState.SUBMITTED and job.job_id
    assert job.poll() is JobState.SUBMITTED
    assert job.next_delay() == pytest.approx(1.2)  # one quiet poll: 1 s × 1.2

    backend.call_back(job.job_id, job.session_id, "progress", message="progressing", node_id="node_1")
    assert job.poll() is JobState.PROGRESS
    assert job.progress.nodes == ["node_1"] and job.progress.last_message == "progressing"
    assert job.next_delay() == pytest.approx(1.0)  # a change resets the back-off

    backend.set_backend_state("done")
    backend.call_back(job.job_id, job.session_id, "done", message="done", node_id="node_2")
    assert job.poll() is JobState.READY and not job.finished
    assert job.poll() is JobState.DONE
    assert job.comment == "mock comment"
    assert seen_states == [JobState.PROGRESS, JobState.READY, JobState.DONE]

    sent = proxy.seen()
    assert [s.params["query_status"][0] for s in sent] == [
        "new",
        "submitted",
        "submitted",
        "progress",
        "ready",
    ]
    for s in sent[1:]:
        assert s.params["job_id"] == [job.job_id]
        assert s.params["session_id"] == [job.session_id]
        assert s.params["token"] == [token]
        assert s.params["p"] == sent[0].params["p"]
    assert "job_id" not in sent[0].params
    assert "state=done" in repr(job) and job.job_id in repr(job)


def test_async_failure(disp, backend):
    job = disp.submit("empty-async", "numerical", {"p": fresh_p()})
    backend.set_backend_state("failed")
    backend.call_back(job.job_id, job.session_id, "failed", message="failing", node_id="node_f")
    assert job.poll() is JobState.FAILED
    assert isinstance(job.error, AnalysisFailed)
    with pytest.raises(AnalysisFailed):
        job.result()


def test_integral_progress_from_callbacks(disp, backend):
    job = disp.submit("empty-async", "dummy", {"p": fresh_p()})
    scw = ["066500220010.001", "066500230010.001", "066500240010.001"]
    for s, message in (
        (scw[0], "main starting"),
        (scw[0], "main done"),
        (scw[1], "restored from cache"),
        (scw[2], "main starting"),
        (scw[2], "analysis exception"),
    ):
        backend.call_back(
            job.job_id, job.session_id, "progress", node="ii_skyimage", scwid=s, message=message
        )
    backend.call_back(
        job.job_id,
        job.session_id,
        "progress",
        node="ii_mosaic",
        scwid="inapplicable",
        message="main starting",
    )
    job.poll()
    progress = job.progress
    assert (progress.scw_total, progress.scw_done, progress.scw_cached, progress.scw_failed) == (3, 1, 1, 1)
    assert progress.nodes == ["ii_skyimage", "ii_mosaic"]
    assert progress.fraction == pytest.approx(1.0)
    assert progress.last_message == "main starting"
    assert "3/3 science windows" in progress.summary and "1 failed" in progress.summary


def test_nb2workflow_progress_from_callbacks(disp, backend):
    job = disp.submit("empty-async", "dummy", {"p": fresh_p()})
    backend.call_back(
        job.job_id,
        job.session_id,
        "progress",
        stage="simulation",
        progress="3",
        progress_max="10",
        message="simulating",
    )
    job.poll()
    assert job.progress.stage == "simulation"
    assert job.progress.fraction == pytest.approx(0.3)
    assert "3/10" in job.progress.summary


def test_await_job_drives_to_done(disp, backend, run_async):
    job = disp.submit("empty-async", "numerical", {"p": fresh_p()})
    job.poll_initial = 0.1

    def backend_finishes():
        time.sleep(0.5)
        backend.call_back(job.job_id, job.session_id, "progress", message="progressing", node_id="n1")
        time.sleep(0.5)
        backend.set_backend_state("done")
        backend.call_back(job.job_id, job.session_id, "done", message="done", node_id="n2")

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        tick = asyncio.create_task(ticker())
        products = await asyncio.wait_for(job, timeout=60)
        tick.cancel()
        return products, ticks

    threading.Thread(target=backend_finishes, daemon=True).start()
    products, ticks = run_async(main())
    assert job.state is JobState.DONE and products is not None
    assert ticks >= 10  # the event loop kept running while the job was followed


def test_wait_times_out_and_resumes(disp, backend):
    job = disp.submit("empty-async", "numerical", {"p": fresh_p()})
    job.poll_initial = 0.1
    from oda_widgets.client import WaitTimeout

    with pytest.raises(WaitTimeout) as err:
        job.wait(timeout=0.5)
    assert "still submitted" in str(err.value) and job.job_id in str(err.value)
    backend.set_backend_state("done")
    backend.call_back(job.job_id, job.session_id, "done", message="done", node_id="n2")
    job.wait(timeout=30)
    assert job.state is JobState.DONE


def test_resume_from_saved_dict(real_dispatcher, backend, token):
    first = Dispatcher(real_dispatcher.url, token=token)
    job = first.submit("empty-async", "numerical", {"p": fresh_p()})
    saved = json.dumps(job.to_dict())
    assert token not in saved and not JWT_PATTERN.search(saved)
    backend.set_backend_state("done")
    backend.call_back(job.job_id, job.session_id, "done", message="done", node_id="n2")

    again = Job.from_dict(json.loads(saved), Dispatcher(real_dispatcher.url, token=token))
    assert (again.job_id, again.session_id, again.state) == (job.job_id, job.session_id, JobState.SUBMITTED)
    again.poll_initial = 0.1
    again.wait(timeout=30)
    assert again.state is JobState.DONE

    assert again.result() is not None


def test_products_of_a_restored_done_job_are_fetched_again(real_dispatcher, token):
    first = Dispatcher(real_dispatcher.url, token=token)
    job = first.submit("empty", "numerical", {"p": fresh_p()}, query_type="Dummy")
    assert job.state is JobState.DONE
    done = Job.from_dict(json.loads(json.dumps(job.to_dict())), Dispatcher(real_dispatcher.url, token=token))
    assert done.state is JobState.DONE and done.last_response is None
    products = done.result()  # one more request: query_status=ready
    assert len(list(products.items())) == 1
    assert done.last_response["products"]["job_id"] == job.job_id


def test_polls_from_threads_are_serialised(via_proxy, proxy, backend):
    job = via_proxy.submit("empty-async", "numerical", {"p": fresh_p()})
    proxy.plan(*[("delay", 0.2)] * 4)
    threads = [threading.Thread(target=job.poll) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(proxy.seen()) == 5 and proxy.max_in_flight == 1
    assert job.polls == 5 and job.state is JobState.SUBMITTED


def test_another_users_token_cannot_follow_the_job_but_the_owner_can(real_dispatcher, backend, token):
    job = Dispatcher(real_dispatcher.url, token=token).submit("empty-async", "numerical", {"p": fresh_p()})
    saved = job.to_dict()
    stranger = Job.from_dict(saved, Dispatcher(real_dispatcher.url, token=real_token(sub="eve@example.org")))
    with pytest.raises(Unauthorized) as err:
        stranger.poll()
    assert "belongs to another user" in str(err.value) and job.job_id in str(err.value)
    assert stranger.state is JobState.SUBMITTED and stranger.error is None  # still resumable
    owner = Job.from_dict(saved, Dispatcher(real_dispatcher.url, token=token))
    assert owner.poll() is JobState.SUBMITTED
