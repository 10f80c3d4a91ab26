"""Workflow instruments for the demo dispatcher: real nb2workflow services behind it.

MMODA's newer instruments are Jupyter notebooks served by nb2workflow and plugged into the
dispatcher by its nb2workflow plugin. The demo does the plugin's part itself: each folder of
notebooks becomes one instrument (named after the folder; each notebook a product) served by its
own ``nb2service`` process, started on first use, stopped with the demo server.

The demo ships three notebooks (:data:`SHIPPED`), served by one nb2service and offered as three
instruments (:data:`SHIPPED_INSTRUMENTS`), each with its own source defaults: ``optical_photometry``
(``light_curve``: a Cepheid's FLUX and MAG light curves against MJD), ``optical_imaging``
(``sky_images``: the Pleiades in two bands with a celestial WCS, and a colour picture) and
``multiwavelength_sed`` (``sed``: the SED table of the blazar Mrk 421, a text and a FITS file).
A teacher adds folders of their own::

    python -m oda_widgets.demo --workflows my_notebooks/

Needs ``nb2workflow[service]`` (``pip install 'oda-widgets[workflows]'``); without it the demo
serves INTEGRAL only and says how to enable workflows. Offline, the ontology falls back to the
demo's small one (:mod:`.ontology`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from oda_widgets.demo.workflows.instrument import WorkflowInstrument
from oda_widgets.demo.workflows.ontology import DEMO_ONTOLOGY, Ontology, OntologyChoice, choose_ontology
from oda_widgets.demo.workflows.service import ENABLE_HINT, WorkflowService, nb2workflow_available

__all__ = [
    "SHIPPED",
    "SHIPPED_INSTRUMENTS",
    "ENABLE_HINT",
    "DEMO_ONTOLOGY",
    "Workflows",
    "WorkflowInstrument",
    "WorkflowService",
    "nb2workflow_available",
    "notebooks_in",
]

log = logging.getLogger("oda_widgets.demo")

#: The demo's own workflow notebooks.
SHIPPED = Path(__file__).with_name("notebooks") / "multiwavelength"
#: The instruments made of them: instrument -> its products (notebooks of :data:`SHIPPED`).
SHIPPED_INSTRUMENTS = {
    "optical_photometry": ["light_curve"],
    "optical_imaging": ["sky_images"],
    "multiwavelength_sed": ["sed"],
}


def notebooks_in(folder: Path) -> list[Path]:
    """The notebooks nb2service serves from ``folder``: it skips any whose full path contains
    ``output``, ``preproc`` or ``/test_`` (so a folder under ``outputs/`` serves nothing)."""
    return sorted(
        p
        for p in folder.glob("*.ipynb")
        if "output" not in str(p) and "preproc" not in str(p) and "/test_" not in str(p)
    )


def _instrument_name(folder: Path) -> str:
    name = re.sub(r"[^0-9a-zA-Z_]+", "_", folder.name).strip("_").lower()
    return name or "workflows"


class Workflows:
    """The workflow instruments of one demo server (possibly none) and what to tell the user.

    ``folders``: notebook folders (each one instrument); ``None`` means the shipped folder when
    nb2workflow is installed. ``ontology``: an ontology file to use instead of choosing one
    (:func:`~.ontology.choose_ontology`). ``reserved``: instrument names already taken.
    """

    def __init__(
        self,
        folders: Iterable[str | os.PathLike] | None = None,
        *,
        ontology: str | os.PathLike | None = None,
        reserved: Iterable[str] = (),
    ):
        self.instruments: dict[str, WorkflowInstrument] = {}
        self.note = ""
        self._ontology_arg = ontology
        self._choice: OntologyChoice | None = None
        self._ontology: Ontology | None = None
        self._lock = threading.Lock()
        if folders is None:
            if not nb2workflow_available():
                self.note = f"workflow instruments are off: nb2workflow is not installed ({ENABLE_HINT})"
                return
            folders = [SHIPPED]
        folders = [Path(f).expanduser().resolve() for f in folders]
        if folders and not nb2workflow_available():
            raise ModuleNotFoundError(f"workflow instruments need nb2workflow: {ENABLE_HINT}")
        taken = set(reserved)
        for folder in folders:
            if not folder.is_dir():
                raise FileNotFoundError(f"workflow folder not found: {folder}")
            if not notebooks_in(folder):
                raise ValueError(
                    f"no workflow notebooks in {folder} (nb2service serves *.ipynb there, except those "
                    "whose path contains 'output', 'preproc' or '/test_')"
                )
            service = WorkflowService(folder, self.ontology_path)
            if folder == SHIPPED.resolve():
                plan = dict(SHIPPED_INSTRUMENTS)
            else:
                plan = {_instrument_name(folder): None}
            for name, products in plan.items():
                if name in taken:
                    raise ValueError(f"instrument name {name!r} (from folder {folder}) is already taken")
                taken.add(name)
                self.instruments[name] = WorkflowInstrument(name, service, self.ontology, products)
        if self.instruments:
            self.note = "workflow instruments: " + ", ".join(self.instruments)

    def ontology_choice(self) -> OntologyChoice:
        """The ontology file in use (chosen on first need; an offline fallback is logged)."""
        with self._lock:
            if self._choice is None:
                self._choice = choose_ontology(self._ontology_arg)
                level = logging.WARNING if self._choice.source == "demo" else logging.INFO
                log.log(level, "%s", self._choice.note)
            return self._choice

    def ontology_path(self) -> Path:
        return self.ontology_choice().path

    def ontology(self) -> Ontology:
        path = self.ontology_path()
        with self._lock:
            if self._ontology is None:
                self._ontology = Ontology(path)
            return self._ontology

    @property
    def services(self) -> list[WorkflowService]:
        """The nb2service processes (one per folder)."""
        out: list[WorkflowService] = []
        for instrument in self.instruments.values():
            if instrument.service not in out:
                out.append(instrument.service)
        return out

    def start_in_background(self) -> None:
        """Start every service now, without waiting (the services otherwise start on first use)."""
        for service in self.services:
            service.start_in_background()

    def stop(self) -> None:
        """Stop every service (idempotent)."""
        for service in self.services:
            service.stop()

    def __contains__(self, name: object) -> bool:
        return name in self.instruments

    def __getitem__(self, name: str) -> WorkflowInstrument:
        return self.instruments[name]

    def __iter__(self):
        return iter(self.instruments)

    def __len__(self) -> int:
        return len(self.instruments)
