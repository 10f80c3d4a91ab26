"""Helpers shared by the workflow tests (imported by name; ``conftest`` names are ambiguous)."""

from __future__ import annotations

import importlib.util
import json
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

# tests/conftest.py is imported by pytest as "conftest", a name other conftest files shadow:
# load it under its own name for the shared-data paths (it honours $ODA_WIDGETS_SHARED).
_spec = importlib.util.spec_from_file_location(
    "_root_conftest", Path(__file__).resolve().parents[1] / "conftest.py"
)
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)

SHARED: Path = _root.SHARED
CAPTURES: Path = _root.CAPTURES
NB2W_CAPTURES = CAPTURES / "nb2workflow-1.3.6"
#: The ODA ontology the tests give nb2service (offline).
SHARED_ONTOLOGY = SHARED / "nb2workflow" / "ontology.ttl"


def capture(name: str) -> Any:
    return json.loads((NB2W_CAPTURES / name).read_text())


def capture_index() -> dict:
    return capture("_index.json")


def captured_query_status(name: str) -> str:
    """The ``query_status`` the client sent in captured call ``name`` (from its URL: the
    ``params`` recorded beside it were changed after the call)."""
    entry = next(e for e in capture_index()["index"] if e["name"] == name)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(entry["url"]).query)
    return query["query_status"][0]


class _QuietHandler(WSGIRequestHandler):
    """No line per request (errors are still reported)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class ReplayServer:
    """A loopback HTTP server that answers with captured bodies: ``/instr-list`` and
    ``/api/meta-data`` from their captures, ``/run_analysis`` with the bodies queued by
    :meth:`play` in order (status from the index), recording each request's arguments."""

    def __init__(self):
        self.queue: list[tuple[int, bytes]] = []
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def play(self, sequence: str) -> list[str]:
        """Queue the captured calls ``run_analysis_<sequence>_NN``; their names, in order."""
        names = [
            e["name"] for e in capture_index()["index"] if e["name"].startswith(f"run_analysis_{sequence}_")
        ]
        names = [n for n in names if n[len(f"run_analysis_{sequence}_") :].isdigit()]
        statuses = {e["name"]: e["status"] for e in capture_index()["index"]}
        with self._lock:
            self.queue = [(statuses[n], (NB2W_CAPTURES / f"{n}.json").read_bytes()) for n in names]
            self.requests = []
        return names

    @Request.application
    def _app(self, request: Request) -> Response:
        if request.path == "/instr-list":
            return Response((NB2W_CAPTURES / "instr-list.json").read_bytes(), mimetype="application/json")
        if request.path == "/api/meta-data":
            product = request.args.get("product_type")
            name = f"meta-data_{product}.json" if product else "meta-data.json"
            return Response((NB2W_CAPTURES / name).read_bytes(), mimetype="application/json")
        if request.path == "/run_analysis":
            with self._lock:
                self.requests.append({k: request.values.get(k) for k in request.values})
                if not self.queue:
                    return Response(
                        '{"error_message": "replay exhausted"}', status=500, mimetype="application/json"
                    )
                status, body = self.queue.pop(0)
            return Response(body, status=status, mimetype="application/json")
        return Response("not found", status=404)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def shape(obj: Any) -> Any:
    """The structure of a JSON value: keys and value types, lists by the shapes of their items."""
    if isinstance(obj, dict):
        return {k: shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        shapes = []
        for item in obj:
            s = shape(item)
            if s not in shapes:
                shapes.append(s)
        return shapes
    if obj is None:
        return "null"
    return type(obj).__name__
