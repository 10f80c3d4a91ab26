"""The restricted unpickler: real payloads load, every kind of hostile pickle is refused unrun."""

from __future__ import annotations

import base64
import os
import pickle
import pickletools
import subprocess
import tempfile

import numpy as np
import pytest
from _products_helpers import wire
from astropy import units as u
from astropy.io import fits
from astropy.table import MaskedColumn, Table

from oda_widgets.errors import OdaError, UnsafePayload
from oda_widgets.products import (
    ProductCollection,
    decode_numpy_data_product,
    encode_numpy_data_product,
    safe_loads,
)

# -- legitimate payloads -------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_real_fits_tables_load_with_every_protocol(samples, protocol):
    with fits.open(samples / "isgri_rmf_Crab.fits") as h:
        for hdu in h[1:]:
            for i in range(len(hdu.columns)):
                hdu.data.field(i)
            back = safe_loads(pickle.dumps(hdu.data, protocol=protocol))
            assert isinstance(back, fits.FITS_rec)
            assert back.columns.names == hdu.columns.names
            for name in hdu.columns.names:
                a, b = hdu.data[name], back[name]
                if a.dtype == object:
                    assert all(np.array_equal(x, y) for x, y in zip(a, b))
                else:
                    assert np.array_equal(a, b)


def test_string_columns_and_images_load(samples):
    with fits.open(samples / "jemx1_lc_osa_with_grouping.fits.gz") as h:
        grouping = h["GROUPING"].data
        grouping["MEMBER_NAME"]  # the converted (chararray) column is pickled too
        back = safe_loads(pickle.dumps(grouping))
        assert back["MEMBER_NAME"].tolist() == grouping["MEMBER_NAME"].tolist()
    with fits.open(samples / "isgri_mosaic_significance_1E1740.fits.gz") as h:
        img = np.array(h[0].data)
    back = safe_loads(pickle.dumps(img))
    # numpy restores a big-endian float32 array as native float32 (plain pickle does the same)
    assert back.dtype.kind == "f" and back.dtype.itemsize == 4
    assert np.array_equal(back, img, equal_nan=True)


def test_numpy1_module_paths_resolve():
    """Pickles written by NumPy 1.x name ``numpy.core.*``: they resolve to today's numpy."""
    arr = np.arange(6, dtype=">f4").reshape(2, 3)
    data = pickle.dumps(arr, protocol=2)
    assert b"numpy._core.multiarray" in data
    old = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert np.array_equal(safe_loads(old), arr)


@pytest.mark.parametrize("protocol", [2, 5])
def test_astropy_tables_with_units_and_masks_load(protocol):
    t = Table(
        {
            "flux": [1.0, 2.0] * u.erg / u.cm**2 / u.s,
            "mag": MaskedColumn([1.0, 2.0], mask=[0, 1]),
            "name": ["a", "b"],
        },
        meta={"origin": "test"},
    )
    t["m"] = [3.0, 4.0]
    t["m"].unit = "mag(AB)"
    back = safe_loads(pickle.dumps(t, protocol=protocol))
    assert isinstance(back, Table)
    assert back["flux"].unit == u.erg / u.cm**2 / u.s
    assert back["mag"].mask.tolist() == [False, True]
    assert back.meta["origin"] == "test"
    assert back["name"].tolist() == ["a", "b"]


def test_corrupt_bytes_raise_a_readable_error():
    with pytest.raises(OdaError, match="could not be unpickled"):
        safe_loads(b"\x80\x05not a pickle")
    with pytest.raises(TypeError):
        safe_loads("a string")


# -- hostile payloads ----------------------------------------------------------------------------


