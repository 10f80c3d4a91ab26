"""Where oda-widgets keeps its local files.

**Cache** (:func:`cache_dir`): the resume store of followed jobs (:mod:`oda_widgets.job_status.store`)
and the form's remembered values (:mod:`oda_widgets.form.memory`). ``$ODA_WIDGETS_CACHE_DIR`` if set
(tests, shared machines), else the user cache directory of the platform (``platformdirs``:
``$XDG_CACHE_HOME/oda-widgets`` or ``~/.cache/oda-widgets`` on Linux, ``~/Library/Caches/oda-widgets``
on macOS, ``%LOCALAPPDATA%\\oda-widgets\\Cache`` on Windows).

**Products** (:func:`products_dir`): where the widgets save products, light curves, spectra,
catalogs and pictures. ``$ODA_WIDGETS_PRODUCTS_DIR`` if set (``scripts/start.sh`` sets it to
``oda-products/`` in the folder it was started from), else ``oda-products/`` in the working
directory — except inside this project's source tree, whose notebooks run in ``notebooks/``:
there it is ``oda-products/`` at the project's root, which ``.gitignore`` lists. What the widgets
choose themselves (``Explorer.save_products``' default and its folder bar,
``ProductCollection.save()``) is resolved inside that folder by :func:`product_path`; paths given
to a view's ``save`` are plain paths.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

__all__ = [
    "cache_dir",
    "products_dir",
    "product_path",
    "CACHE_DIR_ENV",
    "PRODUCTS_DIR_ENV",
    "PRODUCTS_FOLDER",
]

#: Environment variable that moves every local file of oda-widgets.
CACHE_DIR_ENV = "ODA_WIDGETS_CACHE_DIR"
#: Environment variable naming the folder products are saved into.
PRODUCTS_DIR_ENV = "ODA_WIDGETS_PRODUCTS_DIR"
#: Name of the default products folder.
PRODUCTS_FOLDER = "oda-products"


def cache_dir() -> Path:
    """The folder of oda-widgets' local files (see the module docstring); not created here."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(user_cache_dir("oda-widgets", appauthor=False))


def _source_tree() -> Path | None:
    """The root of the source checkout this package runs from (an editable install), or None."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / ".git").exists():
        return root
    return None


def products_dir() -> Path:
    """The folder products are saved into by default (see the module docstring); not created here."""
    explicit = os.environ.get(PRODUCTS_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser().resolve()
    here = Path.cwd().resolve()
    root = _source_tree()
    if root is not None and (here == root or root in here.parents):
        return root / PRODUCTS_FOLDER
    return here / PRODUCTS_FOLDER


def product_path(path: str | os.PathLike[str] | None = None, default: str | os.PathLike[str] = "") -> Path:
    """Where a widget writes ``path``: absolute (or ``~``) paths as given, relative ones inside
    :func:`products_dir`; None (or empty) is ``default`` inside it. Nothing is created here."""
    chosen = Path(path).expanduser() if path not in (None, "") else Path(default)
    return chosen if chosen.is_absolute() else products_dir() / chosen
