"""What a response says about each product besides its data: the workflow output it came from,
its ontology term (``prod_uris``) and the label/description/group of ``extra_metadata``.

The dispatcher's nb2workflow plugin keys ``prod_uris`` and ``extra_metadata`` by the notebook's
*output* name, while the entries of each product list carry the *product* name the notebook gave
(``delta_Cep_V_mag``), and an output that is a list gives several entries. So an output is matched
to entries by the list its term goes to and by position there (see :func:`annotate_lists`); when the
counts disagree, by name, else only when every output of that list has the same term. Products of
older dispatchers and of INTEGRAL carry no URI: they get an empty :class:`Annotation` and are
recognised from their content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Annotation",
    "ODA",
    "PRODUCT_TERMS",
    "LIST_OF_KIND",
    "kind_of_uri",
    "annotate_lists",
]

#: the ODA ontology's namespace
ODA = "http://odahub.io/ontology#"

#: product terms → the kind of product a client makes of them (most specific terms first; a term
#: that is none of these but names one in its fragment, e.g. ``…#ISGRILightCurve``, is matched by
#: :func:`kind_of_uri`)
PRODUCT_TERMS: dict[str, str] = {
    ODA + "LightCurve": "light_curve",
    ODA + "Image": "image",
    ODA + "Spectrum": "spectrum",
    ODA + "NumpyDataProduct": "numpy",
    ODA + "ODAAstropyTable": "table",
    ODA + "ODAPictureProduct": "picture",
    ODA + "ODATextProduct": "text",
    ODA + "ODABinaryProduct": "binary",
    ODA + "WorkflowResultComment": "comment",
}

#: which product list the plugin puts each kind into (``parameter``: an output annotated with a
#: parameter term — ``Float``, ``TimeInstant``… — sent as a text product with ``meta_data.uri``)
LIST_OF_KIND: dict[str, tuple[str, ...]] = {
    "light_curve": ("numpy_data_product_list",),
    "image": ("numpy_data_product_list",),
    "spectrum": ("numpy_data_product_list",),
    "numpy": ("numpy_data_product_list",),
    "table": ("astropy_table_product_ascii_list", "astropy_table_product_binary_list"),
    "picture": ("binary_image_product_list",),
    "text": ("text_product_list",),
    "parameter": ("text_product_list",),
    "binary": ("binary_data_product_list",),
}

# fragments of terms we do not list, checked in this order ("LightCurveImage" is an image)
_FRAGMENTS = (
    ("image", "image"),
    ("lightcurve", "light_curve"),
    ("spectrum", "spectrum"),
    ("picture", "picture"),
    ("table", "table"),
    ("binary", "binary"),
    ("text", "text"),
    ("numpy", "numpy"),
)


def kind_of_uri(uri: str | None) -> str | None:
    """The product kind of an ontology term: ``light_curve``, ``image``, ``spectrum``, ``numpy``,
    ``table``, ``picture``, ``text``, ``binary``, ``comment``, or ``parameter`` for any other
    term of the ODA namespace (an output annotated as a parameter); None without a URI."""
    if not uri:
        return None
    if uri in PRODUCT_TERMS:
        return PRODUCT_TERMS[uri]
    fragment = uri.rsplit("#", 1)[-1].rsplit("/", 1)[-1].lower()
    for part, kind in _FRAGMENTS:
        if part in fragment:
            return kind
    return "parameter"


@dataclass(frozen=True)
class Annotation:
    """What the response says about one product besides its data.

    ``output`` — the notebook output it came from (the key of ``prod_uris``), ``uri`` — its
    ontology term, ``label``/``description``/``group`` — from ``extra_metadata``. All None for
    products without annotations (INTEGRAL, older dispatchers).
    """

    output: str | None = None
    uri: str | None = None
    label: str | None = None
    description: str | None = None
    group: str | None = None

    @property
    def kind(self) -> str | None:
        """The product kind the URI names (see :func:`kind_of_uri`), None without a URI."""
        return kind_of_uri(self.uri)

    @property
    def term(self) -> str | None:
        """The URI's short name (``LightCurve``), None without a URI."""
        return self.uri.rsplit("#", 1)[-1].rsplit("/", 1)[-1] if self.uri else None

    def __bool__(self) -> bool:
        return self.uri is not None or self.output is not None


def _text_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    text = str(value).strip()
    return text or None


def _annotation(output: str, uri: str | None, extra: Mapping[str, Any]) -> Annotation:
    return Annotation(
        output=output,
        uri=uri,
        label=_text_of(extra.get("label")),
        description=_text_of(extra.get("description")),
        group=_text_of(extra.get("group")),
    )


def _entry_name(entry: Any) -> str | None:
    return entry.get("name") if isinstance(entry, dict) and isinstance(entry.get("name"), str) else None


def annotate_lists(products: Mapping[str, Any]) -> dict[str, list[Annotation]]:
    """For each product list of ``products`` (a response's ``products`` dict), one
    :class:`Annotation` per entry, in the list's order; empty annotations where the response
    does not say (no ``prod_uris``, or outputs that cannot be matched to entries)."""
    uris = products.get("prod_uris")
    uris = uris if isinstance(uris, dict) else {}
    extras = products.get("extra_metadata")
    extras = extras if isinstance(extras, dict) else {}
    outputs: list[Annotation] = []
    for output, uri in uris.items():
        extra = extras.get(output)
        outputs.append(
            _annotation(str(output), str(uri) if uri else None, extra if isinstance(extra, dict) else {})
        )

    out: dict[str, list[Annotation]] = {}
    for key, entries in products.items():
        if not isinstance(entries, list) or not key.endswith("_list"):
            continue
        mine = [a for a in outputs if key in LIST_OF_KIND.get(a.kind or "", ())]
        out[key] = _match(entries, mine, extras)
    return out


def _match(entries: list[Any], outputs: list[Annotation], extras: Mapping[str, Any]) -> list[Annotation]:
    """Annotations for ``entries`` from the outputs whose term goes to their list."""
    empty = Annotation()
    result = [empty] * len(entries)
    if len(outputs) == len(entries):
        return list(outputs)  # one entry per output, in declaration order (the plugin's order)
    by_name = {a.output: a for a in outputs}
    for i, entry in enumerate(entries):
        name = _entry_name(entry)
        meta = entry.get("meta_data") if isinstance(entry, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("uri"), str) and name is not None:
            # a parameter-term output: the plugin says its term in the entry itself
            extra = extras.get(name)
            result[i] = by_name.get(name) or _annotation(
                name, meta["uri"], extra if isinstance(extra, dict) else {}
            )
        elif name is not None and name in by_name:
            result[i] = by_name[name]
    terms = {a.uri for a in outputs}
    if len(terms) == 1 and outputs:
        # every output of this list has one term: the kind of each entry is known even when
        # which output made it is not
        (uri,) = terms
        only = outputs[0] if len(outputs) == 1 else Annotation(uri=uri)
        result = [a if a else only for a in result]
    return result
