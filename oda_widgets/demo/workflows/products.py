"""A notebook's outputs, as nb2service returns them, in the dispatcher's ``api=True`` product lists.

nb2service returns each output as the notebook left it: ``oda_api`` objects as the JSON text of
their ``encode()``, strings and numbers as they are. The dispatcher's nb2workflow plugin chooses a
product class from each output's ontology term and sorts the products into lists:

=============================  =====================================================================
term                           list (entry)
=============================  =====================================================================
LightCurve, Image, Spectrum,   ``numpy_data_product_list`` (``{data_unit_list, name, meta_data}``,
NumpyDataProduct               ``meta_data`` a JSON text)
ODAAstropyTable                ``astropy_table_product_ascii_list`` (``{binary, ascii, name,
                               meta_data}``; ``meta_data`` is the notebook's JSON text encoded again)
ODAPictureProduct              ``binary_image_product_list`` (``{img_type, b64data, metadata, name}``)
ODABinaryProduct               ``binary_data_product_list`` (``{name, data, md5}``)
ODATextProduct                 ``text_product_list`` (``{name, value}``; the value is ``str()`` of the
                               output after JSON decoding, as the plugin does)
a parameter term (String,      ``text_product_list`` (``{name, value, meta_data: {uri}}``)
Float, TimeInstant, ...)
WorkflowResultComment          no product: the job's ``exit_status.comment``
=============================  =====================================================================

plus ``prod_uris`` (output name → the term that chose the class) and ``extra_metadata`` (output
name → label/description/group of its annotation). An output that is a list gives one product per
element. Payloads are passed through as JSON; nothing is unpickled here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from oda_widgets.demo.workflows.ontology import ODA, Ontology

__all__ = ["ProductError", "COMMENT", "build_products", "comment_of"]

COMMENT = ODA + "WorkflowResultComment"

#: Product terms the plugin knows, and the list each goes to.
_LISTS = {
    ODA + "NumpyDataProduct": "numpy_data_product_list",
    ODA + "LightCurve": "numpy_data_product_list",
    ODA + "Spectrum": "numpy_data_product_list",
    ODA + "Image": "numpy_data_product_list",
    ODA + "ODAAstropyTable": "astropy_table_product_ascii_list",
    ODA + "ODAPictureProduct": "binary_image_product_list",
    ODA + "ODABinaryProduct": "binary_data_product_list",
    ODA + "ODATextProduct": "text_product_list",
}
_PARAMETER_PRODUCT = ODA + "ParameterProduct"
_DATA_PRODUCT = ODA + "DataProduct"
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF8", "gif"),
    (b"<svg", "svg"),
    (b"<?xml", "svg"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


class ProductError(Exception):
    """An output that cannot become a product (the job fails with this message)."""


def _dejsonify(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _product_term(output: dict, ontology: Ontology) -> tuple[str, str]:
    """(list name or 'parameter'/'comment', the term) for one output declaration."""
    owl_type = str(output.get("owl_type") or "")
    if owl_type == COMMENT:
        return "comment", owl_type
    if owl_type in _LISTS:
        return _LISTS[owl_type], owl_type
    term = ontology.term(owl_type, output.get("extra_ttl"), base=_DATA_PRODUCT)
    for uri in term.hierarchy:
        if uri in _LISTS:
            return _LISTS[uri], uri
    if _PARAMETER_PRODUCT in term.hierarchy:
        return "parameter", owl_type
    name = output.get("name")
    raise ProductError(f'The output with name "{name}" has been wrongly annotated.')


def comment_of(declarations: dict, output: dict) -> str:
    """The job's comment: the value of the output annotated WorkflowResultComment, if any."""
    for name, desc in declarations.items():
        if isinstance(desc, dict) and desc.get("owl_type") == COMMENT:
            value = output.get(name, "")
            return value if isinstance(value, str) else json.dumps(value)
    return ""


def _numpy(encoded: Any, name: str) -> dict:
    if not isinstance(encoded, dict) or not isinstance(encoded.get("data_unit_list"), list):
        raise ProductError(f"output {name}: not an encoded NumpyDataProduct")
    meta = encoded.get("meta_data", {})
    if isinstance(meta, str):
        meta = _dejsonify(meta)
    return {
        "data_unit_list": encoded["data_unit_list"],
        "name": encoded.get("name") or name,
        "meta_data": json.dumps(meta if isinstance(meta, dict) else {}),
    }


