"""Helpers for JupyterLab browser tests (use with the fixtures of ``tests/browser/conftest.py``).

Typical test::

    from helpers import kernel_eval, open_and_run, page_errors, screenshot, wait_all_executed

    def test_thing(page, jupyter_server, make_notebook):
        errors = page_errors(page)
        nb = make_notebook("from oda_widgets.x import X\\nX()")
        open_and_run(page, jupyter_server, nb)
        expect(page.get_by_test_id("x-root")).to_be_visible(timeout=60_000)
        screenshot(page, "thing")
        errors.assert_none()
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Error, Page

ROOT = Path(__file__).resolve().parents[2]
# pytest-playwright empties test-results/ when a session starts; $ODA_WIDGETS_SCREENSHOTS moves them elsewhere
SCREENSHOTS = Path(os.environ.get("ODA_WIDGETS_SCREENSHOTS", ROOT / "test-results" / "screenshots"))

#: Counts the bytes the page's WebSockets receive (``window.__wsBytes.rx``) and send (``.tx``):
#: given to ``page.add_init_script`` before the notebook opens.
WS_COUNTER = """
(() => {
  const Native = window.WebSocket;
  window.__wsBytes = { rx: 0, tx: 0 };
  const size = (d) => typeof d === 'string' ? d.length : (d.byteLength !== undefined ? d.byteLength : (d.size || 0));
  class Counted extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (ev) => { window.__wsBytes.rx += size(ev.data); });
    }
    send(data) { window.__wsBytes.tx += size(data); return super.send(data); }
  }
  window.WebSocket = Counted;
})();
"""

#: Kernel code: a demo dispatcher in the kernel, an ISGRI image job on it (``image``: its products),
#: and the mosaic/catalog widget classes imported — the start of the sky-image test notebooks.
DEMO_IMAGE_JOB = """\
from oda_widgets import demo
from oda_widgets.client import Dispatcher
from oda_widgets.catalog import CatalogTable
from oda_widgets.mosaic import MosaicView

server = demo.start(speed=50.0)
disp = Dispatcher(server.url, token=demo.make_token(email="browser@example.org"))
image_job = disp.submit("isgri", "isgri_image", {"E1_keV": 25.0, "E2_keV": 80.0})
image_job.poll_initial = 0.1
image = image_job.wait(timeout=120)"""

KERNEL_READY = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
}"""

