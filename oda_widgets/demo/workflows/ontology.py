"""What the ODA ontology says about one annotated notebook variable, and which ontology to use.

A workflow notebook annotates each parameter and output with an ontology class, often a class of
its own made from a base term and restrictions (``oda:Integer ; oda:lower_limit 2``), which
nb2service reports as ``owl_type`` plus ``extra_ttl``. :meth:`Ontology.term` reads both against
the main ontology and answers the questions the dispatcher asks: the class hierarchy (most specific
first), the value datatype, unit, time format, limits, allowed values and the label/description/
group annotations. Both ways of saying a restriction are understood: the OWL form of the main
ontology (``owl:Restriction`` on ``oda:value``/``oda:has_unit``/``oda:has_format``) and the
annotation form of notebook comments (``oda:lower_limit``, ``oda:allowed_value``, ``oda:unit``).

:func:`choose_ontology` picks the file the whole demo uses (nb2service, its kernels, the
dispatcher side): ``$ODA_ONTOLOGY_PATH``, else a fresh download of the ODA ontology (kept in the
user's cache), else — offline — the small ontology of this package, saying so.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "ODA",
    "ODA_ONTOLOGY_URL",
    "DEMO_ONTOLOGY",
    "Ontology",
    "Term",
    "OntologyChoice",
    "choose_ontology",
]

log = logging.getLogger("oda_widgets.demo")

ODA = "http://odahub.io/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: Where nb2workflow and oda_api fetch the ODA ontology from.
ODA_ONTOLOGY_URL = "http://odahub.io/ontology/ontology.ttl"
#: The demo's own small ontology (terms of the shipped notebooks and the source parameters).
DEMO_ONTOLOGY = Path(__file__).with_name("ontology.ttl")
#: Largest ontology file accepted from the network.
_MAX_ONTOLOGY_BYTES = 8 * 1024 * 1024

_INTEGER_TYPES = {"integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger"}
_FLOAT_TYPES = {"float", "double", "decimal"}


@dataclass(frozen=True)
class Term:
    """The ontology's facts about one annotated class (``uri``)."""

    uri: str
    #: superclasses under ``base`` (WorkflowParameter or DataProduct), most specific first, ``uri`` first
    hierarchy: tuple[str, ...]
    datatype: str | None = None  # 'int' | 'float' | 'bool' | 'str'
    unit: str | None = None  # unit symbol, e.g. 'deg', 'keV', 'hour'
    time_format: str | None = None  # format symbol, e.g. 'isot', 'mjd'
    min_value: float | int | None = None
    max_value: float | int | None = None
    allowed_values: tuple | None = None
    annotations: dict[str, str] = field(default_factory=dict)  # label / description / group
    optional: bool = False

    def is_a(self, uri: str) -> bool:
        """True when the class is ``uri`` or a subclass of it."""
        return uri in self.hierarchy


