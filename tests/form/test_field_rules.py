"""Field checks before sending (issue 13) and the instruments' time-bin rules (issue 14), driven
through FormModel without widgets: every value a description's restrictions or the physics rule
out is refused at its field, the instrument rules offer the nearest valid values, and one call
(or one click) applies them."""

from __future__ import annotations

import pytest
from astropy import units as u
from astropy.time import Time

from oda_widgets.client.description import parse_description
from oda_widgets.demo.instruments import meta_data
from oda_widgets.form import FormModel, kind_for
from oda_widgets.form.checks import TIME_BIN_RULES, TimeBinRule, register_check, unregister_check
from oda_widgets.form.kinds import RightAscensionKind

URL = "http://127.0.0.1:9"  # nothing is requested: descriptions are given


def model(instrument="isgri", product="isgri_image"):
    return FormModel(URL, instrument, product, description=parse_description(meta_data(instrument, None)))


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e309", "NaN"])
@pytest.mark.parametrize("name", ["RA", "DEC", "radius"])
def test_angles_must_be_finite(name, text):
    m = model()
    m.fields[name].set_input(text)
    assert m.errors == {name: f"{name} must be a finite angle, not {text!r}"}


def test_ra_outside_a_turn_is_refused_not_wrapped_and_the_wrap_is_offered():
    m = model()
    m.set_values(RA=400)
    assert m.errors["RA"].startswith("RA must be in [0, 360) deg; 400.0 is outside — use 40.0")
    assert m.fixes == {"RA": [40.0]}
    assert m.apply_fix("RA") == 40.0 and m.values["RA"] == 40.0 and m.errors == {}
    m.set_values(RA=-10)
    assert m.fixes == {"RA": [350.0]}
    m.set_values(RA="17:45:40")  # hours
    assert m.values["RA"] == pytest.approx(266.41667, abs=1e-4)
    assert isinstance(m.fields["RA"].kind, RightAscensionKind)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEC", 91, "DEC must be between -90 and 90 deg"),
        ("radius", -1, "radius must be above 0 and at most 180 deg (the whole sky), not -1.0"),
        ("radius", 400, "radius must be above 0 and at most 180 deg (the whole sky), not 400.0"),
        ("radius", 0, "radius must be above 0 and at most 180 deg (the whole sky), not 0.0"),
        ("max_pointings", -3, "max_pointings must be at least 1, not -3"),
        ("max_pointings", 0, "max_pointings must be at least 1, not 0"),
        ("detection_threshold", -2, "detection_threshold must not be negative, not -2.0"),
    ],
)
def test_physical_ranges(name, value, message):
    m = model()
    m.set_values({name: value})
    assert m.errors == {name: message}


def test_energies_are_positive_within_the_instrument_limits():
    m = FormModel(URL, "empty", "echo", description=_empty_echo())
    m.set_values(energ=-5)
    assert m.errors == {"energ": "energ must be a positive energy, not -5.0"}


def _empty_echo():
    import json

    from shared_data import CAPTURES

    return parse_description(json.loads((CAPTURES / "git-1.3.6" / "meta-data_empty_echo.json").read_text()))


def test_text_longer_than_the_frontend_takes_is_refused():
    m = model()
    m.set_values(src_name="x" * (10 * 2**20))
    assert m.errors == {
        "src_name": "src_name is 10,485,760 characters long; at most 128 are taken (the web frontend's limit for this field)"
    }
    m.set_values(src_name="x" * 128)
    assert m.errors == {}


def test_scw_lists_refuse_full_width_digits_and_send_repeats_once():
    m = model()
    m.set_values(scw_list="０６６５００２２００１０.００１")
    assert m.errors["scw_list"].startswith("scw_list: '０６６５００２２００１０.００１' has full-width")
    m.set_values(scw_list="066500220010.001 066500230010.001, 066500220010.001")
    assert m.values["scw_list"] == ["066500220010.001", "066500230010.001"]
    assert m.fields["scw_list"].summary == "2 science windows (1 repeated id sent once)"


def test_time_bins_of_a_century_or_nan_are_refused():
    m = model("isgri", "isgri_lc")
    for text, message in [
        ("1e30", "time_bin of 1e+30 sec is longer than a century"),
        ("nan", "time_bin must be a finite number"),
    ]:
        m.fields["time_bin"].set_input(text)
        assert m.errors == {"time_bin": message}


def test_times_must_be_finite():
    m = model()
    m.set_values(T_format="mjd")
    m.fields["T1"].set_input("nan")
    assert m.errors == {"T1": "T1 must be a finite time, not 'nan'"}


def test_pasted_values_that_are_not_literals_are_said_so():
    m = model()
    m.set_values("par_dict = {'instrument': 'isgri', 'product': 'isgri_image', 'RA': ra_deg, 'E1_keV': 25}")
    assert m.not_literal == ["RA"] and m.unknown_keys == []
    assert m.errors["RA"].startswith("RA: the pasted value is not a literal")
    assert m.note.startswith("Not a literal") and "Not used" not in m.note
    assert m.values["E1_keV"] == 25.0  # the other values were placed