# True once every code cell of the open notebook has an execution count and the kernel is idle again.
ALL_EXECUTED = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.widgets) return false;
  const k = w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  return w.content.widgets.every(c => c.model.type !== 'code' || !!c.model.executionCount);
}"""

# Errors we own: our Python package (tracebacks in widget output), our anywidget front ends (loaded as
# blob: ES modules by anywidget), bqplot marks, and the widget manager failing to build one of our views.
OURS = re.compile(
    r"oda[_-]widgets|anywidget|bqplot|blob:|Could not create (a )?view|"
    r"Error (creating|rendering) (widget|view)|Could not add child view|Failed to load (model|ESM)",
    re.IGNORECASE,
)


def open_and_run(
    page: Page, server: dict, notebook: str, *, timeout: float = 60_000, wait: bool = False, ui: str = "lab"
) -> None:
    """Open ``notebook`` in a fresh Lab workspace, wait for its kernel, then run all cells.

    With ``wait=True`` also wait until every code cell has executed (the kernel is idle again).
    ``ui="notebook"`` opens it in the Notebook 7 interface instead of JupyterLab.
    """
    if ui == "lab":
        page.goto(f"{server['base']}/lab/tree/{notebook}?reset&token={server['token']}")
    elif ui == "notebook":
        page.goto(f"{server['base']}/notebooks/{notebook}?token={server['token']}")
    else:
        raise ValueError(f"ui must be 'lab' or 'notebook', got {ui!r}")
    page.wait_for_function(KERNEL_READY, timeout=timeout)  # kernel started and websocket connected
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    if wait:
        wait_all_executed(page, timeout=timeout)


def wait_all_executed(page: Page, *, timeout: float = 60_000) -> None:
    """Wait until every code cell of the current notebook has run and the kernel is idle."""
    page.wait_for_function(ALL_EXECUTED, timeout=timeout)


def cell_outputs_text(page: Page) -> list[str]:
    """Text of each code cell's outputs in the current notebook, in order: what the kernel sent
    (printed text, plain-text results, errors with their traceback) from the notebook model, then
    what the output area shows (widgets' text). Lab 4 does not render cells scrolled out of view,
    so the model is what holds the printed lines of every cell."""
    return page.evaluate("""() => {
      const w = window.jupyterapp.shell.currentWidget;
      const sent = (o) => {
        if (o.output_type === 'stream') return [].concat(o.text).join('');
        if (o.output_type === 'error') return 'Traceback ' + o.ename + ': ' + o.evalue + '\\n' + (o.traceback || []).join('\\n');
        const plain = o.data && o.data['text/plain'];
        return plain ? [].concat(plain).join('') : '';
      };
      return w.content.widgets.filter(c => c.model.type === 'code').map(c => {
        const model = c.model.outputs.toJSON().map(sent).join('\\n');
        const shown = (c.outputArea && c.outputArea.node) ? c.outputArea.node.innerText : '';
        return model + '\\n' + shown;
      });
    }""")


KERNEL_EVAL = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const out = [];
  const future = k.requestExecute({code, silent: false, store_history: false});
  future.onIOPub = (msg) => {
    const c = msg.content;
    if (msg.header.msg_type === 'stream') out.push(c.text);
    else if (msg.header.msg_type === 'execute_result') out.push(c.data['text/plain']);
    else if (msg.header.msg_type === 'error') out.push('ERROR ' + c.ename + ': ' + c.evalue);
  };
  await future.done;
  return out.join('');
}"""


def kernel_eval(page: Page, code: str) -> str:
    """Run ``code`` in the open notebook's kernel (no cell) and return what it printed/returned.

    Lets a test check the Python side after a UI action, e.g.
    ``kernel_eval(page, "print(len(explorer.jobs))")``. A Python exception comes back as
    ``"ERROR <name>: <message>"``.
    """
    return page.evaluate(KERNEL_EVAL, code)


# bqplot logs this when it lays out a figure whose cell Lab 4 has taken out of the page (its
# windowed notebook detaches cells scrolled out of view): a 0×0 figure minus its margins. The
# figure lays itself out again when the cell comes back; the tests that allow it check that.
BQPLOT_DETACHED_LAYOUT = re.compile(r"<rect> attribute (width|height): A negative value is not valid")


@dataclass
class PageErrors:
    """Console errors and uncaught page errors of one page that concern our widgets."""

    page: Page
    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    allow_detached_layout: bool = False

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        loc = msg.location or {}
        text = f"console.error: {msg.text} @ {loc.get('url', '')}"
        ours = OURS.search(text) and not (self.allow_detached_layout and BQPLOT_DETACHED_LAYOUT.search(text))
        (self.errors if ours else self.ignored).append(text)

    def _on_pageerror(self, err: Error) -> None:
        text = f"pageerror: {err.message}\n{err.stack or ''}"
        (self.errors if OURS.search(text) else self.ignored).append(text)

    def assert_none(self) -> None:
        """Fail with every collected error of ours (Lab's own noise is kept in ``ignored``)."""
        assert not self.errors, "browser errors from our widgets:\n" + "\n".join(self.errors)


def page_errors(page: Page, *, allow_detached_layout: bool = False) -> PageErrors:
    """Start collecting console/page errors of ``page``; call ``.assert_none()`` at the end of the test.

    ``allow_detached_layout``: bqplot's complaint about figures laid out while Lab has their cell
    out of the page is not counted (see ``BQPLOT_DETACHED_LAYOUT``)."""
    collector = PageErrors(page, allow_detached_layout=allow_detached_layout)
    page.on("console", collector._on_console)
    page.on("pageerror", collector._on_pageerror)
    return collector


def screenshot(page: Page, name: str, **kwargs) -> Path:
    """Save a PNG of the page as ``test-results/screenshots/<name>.png`` (or under
    ``$ODA_WIDGETS_SCREENSHOTS``); returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    return path


def element_screenshot(locator, name: str) -> Path:
    """Save a PNG of one element (scrolled into view) as ``<SCREENSHOTS>/<name>.png``; returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    return path


def lab_api(server: dict, method: str, path: str):
    """One authenticated request to the Lab server's REST API; the decoded JSON (or None)."""
    req = urllib.request.Request(
        server["base"] + path, method=method, headers={"Authorization": f"token {server['token']}"}
    )
    with urllib.request.urlopen(req, timeout=15) as r:
        body = r.read()
    return json.loads(body) if body else None
