"""JobStatus in a real JupyterLab: the notebook stays free while a job polls, the bar moves,
and a finished job offers its results."""

from __future__ import annotations

import re
import time

import pytest
from helpers import cell_outputs_text, open_and_run, page_errors, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

START_JOB = """\
import time, warnings
warnings.filterwarnings("ignore")
from oda_widgets import demo
from oda_widgets.client import Dispatcher
from oda_widgets.job_status import JobStatus
server = demo.start(speed=0.5)
disp = Dispatcher(server.url, token=demo.make_token())
job = disp.submit("isgri", "isgri_image", {"T1": "2017-03-06T00:00:00", "T2": "2017-03-09T00:00:00"})
job.poll_initial, job.poll_cap = 0.3, 0.6
status = JobStatus(job)
t_first = time.time()
status
"""

NEXT_CELL = """\
print(f"second cell ran {time.time() - t_first:.3f} s after the first; job {status.state}")
"""

BAR_WIDTH = """() => {
  const bar = document.querySelector('.oda-job-bar .progress-bar');
  return bar ? parseFloat(bar.style.width || '0') : -1;
}"""


def test_job_status_polls_while_the_notebook_stays_free(page: Page, jupyter_server, make_notebook):
    errors = page_errors(page)
    nb = make_notebook(START_JOB, NEXT_CELL, name="job-status")
    open_and_run(page, jupyter_server, nb)

    widget = page.locator(".oda-job-status")
    expect(widget).to_be_visible(timeout=60_000)
    # The next cell ran while the job was still polling, right after the first returned.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some(n => n.innerText.includes('second cell ran'))",
        timeout=30_000,
    )
    shown_at = time.monotonic()
    text = next(t for t in cell_outputs_text(page) if "second cell ran" in t)
    gap = float(re.search(r"second cell ran ([\d.]+) s", text).group(1))
    assert gap < 1.0, text
    assert re.search(r"job (new|submitted|progress)\b", text), text
    state = page.locator(".oda-job-status .oda-job-state")
    expect(state).not_to_have_text("done")

    # The progress bar moves while the job runs.
    widths = [page.evaluate(BAR_WIDTH)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(set(widths)) < 3 and widths[-1] < 100:
        page.wait_for_timeout(300)
        widths.append(page.evaluate(BAR_WIDTH))
    assert len(set(widths)) >= 2 and widths[-1] > widths[0], widths
    screenshot(page, "job-status-running")

    # Done: the state turns green and the results button appears; clicking it shows products.
    expect(state).to_have_text("done", timeout=90_000)
    button = page.locator(".oda-job-show-results")
    expect(button).to_be_visible(timeout=10_000)
    expect(page.locator(".oda-job-status .oda-scw")).to_be_visible()
    assert page.evaluate(BAR_WIDTH) == 100
    button.click()
    expect(page.locator(".oda-job-results .oda-results")).to_be_visible(timeout=60_000)
    screenshot(page, "job-status-done-results")
    assert time.monotonic() - shown_at < 150
    errors.assert_none()