class Ontology:
    """The main ontology (one TTL file) and the per-variable classes notebooks add to it."""

    def __init__(self, path: str | os.PathLike):
        import rdflib

        self.path = str(path)
        self._rdflib = rdflib
        self._graph = rdflib.Graph()
        self._graph.parse(self.path, format="turtle")
        self._lock = threading.Lock()

    def term(self, uri: str, extra_ttl: str | None = None, base: str = ODA + "WorkflowParameter") -> Term:
        """The facts about class ``uri``, with the notebook's ``extra_ttl`` triples added."""
        with self._lock:
            return self._term(uri, (extra_ttl or "").strip(), base)

    @lru_cache(maxsize=512)  # noqa: B019 - one Ontology per demo server; the cache dies with it
    def _term(self, uri: str, extra_ttl: str, base: str) -> Term:
        rdflib = self._rdflib
        extra = rdflib.Graph()
        if extra_ttl:
            extra.parse(data=extra_ttl, format="turtle")
        graphs = (self._graph, extra)
        R = rdflib.URIRef
        RDF_TYPE = R("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        SUBCLASS = R("http://www.w3.org/2000/01/rdf-schema#subClassOf")

        def objects(s, p):
            for g in graphs:
                yield from g.objects(s, p)

        def one(s, p):
            return next(objects(s, p), None)

        # Breadth-first over rdfs:subClassOf (and rdf:type, as the ontology helper does): the
        # named superclasses with their distance, and the anonymous restrictions met on the way.
        start = R(uri)
        distance: dict = {start: 0}
        restrictions: list[tuple[int, Any]] = []
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for prop in (SUBCLASS, RDF_TYPE):
                for sup in objects(node, prop):
                    if isinstance(sup, rdflib.BNode):
                        restrictions.append((distance[node], sup))
                    elif isinstance(sup, rdflib.URIRef) and sup not in distance:
                        distance[sup] = distance[node] + 1
                        queue.append(sup)

        ancestors = {c: _ancestors(c, objects, SUBCLASS, rdflib) for c in distance}
        base_ref = R(base)
        under_base = [c for c in distance if base_ref in ancestors[c]]
        # Most specific first: a class with more ancestors under the base is more specific (the
        # order the dispatcher's ontology query gives); ties by distance, then name.
        under_base.sort(
            key=lambda c: (
                -sum(1 for a in ancestors[c] if base_ref in ancestors.get(a, ())),
                distance[c],
                str(c),
            )
        )
        hierarchy = tuple(str(c) for c in under_base) or (uri,)

        def oda(name):
            return R(ODA + name)

        on_property = R("http://www.w3.org/2002/07/owl#onProperty")
        has_value = R("http://www.w3.org/2002/07/owl#hasValue")
        all_values = R("http://www.w3.org/2002/07/owl#allValuesFrom")
        one_of = R("http://www.w3.org/2002/07/owl#oneOf")
        with_restr = R("http://www.w3.org/2002/07/owl#withRestrictions")
        on_datatype = R("http://www.w3.org/2002/07/owl#onDatatype")
        min_incl = R(XSD + "minInclusive")
        max_incl = R(XSD + "maxInclusive")

        datatype: tuple[int, str] | None = None
        unit: tuple[int, str] | None = None
        fmt: tuple[int, str] | None = None
        lowers: list = []
        uppers: list = []
        allowed_lists: list[tuple[int, list, bool]] = []  # (distance, values, ordered)

        for d, node in restrictions:
            prop = one(node, on_property)
            if prop == oda("has_unit") and one(node, has_value) is not None:
                sym = self._symbol(one(node, has_value), objects, rdflib)
                unit = (d, sym) if unit is None or d < unit[0] else unit
            elif prop == oda("has_format") and one(node, has_value) is not None:
                sym = self._symbol(one(node, has_value), objects, rdflib)
                fmt = (d, sym) if fmt is None or d < fmt[0] else fmt
            elif prop == oda("value"):
                target = one(node, all_values)
                if isinstance(target, rdflib.URIRef) and str(target).startswith(XSD):
                    datatype = (d, str(target)) if datatype is None or d < datatype[0] else datatype
                elif isinstance(target, rdflib.BNode):
                    listed = one(target, one_of)
                    if listed is not None:
                        allowed_lists.append(
                            (d, [v.toPython() for v in _rdf_list(listed, objects, rdflib)], True)
                        )
                    on_dt = one(target, on_datatype)
                    if on_dt is not None and datatype is None:
                        datatype = (d, str(on_dt))
                    restr = one(target, with_restr)
                    if restr is not None:
                        for item in _rdf_list(restr, objects, rdflib):
                            lo, hi = one(item, min_incl), one(item, max_incl)
                            if lo is not None:
                                lowers.append(lo.toPython())
                            if hi is not None:
                                uppers.append(hi.toPython())

        # The annotation form, as notebook comments write it (and the generated classes carry).
        for cls, d in distance.items():
            for lo in objects(cls, oda("lower_limit")):
                lowers.append(lo.toPython())
            for hi in objects(cls, oda("upper_limit")):
                uppers.append(hi.toPython())
            values = [v.toPython() for v in objects(cls, oda("allowed_value"))]
            if values:
                allowed_lists.append((d, sorted(values, key=str), False))
            u = one(cls, oda("unit"))
            if u is not None and (unit is None or d < unit[0]):
                unit = (d, self._symbol(u, objects, rdflib))
            f = one(cls, oda("format"))
            if f is not None and (fmt is None or d < fmt[0]):
                fmt = (d, self._symbol(f, objects, rdflib))

        dtype = _python_type(datatype[1]) if datatype else None
        min_value = _typed(max(lowers), dtype) if lowers else None
        max_value = _typed(min(uppers), dtype) if uppers else None

        allowed = None
        if allowed_lists:
            # Values every list admits (the subclass narrows its parent), in the order of the most
            # specific list.
            allowed_lists.sort(key=lambda t: t[0])
            first = allowed_lists[0][1]
            common = [v for v in first if all(v in other for _, other, _ in allowed_lists[1:])]
            allowed = tuple(common or first)

        annotations = {}
        for key in ("label", "description", "group"):
            found = [str(v) for v in objects(start, oda(key))]
            if found:
                annotations[key] = " ".join(found)
        optional = R(ODA + "optional") in distance
        return Term(
            uri=uri,
            hierarchy=hierarchy,
            datatype=dtype,
            unit=unit[1] if unit else None,
            time_format=fmt[1] if fmt else None,
            min_value=min_value,
            max_value=max_value,
            allowed_values=allowed,
            annotations=annotations,
            optional=optional,
        )

    @staticmethod
    def _symbol(node, objects, rdflib) -> str:
        """A unit's or format's short name: ``oda:symbol``, else its label, else the URI fragment."""
        for prop in (ODA + "symbol", "http://www.w3.org/2000/01/rdf-schema#label"):
            found = next(objects(node, rdflib.URIRef(prop)), None)
            if found is not None:
                return str(found)
        return str(node).rsplit("#", 1)[-1]


def _ancestors(cls, objects, subclass, rdflib) -> frozenset:
    seen = {cls}
    stack = [cls]
    while stack:
        node = stack.pop()
        for sup in objects(node, subclass):
            if isinstance(sup, rdflib.URIRef) and sup not in seen:
                seen.add(sup)
                stack.append(sup)
    return frozenset(seen)


def _rdf_list(head, objects, rdflib) -> list:
    first = rdflib.URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#first")
    rest = rdflib.URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#rest")
    nil = rdflib.URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#nil")
    out = []
    node = head
    for _ in range(10000):  # bounded: a malformed list cannot loop for ever
        if node is None or node == nil:
            break
        item = next(objects(node, first), None)
        if item is not None:
            out.append(item)
        node = next(objects(node, rest), None)
    return out


def _python_type(xsd_uri: str) -> str | None:
    name = xsd_uri.rsplit("#", 1)[-1]
    if name in _INTEGER_TYPES:
        return "int"
    if name in _FLOAT_TYPES:
        return "float"
    if name == "boolean":
        return "bool"
    if name == "string":
        return "str"
    return None


def _typed(value: Any, dtype: str | None):
    """A limit in the parameter's datatype (an integer parameter's limits stay integers)."""
    try:
        if dtype == "int":
            return int(value)
        return float(value)
    except (TypeError, ValueError):
        return None


# -- which ontology ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OntologyChoice:
    """The ontology file the demo uses and why (``source``: 'env', 'argument', 'downloaded',
    'cached', 'demo')."""

    path: Path
    source: str
    note: str


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "oda-widgets"


def choose_ontology(explicit: str | os.PathLike | None = None, *, timeout: float = 4.0) -> OntologyChoice:
    """The ontology for nb2service, its kernels and the demo dispatcher.

    ``explicit`` (a path) wins, then ``$ODA_ONTOLOGY_PATH``; otherwise the ODA ontology is fetched
    (at most ``timeout`` seconds) into the user's cache, or a copy cached earlier is used; offline,
    the demo's small ontology (:data:`DEMO_ONTOLOGY`), which knows only the terms of the shipped
    notebooks.
    """
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            raise FileNotFoundError(f"ontology file not found: {p}")
        return OntologyChoice(p, "argument", f"ontology: {p}")
    env = os.environ.get("ODA_ONTOLOGY_PATH")
    if env and Path(env).is_file():
        return OntologyChoice(Path(env), "env", f"ontology: {env} (ODA_ONTOLOGY_PATH)")
    cached = _cache_dir() / "oda-ontology.ttl"
    try:
        with urllib.request.urlopen(ODA_ONTOLOGY_URL, timeout=timeout) as r:
            data = r.read(_MAX_ONTOLOGY_BYTES + 1)
        if len(data) > _MAX_ONTOLOGY_BYTES or b"@prefix" not in data[:4096]:
            raise ValueError("not an ontology file")
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(cached)
        return OntologyChoice(cached, "downloaded", f"ontology: {ODA_ONTOLOGY_URL} (copy in {cached})")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if cached.is_file():
            return OntologyChoice(
                cached,
                "cached",
                f"ontology: {ODA_ONTOLOGY_URL} unreachable ({reason}); using the copy in {cached}",
            )
        return OntologyChoice(
            DEMO_ONTOLOGY,
            "demo",
            f"offline: {ODA_ONTOLOGY_URL} unreachable ({reason}); using the demo's small ontology "
            f"({DEMO_ONTOLOGY.name}: the terms of the shipped notebooks). Notebooks using other "
            "terms need ODA_ONTOLOGY_PATH set to a local copy of the ODA ontology.",
        )
