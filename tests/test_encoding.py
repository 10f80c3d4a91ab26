"""The wire encoding (client/encoding.py) against its inverse and against the real dispatcher."""

from __future__ import annotations

import json

import pytest
import requests

from oda_widgets.client.encoding import NUL, decode_params, encode_params, should_post

CATALOG = json.dumps({"cat_frame": "fk5", "cat_column_list": [[1], ["Crab"]]})

PARAMS = {
    "instrument": "empty",
    "product_type": "numerical",
    "p": 5.5,
    "n": 3,
    "unset": None,
    "lst": [1, 2],
    "dct": {"a": 1, "b": [None, "x"]},
    "flag": True,
    "off": False,
    "scw_list": ["066500220010.001", "066500230010.001"],
    "selected_catalog": CATALOG,
    "txt": "null and [brackets]",
}


def _multi(pairs):
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def test_encode_rules():
    pairs = encode_params({**PARAMS, "token": None})
    multi = _multi(pairs)
    assert "token" not in multi, "a None token is omitted, not sent as NUL"
    assert multi["unset"] == [NUL]
    assert multi["scw_list"] == PARAMS["scw_list"], "scw_list goes as repeated keys"
    assert multi["selected_catalog"] == [CATALOG], "selected_catalog stays the JSON text"
    assert multi["flag"] == ["True"] and multi["off"] == ["False"]
    assert json.loads(multi["dct"][0]) == PARAMS["dct"]
    assert multi["p"] == ["5.5"] and multi["n"] == ["3"]


def test_selected_catalog_objects_are_serialised():
    class Cat:
        def to_selected_catalog(self):
            return CATALOG

    assert _multi(encode_params({"selected_catalog": Cat()}))["selected_catalog"] == [CATALOG]
    assert _multi(encode_params({"selected_catalog": {"a": 1}}))["selected_catalog"] == ['{"a": 1}']


def test_round_trip_through_decode():
    decoded = decode_params(_multi(encode_params(PARAMS)))
    assert decoded["unset"] is None
    assert decoded["lst"] == [1, 2] and decoded["dct"] == PARAMS["dct"]
    assert decoded["scw_list"] == PARAMS["scw_list"]
    assert decoded["selected_catalog"] == CATALOG
    # scalars stay text on the server side, as the dispatcher keeps them until its parameter classes parse them
    assert decoded["p"] == "5.5" and decoded["flag"] == "True" and decoded["txt"] == PARAMS["txt"]


def test_scw_list_as_comma_text():
    assert decode_params({"scw_list": ["066500220010.001, 066500230010.001"]})["scw_list"] == [
        "066500220010.001",
        "066500230010.001",
    ]
    assert decode_params({"scw_list": [NUL]})["scw_list"] is None


def test_post_threshold():
    assert not should_post(encode_params({"a": "x"}))
    assert should_post(encode_params({"selected_catalog": "x" * 1200}))
    # a token never travels in a URL
    assert should_post(encode_params({"a": "x", "token": "eyJ.eyJ.x"}))
    assert not should_post(encode_params({"a": "x", "token": None}))


@pytest.mark.real_dispatcher
def test_real_dispatcher_reads_what_we_send(real_dispatcher):
    """`/api/parameters` echoes the arguments as the real server parsed them off the wire."""
    r = requests.get(f"{real_dispatcher.url}/api/parameters", params=encode_params(PARAMS), timeout=10)
    assert r.status_code == 200
    echoed = r.json()
    echoed.pop("session_id")  # the server adds one
    assert echoed["scw_list"] == PARAMS["scw_list"]
    assert echoed["unset"] == NUL
    assert echoed["selected_catalog"] == CATALOG
    multi = {k: v if isinstance(v, list) else [v] for k, v in echoed.items()}
    assert decode_params(multi) == decode_params(_multi(encode_params(PARAMS)))
