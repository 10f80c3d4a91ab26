"""The parameter model over every recorded meta-data answer, both formats."""

import json
from pathlib import Path

import pytest
from shared_data import CAPTURES

from oda_widgets.client.description import (
    KINDS,
    InstrumentDescription,
    ParameterSpec,
    parse_description,
)
from oda_widgets.errors import InvalidParameter, ServerError

DESCRIPTIONS = sorted(
    p for p in CAPTURES.glob("*/meta-data_*.json") if "nonexistent" not in p.name and "noparams" not in p.name
)
HIDDEN = {"token", "user_catalog", "T_format", "time_bin_format", None}


def load(path):
    return json.loads(Path(path).read_text())


def raw_names(payload):
    """Every entry name in a payload (decoding legacy string blocks) — the reference."""
    names = set()
    for block in payload[0][2:]:
        if isinstance(block, str):
            block = json.loads(block)
        names.update(e["name"] for e in block if "name" in e)
    return names


@pytest.mark.parametrize("path", DESCRIPTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_capture_parses_to_user_parameters(path):
    payload = load(path)
    desc = parse_description(payload)
    assert isinstance(desc, InstrumentDescription)
    assert desc.instrument.startswith("empty") or (
        path.parent.name.startswith("nb2workflow") and desc.instrument == "nb2wtest"
    )
    assert desc.legacy == path.parent.name.startswith("pypi")
    assert desc.described_products
    expected_users = raw_names(payload) - HIDDEN
    seen = set()
    for name in desc.described_products:
        product = desc.product(name)
        names = product.names
        assert len(names) == len(set(names))
        assert not HIDDEN & set(names)
        assert all(isinstance(s, ParameterSpec) and s.kind in KINDS for s in product.parameters)
        assert all(s.kind != "unknown" for s in product.parameters), product.parameters
        defaults = product.defaults()
        assert set(defaults) - set(names) <= {"T_format", "time_bin_format"}
        assert {s.name for s in product.parameters if not s.empty_default} <= set(defaults)
        assert not {s.name for s in product.parameters if s.empty_default} & set(defaults)
        assert all(s.empty_default == (s.default is None or s.default == []) for s in product.parameters)
        seen.update(names)
        assert [s.block for s in product.parameters] == sorted(
            (s.block for s in product.parameters), key=["source", "instrument", "product"].index
        )
    assert seen == expected_users


def test_modern_source_block_kinds_and_companion():
    desc = parse_description(load(CAPTURES / "git-1.3.6/meta-data_empty.json"))
    p = desc.product("numerical")
    kinds = {s.name: s.kind for s in p.parameters}
    assert kinds == {
        "src_name": "name",
        "RA": "angle",
        "DEC": "angle",
        "T1": "time",
        "T2": "time",
        "p_list": "input_prod_list",
        "selected_catalog": "user_catalog",
        "p": "float",
    }
    assert p.parameter("T1").format_name == "T_format"
    assert p.parameter("T2").format_name == "T_format"  # the companion is emitted once, shared
    assert p.parameter("T1").format_default == "isot"
    assert p.defaults()["T_format"] == "isot"
    assert p.parameter("p").units == "W" and p.parameter("p").default == 10.0
    assert p.parameter("p").owl_uri == (
        "http://www.w3.org/2001/XMLSchema#float",
        "http://odahub.io/ontology#Float",
    )
    assert p.parameter("selected_catalog").optional is True
    assert p.parameter("RA").optional is False
    assert p.parameter("RA").block == "source"
    assert p.parameter("p_list").block == "instrument"
    assert p.parameter("p").block == "product"
    with pytest.raises(InvalidParameter):
        p.parameter("token")


def test_modern_restrictions_schema_optional_file():
    desc = parse_description(load(CAPTURES / "git-1.3.6/meta-data_empty.json"))
    r = desc.product("restricted")
    assert r.parameter("bounded_int_par").kind == "integer"
    assert (r.parameter("bounded_int_par").min_value, r.parameter("bounded_int_par").max_value) == (2, 8)
    assert r.parameter("bounded_float_par").max_value == 7.7
    sel = r.parameter("string_select_par")
    assert sel.kind == "enum" and sel.allowed_values == ("spam", "eggs", "ham")
    s = desc.product("structured").parameter("struct")
    assert s.kind == "structured" and s.schema == {"oneOf": [{"type": "object"}, {"type": "array"}]}
    assert s.default == {"a": [1, 2]}
    o = desc.product("optional")
    assert o.parameter("optional_def_none").optional and o.parameter("optional_def_none").default is None
    assert desc.product("file_dummy").parameter("dummy_file").kind == "file_url"
    echo = desc.product("echo")
    assert (echo.parameter("ang").kind, echo.parameter("ang").units) == ("angle", "arcsec")
    assert (echo.parameter("energ").kind, echo.parameter("energ").units) == ("energy", "MeV")


def test_legacy_string_blocks_get_the_same_kinds():
    legacy = parse_description(load(CAPTURES / "pypi-1.3.3/meta-data_empty.json"))
    modern = parse_description(load(CAPTURES / "git-1.3.6/meta-data_empty.json"))
    assert legacy.legacy and not modern.legacy
    for product in ("numerical", "echo", "parametrical"):
        lk = {s.name: s.kind for s in legacy.product(product).parameters}
        mk = {s.name: s.kind for s in modern.product(product).parameters}
        assert lk == mk, product
    t1 = legacy.product("numerical").parameter("T1")
    assert t1.units == "isot" and t1.format_name is None  # 1.3.3 accepts no T_format
    assert "T_format" not in legacy.product("numerical").defaults()


def test_filtered_description_names_the_missing_product():
    desc = parse_description(load(CAPTURES / "git-1.3.6/meta-data_empty_numerical.json"))
    assert "echo" in desc.products and desc.described_products == ["numerical"]
    with pytest.raises(InvalidParameter, match="does not include product 'echo'"):
        desc.product("echo")
    with pytest.raises(InvalidParameter, match="no product 'nope'"):
        desc.product("nope")


@pytest.mark.parametrize("name", ["meta-data_nonexistent.json", "meta-data_noparams.json"])
def test_error_bodies_raise_readable_server_errors(name):
    with pytest.raises(ServerError, match="no product description"):
        parse_description(load(CAPTURES / "git-1.3.6" / name))


# An INTEGRAL-shaped description (PROTOCOL §1.2, §4, §5.0): ISGRI with osa_version's dev list,
# a null-named input list, time_bin with its companion, legacy-style notebook text with None.
ISGRI = [
    [
        {"instrumet": "isgri"},
        {"prod_dict": {"isgri_spectrum": "isgri_spectrum_query", "isgri_lc": "isgri_lc_query"}},
        [
            {"query_name": "src_query"},
            {
                "name": "T1",
                "units": "isot",
                "value": "2017-03-06T13:26:48.000",
                "restrictions": {"is_optional": False},
                "owl_uri": ["http://odahub.io/ontology#TimeInstant"],
            },
            {"name": "T_format", "units": "str", "value": "isot"},
            {
                "name": "T2",
                "units": "isot",
                "value": "2017-03-06T15:32:27.000",
                "restrictions": {"is_optional": False},
                "owl_uri": ["http://odahub.io/ontology#TimeInstant"],
            },
        ],
        [
            {"query_name": "isgri_parameters"},
            {"name": "user_catalog", "units": None, "value": None, "restrictions": {"is_optional": True}},
            {
                "name": None,
                "units": None,
                "value": [],
                "restrictions": {"is_optional": True},
                "owl_uri": ["http://odahub.io/ontology#InputProdList"],
            },
            {
                "name": "osa_version",
                "units": "str",
                "value": "OSA11.2",
                "restrictions": {"is_optional": False, "allowed_values": ["OSA11.2-dev210827.0528-37487"]},
                "owl_uri": ["http://www.w3.org/2001/XMLSchema#str", "http://odahub.io/ontology#String"],
            },
            {
                "name": "E1_keV",
                "units": "keV",
                "value": 20.0,
                "restrictions": {"is_optional": False},
                "owl_uri": ["http://odahub.io/ontology#Energy"],
                "extra_metadata": {"label": "Low energy", "description": "lower bound", "group": "Energy"},
            },
            {"name": "E1_keV", "units": "keV", "value": 99.0},
        ],
        [
            {"query_name": "isgri_lc_query"},
            {"product_name": "isgri_lc"},
            {
                "name": "time_bin",
                "units": "sec",
                "value": 1000.0,
                "restrictions": {"is_optional": False},
                "owl_uri": ["http://odahub.io/ontology#TimeDeltaIsDeprecated"],
            },
            {"name": "time_bin_format", "units": "str", "value": "sec"},
        ],
    ]
]


def test_integral_quirks():
    desc = parse_description(ISGRI)
    lc = desc.product("isgri_lc")
    assert lc.names == ["T1", "T2", "osa_version", "E1_keV", "time_bin"]
    osa = lc.parameter("osa_version")
    assert osa.kind == "enum" and osa.allowed_values == ("OSA10.2", "OSA11.2")
    e1 = lc.parameter("E1_keV")
    assert (e1.min_value, e1.max_value, e1.default) == (15.0, 800.0, 20.0)  # first entry wins
    assert (e1.label, e1.description, e1.group) == ("Low energy", "lower bound", "Energy")
    assert e1.title == "Low energy [keV]"
    tb = lc.parameter("time_bin")
    assert (tb.kind, tb.format_name, tb.format_default) == ("time_delta", "time_bin_format", "sec")
    assert lc.defaults() == {
        "T1": "2017-03-06T13:26:48.000",
        "T_format": "isot",
        "T2": "2017-03-06T15:32:27.000",
        "osa_version": "OSA11.2",
        "E1_keV": 20.0,
        "time_bin": 1000.0,
        "time_bin_format": "sec",
    }
    with pytest.raises(InvalidParameter):
        desc.product("isgri_spectrum")  # in prod_dict but no block here


def test_legacy_notebook_text_with_python_literals():
    """2021 notebook outputs: string blocks rewritten with None (still read with json only)."""
    blocks = [json.dumps(b).replace("null", "None") for b in ISGRI[0][2:]]
    text = json.dumps([[ISGRI[0][0], ISGRI[0][1], *blocks]])
    desc = parse_description(text)
    assert desc.legacy
    assert desc.product("isgri_lc").parameter("E1_keV").max_value == 800.0
    assert desc.product("isgri_lc").defaults()["time_bin_format"] == "sec"


def test_legacy_names_infer_kinds_without_ontology():
    block = json.dumps(
        [
            {"query_name": "jemx_parameters"},
            {"name": "scw_list", "units": None, "value": []},
            {"name": "selected_catalog", "units": None, "value": None},
            {"name": "E1_keV", "units": "keV", "value": 3.0},
            {"name": "jemx_num", "units": None, "value": 2},
            {"name": "detection_threshold", "units": "sigma", "value": 7.0},
            {"name": "max_pointings", "units": None, "value": 50},
            {"name": "flag", "units": None, "value": True},
            {"name": "time_bin", "units": "jd", "value": 0.01},
            {"name": "T0", "units": "jd", "value": 2457818.5},
        ]
    )
    payload = [
        [
            {"instrumet": "jemx"},
            {"prod_dict": {"jemx_image": "jemx_image_query"}},
            json.dumps([{"query_name": "src_query"}, {"name": "T1", "units": "mjd", "value": 57818.5}]),
            block,
            json.dumps([{"query_name": "jemx_image_query"}, {"product_name": "jemx_image"}]),
        ]
    ]
    p = parse_description(payload).product("jemx_image")
    kinds = {s.name: s.kind for s in p.parameters}
    assert kinds == {
        "T1": "time",
        "scw_list": "input_prod_list",
        "selected_catalog": "user_catalog",
        "E1_keV": "energy",
        "jemx_num": "enum",
        "detection_threshold": "threshold",
        "max_pointings": "integer",
        "flag": "boolean",
        "time_bin": "time_delta",
        "T0": "time",
    }
    assert p.parameter("jemx_num").allowed_values == (1, 2)
    assert (p.parameter("E1_keV").min_value, p.parameter("E1_keV").max_value) == (3.0, 35.0)
    assert p.parameter("scw_list").optional and not p.parameter("max_pointings").optional
