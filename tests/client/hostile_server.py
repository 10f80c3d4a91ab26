"""A loopback HTTP server that misbehaves on purpose, written on raw sockets.

Each path gets a scripted behaviour (a function of the connection and the parsed request): answers
trickled a byte at a time, bodies of hundreds of MB, broken gzip, redirects anywhere, whatever JSON
a test wants. Requests are recorded in ``seen`` (method, path, query, body) so a test can check
what the client sent — a token it should not have, for instance. Binds 127.0.0.1 on a free port;
every connection gets its own daemon thread; ``stop()`` ends them all.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("latin-1"), keep_blank_values=True)


Behaviour = Callable[["Connection", Request], None]


class Connection:
    """The server side of one client connection, with helpers to answer (or not)."""

    def __init__(self, server: HostileServer, sock: socket.socket):
        self.server = server
        self.sock = sock

    def send(self, data: bytes) -> bool:
        """False once the client has gone (or the server is stopping)."""
        if self.server.stopping.is_set():
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        head = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
        self.send(_head(status, head) + body)

    def json(self, obj, status: int = 200) -> None:
        self.answer(status, json.dumps(obj).encode())

    def trickle(self, data: bytes, every: float = 1.0) -> None:
        """Send ``data`` one byte at a time, ``every`` seconds apart, while the client listens."""
        for i in range(len(data)):
            if not self.send(data[i : i + 1]):
                return
            if self.server.stopping.wait(every):
                return


def _head(status: int, headers: dict[str, str]) -> bytes:
    # one request per connection: the client must not reuse it
    headers = {**headers, "Connection": "close"}
    lines = [f"HTTP/1.1 {status} Whatever"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- behaviours ------------------------------------------------------------------------------------


def trickled_body(every: float = 1.0) -> Behaviour:
    """Headers at once (announcing a 1 MB JSON body), then the body a byte every ``every`` s."""

    def act(conn: Connection, _req: Request) -> None:
        conn.send(_head(200, {"Content-Type": "application/json", "Content-Length": str(1 << 20)}))
        conn.trickle(b'["' + b"x" * ((1 << 20) - 4) + b'"]', every)

    return act


def trickled_headers(every: float = 1.0) -> Behaviour:
    """The status line and headers themselves a byte every ``every`` s."""

    def act(conn: Connection, _req: Request) -> None:
        conn.trickle(_head(200, {"Content-Type": "application/json", "Content-Length": "2"}) + b"[]", every)

    return act


def huge_body(size: int, *, announce: bool) -> Behaviour:
    """A JSON list of ``size`` bytes sent as fast as the client reads; its length announced in
    Content-Length, or not (chunked, as a streaming server would)."""

    def act(conn: Connection, _req: Request) -> None:
        block = b'"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' * 800
        if announce:
            conn.send(_head(200, {"Content-Type": "application/json", "Content-Length": str(size)}) + b"[")
            sent = 1
            while sent < size:
                part = block[: size - sent]
                if not conn.send(part):
                    return
                sent += len(part)
            return
        conn.send(_head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
        sent = 0
        while sent < size:
            if not conn.send(f"{len(block):x}\r\n".encode() + block + b"\r\n"):
                return
            sent += len(block)
        conn.send(b"0\r\n\r\n")

    return act


def raw(data: bytes) -> Behaviour:
    """Exactly these bytes, then the connection closes."""

    def act(conn: Connection, _req: Request) -> None:
        conn.send(data)

    return act


def redirect(location: str, status: int = 302) -> Behaviour:
    def act(conn: Connection, _req: Request) -> None:
        conn.answer(status, b"", {"Location": location, "Content-Type": "text/html"})

    return act


def json_answer(obj, status: int = 200) -> Behaviour:
    def act(conn: Connection, _req: Request) -> None:
        conn.json(obj, status)

    return act


# -- the server ------------------------------------------------------------------------------------


class HostileServer:
    def __init__(self):
        self.routes: dict[str, Behaviour] = {}
        self.seen: list[Request] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)  # the accept loop looks at `stopping` this often
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="hostile-server", daemon=True)
        self._thread.start()

    def route(self, path: str, behaviour: Behaviour) -> HostileServer:
        self.routes[path] = behaviour
        return self

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.seen if r.path == path]

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            with self._lock:
                self._conns.append(sock)
            threading.Thread(target=self._serve, args=(sock,), name="hostile-conn", daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        conn = Connection(self, sock)
        try:
            sock.settimeout(30)
            while not self.stopping.is_set():
                request = self._read_request(sock)
                if request is None:
                    return
                with self._lock:
                    self.seen.append(request)
                behaviour = self.routes.get(request.path)
                if behaviour is None:
                    conn.answer(404, b'{"error": "no such route"}')
                else:
                    behaviour(conn, request)
                    return  # one request per connection: behaviours may leave it in any state
        except OSError:
            return
        finally:
            try:
                sock.close()
            except OSError:
                pass

    @staticmethod
    def _read_request(sock: socket.socket) -> Request | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        parts = urlsplit(target)
        return Request(method, parts.path, parse_qs(parts.query, keep_blank_values=True), headers, rest)

    def stop(self) -> None:
        self.stopping.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def within(seconds: float, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a thread; its result or exception — or AssertionError if it is
    still running after ``seconds`` (so a test of a hang fails instead of hanging)."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    t0 = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"{getattr(fn, '__name__', fn)} still running after {seconds} s")
    box["elapsed"] = time.monotonic() - t0
    if "error" in box:
        raise box["error"]
    return box["value"]
