"""The demo sky of INTEGRAL's era, through our client: the seed tutorial's field (MAXI J1820+070 in
its 2018 outburst), transients only during their outbursts, GRBs at their trigger times in SPI-ACS,
the resolver, and source names kept from the image catalog to spectra and light curves."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import requests
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from oda_widgets.client import Dispatcher
from oda_widgets.demo import history, sky
from oda_widgets.errors import RequestNotUnderstood

#: The classic MMODA tutorial (oda_api user guide, Authentication.ipynb): the MAXI J1820+070 field
#: in its 2018 outburst, MJD 58193.455-58246.892, radius 8 deg, 30-80 keV.
TUTORIAL = dict(
    RA=275.09142677,
    DEC=7.18535523,
    radius=8,
    T1=58193.455,
    T2=58246.892,
    T_format="mjd",
    E1_keV=30.0,
    E2_keV=80.0,
)
GBM_T0_221009A = Time("2022-10-09T13:16:59.99", scale="utc")


@pytest.fixture(scope="module")
def disp(demo_dispatcher):
    return Dispatcher(demo_dispatcher)


@pytest.fixture(scope="module")
def tutorial_image(disp):
    return disp.submit("isgri", "isgri_image", dict(TUTORIAL, max_pointings=10)).wait(timeout=120)


def _significance(result) -> dict[str, float]:
    t = result.catalog.table
    return {str(n): float(s) for n, s in zip(t["src_names"], t["significance"])}


# --------------------------------------------------------------------------------------------
# The seed tutorial


def test_tutorial_image_shows_maxi_j1820_by_far_the_brightest_and_grs_1915_beside_it(tutorial_image):
    sig = _significance(tutorial_image)
    # the tutorial's catalog: MAXI J1820+070 at 1803 sigma, GRS 1915+105 at 29 sigma
    assert max(sig, key=sig.get) == "MAXI J1820+070"
    others = [v for k, v in sig.items() if k != "MAXI J1820+070"]
    assert sig["MAXI J1820+070"] > 500 and sig["MAXI J1820+070"] > 20 * max(others)
    assert 7 < sig["GRS 1915+105"] < 100
    t = tutorial_image.catalog.table
    for name, ra, dec in (("MAXI J1820+070", 275.09142, 7.18535), ("GRS 1915+105", 288.79813, 10.94578)):
        row = t[t["src_names"] == name][0]
        sep = SkyCoord(row["ra"], row["dec"], unit="deg").separation(SkyCoord(ra, dec, unit="deg"))
        assert sep.deg < 0.1
    assert not any("NEW" in n for n in sig)
    assert len(tutorial_image.input_prod_list) == 10


def test_tutorial_spectra_and_light_curves_keep_the_catalog_names(disp, tutorial_image):
    chosen = tutorial_image.catalog.filter(min_significance=8, exclude_new=True)
    names = [str(n) for n in chosen.table["src_names"]]
    assert sorted(names) == ["GRS 1915+105", "MAXI J1820+070"]
    spectra = disp.submit(
        "isgri", "isgri_spectrum", dict(TUTORIAL, max_pointings=50, selected_catalog=chosen)
    ).wait(timeout=120)
    assert [s.source for s in spectra.spectra] == [*names, "Background"]
    assert {p.meta_data["src_name"] for _, p in spectra.items()} == {*names, "Background"}
    counts = {s.source: float(np.nansum(s.rate.value)) for s in spectra.spectra}
    assert counts["MAXI J1820+070"] > 10 * counts["GRS 1915+105"] > 0
    curves = disp.submit(
        "isgri", "isgri_lc", dict(TUTORIAL, max_pointings=50, time_bin=1000, selected_catalog=chosen)
    ).wait(timeout=120)
    assert [lc.source for lc in curves.light_curves] == names
    mean = {lc.source: float(np.mean(lc.rate.value[lc.valid])) for lc in curves.light_curves}
    assert mean["MAXI J1820+070"] > 10 * mean["GRS 1915+105"] > 0


def test_a_name_given_in_selected_catalog_comes_back_in_every_product(disp, tutorial_image):
    cat = tutorial_image.catalog.filter(min_significance=8)
    names = cat.table["src_names"].astype("U32")
    names[names == "MAXI J1820+070"] = "ASASSN-18ey"
    cat.table["src_names"] = names
    image = disp.submit("isgri", "isgri_image", dict(TUTORIAL, max_pointings=10, selected_catalog=cat)).wait(
        timeout=120
    )
    t = image.catalog.table
    assert "ASASSN-18ey" in list(t["src_names"]) and "MAXI J1820+070" not in list(t["src_names"])
    assert t[t["src_names"] == "ASASSN-18ey"]["FLAG"][0] == 1
    spectra = disp.submit(
        "isgri", "isgri_spectrum", dict(TUTORIAL, max_pointings=10, selected_catalog=cat)
    ).wait(timeout=120)
    assert "ASASSN-18ey" in [s.source for s in spectra.spectra]
    curves = disp.submit(
        "isgri", "isgri_lc", dict(TUTORIAL, max_pointings=10, time_bin=2000, selected_catalog=cat)
    ).wait(timeout=120)
    assert "ASASSN-18ey" in [lc.source for lc in curves.light_curves]


# --------------------------------------------------------------------------------------------
# Transients: only during their outbursts, shaped like them


@pytest.mark.parametrize("year", [2010, 2018, 2020])
def test_maxi_j1820_is_in_the_sky_only_during_its_outburst(disp, year):
    field = dict(TUTORIAL, T1=f"{year}-03-20T00:00:00", T2=f"{year}-04-20T00:00:00", T_format="isot")
    sig = _significance(disp.submit("isgri", "isgri_image", dict(field, max_pointings=10)).wait(timeout=120))
    assert ("MAXI J1820+070" in sig) == (year == 2018)
    # GRS 1915+105 shines beside it, until its 2018 decline into the obscured state
    if year == 2020:
        assert sig.get("GRS 1915+105", 0.0) < 10
    else:
        assert sig["GRS 1915+105"] > 15


def test_maxi_j1820_hard_to_soft_transition_of_july_2018(disp):
    """ISGRI (20-40 keV) loses most of the flux while JEM-X (3-20 keV) gains: the soft state."""
    ratios = {}
    for instrument, extra in (
        ("isgri", dict(radius=8, E1_keV=20, E2_keV=40)),
        ("jemx", dict(radius=4, jemx_num=1)),
    ):
        params = dict(
            RA=275.09142,
            DEC=7.18535,
            T1="2018-06-20T00:00:00",
            T2="2018-07-25T00:00:00",
            max_pointings=50,
            time_bin=2200,
            **extra,
        )
        result = disp.submit(instrument, f"{instrument}_lc", params).wait(timeout=120)
        (lc,) = [c for c in result.light_curves if c.source == "MAXI J1820+070"]
        mjd, rate = lc.time.utc.mjd[lc.valid], lc.rate.value[lc.valid]
        before = rate[mjd < Time("2018-07-01").mjd].mean()
        after = rate[mjd > Time("2018-07-12").mjd].mean()
        ratios[instrument] = after / before
    assert ratios["isgri"] < 0.2 and ratios["jemx"] > 1.0


def test_outburst_light_curves_rise_fast_and_decay_slowly():
    maxi = sky.find_source("MAXI J1820+070")
    days = np.arange(sky.ijd_from_iso("2018-03-01T00:00:00"), sky.ijd_from_iso("2019-01-01T00:00:00"), 0.5)
    f = maxi.flux(days, "isgri")
    i_peak = int(np.argmax(f))
    onset = int(np.argmax(f > 0.1 * f[i_peak]))
    decay = i_peak + int(np.argmax(f[i_peak:] < 0.1 * f[i_peak]))
    assert (decay - i_peak) > 5 * (i_peak - onset)  # fast rise, slow decay
    assert f[0] == 0 and f[-1] == 0  # quiescent before and after
    # persistent sources are unchanged by the history file, but GRS 1915+105 fades after mid-2018
    grs = sky.find_source("GRS 1915+105")
    year = np.arange(0, 365, 0.25)
    early = grs.flux(sky.ijd_from_iso("2017-01-01T00:00:00") + year).mean()
    late = grs.flux(sky.ijd_from_iso("2020-01-01T00:00:00") + year).mean()
    assert late < 0.2 * early


# --------------------------------------------------------------------------------------------
# Bursts in SPI-ACS


def test_spi_acs_peaks_with_grb_221009a_at_the_published_time(disp):
    result = disp.submit(
        "spi_acs", "spi_acs_lc", dict(T1="2022-10-09T13:15:00", T2="2022-10-09T13:35:00", time_bin=1)
    ).wait(timeout=120)
    (lc,) = result.light_curves
    dt = (lc.time - GBM_T0_221009A).to_value("s")
    rate = lc.rate.value
    background = float(np.median(rate[dt < -10]))
    assert 60_000 < background < 100_000
    # the brightest pulses: T0+218-276 s (Fermi/GBM, Lesage et al. 2023); SPI-ACS saturated there
    assert 218 <= dt[np.argmax(rate)] <= 276
    assert 1e6 < rate.max() - background < 1e7
    # the triggering pulse at T0 stands out on its own, three minutes before the main emission
    first = rate[(dt > 0) & (dt < 20)].max() - background
    assert first > 20 * math.sqrt(background) and first < 0.1 * (rate.max() - background)
    # a T90 measured on the light curve, as a student would: close to the published ~327 s
    excess = np.clip(rate - background, 0, None) * ((dt > -5) & (dt < 1000))
    cum = np.cumsum(excess) / excess.sum()
    t90 = dt[np.searchsorted(cum, 0.95)] - dt[np.searchsorted(cum, 0.05)]
    assert 0.7 * 327 < t90 < 1.3 * 327


@pytest.mark.parametrize("burst", history.bursts(), ids=lambda b: b.name)
def test_every_burst_stands_out_at_its_trigger_time(disp, burst):
    bin_s = 0.1 if burst.t90 < 5 else 1.0
    start, stop = (t - burst.trigger for t in burst.span)
    trigger = Time(burst.trigger_utc, scale="utc")
    params = dict(
        T1=(trigger - 120 * u.s).isot,
        T2=(trigger + (min(stop, 1500) + 60) * u.s).isot,
        time_bin=bin_s,
    )
    (lc,) = disp.submit("spi_acs", "spi_acs_lc", params).wait(timeout=120).light_curves
    dt = (lc.time - trigger).to_value("s")
    rate = lc.rate.value
    # background: a straight line through the bins away from the burst (it drifts with the orbit)
    away = (dt < start - 5) | (dt > stop + 5)
    background = np.polyval(np.polyfit(dt[away], rate[away], 1), dt)
    during = (dt >= start - bin_s) & (dt <= start + burst.t90)
    excess = float(((rate - background) * bin_s)[during].sum())
    noise = math.sqrt(float((background * bin_s)[during].sum()))
    assert excess > 3 * noise  # GRB 170817A, the weakest: SPI-ACS saw it at 4.2 sigma
    brightest = max(burst.pulses, key=lambda p: p[1])
    if brightest[1] > 2e4:
        expected = brightest[0] + history.PULSE_PEAK_DELAY * brightest[2] - burst.trigger
        assert abs(dt[np.argmax(rate - background)] - expected) < max(3 * bin_s, 0.15 * burst.t90)


def test_no_synthetic_burst_disturbs_a_famous_one():
    famous = {p for b in history.bursts() for p in b.pulses}
    for b in history.bursts():
        lo, hi = b.span
        pulses = sky.bursts_between(lo - sky.BURST_QUIET, hi + sky.BURST_QUIET)
        assert {p for p in pulses if lo - 600 <= p[0] <= hi + 600} <= famous


def test_model_durations_and_peaks_follow_the_published_ones():
    grbs = [b for b in history.bursts() if "GRB" in b.kind]
    assert len(grbs) >= 10
    peaks = {}
    for b in history.bursts():
        lo, hi = b.span
        t = np.arange(lo - 5, hi, 0.01 if b.t90 < 5 else 0.05)
        r = b.rate(t)
        cum = np.cumsum(r) / r.sum()
        t90 = t[np.searchsorted(cum, 0.95)] - t[np.searchsorted(cum, 0.05)]
        assert 0.7 * b.t90 < t90 < 1.3 * b.t90, b.name
        peaks[b.name] = r.max()
    # GRB 221009A, the brightest GRB ever recorded, is the brightest in the demo's SPI-ACS too
    assert max((b.name for b in grbs), key=peaks.get) == "GRB 221009A"
    assert 1e6 < peaks["GRB 221009A"] < 1e7 and peaks["GRB 170817A"] < 1e4


# --------------------------------------------------------------------------------------------
# The data files


def test_the_history_files_hold_the_mission_s_transients_with_references():
    transients = history.transients()
    outbursting = [t for t in transients if any(e.mode == "outburst" for e in t.episodes)]
    assert len(outbursting) >= 15
    start, end = sky.MISSION_START_IJD, sky.MISSION_END_IJD
    for t in transients:
        assert 0 <= t.ra < 360 and -90 <= t.dec <= 90 and t.episodes
        # one position, one colour per source, whether it is also a persistent source or not
        src = sky.find_source(t.name)
        assert (src.ra, src.dec, src.photon_index, src.episodes) == (t.ra, t.dec, t.photon_index, t.episodes)
        for e in t.episodes:
            assert e.reference.strip() and e.end > start and e.start < end, (t.name, e.label)
    for b in history.bursts():
        assert b.reference.strip() and start <= b.trigger / 86400 <= end, b.name
    # products find their sky source within 0.2 deg: sources must be further apart than that
    coords = SkyCoord([s.ra for s in sky.SOURCES], [s.dec for s in sky.SOURCES], unit="deg")
    _, sep, _ = coords.match_to_catalog_sky(coords, nthneighbor=2)
    assert sep.deg.min() > 0.2, sky.SOURCES[int(np.argmin(sep.deg))].name


def test_a_summary_column_that_disagrees_with_the_knots_is_refused(tmp_path):
    broken = tmp_path / "transients.ecsv"
    shutil.copy(history.TRANSIENTS_FILE, broken)
    text = broken.read_text()
    broken.write_text(text.replace(",2018-03-23,2018-12-10,3800.0,", ",2018-03-23,2018-12-10,4800.0,", 1))
    with pytest.raises(ValueError, match=r"MAXI J1820.*disagree with the knots"):
        history.transients(broken)


# --------------------------------------------------------------------------------------------
# The resolver


def _every_name():
    for s in sky.SOURCES:
        if not s.new:
            for n in (s.name, *s.aliases):
                yield pytest.param(n, s.ra, s.dec, id=n)
    for b in history.bursts():
        for n in (b.name, *b.aliases):
            yield pytest.param(n, b.ra, b.dec, id=n)


@pytest.mark.parametrize("name, ra, dec", list(_every_name()))
def test_the_resolver_knows_every_source_and_burst(demo_dispatcher, name, ra, dec):
    body = requests.get(f"{demo_dispatcher}/resolve_name", params={"name": name}, timeout=10).json()
    assert (body["RA"], body["DEC"]) == (ra, dec)
    assert body["message"] == f"{name} successfully resolved"


@pytest.mark.parametrize(
    "written, canonical",
    [
        ("maxi j1820+070", "MAXI J1820+070"),
        ("MAXI_J1820+070", "MAXI J1820+070"),
        ("ASASSN-18ey", "MAXI J1820+070"),
        ("GS 2023+338", "V404 Cyg"),
        ("v404cyg", "V404 Cyg"),
        ("GX 339\u22124", "GX 339-4"),
        ("Swift J1727.8\u22121613", "Swift J1727.8-1613"),
        ("grb 221009a", "GRB 221009A"),
        ("GRB221009A", "GRB 221009A"),
        ("IGR J17464-3213", "H1743-322"),
        ("Sgr A*", "IGR J17456-2901"),
    ],
)
def test_the_resolver_ignores_case_spaces_and_typographic_dashes(disp, written, canonical):
    coord = disp.resolve(written)
    found = sky.resolve(canonical)
    assert (coord.ra.deg, coord.dec.deg) == pytest.approx((found.ra, found.dec))


@pytest.mark.parametrize("name", ["Nowhere 42", "NEW_1", "GRB 991231Z", "MAXI J1820+071"])
def test_the_resolver_says_clearly_when_it_does_not_know_a_name(demo_dispatcher, disp, name):
    body = requests.get(f"{demo_dispatcher}/resolve_name", params={"name": name}, timeout=10).json()
    # the real dispatcher's answer for an unknown name: no RA/DEC, just this message
    assert body == {"name": name.replace("_", " "), "message": f"{name} could not be resolved"}
    with pytest.raises(RequestNotUnderstood, match="could not be resolved") as err:
        disp.resolve(name)
    assert err.value.parameter == "src_name"


def test_mrk_421_is_detected_in_its_april_2013_flares_only(disp):
    """The blazar of the multi-wavelength lesson: a few mCrab when quiet (below one ISGRI image's
    threshold), tens of mCrab in the flares Swift/BAT and INTEGRAL saw in April 2013."""
    field = dict(
        src_name="Mrk 421", RA=166.11381, DEC=38.20883, radius=5, E1_keV=20, E2_keV=40, max_pointings=50
    )
    flare = _significance(
        disp.submit(
            "isgri", "isgri_image", dict(field, T1="2013-04-14T00:00:00", T2="2013-04-17T00:00:00")
        ).wait(timeout=120)
    )
    quiet = _significance(
        disp.submit(
            "isgri", "isgri_image", dict(field, T1="2012-04-14T00:00:00", T2="2012-04-17T00:00:00")
        ).wait(timeout=120)
    )
    assert flare.get("Mrk 421", 0) > 15 and "Mrk 421" not in quiet
    assert sky.resolve("Markarian 421").name == "Mrk 421"
