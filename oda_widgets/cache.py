"""Where oda-widgets keeps its small local files: the resume store of followed jobs
(:mod:`oda_widgets.job_status.store`) and the form's remembered values
(:mod:`oda_widgets.form.memory`).

``$ODA_WIDGETS_CACHE_DIR`` if set (tests, shared machines), else the user cache directory of the
platform (``platformdirs``: ``$XDG_CACHE_HOME/oda-widgets`` or ``~/.cache/oda-widgets`` on Linux,
``~/Library/Caches/oda-widgets`` on macOS, ``%LOCALAPPDATA%\\oda-widgets\\Cache`` on Windows).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

__all__ = ["cache_dir", "CACHE_DIR_ENV"]

#: Environment variable that moves every local file of oda-widgets.
CACHE_DIR_ENV = "ODA_WIDGETS_CACHE_DIR"


def cache_dir() -> Path:
    """The folder of oda-widgets' local files (see the module docstring); not created here."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(user_cache_dir("oda-widgets", appauthor=False))
