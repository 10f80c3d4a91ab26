"""The resume store: where it lives, atomic writes, no token, concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import astropy.units as u
import pytest
from astropy.time import Time
from peers import real_token

from oda_widgets.client import Dispatcher, Job, JobState
from oda_widgets.job_status import JobStore, default_cache_dir
from oda_widgets.job_status.store import job_key


def make_job(url="http://127.0.0.1:9", **params):
    token = real_token()
    disp = Dispatcher(url, token=token)
    job = Job(
        disp, "isgri", "isgri_image", {"E1_keV": 28.0, **params}, job_id="abc123", state=JobState.SUBMITTED
    )
    return job, token


def test_cache_dir_follows_env_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("ODA_WIDGETS_CACHE_DIR", str(tmp_path / "a"))
    assert default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("ODA_WIDGETS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "oda-widgets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "oda-widgets"


def test_save_round_trip_without_token(cache_dir):
    job, token = make_job(T1=Time("2020-01-01T00:00:00", scale="utc"), radius=3 * u.deg)
    store = JobStore()
    assert store.path == cache_dir / "jobs.json"
    entry = store.save(job)
    text = store.path.read_text()
    assert token not in text and "token" not in entry["params"]
    (stored,) = store.entries()
    assert stored["job_id"] == "abc123" and stored["session_id"] == job.session_id
    assert stored["url"] == "http://127.0.0.1:9" and stored["state"] == "submitted"
    # values JSON cannot hold are stored as they travel on the wire
    assert stored["params"]["T1"].startswith("2020-01-01T00:00:00") and stored["params"]["E1_keV"] == 28.0
    again = Job.from_dict(stored, Dispatcher(stored["url"], token=token))
    assert again.job_id == job.job_id and again.state is JobState.SUBMITTED

    job.state = JobState.DONE
    store.save(job)
    (updated,) = store.entries()
    assert updated["state"] == "done" and updated["first_saved_at"] == stored["first_saved_at"]
    assert store.forget(job) and store.entries() == [] and not store.forget(job)
    assert not list(cache_dir.glob(".jobs-*"))  # no temporary files left behind


def test_corrupt_store_is_ignored_and_replaced(cache_dir):
    cache_dir.mkdir()
    (cache_dir / "jobs.json").write_text("{not json")
    store = JobStore()
    assert store.entries() == []
    job, _ = make_job()
    store.save(job)
    assert json.loads((cache_dir / "jobs.json").read_text())["jobs"][job_key(job)]["job_id"] == "abc123"


def test_threads_and_processes_write_without_losing_entries(cache_dir):
    store = JobStore()
    jobs = [make_job(p=i)[0] for i in range(20)]
    threads = [threading.Thread(target=store.save, args=(j,)) for j in jobs]
    code = (
        "from oda_widgets.client import Dispatcher, Job\n"
        "from oda_widgets.job_status import JobStore\n"
        "s = JobStore()\n"
        "for i in range(10):\n"
        "    s.save(Job(Dispatcher('http://127.0.0.1:9', token=''), 'spi_acs', 'spi_acs_lc', {'i': i}, "
        "job_id=f'p{i}', state='submitted'))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert proc.wait(60) == 0
    entries = JobStore().entries()
    assert len(entries) == 30
    assert {e["job_id"] for e in entries} >= {f"p{i}" for i in range(10)}


def test_unwritable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = JobStore(blocker / "sub")
    job, _ = make_job()
    from oda_widgets.errors import OdaError

    with pytest.raises(OdaError, match="Cannot create the job store directory"):
        store.save(job)


def test_store_drops_oldest_finished_jobs_first(cache_dir):
    store = JobStore(max_entries=3)
    running, _ = make_job(n=0)
    store.save(running)
    done = []
    for i in range(1, 5):
        job, _ = make_job(n=i)
        job.state = JobState.DONE
        store.save(job)
        done.append(job)
    kept = {e["session_id"] for e in store.entries()}
    assert kept == {running.session_id, done[-2].session_id, done[-1].session_id}


def test_a_store_that_cannot_be_written_raises_a_readable_error(tmp_path):
    from oda_widgets.errors import OdaError

    blocker = tmp_path / "cache"
    blocker.write_text("x")  # a file where the folder should be
    store = JobStore(blocker / "sub")
    job, _ = make_job()
    with pytest.raises(OdaError, match="job store"):
        store.save(job)
