"""A small HTTP proxy that puts faults between our client and a real dispatcher.

It listens on 127.0.0.1 (a free port) in a thread and forwards every request to ``upstream``,
unless the schedule says otherwise for that request:

* ``"pass"`` — forward (the default once the schedule is used up),
* ``"drop"`` — close the connection without answering,
* ``502`` / ``503`` / ``504`` (any int) — answer that status with a proxy-like HTML page,
* ``("delay", seconds)`` — wait, then forward (client time-outs),
* ``("redirect", location)`` — answer 302 to ``location``.

``down = True`` makes every request fail with 503 (a dispatcher that stays away). Every request
is recorded in ``log`` as ``Seen(method, path, params, action)`` with the parameters decoded from
the query string or the form body, so tests can check what the client really sent.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, list[str]]
    action: Any
    #: the parameters that came in the URL's query string (the rest came in a form body)
    query: dict[str, list[str]] | None = None


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.schedule: deque = deque()
        self.down = False
        self.log: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()

    def plan(self, *actions: Any) -> FaultProxy:
        """Queue actions for the next requests, in order."""
        with self._lock:
            self.schedule.extend(actions)
        return self

    def _next_action(self) -> Any:
        with self._lock:
            if self.down:
                return 503
            return self.schedule.popleft() if self.schedule else "pass"

    def seen(self, path: str = "/run_analysis") -> list[Seen]:
        """The recorded requests for ``path``."""
        with self._lock:
            return [s for s in self.log if s.path == path]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _handler_for(proxy: FaultProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            params = parse_qs(parts.query, keep_blank_values=True)
            query = {k: list(v) for k, v in params.items()}
            if body and "form-urlencoded" in (self.headers.get("Content-Type") or ""):
                for k, v in parse_qs(body.decode(), keep_blank_values=True).items():
                    params.setdefault(k, []).extend(v)
            action = proxy._next_action()
            with proxy._lock:
                proxy.log.append(Seen(self.command, parts.path, params, action, query))
                proxy.in_flight += 1
                proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
            try:
                self._act(action, body)
            finally:
                with proxy._lock:
                    proxy.in_flight -= 1

        def _act(self, action, body):
            if action == "drop":
                self.close_connection = True
                return
            if isinstance(action, int):
                page = f"<html><head><title>{action} Proxy Error</title></head><body><h1>{action}</h1></body></html>"
                self._reply(action, page.encode(), "text/html")
                return
            if isinstance(action, tuple) and action[0] == "redirect":
                self._reply(302, b"", "text/html", location=action[1])
                return
            if isinstance(action, tuple) and action[0] == "delay":
                time.sleep(action[1])
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
            resp = requests.request(
                self.command,
                proxy.upstream + self.path,
                data=body or None,
                headers=headers,
                allow_redirects=False,
                timeout=60,
            )
            self._reply(
                resp.status_code,
                resp.content,
                resp.headers.get("Content-Type", ""),
                location=resp.headers.get("Location"),
            )

        def _reply(self, status, content, content_type, location=None):
            try:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (its time-out was shorter than our delay): nothing to answer.
                self.close_connection = True

        do_GET = do_POST = _handle

    return Handler
