"""The resume store: a small JSON file remembering the jobs you followed, so a restarted kernel
can pick them up again (``JobBoard.restore()``).

Each entry is what :meth:`oda_widgets.client.Job.to_dict` gives — dispatcher URL, instrument,
product, parameters, ``job_id``, ``session_id``, last known state — and never the token: it is
discovered again when the job is restored. The file lives in the user's cache directory,
:func:`oda_widgets.cache.cache_dir` (``$ODA_WIDGETS_CACHE_DIR`` or the platform's user cache
directory), and is replaced atomically on every write, so a crash never leaves half a file; writers
in several kernels take a lock file (``filelock``, portable) first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from oda_widgets.cache import CACHE_DIR_ENV, cache_dir
from oda_widgets.client.encoding import encode_value
from oda_widgets.errors import OdaError
from oda_widgets.redaction import redact

if TYPE_CHECKING:
    from oda_widgets.client import Job

log = logging.getLogger(__name__)

FILE_NAME = "jobs.json"
FORMAT_VERSION = 1
#: Entries kept at most; beyond it the oldest finished jobs are dropped first.
MAX_ENTRIES = 500
#: Seconds to wait for another kernel's write before giving up.
LOCK_TIMEOUT = 30.0


def default_cache_dir() -> Path:
    """Where the store lives unless told otherwise (see the module docstring)."""
    return cache_dir()


def job_key(job_or_entry: Job | dict[str, Any]) -> str:
    """The store key of a job: its dispatcher URL and session id (unique per submitted job)."""
    if isinstance(job_or_entry, dict):
        url, session = job_or_entry.get("url"), job_or_entry.get("session_id")
    else:
        url, session = job_or_entry.dispatcher.url, job_or_entry.session_id
    return f"{url}#{session}"


def _json_ready(name: str, value: Any) -> Any:
    """``value`` if JSON can hold it, else the string(s) the dispatcher would receive for it
    (astropy Time, Quantity…): resuming only needs what goes over the wire."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        wire = encode_value(name, value)
        return wire[0] if len(wire) == 1 else wire


def _prune(jobs: dict[str, dict[str, Any]], limit: int) -> None:
    """Keep the store small: drop the oldest finished jobs, then the oldest of all."""
    excess = len(jobs) - limit
    if excess <= 0:
        return
    by_age = sorted(jobs, key=lambda k: jobs[k].get("saved_at") or 0)
    finished = [k for k in by_age if jobs[k].get("state") in ("done", "failed")]
    for key in (finished + [k for k in by_age if k not in finished])[:excess]:
        del jobs[key]


class JobStore:
    """The jobs you followed, keyed by dispatcher URL and session id.

    ``save(job)`` records or updates a job, ``forget(job)`` drops it, ``entries()`` lists what is
    stored (oldest first). Safe to use from several threads and processes at once: writes take a
    lock file and replace ``jobs.json`` atomically.
    """

    def __init__(self, directory: str | os.PathLike | None = None, *, max_entries: int = MAX_ENTRIES):
        self.max_entries = int(max_entries)
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()
        self.path = self.directory / FILE_NAME
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JobStore({str(self.directory)!r}, {len(self.entries())} jobs)"

    # -- reading -------------------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        """Every stored job as a ``Job.to_dict()``-style dict (plus ``saved_at``), oldest first."""
        return sorted(self._read().values(), key=lambda e: e.get("saved_at") or 0)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise OdaError(f"Cannot read the job store {self.path}: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError:
            # A corrupt store must not stop anyone from working: start afresh, say so in the log.
            log.warning("job store %s is not valid JSON; ignoring it", self.path)
            return {}
        jobs = data.get("jobs") if isinstance(data, dict) else None
        if not isinstance(jobs, dict):
            return {}
        return {k: v for k, v in jobs.items() if isinstance(v, dict)}

    # -- writing -------------------------------------------------------------------------------
    def save(self, job: Job) -> dict[str, Any]:
        """Record ``job`` (or update its entry); returns the entry written. No token is stored."""
        entry = redact(job.to_dict(), job.token)
        params = entry.get("params") or {}
        params.pop("token", None)
        entry["params"] = {k: _json_ready(k, v) for k, v in params.items()}
        entry["saved_at"] = time.time()
        key = job_key(entry)
        with self._locked() as jobs:
            previous = jobs.get(key) or {}
            entry.setdefault("first_saved_at", previous.get("first_saved_at") or entry["saved_at"])
            jobs[key] = entry
            _prune(jobs, self.max_entries)
        return entry

    def forget(self, job_or_entry: Job | dict[str, Any]) -> bool:
        """Drop a job from the store; True if it was there."""
        key = job_key(job_or_entry)
        with self._locked() as jobs:
            return jobs.pop(key, None) is not None

    def clear(self) -> None:
        """Forget every job."""
        with self._locked() as jobs:
            jobs.clear()

    @contextlib.contextmanager
    def _locked(self):
        """Read-modify-write under a thread lock and an advisory file lock, then replace atomically."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OdaError(f"Cannot create the job store directory {self.directory}: {exc}") from None
        with self._lock:
            lock = FileLock(self.directory / (FILE_NAME + ".lock"), timeout=LOCK_TIMEOUT)
            try:
                lock.acquire()
            except Timeout:
                raise OdaError(
                    f"The job store in {self.directory} stayed locked for {LOCK_TIMEOUT:g} s "
                    "(another kernel writing?); try again."
                ) from None
            except OSError as exc:  # e.g. a read-only cache folder
                raise OdaError(f"Cannot use the job store in {self.directory}: {exc}") from None
            try:
                jobs = self._read()
                yield jobs
                try:
                    self._write(jobs)
                except OSError as exc:
                    raise OdaError(f"Cannot write the job store {self.path}: {exc}") from None
            finally:
                lock.release()

    def _write(self, jobs: dict[str, dict[str, Any]]) -> None:
        payload = json.dumps({"version": FORMAT_VERSION, "jobs": jobs}, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".jobs-", suffix=".json", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


__all__ = ["JobStore", "default_cache_dir", "job_key", "CACHE_DIR_ENV"]
