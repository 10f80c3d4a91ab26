"""Every global the restricted unpickler allows survives BUILD/SETSTATE/SETITEM/APPEND attacks:
whatever a payload does to what it loads, astropy's unit registry, numpy's dtypes and the allowed
classes themselves stay as they were, and only ``OdaError`` subclasses come out."""

from __future__ import annotations

import math

import pytest
from astropy import units as u
from global_state import GlobalState, conversions_are_right
from pickle_ops import (
    ADDITEMS,
    APPEND,
    APPENDS,
    BUILD,
    MARK,
    NONE,
    OBJ,
    PROTO4,
    SETITEM,
    SETITEMS,
    call,
    dct,
    glob,
    inst,
    lst,
    newobj,
    payload,
    registry_unit,
    tup,
    val,
)

from oda_widgets.errors import OdaError
from oda_widgets.products import safe_loads
from oda_widgets.products.safe_pickle import ALLOWED_NAMES

_ARGUMENTS: list[tuple[bytes, ...]] = [
    (),
    (val("deg"),),
    (val("rad"),),
    (val("s"),),
    (val(["deg"]),),
    (val("(deg, s)"),),
    (val("mag(AB)"),),
    (val(1.0),),
    (val([1, 2]),),
    (val("abc"), val("latin1")),
    (val("f8"), val(False), val(False)),
    (val("O"), val(False), val(False)),
    (val("S5"), val(False), val(False)),
    (glob("astropy.units.core", "IrreducibleUnit"), val(["rad"]), val(True)),
    (glob("astropy.units.core", "IrreducibleUnit"), val(["deg"]), val(False)),
    (glob("astropy.units.function.mixin", "IrreducibleFunctionUnit"), val(["dex"]), val(True)),
    (glob("numpy", "ndarray"), val((0,)), val(b"b")),
    (registry_unit("rad"),),
    (registry_unit("s"), val(None)),
    (val(""),),
    # a class as the argument: no allowed callable may hand it back to be changed
    (glob("astropy.table.table", "Table"),),
    (call(glob("numpy", "dtype"), val("O"), val(False), val(True)), glob("astropy.table.table", "Table")),
]

# What BUILD and friends try to write into the object under them.
_STATE = dct(
    _represents=registry_unit("rad"),
    _names=val(["deg"]),
    _short_names=val(["deg"]),
    _scale=val(1e9),
    _bases=lst(registry_unit("rad")),
    _powers=val([1]),
    byteorder=val(">"),
    __doc__=val("changed by a payload"),
)
_MUTATIONS: dict[str, bytes] = {
    "BUILD dict": _STATE + BUILD,
    "BUILD slot state (setattr)": tup(NONE, _STATE) + BUILD,
    "BUILD dtype state": val((3, ">", None, None, None, -1, -1, 0)) + BUILD,
    "SETITEM": val("_represents") + registry_unit("rad") + SETITEM,
    "SETITEMS": MARK + val("_scale") + val(1e9) + SETITEMS,
    "APPEND": registry_unit("rad") + APPEND,
    "APPENDS": MARK + registry_unit("rad") + APPENDS,
    "ADDITEMS": MARK + val("x") + ADDITEMS,
}


def _targets(module: str, name: str) -> dict[str, bytes]:
    g = glob(module, name)
    out = {"the global itself": g, "NEWOBJ()": newobj(g)}
    for i, args in enumerate(_ARGUMENTS):
        out[f"REDUCE args#{i}"] = call(g, *args)
        out[f"INST args#{i}"] = inst(module, name, *args)
        out[f"OBJ args#{i}"] = MARK + g + b"".join(args) + OBJ
        if args:
            out[f"NEWOBJ args#{i}"] = newobj(g, *args)
    return out


def _load(data: bytes) -> str:
    try:
        safe_loads(data)
    except OdaError as exc:
        return type(exc).__name__
    return "loaded"


@pytest.fixture(scope="module")
def warmed_up():
    """Everything a first load imports is imported before the snapshots are compared."""
    safe_loads(payload(registry_unit("s")))
    safe_loads(payload(call(glob("astropy.units.core", "Unit"), val("mag(AB)"))))
    return GlobalState.take()


def test_the_reported_attack_leaves_degrees_alone(warmed_up):
    """Unit('deg') + BUILD {_represents: rad} made 1 deg == 1 rad in the whole kernel."""
    attack = payload(
        call(glob("astropy.units.core", "Unit"), val("deg")), dct(_represents=registry_unit("rad")), BUILD
    )
    _load(attack)
    assert (1 * u.deg).to_value(u.rad) == pytest.approx(math.pi / 180)
    attack2 = payload(registry_unit("rad"), dct(_represents=registry_unit("s")), BUILD)
    _load(attack2)
    assert u.rad.is_equivalent(u.deg) and not u.rad.is_equivalent(u.s)
    assert conversions_are_right() == []
    assert GlobalState.take().diff(warmed_up) == []


