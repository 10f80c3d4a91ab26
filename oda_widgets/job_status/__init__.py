"""Following dispatcher jobs in a notebook: ``JobStatus`` (one job), ``JobBoard`` (all of them),
the resume store and the non-blocking poller behind both."""

from oda_widgets.job_status.board import JobBoard
from oda_widgets.job_status.poller import Poller, Watch, default_poller
from oda_widgets.job_status.store import JobStore, default_cache_dir
from oda_widgets.job_status.widget import NO_CANCEL, STATE_COLOURS, JobStatus

__all__ = [
    "JobStatus",
    "JobBoard",
    "JobStore",
    "Poller",
    "Watch",
    "default_poller",
    "default_cache_dir",
    "STATE_COLOURS",
    "NO_CANCEL",
]
