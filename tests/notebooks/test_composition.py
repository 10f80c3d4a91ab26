"""The widgets compose through what they publish — QueryForm.job, CatalogTable.follow_up_job,
and the Explorer only observes those (demo dispatcher). LightCurveView.selected_interval: tests/light_curve."""

from __future__ import annotations

import pytest

from oda_widgets import demo
from oda_widgets.catalog import CatalogTable
from oda_widgets.client import Dispatcher, Job
from oda_widgets.form import QueryForm


@pytest.fixture
def disp(demo_dispatcher):
    return Dispatcher(demo_dispatcher, token=demo.make_token(email="composition@example.org"))


def test_the_form_publishes_each_submitted_job(disp):
    form = QueryForm(disp, "spi_acs", "spi_acs_lc", show_job=False)
    seen, called = [], []
    form.observe(lambda change: seen.append(change["new"]), "job")
    form.on_submit(called.append)
    job = form.submit()
    assert isinstance(job, Job) and form.job is job and seen == [job] and called == [job]
    assert form.job_area.layout.display == "none" and form.job_area.children == ()


def test_the_catalog_table_publishes_its_follow_up_jobs(disp):
    image_job = disp.submit("isgri", "isgri_image", {"E1_keV": 25.0, "E2_keV": 80.0})
    image_job.poll_initial = 0.1
    table = CatalogTable(image_job.wait(timeout=120), dispatcher=disp).set_min_significance(0)
    seen = []
    table.observe(lambda change: seen.append(change["new"]), "follow_up_job")
    lc_job = table.light_curves_for_selected(submit=False)
    assert seen == [lc_job] and table.follow_up_job is lc_job and table.last_job is lc_job
    assert lc_job.product == "isgri_lc" and lc_job.state.value == "new"
    assert lc_job.params["selected_catalog"] == table.selected_catalog


def test_the_explorer_adopts_published_jobs(demo_dispatcher):
    from oda_widgets import Explorer

    ex = Explorer(
        Dispatcher(demo_dispatcher, token=demo.make_token()), instrument="spi_acs", product="spi_acs_lc"
    )
    try:
        job = ex.form.submit()  # the form's own method, not the Explorer's: the Explorer still hears of it
        assert ex.jobs == [job] and ex.board.statuses[0].job is job
        ex.form.submit_button.click()  # the button: one more job, adopted once
        assert len(ex.jobs) == 2 and ex.jobs[1] is ex.form.job
    finally:
        ex.close()