@pytest.mark.parametrize("allowed", sorted(ALLOWED_NAMES))
def test_allowed_global_survives_every_mutation(allowed, warmed_up):
    module, _, name = allowed.rpartition(".")
    outcomes: dict[str, int] = {}
    for target_name, target in _targets(module, name).items():
        for mutation_name, mutation in _MUTATIONS.items():
            proto = PROTO4 if mutation_name == "ADDITEMS" else b"\x80\x02"
            outcome = _load(payload(target, mutation, proto=proto))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        wrong = conversions_are_right()
        assert not wrong, f"{allowed} {target_name} + one of {list(_MUTATIONS)} changed units: {wrong}"
    assert GlobalState.take().diff(warmed_up) == [], outcomes


# -- what the dispatcher really sends still decodes, equal to oda_api's decoding ----------------

_CAPTURED_PRODUCTS = [
    "modern-1.3.6-annotated/run_analysis_done_numpy_data_product_list.json",
    "nb2workflow-1.3.6/run_analysis_api_lightcurve_06.json",
    "git-1.3.6/run_analysis_empty_numerical_done.json",
    "git-1.3.6/run_analysis_empty_numerical_POST.json",
    "pypi-1.3.3/run_analysis_empty_numerical_done.json",
    "pypi-1.3.3/run_analysis_empty_numerical_POST.json",
]


@pytest.mark.parametrize("capture", _CAPTURED_PRODUCTS)
def test_captured_dispatcher_pickles_decode_equal_to_oda_api(capture, warmed_up):
    import json

    import numpy as np
    from oda_api.data_products import NumpyDataProduct
    from shared_data import CAPTURES

    from oda_widgets.products import decode_numpy_data_product

    products = json.loads((CAPTURES / capture).read_text())["products"]
    assert products["numpy_data_product_list"]
    theirs_all = [NumpyDataProduct.decode(d).to_fits_hdu_list() for d in products["numpy_data_product_list"]]
    before = GlobalState.take()  # oda_api's import configures logging: not ours to judge
    for d, theirs in zip(products["numpy_data_product_list"], theirs_all):
        ours = decode_numpy_data_product(d).hdulist
        assert [h.name for h in ours] == [h.name for h in theirs]
        for a, b in zip(ours, theirs):
            if b.data is None:
                assert a.data is None
            elif b.data.dtype.names:
                assert a.data.dtype.names == b.data.dtype.names
                for name in b.data.dtype.names:
                    assert np.array_equal(a.data[name], b.data[name])
            else:
                assert np.array_equal(a.data, b.data, equal_nan=True)
    assert GlobalState.take().diff(before) == []


def _tables_with_units():
    import numpy as np
    from astropy.table import MaskedColumn, Table

    t = Table(
        {
            "flux": [1.0, 2.0] * u.erg / u.cm**2 / u.s,
            "rate": [3.0, 4.0] * u.ct / u.s,
            "ra": [83.6, 266.4] * u.deg,
            "energy": [25.0, 80.0] * u.keV,
            "mag": MaskedColumn([1.0, 2.0], mask=[0, 1]),
            "name": ["Crab", "1E 1740.7-2942"],
        },
        meta={"origin": "test"},
    )
    t["ab"] = [3.0, 4.0]
    t["ab"].unit = "mag(AB)"
    t["pct"] = [5.0, 6.0] * u.percent
    return [t, Table({"t": np.arange(3.0) * u.s, "e": np.arange(3.0) * u.dimensionless_unscaled})]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_tables_with_units_decode_equal_to_plain_pickle(protocol, warmed_up):
    """Our own (trusted) tables: the restricted load equals pickle.loads, and its units are the
    registry's (conversions, equality, FITS names all work)."""
    import pickle

    import numpy as np

    # Pickling caches __slotnames__ on the classes, and a plain load BUILDs on the registry's
    # units (same values, new lists): both done before the snapshot, they are not ours to judge.
    payloads = [pickle.dumps(table, protocol=protocol) for table in _tables_with_units()]
    plain = [pickle.loads(data) for data in payloads]
    before = GlobalState.take()
    for data, theirs in zip(payloads, plain):
        ours = safe_loads(data)
        assert ours.colnames == theirs.colnames
        for name in theirs.colnames:
            assert ours[name].unit == theirs[name].unit, name
            assert str(ours[name].unit) == str(theirs[name].unit)
            assert np.array_equal(np.asarray(ours[name]), np.asarray(theirs[name]))
        if "ra" in ours.colnames:
            assert (ours["ra"].quantity[0]).to_value(u.rad) == pytest.approx(83.6 * math.pi / 180)
            assert ours["rate"].unit.to_string("fits") == theirs["rate"].unit.to_string("fits")
            assert ours["pct"].unit.to_string() == "%"
    assert GlobalState.take().diff(before) == []