# -- the instruments' time-bin rules ---------------------------------------------------------------


def test_spi_acs_bins_are_multiples_of_50_ms_with_the_nearest_offered():
    m = model("spi_acs", "spi_acs_lc")
    m.set_values(time_bin=0.12)
    assert m.errors == {
        "time_bin": "SPI-ACS bins are multiples of 0.05 s (the backend would cut 0.12 down to 0.1); use 0.1 or 0.15"
    }
    assert m.fixes == {"time_bin": [0.1, 0.15]}
    m.apply_fix("time_bin", 0.15)
    assert m.values["time_bin"] == 0.15 and m.errors == {}
    m.set_values(time_bin=0.02)
    assert m.fixes == {"time_bin": [0.05]}
    # in days too: the fix is in the format shown
    m.set_values(time_bin=2 * u.s)
    m.fields["time_bin"].set_format("jd")
    assert m.errors == {}
    m.fields["time_bin"].set(0.13 * u.s)
    fix = m.fixes["time_bin"]
    assert [round(f * 86400, 9) for f in fix] == [0.1, 0.15]
    m.apply_fix("time_bin")
    assert m.errors == {} and m.values["time_bin_format"] == "jd"


@pytest.mark.parametrize("instrument", ["isgri", "jemx"])
def test_osa_light_curve_bins_between_20_s_and_20000_s(instrument):
    m = model(instrument, f"{instrument}_lc")
    label = {"isgri": "ISGRI", "jemx": "JEM-X"}[instrument]
    m.set_values(time_bin=5)
    assert m.errors == {"time_bin": f"{label} light-curve bins are at least 20 s; use 20"}
    assert m.fixes == {"time_bin": [20.0]}
    m.set_values(scw_list="066500220010.001")  # the ScW list chooses the data: T1-T2 does not matter
    m.set_values(time_bin=25000)
    assert m.errors == {"time_bin": f"{label} light-curve bins are at most 20000 s; use 20000"}
    m.apply_fix("time_bin")
    assert m.values["time_bin"] == 20000.0 and m.errors == {}


def test_bins_must_fit_t1_t2_and_not_ask_for_millions_of_points():
    m = model("spi_acs", "spi_acs_lc")
    m.set_values(T1="2022-10-09T13:00:00", T2="2022-10-09T14:00:00", time_bin=7200)
    assert m.errors["time_bin"].startswith("time_bin is longer than T1–T2 (3600 s)")
    assert m.fixes == {"time_bin": [3600.0]}
    m.set_values(time_bin=0.05, T2="2022-10-15T13:00:00")
    assert m.errors["time_bin"].startswith(
        "time_bin 0.05 over T1–T2 asks for 1.04e+07 points; at most 4,000,000"
    )
    assert m.fixes == {"time_bin": [0.15]}  # a valid SPI-ACS bin: a multiple of 0.05 s
    m.apply_fix("time_bin")
    assert m.errors == {}


def test_another_instruments_rule_is_one_registered_check():
    rule = register_check(TimeBinRule("spi_acs", "SPI-ACS (slow)", minimum=1.0))
    try:
        m = model("spi_acs", "spi_acs_lc")
        m.set_values(time_bin=0.5)
        assert m.errors == {"time_bin": "SPI-ACS (slow) light-curve bins are at least 1 s; use 1"}
    finally:
        unregister_check(rule)
    assert [r.instrument for r in TIME_BIN_RULES] == ["isgri", "jemx", "spi_acs"]


# -- a brush keeps the user's time format -----------------------------------------------------------


def test_setting_only_times_keeps_the_forms_format():
    m = model("isgri", "isgri_lc")
    m.set_values(T_format="mjd")
    # what a light curve's "Use as T1/T2" sends: ISO text with T_format=isot
    m.set_values(T1="2017-03-06T12:00:00.000", T2="2017-03-06T18:00:00.000", T_format="isot")
    assert m.values["T_format"] == "mjd"
    assert (m.values["T1"], m.values["T2"]) == (57818.5, 57818.75)
    m.set_values(T1=Time("2017-03-06T06:00:00", scale="utc"))
    assert m.values["T1"] == 57818.25 and m.values["T_format"] == "mjd"
    # a whole request still switches the format (a pasted par_dict says what it wants)
    m.set_values(instrument="isgri", product="isgri_lc", T1=57818.5, T_format="isot")
    assert m.values["T_format"] == "isot" and m.values["T1"] == "2017-03-06T12:00:00.000"


def test_kinds_are_chosen_by_the_registry():
    desc = parse_description(meta_data("isgri", None)).product("isgri_image")
    names = {s.name: kind_for(s).name for s in desc.parameters}
    assert names["RA"] == "right_ascension" and names["DEC"] == "declination"
    assert names["radius"] == "radius" and names["max_pointings"] == "count"
    assert names["E1_keV"] == "energy" and names["detection_threshold"] == "threshold"
