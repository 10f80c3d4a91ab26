"""MosaicView and the helpers of js/mosaic.js, checked against astropy/matplotlib on the real mosaic.

The JS helpers run in node (the same module the browser loads); Python computes the reference
numbers with astropy and compares.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.visualization import AsinhStretch, LogStretch, PercentileInterval, SqrtStretch, ZScaleInterval
from astropy.wcs import WCS
from shared_data import SAMPLES

from oda_widgets._assets import esm_path
from oda_widgets.errors import InvalidParameter
from oda_widgets.mosaic import EXTENSION_ORDER, MosaicView, wcs_to_dict

SAMPLE = str(SAMPLES / "isgri_mosaic_significance_1E1740.fits.gz")
NODE = shutil.which("node")


def run_js(code: str, payload) -> object:
    """Run ``code`` (an async function body seeing ``M`` = js/mosaic.js exports and ``input``) in node."""
    if NODE is None:
        pytest.fail("node is needed to test the front-end helpers (apt-get install nodejs)")
    module = esm_path("mosaic.js").as_uri()
    script = (
        f"import * as M from {json.dumps(module)};\n"
        "let raw = ''; process.stdin.on('data', d => raw += d);\n"
        "process.stdin.on('end', () => { const input = JSON.parse(raw);\n"
        f"const out = (() => {{ {code} }})();\n"
        "process.stdout.write(JSON.stringify(out)); });\n"
    )
    r = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def hdul():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = fits.open(SAMPLE)
        h[0].data
        return h


@pytest.fixture(scope="module")
def wcs(hdul):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(hdul[0].header)


def test_tan_read_out_agrees_with_astropy_at_random_pixels(hdul, wcs):
    ny, nx = hdul[0].data.shape
    rng = np.random.default_rng(7)
    px = np.column_stack([rng.uniform(-0.5, nx - 0.5, 300), rng.uniform(-0.5, ny - 0.5, 300)])
    ra, dec = wcs.wcs_pix2world(px, 0).T
    out = run_js(
        "return input.px.map(([x, y], i) => [...M.pixelToWorld(input.wcs, x, y),"
        " ...M.worldToPixel(input.wcs, input.ra[i], input.dec[i])]);",
        {"px": px.tolist(), "wcs": wcs_to_dict(wcs), "ra": ra.tolist(), "dec": dec.tolist()},
    )
    out = np.array(out)
    # pixel → sky: the JS position, put back through astropy, lands within 0.1 px (in fact ~1e-9)
    back = wcs.wcs_world2pix(out[:, :2], 0)
    assert np.max(np.hypot(*(back - px).T)) < 0.1
    assert np.max(np.abs(out[:, 1] - dec)) < 1e-8
    # sky → pixel (the overlay positions)
    assert np.max(np.hypot(*(out[:, 2:] - px).T)) < 0.1


def test_tan_far_from_the_reference_and_at_high_declination():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [10.0, 78.0]
    w.wcs.crpix = [500.5, 400.5]
    w.wcs.cd = [[-0.05, 0.01], [0.012, 0.05]]  # rotated and skewed
    px = np.array([[0, 0], [999, 799], [10, 790], [990, 3], [500, 400]], dtype=float)
    out = np.array(
        run_js(
            "return input.px.map(([x, y]) => M.pixelToWorld(input.wcs, x, y));",
            {"px": px.tolist(), "wcs": wcs_to_dict(w)},
        )
    )
    assert np.max(np.hypot(*(w.wcs_world2pix(out, 0) - px).T)) < 0.1


def _sky_wcs(code, crval, *, cdelt=0.2, crpix=(200.5, 150.5), rot=10.0, frame="RA", pv=None):
    w = WCS(naxis=2)
    lon, lat = ("RA--", "DEC-") if frame == "RA" else ("GLON", "GLAT")
    w.wcs.ctype = [f"{lon}-{code}", f"{lat}-{code}"]
    w.wcs.crval = crval
    w.wcs.crpix = list(crpix)
    w.wcs.cdelt = [-cdelt, cdelt]
    c, s = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    w.wcs.pc = [[c, -s], [s, c]]
    if pv:
        w.wcs.set_pv(pv)
    return w


PROJECTION_CASES = [
    (code, crval)
    for code in ("TAN", "SIN", "ARC", "ZEA", "STG", "CAR", "MER", "CEA", "SFL", "MOL", "AIT")
    for crval in ([266.4, -29.0], [10.0, 80.0], [0.0, 0.0], [120.0, -60.0])
]


@pytest.mark.parametrize(("code", "crval"), PROJECTION_CASES)
def test_browser_projections_agree_with_astropy(code, crval):
    """The JS projection (pixel → sky and back) against astropy/wcslib at 300 points of a rotated
    field, for every projection the browser draws and references on the equator, near the pole
    and in the south (LONPOLE/LATPOLE resolved by wcslib)."""
    w = _sky_wcs(code, crval, pv=[(2, 1, 0.7)] if code == "CEA" else None)
    d = wcs_to_dict(w)
    assert d["supported"] and d["proj"] == code
    rng = np.random.default_rng(3)
    px = np.column_stack([rng.uniform(-0.5, 400, 300), rng.uniform(-0.5, 300, 300)])
    world = w.wcs_pix2world(px, 0)
    ok = np.all(np.isfinite(world), axis=1)
    out = run_js(
        "return {w: input.px.map(([x, y]) => M.pixelToWorld(input.wcs, x, y)),"
        " p: input.world.map(([a, b]) => M.worldToPixel(input.wcs, a, b))};",
        {"px": px[ok].tolist(), "wcs": d, "world": world[ok].tolist()},
    )
    jw, jp = np.array(out["w"], dtype=float), np.array(out["p"], dtype=float)
    dlon = ((jw[:, 0] - world[ok, 0] + 180) % 360 - 180) * np.cos(np.radians(world[ok, 1]))
    assert np.max(np.hypot(dlon, jw[:, 1] - world[ok, 1])) < 1e-9  # degrees
    assert np.max(np.hypot(*(jp - px[ok]).T)) < 1e-6  # pixels


@pytest.mark.parametrize("code", ["AIT", "MOL", "CAR", "ZEA", "SIN"])
def test_all_sky_images_outside_the_projection_are_blank_in_both(code):
    """A 1°/px all-sky galactic image: pixels off the projection's domain are NaN for astropy and
    for the browser alike, and galactic axes are labelled l/b in decimal degrees."""
    w = _sky_wcs(code, [0.0, 0.0], cdelt=1.0, crpix=(180.5, 90.5), rot=0.0, frame="GLON")
    d = wcs_to_dict(w)
    assert (d["frame"], d["lon_name"], d["sexagesimal"]) == ("galactic", "l", False)
    xs, ys = np.meshgrid(np.linspace(-0.5, 360, 41), np.linspace(-0.5, 180, 23))
    px = np.column_stack([xs.ravel(), ys.ravel()])
    with np.errstate(invalid="ignore"):
        world = w.wcs_pix2world(px, 0)
    out = np.array(
        run_js(
            "return input.px.map(([x, y]) => M.pixelToWorld(input.wcs, x, y));",
            {"px": px.tolist(), "wcs": d},
        ),
        dtype=float,
    )
    astropy_ok = np.all(np.isfinite(world), axis=1)
    js_ok = np.all(np.isfinite(out), axis=1)
    # points on the domain's very edge may fall either way by rounding: compare away from it
    edge = np.zeros(len(px), dtype=bool)
    for dx, dy in ((0.3, 0), (-0.3, 0), (0, 0.3), (0, -0.3)):
        with np.errstate(invalid="ignore"):
            edge |= np.all(np.isfinite(w.wcs_pix2world(px + np.array([dx, dy]), 0)), axis=1) != astropy_ok
    assert np.array_equal(astropy_ok[~edge], js_ok[~edge])
    both = astropy_ok & js_ok
    dlon = ((out[both, 0] - world[both, 0] + 180) % 360 - 180) * np.cos(np.radians(world[both, 1]))
    assert np.max(np.abs(dlon)) < 1e-8 and np.max(np.abs(out[both, 1] - world[both, 1])) < 1e-8


def test_unsupported_wcs_is_flagged_not_refused():
    """Projections the browser lacks, and distortions, leave the view usable: flagged with a
    reason (pixel read-out), while a WCS without sky axes is refused."""
    w = _sky_wcs("ZPN", [10.0, 10.0], pv=[(2, 1, 1.0)])
    d = wcs_to_dict(w)
    assert d["supported"] is False and "ZPN" in d["reason"]
    sip = fits.Header.fromstring(
        "CTYPE1  = 'RA---TAN-SIP'\nCTYPE2  = 'DEC--TAN-SIP'\nCRVAL1  = 10.0\nCRVAL2  = 20.0\n"
        "CRPIX1  = 50.0\nCRPIX2  = 50.0\nCDELT1  = -0.01\nCDELT2  = 0.01\nA_ORDER = 2\n"
        "B_ORDER = 2\nA_2_0   = 1.0E-05\nB_0_2   = 1.0E-05",
        sep="\n",
    )
    assert "SIP" in wcs_to_dict(WCS(sip))["reason"]
    flat = WCS(naxis=2)
    flat.wcs.ctype = ["LINEAR", "LINEAR"]
    with pytest.raises(InvalidParameter, match="celestial"):
        wcs_to_dict(flat)


def test_latitude_first_axes_are_swapped_for_the_browser():
    w = WCS(naxis=2)
    w.wcs.ctype = ["DEC--TAN", "RA---TAN"]
    w.wcs.crval = [-29.0, 266.4]
    w.wcs.crpix = [50, 60]
    w.wcs.cdelt = [0.1, -0.1]
    d = wcs_to_dict(w)
    assert d["ctype"][0].startswith("RA")


def test_limits_match_astropy_intervals(hdul):
    data = hdul[0].data.astype(np.float32)
    finite = data[np.isfinite(data)]
    out = run_js(
        """
      const s = M.finiteSample(Float32Array.from(input.data.map(v => v === null ? NaN : v)));
      const z = Float64Array.from(input.zsample).sort();
      return { p99: M.computeLimits(s, '99'), p995: M.computeLimits(s, '99.5'),
               mm: M.computeLimits(s, 'minmax'), z: M.zscale(z), n: s.length };""",
        {
            "data": [None if not np.isfinite(v) else float(v) for v in data.ravel()],
            "zsample": finite[:: max(1, finite.size // 900)][:900].astype(float).tolist(),
        },
    )
    assert out["n"] == finite.size  # < 200 000 pixels: every finite pixel is used
    assert out["mm"] == pytest.approx([finite.min(), finite.max()], rel=1e-6)
    assert out["p99"] == pytest.approx(PercentileInterval(99).get_limits(finite), rel=1e-5)
    assert out["p995"] == pytest.approx(PercentileInterval(99.5).get_limits(finite), rel=1e-5)
    zsample = finite[:: max(1, finite.size // 900)][:900]
    assert out["z"] == pytest.approx(ZScaleInterval().get_limits(zsample), rel=1e-4, abs=1e-4)


def test_stretches_match_astropy():
    x = np.linspace(0, 1, 101)
    out = run_js(
        "return ['sqrt','log','asinh'].map(n => input.x.map(M.stretchFunction(n)));", {"x": x.tolist()}
    )
    for got, ref in zip(out, (SqrtStretch(), LogStretch(), AsinhStretch())):
        assert np.allclose(got, ref(x), atol=1e-9)


def test_colour_maps_match_matplotlib():
    from matplotlib import colormaps

    out = run_js(
        "return input.names.map(n => Array.from(M.colormapTable(n)));",
        {"names": ["viridis", "gray", "inferno", "magma"]},
    )
    for name, table in zip(["viridis", "gray", "inferno", "magma"], out):
        ref = np.round(colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255)
        assert np.max(np.abs(np.array(table).reshape(256, 3) - ref)) <= 1, name


def test_image_goes_as_float32_bytes_significance_first(hdul, wcs):
    data = hdul[0].data
    images = {
        "INTENSITY": data * 2,
        "VARIANCE": data**2,
        "SIGNIFICANCE": data,
        "EXPOSURE": np.ones_like(data),
    }
    view = MosaicView(images, wcs=wcs)
    assert view.extensions == [*list(EXTENSION_ORDER[:1]), "INTENSITY", "VARIANCE", "EXPOSURE"]
    assert view.extension == "SIGNIFICANCE"
    img = view.image
    assert img["dtype"] == "float32" and img["shape"] == [461, 433]
    assert isinstance(img["value"], memoryview) and img["value"].nbytes == 461 * 433 * 4
    np.testing.assert_array_equal(np.frombuffer(img["value"], np.float32).reshape(461, 433), data)
    # the state that goes over the wire carries the pixels as one binary buffer, not a JSON list
    state = view.get_state()
    from ipywidgets.widgets.widget import _remove_buffers

    json_state, paths, buffers = _remove_buffers(state)
    assert ["image", "value"] in paths
    assert sum(memoryview(b).nbytes for b in buffers) == 461 * 433 * 4
    # apart from the front-end code itself, the JSON part of the state is small
    rest = {k: v for k, v in json_state.items() if k not in ("_esm", "_css")}
    assert len(json.dumps(rest)) < 5000
    view.extension = "exposure"
    assert np.all(np.frombuffer(view.image["value"], np.float32) == 1)
    with pytest.raises(Exception, match="no 'NOPE' image"):
        view.extension = "nope"
    assert view.wcs["crval"] == pytest.approx(list(wcs.wcs.crval))


def test_hdulist_and_products_mosaic_inputs(hdul):
    view = MosaicView(hdul)
    assert view.extensions == ["IMAGE"] and view.wcs["ctype"] == ["RA---TAN", "DEC--TAN"]
    from oda_widgets.products import Mosaic

    m = Mosaic.from_product(hdul)
    v2 = MosaicView(m)
    assert v2.image["shape"] == [461, 433] and v2.extensions == _ordered_names(m.images)
    with pytest.raises(InvalidParameter, match="cannot show a str"):
        MosaicView("not an image")
    with pytest.raises(InvalidParameter, match="2-D"):
        MosaicView(np.zeros((2, 3, 4)))


def _ordered_names(images):
    return [n for n in EXTENSION_ORDER if n in images] + [n for n in images if n not in EXTENSION_ORDER]


def test_style_changes_are_validated_and_send_no_pixels(hdul):
    view = MosaicView(hdul)
    sent = []
    view.observe(lambda ch: sent.append(ch), "image")
    view.set_view(cmap="inferno", stretch="asinh", limits="zscale")
    view.set_view(vmin=-3, vmax=10)
    assert (view.cmap, view.stretch, view.limits, view.vmin, view.vmax) == (
        "inferno",
        "asinh",
        "manual",
        -3,
        10,
    )
    assert sent == []
    with pytest.raises(InvalidParameter, match="cmap must be one of"):
        view.set_view(cmap="jet")
    with pytest.raises(InvalidParameter, match="vmin"):
        view.set_view(vmin=5, vmax=1)


def test_remote_mode_sends_screen_resolution_cuts(hdul):
    data = hdul[0].data
    view = MosaicView(hdul, remote=True)
    first = view.image
    assert first["full_shape"] == [461, 433] and first["dx"] == 1  # fits in the first 1000×800 cut
    view.view_box = {"x0": 0, "x1": 433, "y0": 0, "y1": 461, "width": 100, "height": 100}
    cut = view.image
    assert cut["dx"] == 5 and cut["shape"] == [93, 87] and cut["cut"] is True
    np.testing.assert_array_equal(np.frombuffer(cut["value"], np.float32).reshape(93, 87), data[::5, ::5])
    view.view_box = {"x0": 101, "x1": 161, "y0": 203, "y1": 263, "width": 600, "height": 600}
    zoom = view.image
    assert (zoom["x0"], zoom["y0"], zoom["dx"]) == (101, 203, 1) and zoom["shape"] == [60, 60]
    np.testing.assert_array_equal(
        np.frombuffer(zoom["value"], np.float32).reshape(60, 60), data[203:263, 101:161]
    )
    # bytes scale with the screen, not the data
    assert zoom["value"].nbytes <= 600 * 600 * 4


def test_remote_extension_switch_keeps_the_view(hdul):
    data = hdul[0].data
    view = MosaicView({"SIGNIFICANCE": data, "EXPOSURE": data * 2}, wcs=WCS(hdul[0].header), remote=True)
    view.view_box = {"x0": 101, "x1": 161, "y0": 203, "y1": 263, "width": 600, "height": 600}
    view.extension = "EXPOSURE"
    cut = view.image
    assert (cut["x0"], cut["y0"], cut["shape"]) == (101, 203, [60, 60])
    np.testing.assert_array_equal(
        np.frombuffer(cut["value"], np.float32).reshape(60, 60), data[203:263, 101:161] * 2
    )


def test_big_mosaics_switch_to_remote_automatically():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [83.6, 22.0]
    w.wcs.crpix = [2100, 2100]
    w.wcs.cdelt = [-0.01, 0.01]
    big = np.zeros((4200, 4200), dtype=np.float32)
    view = MosaicView(big, wcs=w)
    assert view.remote is True
    assert view.image["value"].nbytes < 1000 * 800 * 4 * 1.1


def test_export_png_answer_is_delivered(hdul, tmp_path):
    view = MosaicView(hdul)
    got = []
    view.export_png(callback=got.append, path=tmp_path / "m.png")
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 20).decode()
    view._on_front_end_msg(view, {"type": "png", "data": "data:image/png;base64," + png}, [])
    assert got and got[0].startswith(b"\x89PNG") and view.png == got[0]
    assert (tmp_path / "m.png").read_bytes() == got[0]
    # a page sending something else is ignored
    view._on_front_end_msg(view, {"type": "png", "data": "data:text/html;base64,PGI+"}, [])
    assert view.png == got[0]
