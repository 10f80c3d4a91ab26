"""Helpers for the notebook tests (a uniquely named module: every test folder has a conftest)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def outputs_text(nb, cell_index: int | None = None) -> str:
    """All text (stream, plain-text results, errors) the notebook's code cells printed."""
    cells = nb.cells if cell_index is None else [nb.cells[cell_index]]
    parts = []
    for cell in cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.get("data", {}).get("text/plain", ""))
            elif out.output_type == "error":
                parts.append("\n".join(out.traceback))
    return "\n".join(parts)


def widget_models(nb) -> dict:
    """The widget models saved in the notebook's metadata (model id → {model_name, state, ...})."""
    return nb.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
