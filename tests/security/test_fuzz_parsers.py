"""Bounded fuzz of what reads server data: the meta-data parser and the product decoder.

Real descriptions and products (captures, the demo's own, encoded INTEGRAL-like products) are
mutated at random places — any JSON value put anywhere, keys dropped, blocks turned into JSON
text — and everything a form or a view would do with the result is done. Only ``OdaError``
subclasses may come out, and nothing process-wide may change (unit registry, warnings filters,
logging, modules loaded...). Derandomized, so CI runs the same cases every time, in seconds.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from global_state import GlobalState, conversions_are_right
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_data import CAPTURES

from oda_widgets.client.description import parse_description
from oda_widgets.errors import OdaError
from oda_widgets.products import ProductCollection, encode_numpy_data_product
from oda_widgets.products.wire import loads_response

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# Values servers have sent, or could: wrong types, non-finite numbers, markup, forged markers.
_NASTY = st.sampled_from(
    [
        "abc",
        "",
        "nan",
        "1e309",
        "deg",
        "RA---XXX",
        "<img src=x onerror=alert(1)>",
        "\x00oda-binarys:0",
        "http://odahub.io/ontology#Angle",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.x",
        "object",
        "(numpy.record, [('A', '<f8')])",
        -1,
        0,
        5,
        1e309,
        -1e-320,
        True,
        None,
        [],
        {},
        [None],
        {"a": []},
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | _NASTY,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(doc) -> list[tuple]:
    """Every place in ``doc`` (as a tuple of keys/indexes), root excluded."""
    out, stack = [], [((), doc)]
    while stack:
        path, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            out.append((*path, key))
            stack.append(((*path, key), child))
    return out


def _mutate(doc, data, max_changes: int = 3):
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, max_changes), label="changes")):
        paths = _paths(doc)
        if not paths:
            return data.draw(_JSON)
        path = data.draw(st.sampled_from(paths), label="where")
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        how = data.draw(st.sampled_from(["replace", "replace", "drop", "as text"]), label="how")
        if how == "drop":
            del parent[path[-1]]
        elif how == "as text":
            parent[path[-1]] = json.dumps(parent[path[-1]])
        else:
            parent[path[-1]] = data.draw(_JSON, label="value")
    return doc


_LIBRARIES = ("numpy", "astropy", "erfa", "hypothesis", "_pytest")


def _state_ok(before: GlobalState) -> list[str]:
    diff = [d for d in GlobalState.take().diff(before) if not d.startswith("sys.modules")]
    # Lazy imports inside numpy/astropy (numpy.rec for a table without data...) and the fuzzer's
    # own are the libraries' business; a module a server names is never imported (the pickle
    # tests check the exact set of modules).
    before_modules = set(before.parts["sys.modules"])
    now = set(GlobalState.take().parts["sys.modules"])
    foreign = sorted(
        m for m in now ^ before_modules if m.split(".")[0] not in _LIBRARIES and not m.startswith("_cython_")
    )
    if foreign:
        diff.append(f"sys.modules changed: {foreign}")
    return diff + conversions_are_right()


# -- the meta-data parser ------------------------------------------------------------------------


def _descriptions() -> list:
    docs = []
    for folder in ("git-1.3.6", "pypi-1.3.3", "nb2workflow-1.3.6"):
        for path in sorted((CAPTURES / folder).glob("meta-data*.json")):
            body = json.loads(path.read_text())
            body = body.get("body", body) if isinstance(body, dict) and "body" in body else body
            if isinstance(body, list):
                docs.append(body)
    from oda_widgets.demo import instruments

    docs.append(instruments.meta_data("isgri", None, False))
    docs.append(instruments.meta_data("spi_acs", None, True))
    return docs


DESCRIPTIONS = _descriptions()


def _use_description(doc) -> None:
    description = parse_description(doc)
    for name in description.described_products:
        product = description.product(name)
        product.defaults()
        product.companions
        for spec in product.parameters:
            spec.title
            spec.empty_default
            product.parameter(spec.name)


@FUZZ
@given(st.data())
def _fuzz_descriptions(data):
    doc = _mutate(data.draw(st.sampled_from(DESCRIPTIONS), label="description"), data)
    try:
        _use_description(doc)
    except OdaError:
        pass


def test_the_meta_data_parser_only_raises_oda_errors_and_changes_nothing():
    assert len(DESCRIPTIONS) >= 10
    for doc in DESCRIPTIONS:
        _use_description(doc)  # the real ones parse (and warm every import up)
    before = GlobalState.take()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning is a change of state too (and must be typed)
        _fuzz_descriptions()
    assert _state_ok(before) == []


def test_malformed_restrictions_are_left_out_with_a_note():
    entry = {
        "name": "E1_keV",
        "units": "keV",
        "value": 25.0,
        "restrictions": {"min_value": "abc", "max_value": float("inf"), "allowed_values": 5},
        "owl_uri": 5,
    }
    doc = [
        [
            {"instrumet": "x"},
            {"prod_dict": {"p": "p_query"}},
            [{"query_name": "p_query", "product_name": "p"}, entry],
        ]
    ]
    (spec,) = parse_description(doc).product("p").parameters
    assert spec.min_value is None and spec.max_value is None and spec.allowed_values is None
    assert spec.owl_uri == () and spec.kind == "energy" and spec.default == 25.0
    assert any("min_value 'abc'" in n for n in spec.notes) and any("owl_uri" in n for n in spec.notes)


# -- the product decoder --------------------------------------------------------------------------


def _light_curve() -> fits.HDUList:
    t = np.arange(20.0)
    lc = fits.BinTableHDU.from_columns(
        [
            fits.Column("TIME", "D", array=6000.0 + t / 100),
            fits.Column("RATE", "E", array=np.ones(20)),
            fits.Column("ERROR", "E", array=np.full(20, 0.1)),
        ],
        name="ISGR-SRC.-LCR",
    )
    lc.header.update(MJDREF=51544.0, TIMEDEL=0.01, TIMEZERO=0.0, E_MIN=25.0, E_MAX=80.0, NAME="Crab")
    return fits.HDUList([fits.PrimaryHDU(), lc])


def _mosaic() -> fits.HDUList:
    hdus = [fits.PrimaryHDU()]
    for imatype in ("INTENSITY", "SIGNIFICANCE"):
        h = fits.ImageHDU(np.arange(16, dtype=">f4").reshape(4, 4), name="ISGR-MOSA-IMA")
        h.header.update(
            IMATYPE=imatype,
            CTYPE1="RA---TAN",
            CTYPE2="DEC--TAN",
            CRVAL1=83.6,
            CRVAL2=22.0,
            CRPIX1=2.0,
            CRPIX2=2.0,
            CDELT1=-0.08,
            CDELT2=0.08,
            TSTART=6000.0,
            TSTOP=6001.0,
            MJDREF=51544.0,
        )
        hdus.append(h)
    return fits.HDUList(hdus)


def _spectrum_parts() -> list[dict]:
    spec = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=np.arange(4)),
            fits.Column("RATE", "E", array=np.ones(4)),
            fits.Column("STAT_ERR", "E", array=np.full(4, 0.1)),
        ],
        name="ISGR-EVTS-SPE",
    )
    spec.header["EXPOSURE"] = 1000.0
    ebounds = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=np.arange(4)),
            fits.Column("E_MIN", "E", array=[20.0, 30.0, 40.0, 50.0]),
            fits.Column("E_MAX", "E", array=[30.0, 40.0, 50.0, 60.0]),
        ],
        name="EBOUNDS",
    )
    return [
        encode_numpy_data_product(
            fits.HDUList([fits.PrimaryHDU(), spec]), "spec", {"src_name": "Crab", "product": "isgri_spectrum"}
        ),
        encode_numpy_data_product(
            fits.HDUList([fits.PrimaryHDU(), ebounds]), "rmf", {"src_name": "Crab", "product": "isgri_rmf"}
        ),
    ]


def _product_sets() -> list[dict]:
    sets = [
        {
            "numpy_data_product_list": [
                encode_numpy_data_product(_light_curve(), "isgri_lc", {"src_name": "Crab"})
            ]
        },
        {
            "numpy_data_product_list": [
                encode_numpy_data_product(_mosaic(), "mosaic_image", {"product": "mosaic"})
            ]
        },
        {"numpy_data_product_list": _spectrum_parts()},
        {
            "catalog": {
                "cat_frame": "fk5",
                "cat_coord_units": "deg",
                "cat_column_list": [
                    [1, 2],
                    ["Crab", "NEW_1"],
                    [30.1, 7.2],
                    [83.6, 266.0],
                    [22.0, -29.0],
                    [0, 2],
                ],
                "cat_column_names": ["meta_ID", "src_names", "significance", "ra", "dec", "FLAG"],
                "cat_column_descr": [
                    ["meta_ID", "<i8"],
                    ["src_names", "<U6"],
                    ["significance", "<f8"],
                    ["ra", "<f8"],
                    ["dec", "<f8"],
                    ["FLAG", "<i8"],
                ],
                "cat_lat_name": "dec",
                "cat_lon_name": "ra",
            },
            "text_product_list": [json.dumps({"name": "note", "value": "hello", "meta_data": {}})],
            "binary_image_product_list": [{"name": "pic", "b64data": "iVBORw0KGgo=", "img_type": "png"}],
            "analysis_parameters": {"instrument": "isgri", "product_type": "isgri_image"},
        },
    ]
    done = json.loads((CAPTURES / "git-1.3.6" / "run_analysis_empty_numerical_done.json").read_text())
    sets.append(done["products"])
    return json.loads(json.dumps(sets))


PRODUCTS = _product_sets()


def _use_products(products) -> None:
    collection = ProductCollection.from_response(products)
    collection.light_curves
    collection.mosaic
    collection.spectra
    collection.catalog
    collection.others()
    repr(collection)
    for lc in collection.light_curves:
        lc.valid, lc.ijd, repr(lc)
    for spectrum in collection.spectra:
        repr(spectrum)


@FUZZ
@given(st.data())
def _fuzz_products(data):
    products = _mutate(data.draw(st.sampled_from(PRODUCTS), label="products"), data, max_changes=2)
    try:
        _use_products(products)
    except OdaError:
        pass
    # the same products through the fast byte-level parser of run_analysis answers
    body = json.dumps({"query_status": "done", "products": products}).encode()
    try:
        _use_products(loads_response(body).get("products"))
    except OdaError:
        pass
    except ValueError as exc:  # not JSON at all (the dispatcher client reports that as ServerError)
        assert "JSON" in type(exc).__name__ or "JSON" in str(exc) or "Expecting" in str(exc), exc


def test_the_product_decoder_only_raises_oda_errors_and_changes_nothing():
    for products in PRODUCTS:
        _use_products(products)  # the real ones decode (and warm every import up)
    before = GlobalState.take()
    with warnings.catch_warnings():
        # astropy warns about odd headers (and the fuzz writes plenty): harmless, and restored
        warnings.simplefilter("ignore")
        _fuzz_products()
    assert _state_ok(before) == []


def test_fuzz_inputs_are_real(tmp_path: Path):
    """The seeds are what servers send: every product set decodes to something."""
    counts = [len(ProductCollection.from_response(p)) for p in PRODUCTS]
    assert all(counts) and sum(counts) >= 7