def _global(module: str, name: str, args: bytes = b"") -> bytes:
    """A protocol-0/2 pickle calling ``module.name(*args)`` through the GLOBAL opcode."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n" + b"(" + args + b"tR."


def _stack_global(module: str, name: str, arg: str) -> bytes:
    """A protocol-4 pickle calling ``module.name(arg)`` through STACK_GLOBAL."""

    def u(s: str) -> bytes:
        b = s.encode()
        return b"\x8c" + bytes([len(b)]) + b

    return b"\x80\x04" + u(module) + u(name) + b"\x93" + u(arg) + b"\x85R."


def _str(s: str) -> bytes:
    return b"V" + s.encode() + b"\n"


class _Reduce:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _hostile(marker: str) -> dict[str, tuple[bytes, str]]:
    """name → (pickle bytes, the class name that must be refused). Each would create ``marker``."""
    touch = f"open({marker!r}, 'w').write('ran')"
    fr = fits.BinTableHDU.from_columns([fits.Column("TIME", "D", array=[1.0, 2.0])]).data
    # the converted-column cache travels inside the FITS_rec state (ColDefs are deep-copied by
    # FITS_rec.__reduce__, which would run the payload here)
    fr._converted["EVIL"] = _Reduce(os.system, f"touch {marker}")
    obj_array = np.array([None, _Reduce(eval, touch)], dtype=object)
    return {
        "os.system": (pickle.dumps(_Reduce(os.system, f"touch {marker}")), f"{os.name}.system"),
        "posix.system via GLOBAL": (_global("posix", "system", _str(f"touch {marker}")), "posix.system"),
        "builtins.exec": (pickle.dumps(_Reduce(exec, touch)), "builtins.exec"),
        "builtins.eval": (pickle.dumps(_Reduce(eval, touch)), "builtins.eval"),
        "subprocess.Popen": (pickle.dumps(_Reduce(subprocess.Popen, ["touch", marker])), "subprocess.Popen"),
        "getattr(builtins, 'exec')": (
            b"cbuiltins\ngetattr\n(cbuiltins\n__dict__\nVexec\ntR" + b"(" + _str(touch) + b"tR.",
            "builtins.getattr",
        ),
        "__import__": (_global("builtins", "__import__", _str("os")), "builtins.__import__"),
        "STACK_GLOBAL os.system": (_stack_global("os", "system", f"touch {marker}"), "os.system"),
        "dotted name through an allowed class": (
            _stack_global("numpy", "ndarray.__class__", "x"),
            "numpy.ndarray.__class__",
        ),
        "numpy.load (allowed module, not an allowed name)": (
            _global("numpy", "load", _str(marker)),
            "numpy.load",
        ),
        "numpy.save writes a file": (pickle.dumps(_Reduce(np.save, marker, np.zeros(1))), "numpy.save"),
        "numpy.testing callable": (
            _global("numpy.testing", "assert_equal", _str("a") + _str("a")),
            "numpy.testing.assert_equal",
        ),
        "astropy download_file": (
            _global("astropy.utils.data", "download_file", _str("file:///etc/hostname")),
            "astropy.utils.data.download_file",
        ),
        "astropy.io.fits.open": (
            _global("astropy.io.fits", "open", _str("/etc/hostname")),
            "astropy.io.fits.open",
        ),
        "nested in a valid FITS_rec": (pickle.dumps(fr), f"{os.name}.system"),
        "inside an object array": (pickle.dumps(obj_array), "builtins.eval"),
        "_codecs.encode with another codec": (
            _global("_codecs", "encode", _str("x") + _str("rot13")),
            "_codecs.encode",
        ),
        "persistent id": (b"\x80\x02P0\n.", "persistent_load"),
        "BUILD sets attributes on an allowed class": (
            b"\x80\x02castropy.io.fits.column\nColDefs\nN}X\x05\x00\x00\x00pwnedX\x03\x00\x00\x00yess\x86b.",
            "BUILD on a global",
        ),
        "SETITEMS on an allowed class": (
            b"\x80\x02ccollections\nOrderedDict\n(X\x01\x00\x00\x00kX\x01\x00\x00\x00vu.",
            "SETITEMS on a global",
        ),
    }


# case names only; each test builds its payloads again around its own marker path (building them
# must run nothing either: the marker check below covers that too)
HOSTILE = list(_hostile(os.path.join(tempfile.mkdtemp(), "never-created")))


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_pickle_is_refused_and_nothing_runs(tmp_path, case):
    marker = str(tmp_path / "ran")
    data, refused = _hostile(marker)[case]
    with pytest.raises(UnsafePayload) as err:
        safe_loads(data)
    assert err.value.class_name == refused
    assert refused in str(err.value)
    assert not os.path.exists(marker), "the payload ran"


def test_allowed_classes_are_not_modified():
    from astropy.io.fits.column import ColDefs

    data, _ = _hostile(os.path.join(tempfile.mkdtemp(), "ran"))["BUILD sets attributes on an allowed class"]
    with pytest.raises(UnsafePayload):
        safe_loads(data)
    assert not hasattr(ColDefs, "pwned")


def test_plain_pickle_would_have_run_the_payload(tmp_path):
    """The marker mechanism works: an unrestricted load of the same payload does create it."""
    marker = str(tmp_path / "ran")
    data, _ = _hostile(marker)["builtins.exec"]
    pickle.loads(data)  # trusted here: the payload is our own
    assert os.path.exists(marker)


def test_at_least_ten_kinds_of_hostile_pickles():
    assert len(HOSTILE) >= 10
    marker = os.path.join(tempfile.mkdtemp(), "ran")
    payloads = _hostile(marker)
    kinds = {op.name for case in HOSTILE for op, _, _ in pickletools.genops(payloads[case][0])}
    assert not os.path.exists(marker)
    assert {"GLOBAL", "STACK_GLOBAL", "REDUCE"} <= kinds


def _numpy_unit_with(binarys: bytes) -> dict:
    return {
        "name": "mosaic_image",
        "meta_data": "{}",
        "data_unit_list": [
            {
                "name": "ISGR-MOSA-IMA",
                "hdu_type": "image",
                "header": {"NAXIS": 0},
                "dt": ">f4",
                "binarys": base64.b64encode(binarys).decode(),
                "data": None,
                "meta_data": {},
                "units_dict": None,
            }
        ],
    }


def test_hostile_numpy_product_in_a_response_is_refused(tmp_path):
    marker = str(tmp_path / "ran")
    data, refused = _hostile(marker)["os.system"]
    with pytest.raises(UnsafePayload) as err:
        decode_numpy_data_product(wire(_numpy_unit_with(data)))
    assert err.value.class_name == refused
    with pytest.raises(UnsafePayload):
        ProductCollection.from_response({"numpy_data_product_list": [_numpy_unit_with(data)]})
    assert not os.path.exists(marker)


def test_hostile_binary_table_is_refused(tmp_path):
    marker = str(tmp_path / "ran")
    data, refused = _hostile(marker)["builtins.exec"]
    products = {
        "astropy_table_product_binary_list": [
            {"ascii": None, "binary": base64.b64encode(data).decode(), "name": "t", "meta_data": "{}"}
        ]
    }
    with pytest.raises(UnsafePayload) as err:
        ProductCollection.from_response(wire(products))
    assert err.value.class_name == refused
    assert not os.path.exists(marker)


def test_array_payload_must_be_an_array():
    """An allowed but wrong object (a dtype) where data belong is a readable error."""
    with pytest.raises(OdaError, match="not an array"):
        decode_numpy_data_product(_numpy_unit_with(pickle.dumps(np.dtype("f4"))))


def test_unknown_units_are_not_registered_globally():
    from astropy.units.core import IrreducibleUnit, get_current_unit_registry

    unit = IrreducibleUnit(["odawidgetsfoo"])
    data = pickle.dumps(Table({"x": [1.0] * unit}), protocol=2)
    back = safe_loads(data)
    assert back["x"].unit.name == "odawidgetsfoo"
    assert "odawidgetsfoo" not in get_current_unit_registry().registry


def test_encoder_output_loads_back_through_the_restricted_path(samples):
    with fits.open(samples / "jemx1_lc_GRB221009A.fits") as h:
        d = encode_numpy_data_product(h, "jemx_lc", {"src_name": "GRB221009A"})
    for unit in d["data_unit_list"]:
        if unit["binarys"]:
            assert isinstance(safe_loads(base64.b64decode(unit["binarys"])), np.ndarray)