def _table(encoded: Any, name: str) -> dict:
    if not isinstance(encoded, dict) or not isinstance(encoded.get("ascii"), str):
        raise ProductError(f"output {name}: not an encoded ODAAstropyTable (ECSV text)")
    # The plugin keeps the notebook's meta_data (already JSON text) and encodes it once more.
    return {
        "binary": None,
        "ascii": encoded["ascii"],
        "name": encoded.get("name") or name,
        "meta_data": json.dumps(encoded.get("meta_data", {})),
    }


def _picture(encoded: Any, name: str) -> dict:
    if not isinstance(encoded, dict) or not isinstance(encoded.get("b64data"), str):
        raise ProductError(f"output {name}: not an encoded PictureProduct")
    try:
        raw = base64.urlsafe_b64decode(encoded["b64data"].encode("ascii", "ignore"))
    except (binascii.Error, ValueError) as e:
        raise ProductError(f"output {name}: picture data is not base64 ({e})") from None
    img_type = next((ext for magic, ext in _IMAGE_MAGIC if raw.startswith(magic)), None)
    if img_type is None:
        raise ProductError("Provided data is not an image")
    return {
        "img_type": img_type,
        "b64data": base64.urlsafe_b64encode(raw).decode(),
        "metadata": encoded.get("metadata") or {},
        "name": encoded.get("name") or name,
    }


def _binary(encoded: Any, name: str) -> dict:
    if not isinstance(encoded, dict) or not isinstance(encoded.get("data"), str):
        raise ProductError(f"output {name}: not an encoded BinaryProduct")
    try:
        raw = base64.urlsafe_b64decode(encoded["data"].encode("ascii", "ignore"))
    except (binascii.Error, ValueError) as e:
        raise ProductError(f"output {name}: binary data is not base64 ({e})") from None
    md5 = hashlib.md5(raw).hexdigest()
    if encoded.get("md5") != md5:
        raise ProductError(f"output {name}: binary data does not match its md5")
    # The plugin keeps the name the notebook gave (possibly none), unlike other products.
    return {"name": encoded.get("name"), "data": base64.urlsafe_b64encode(raw).decode(), "md5": md5}


def build_products(declarations: dict, output: dict, ontology: Ontology) -> dict:
    """The ``products`` lists of a done job from nb2service's ``output`` and the notebook's
    output ``declarations`` (``/api/v1.0/options``). Raises :class:`ProductError`."""
    lists: dict[str, list] = {
        "numpy_data_product_list": [],
        "astropy_table_product_ascii_list": [],
        "binary_data_product_list": [],
        "binary_image_product_list": [],
        "text_product_list": [],
        "progress_product_list": [],
    }
    extra_metadata: dict[str, dict] = {}
    prod_uris: dict[str, str] = {}
    for name, desc in declarations.items():
        desc = desc if isinstance(desc, dict) else {}
        target, uri = _product_term({**desc, "name": name}, ontology)
        if target == "comment":
            continue
        if name not in output:
            raise ProductError(f"output {name} is missing from the notebook's results")
        value = output[name]
        if target == "parameter":
            lists["text_product_list"].append({"name": name, "value": value, "meta_data": {"uri": uri}})
        else:
            decoded = _dejsonify(value)
            elements = decoded if isinstance(decoded, list) else [decoded]
            for element in elements:
                if target == "numpy_data_product_list":
                    entry = _numpy(element, name)
                elif target == "astropy_table_product_ascii_list":
                    entry = _table(element, name)
                elif target == "binary_image_product_list":
                    entry = _picture(element, name)
                elif target == "binary_data_product_list":
                    entry = _binary(element, name)
                else:
                    entry = {"name": name, "value": str(element)}
                lists[target].append(entry)
        term = ontology.term(str(desc.get("owl_type") or ""), desc.get("extra_ttl"), base=_DATA_PRODUCT)
        extra_metadata[name] = dict(term.annotations)
        prod_uris[name] = uri
    return {"extra_metadata": extra_metadata, "prod_uris": prod_uris, **lists}
