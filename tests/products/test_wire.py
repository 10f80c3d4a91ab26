"""loads_response: the same dict as json.loads, with binarys decoded straight from the bytes."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from _products_helpers import mosaic_products, response_body

from oda_widgets.products import ProductCollection, loads_response
from oda_widgets.products.wire import b64decode, b64encode


def _strip_binarys(obj):
    if isinstance(obj, dict):
        return {
            k: ("<data>" if k == "binarys" and v is not None else _strip_binarys(v)) for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_strip_binarys(v) for v in obj]
    return obj


@pytest.mark.parametrize("separators", [None, (",", ":")])
def test_same_as_json_loads(separators):
    body = response_body(mosaic_products(16))
    content = json.dumps(body, separators=separators).encode()
    ours, plain = loads_response(content), json.loads(content)
    assert _strip_binarys(ours) == _strip_binarys(plain)
    units_ours = ours["products"]["numpy_data_product_list"][0]["data_unit_list"]
    units_plain = plain["products"]["numpy_data_product_list"][0]["data_unit_list"]
    for a, b in zip(units_ours, units_plain):
        if b["binarys"] is None:
            assert a["binarys"] is None
        else:
            assert isinstance(a["binarys"], bytes) and a["binarys"] == base64.b64decode(b["binarys"])


def test_collection_from_bytes_equals_from_dict():
    content = json.dumps(response_body(mosaic_products(16))).encode()
    a = ProductCollection.from_response_bytes(content)
    b = ProductCollection.from_response(json.loads(content)["products"])
    assert a.names() == b.names() == ["mosaic_image_0_mosaic"]
    for key in a.mosaic.images:
        assert np.array_equal(a.mosaic.images[key], b.mosaic.images[key], equal_nan=True)


def test_escaped_values_and_lookalike_text_take_the_ordinary_path():
    raw = b"\xff\xff\xff\x00\x01abc"
    payload = base64.b64encode(raw).decode()
    assert "/" in payload
    body = {
        "products": {
            "a": {"binarys": payload.replace("/", "\\/")},
            "note": 'text mentioning "binarys": "QUJD" inside a string',
            "b": {"binarys": payload},
        }
    }
    content = json.dumps(body).replace("\\\\/", "\\/").encode()
    out = loads_response(content)
    assert out["products"]["note"] == body["products"]["note"]
    assert out["products"]["b"]["binarys"] == raw
    # the escaped value is left as text, which the product decoder base64-decodes later
    assert out["products"]["a"]["binarys"] == payload


def test_not_an_object():
    with pytest.raises(ValueError, match="JSON object"):
        loads_response(b"[1, 2]")


def test_base64_helpers_match_the_standard_library():
    data = bytes(range(256)) * 3
    assert b64encode(data) == base64.b64encode(data).decode()
    assert b64decode(base64.b64encode(data).decode()) == data
    assert b64decode(memoryview(base64.b64encode(data))) == data
