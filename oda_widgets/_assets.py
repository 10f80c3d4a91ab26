"""Where the front-end ES modules live: ``js/`` in a source checkout, ``oda_widgets/_js`` in a wheel."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent


def esm_path(name: str) -> Path:
    """Path of the ES module ``js/<name>`` (pass it as an anywidget ``_esm``/``_css``)."""
    for base in (_HERE / "_js", _HERE.parent / "js"):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"front-end module {name!r} is missing from this installation")
