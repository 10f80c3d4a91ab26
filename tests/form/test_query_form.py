"""QueryForm over every description we have: captures (both formats) and the demo's INTEGRAL ones.

These tests build the form from a given description (no request), then drive it through its
Python API — the same paths the buttons take. Server round trips are in test_query_form_servers.py.
"""

import json

import pytest
from astropy import units as u
from astropy.coordinates import Angle
from astropy.time import Time
from shared_data import CAPTURES

from oda_widgets.client.description import parse_description
from oda_widgets.demo.instruments import meta_data
from oda_widgets.errors import InvalidParameter
from oda_widgets.form import (
    CatalogControl,
    Control,
    EnumControl,
    QueryForm,
    TextControl,
    TimeControl,
    control_for,
    par_dict_from_code,
    register,
    unregister,
)


def _descriptions():
    out = []
    for path in sorted(CAPTURES.glob("*/meta-data_*.json")):
        if "nonexistent" in path.name or "noparams" in path.name:
            continue
        desc = parse_description(json.loads(path.read_text()))
        out += [(f"{path.parent.name}/{path.stem}/{p}", desc, p) for p in desc.described_products]
    for instrument in ("isgri", "jemx", "spi_acs"):
        for legacy in (False, True):
            desc = parse_description(meta_data(instrument, None, legacy))
            out += [(f"demo{'-legacy' if legacy else ''}/{p}", desc, p) for p in desc.described_products]
    return out


DESCRIPTIONS = _descriptions()
IDS = [d[0] for d in DESCRIPTIONS]


def form_for(desc, product):
    # the URL is only written into API code: nothing is requested from it
    return QueryForm("http://127.0.0.1:9", description=desc, product=product)


def isgri(product="isgri_spectrum", legacy=False):
    return form_for(parse_description(meta_data("isgri", None, legacy)), product)


@pytest.mark.parametrize("case", DESCRIPTIONS, ids=IDS)
def test_form_builds_with_a_control_per_user_parameter(case):
    _, desc, product = case
    form = form_for(desc, product)
    spec = desc.product(product)
    assert list(form.controls) == spec.names
    assert all(isinstance(c, Control) for c in form.controls.values())
    assert not {"token", "user_catalog", "T_format", "time_bin_format"} & set(form.controls)
    assert form.instrument_picker.value == desc.instrument
    assert form.product_picker.value == product
    assert list(form.product_picker.options) == desc.described_products
    # every control is on screen
    shown = _rows(form.parameters_box)
    assert all(c.row in shown for c in form.controls.values())
    assert not form.errors and not form.submit_button.disabled


@pytest.mark.parametrize("case", DESCRIPTIONS, ids=IDS)
def test_defaults_round_trip(case):
    _, desc, product = case
    form = form_for(desc, product)
    values = form.values
    assert values.pop("instrument") == desc.instrument
    assert values.pop("product_type") == product
    assert values == desc.product(product).defaults()
    # and back in through set_values, as a dict and as pasted API code
    form.set_values(form.values)
    assert form.values == {"instrument": desc.instrument, "product_type": product, **values}
    code = form.api_code()
    other = form_for(desc, product)
    other.set_values(code)
    assert other.values == form.values and other.unknown_keys == []


def _rows(box):
    out = []
    for child in getattr(box, "children", ()):
        out.append(child)
        out.extend(_rows(child))
    return out


def test_isgri_energy_out_of_range_blocks_submit_with_message():
    form = isgri()
    e1 = form.controls["E1_keV"]
    e1.text.value = "10"
    assert form.errors == {"E1_keV": "E1_keV must be ≥ 15 keV (allowed 15–800 keV)"}
    assert "E1_keV must be ≥ 15 keV" in e1.shown_message
    assert form.submit_button.disabled
    with pytest.raises(InvalidParameter) as err:
        form.values
    assert err.value.parameter == "E1_keV"
    with pytest.raises(InvalidParameter):
        form.submit()
    e1.text.value = "25"
    assert not form.errors and e1.shown_message == "" and not form.submit_button.disabled
    assert form.values["E1_keV"] == 25.0


def test_jemx_limits_come_from_the_one_table():
    form = form_for(parse_description(meta_data("jemx", None)), "jemx_spectrum")
    form.set_values(E2_keV=40)
    assert form.errors["E2_keV"] == "E2_keV must be ≤ 35 keV (allowed 3–35 keV)"


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("max_pointings", "10.5", "max_pointings must be a whole number, not '10.5'"),
        ("max_pointings", "", "max_pointings is required"),
        ("radius", "abc", "radius must be an angle"),
        ("DEC", "95", "DEC must be between -90 and 90 deg"),
        ("T1", "yesterday-ish", "T1 must be a time in ISO"),
        ("E2_keV", "nan", "E2_keV must be a finite number"),
        ("scw_list", "066500220010.001, 12345", "scw_list: '12345' is not a ScW id"),
        ("scw_list", "[1, 2", "scw_list must be a list"),
    ],
)
def test_invalid_values_are_refused_with_a_message(name, text, message):
    form = isgri()
    control = form.controls[name]
    widget = getattr(control, "text", control.input)
    widget.value = text
    assert form.errors[name].startswith(message)
    assert message in control.shown_message
    assert form.submit_button.disabled


def test_integer_is_never_rounded():
    form = isgri()
    form.set_values(max_pointings=10.0)
    assert form.values["max_pointings"] == 10 and isinstance(form.values["max_pointings"], int)
    form.controls["max_pointings"].text.value = "10.5"
    assert "whole number" in form.errors["max_pointings"]


def test_time_format_switch_keeps_the_instant():
    form = isgri("isgri_lc")
    t1 = form.controls["T1"]
    assert isinstance(t1, TimeControl)
    before = Time(form.values["T1"], format="isot", scale="utc")
    t1.set_format("mjd")
    v = form.values
    # one T_format serves T1 and T2: both switch
    assert v["T_format"] == "mjd" and isinstance(v["T1"], float) and isinstance(v["T2"], float)
    assert form.controls["T2"].fmt.value == "mjd"
    assert abs(Time(v["T1"], format="mjd", scale="utc") - before).to_value(u.ms) < 1
    t1.fmt.value = "isot"
    assert abs(Time(form.values["T1"], format="isot", scale="utc") - before).to_value(u.ms) < 1
    assert form.values["T_format"] == "isot"


def test_time_accepts_iso_and_mjd_whatever_the_format():
    form = isgri()
    t2 = form.controls["T2"]
    t2.text.value = "57818.75"  # MJD typed while the format is isot
    assert form.values["T2"] == "2017-03-06T18:00:00.000"
    t2.set_format("mjd")
    t2.text.value = "2017-03-06T18:00:00"
    assert form.values["T2"] == 57818.75
    form.set_values(T1=Time("2017-03-06T06:00:00", scale="utc"))
    assert form.values["T1"] == 57818.25 and form.values["T_format"] == "mjd"
    # setting only times keeps the form's format: T_format says how the given value is written
    form.set_values(T_format="isot", T1="2017-03-06T12:00:00")
    assert form.values["T1"] == 57818.5 and form.values["T_format"] == "mjd"
    form.set_values(T_format="isot")  # the format alone switches it
    assert form.values["T1"] == "2017-03-06T12:00:00.000"
    assert form.values["T2"] == "2017-03-06T18:00:00.000"


def test_legacy_time_has_no_format_switch():
    form = isgri(legacy=True)
    t1 = form.controls["T1"]
    assert list(t1.fmt.options) == ["isot"] and "T_format" not in form.values
    t1.text.value = "57818.5"
    assert form.values["T1"] == "2017-03-06T12:00:00.000"


def test_time_bin_switch_converts_the_duration():
    form = isgri("isgri_lc")
    tb = form.controls["time_bin"]
    tb.text.value = "4320"
    tb.fmt.value = "jd"
    assert form.values["time_bin"] == pytest.approx(0.05) and form.values["time_bin_format"] == "jd"
    form.set_values(time_bin=1 * u.hour)
    assert form.values["time_bin"] == pytest.approx(1 / 24)


def test_angles_in_degrees_or_sexagesimal():
    form = isgri()
    form.controls["RA"].text.value = "17:45:40.04"
    form.controls["DEC"].text.value = "-29d00m28.1s"
    v = form.values
    assert v["RA"] == pytest.approx(266.41683, abs=1e-5)
    assert v["DEC"] == pytest.approx(-29.00781, abs=1e-5)
    form.set_values(RA=Angle("1h"), radius=30 * u.arcmin)
    assert form.values["RA"] == pytest.approx(15.0) and form.values["radius"] == pytest.approx(0.5)


def test_arcsec_angle_and_mev_energy_convert_to_their_units():
    desc = parse_description(json.loads((CAPTURES / "git-1.3.6/meta-data_empty.json").read_text()))
    form = form_for(desc, "echo")
    form.set_values(ang=Angle("0d1m"), energ=500 * u.keV)
    assert form.values["ang"] == pytest.approx(60.0) and form.values["energ"] == pytest.approx(0.5)


def test_enumerations_booleans_structured_and_optional():
    desc = parse_description(json.loads((CAPTURES / "git-1.3.6/meta-data_empty.json").read_text()))
    form = form_for(desc, "restricted")
    sel = form.controls["string_select_par"]
    assert isinstance(sel, EnumControl) and [v for _, v in sel.input.options] == ["spam", "eggs", "ham"]
    with pytest.raises(InvalidParameter, match="string_select_par must be one of spam, eggs, ham"):
        form.set_values(string_select_par="bacon")
    form.set_values(string_select_par="ham", bounded_int_par="9")
    assert form.errors == {"bounded_int_par": "bounded_int_par must be ≤ 8 (allowed 2–8)"}

    form.select_product("structured")
    struct = form.controls["struct"]
    struct.input.value = '"just a string"'
    assert "does not match its schema" in form.errors["struct"]
    struct.input.value = "{broken"
    assert form.errors["struct"].startswith("struct must be JSON")
    struct.input.value = '[1, {"b": true}]'
    assert form.values["struct"] == [1, {"b": True}]

    form.select_product("optional")
    form.controls["optional_def_float"].text.value = ""
    form.controls["optional_def_none"].text.value = ""
    v = form.values
    assert v["optional_def_float"] is None  # emptied non-null default: sent as NUL
    assert "optional_def_none" not in v  # null default: the server's own


def test_osa_version_offers_base_versions_not_the_dev_list():
    form = isgri()
    osa = form.controls["osa_version"]
    assert [v for _, v in osa.input.options] == ["OSA10.2", "OSA11.2"]
    form.set_values(osa_version="OSA10.2")
    assert form.values["osa_version"] == "OSA10.2"
    # a special version for privileged users is taken as given (the server decides)
    form.set_values(osa_version="OSA11.2-dev210827.0528-37487")
    assert form.values["osa_version"] == "OSA11.2-dev210827.0528-37487"


def test_product_switch_keeps_shared_values():
    form = isgri("isgri_image")
    form.set_values(src_name="GX 1+4", RA=263.01, E1_keV=30.0, detection_threshold=5.0)
    form.select_product("isgri_lc")
    v = form.values
    assert (v["src_name"], v["RA"], v["E1_keV"]) == ("GX 1+4", 263.01, 30.0)
    assert "detection_threshold" not in v and v["time_bin"] == 1000.0
    form.product_picker.value = "isgri_image"  # through the picker, like a click
    assert form.product == "isgri_image" and form.values["detection_threshold"] == 5.0


def test_unknown_keys_are_reported():
    form = isgri()
    form.set_values(
        {
            "instrument": "isgri",
            "product_type": "isgri_spectrum",
            "E1_keV": 25,
            "bogus": 1,
            "token": "abc.def.ghi",
            "session_id": "X",
        }
    )
    assert form.unknown_keys == ["bogus"]
    assert "bogus" in form.note.value
    assert "abc.def" not in json.dumps(form.values)


def test_pasted_api_code_is_read_not_run(tmp_path):
    marker = tmp_path / "ran"
    code = f"""
import os
open({str(marker)!r}, "w").write("x")
from oda_api.api import DispatcherAPI
disp = DispatcherAPI(url='https://www.astro.unige.ch/mmoda/dispatch-data', instrument='mock')
par_dict = {{
    "E1_keV": 30.0,
    "T1": "2017-03-06T13:26:48.000",
    "instrument": "isgri",
    "product": "isgri_lc",
    "product_type": "Dummy",
    "scw_list": ["066500220010.001"],
    "time_bin": 500,
    "token": os.environ['ODA_TOKEN'],
    "weird": __import__('os').getcwd(),
}}
data_collection = disp.get_product(**par_dict)
"""
    form = isgri()
    form.set_values(code)
    assert not marker.exists()
    assert form.product == "isgri_lc" and form.query_type == "Dummy"
    assert form.values["scw_list"] == ["066500220010.001"] and form.values["time_bin"] == 500.0
    assert form.not_literal == ["weird"] and form.unknown_keys == []
    d, skipped = par_dict_from_code(code)
    assert skipped == ["token", "weird"] and d["E1_keV"] == 30.0
    with pytest.raises(InvalidParameter, match="not valid Python"):
        form.set_values("par_dict = {")


@pytest.mark.parametrize(
    "code",
    [
        'par_dict = {"E1_keV": {[1]}, "E2_keV": 40.0}',  # TypeError in literal_eval
        "par_dict = {" + '"E1_keV": ' + "[" * 300 + "]" * 300 + "}",
        'par_dict = {"E1_keV": 25.0}\x00',
    ],
)
def test_pasted_code_that_is_no_literal_is_refused_or_skipped_not_raised(code):
    form = isgri()
    try:
        d, skipped = par_dict_from_code(code)
    except InvalidParameter as exc:
        assert "cannot be read" in str(exc) or "not valid Python" in str(exc)
    else:
        assert "E1_keV" in skipped or d.get("E1_keV") == 25.0
    try:
        form.load_code(code)  # the method behind the button: a typed error or nothing
    except InvalidParameter:
        pass


def test_api_code_hides_the_token():
    from oda_widgets.client import Dispatcher

    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    form = QueryForm(
        Dispatcher("http://127.0.0.1:9", token=""), description=parse_description(meta_data("isgri", None))
    )
    form.dispatcher._token = token  # a token the dispatcher would send
    code = form.api_code()
    assert token not in code and "os.environ['ODA_TOKEN']" in code
    assert '"product": "isgri_image"' in code and '"product_type": "Real"' in code
    assert "null" not in code and "None" not in code.split("par_dict")[1]


def test_catalog_link_shows_its_size():
    from oda_widgets.products.catalog import Catalog

    cat = Catalog.from_dict(
        {
            "cat_frame": "fk5",
            "cat_coord_units": "deg",
            "cat_lon_name": "ra",
            "cat_lat_name": "dec",
            "cat_column_names": ["meta_ID", "src_names", "significance", "ra", "dec"],
            "cat_column_descr": [
                ["meta_ID", "<i8"],
                ["src_names", "<U12"],
                ["significance", "<f8"],
                ["ra", "<f8"],
                ["dec", "<f8"],
            ],
            "cat_column_list": [
                [1, 2, 3],
                ["A", "B", "C"],
                [10.0, 8.0, 7.5],
                [1.0, 2.0, 3.0],
                [4.0, 5.0, 6.0],
            ],
        },
        name="isgri_image catalog",
    )
    form = isgri("isgri_image")
    form.link_catalog(cat)
    ctl = form.controls["selected_catalog"]
    assert isinstance(ctl, CatalogControl) and ctl.describe() == "3 sources from isgri_image catalog"
    assert "3 sources from isgri_image catalog" in ctl.summary.value
    sent = json.loads(form.values["selected_catalog"])
    assert sent["cat_column_list"][1] == ["A", "B", "C"]
    form.select_product("isgri_spectrum")  # the link follows to the next product
    assert json.loads(form.values["selected_catalog"])["cat_column_list"][0] == [1, 2, 3]
    ctl = form.controls["selected_catalog"]
    ctl.set(None)
    assert "selected_catalog" not in form.values
    ctl.text.value = '{"not": "a catalog"}'
    assert "cat_column_names" in form.errors["selected_catalog"]
    form.set_values(selected_catalog=cat.to_selected_catalog())
    assert json.loads(form.values["selected_catalog"]) == json.loads(cat.to_selected_catalog())


def test_register_a_rule_first():
    class Shout(TextControl):
        def get(self):
            return super().get().upper()

    rule = register(lambda spec: spec.name == "src_name", Shout)
    try:
        form = isgri()
        assert isinstance(form.controls["src_name"], Shout)
        form.set_values(src_name="crab")
        assert form.values["src_name"] == "CRAB"
    finally:
        unregister(rule)
    assert not isinstance(
        control_for(parse_description(meta_data("isgri", None)).product("isgri_image").parameter("src_name")),
        Shout,
    )


def test_groups_labels_and_tooltips():
    desc = parse_description(
        [
            [
                {"instrumet": "toy"},
                {"prod_dict": {"p": "p_query"}},
                [{"query_name": "src_query"}],
                [{"query_name": "toy_parameters"}],
                [
                    {"query_name": "p_query"},
                    {"product_name": "p"},
                    {
                        "name": "e_min",
                        "units": "keV",
                        "value": 20.0,
                        "restrictions": {"is_optional": False},
                        "owl_uri": ["http://odahub.io/ontology#Energy"],
                        "extra_metadata": {
                            "label": "Low energy",
                            "description": "lower bound",
                            "group": "Band",
                        },
                    },
                    {
                        "name": "notes",
                        "units": "str",
                        "value": "",
                        "restrictions": {"is_optional": True},
                        "owl_uri": ["http://odahub.io/ontology#LongString"],
                    },
                ],
            ]
        ]
    )
    form = form_for(desc, "p")
    e = form.controls["e_min"]
    assert "Low energy" in e.title.value and e.units.value == "keV" and e.title.tooltip == "lower bound"
    assert e.text.tooltip == "lower bound"
    groups = [w for w in _rows(form.parameters_box) if "oda-form-group" in w._dom_classes]
    assert len(groups) == 1 and e.row in groups[0].children and "Band" in groups[0].children[0].value
    assert form.controls["notes"].input.rows == 4


def test_reset_restores_defaults():
    form = isgri()
    defaults = form.values
    form.set_values(E1_keV=30, src_name="Crab")
    form.controls["T1"].set_format("mjd")
    form.reset()
    assert form.values == defaults


def test_order_between_fields():
    form = isgri()
    form.set_values(E1_keV=50, E2_keV=40)
    assert form.errors == {"E2_keV": "E2_keV must be above E1_keV (50)"}
    assert form.submit_button.disabled
    form.controls["E2_keV"].text.value = "60"
    assert not form.errors
    form.set_values(T2="2017-03-06T10:00:00")
    assert form.errors == {"T2": "T2 must be after T1"}
    assert "T2 must be after T1" in form.controls["T2"].shown_message
    form.controls["T1"].set_format("mjd")  # the instants, not the texts, are compared
    form.controls["T2"].text.value = "57818.9"
    assert not form.errors


def test_a_value_a_field_cannot_take_stays_shown():
    form = isgri()
    with pytest.raises(InvalidParameter):
        form.set_values(integral_data_rights="everything", E1_keV=30)
    assert "must be one of public, all-private" in form.controls["integral_data_rights"].shown_message
    assert form.controls["E1_keV"].get() == 30.0
    assert "integral_data_rights" in form.errors


def test_boolean_and_file_url_controls():
    desc = parse_description(
        [
            [
                {"instrumet": "toy"},
                {"prod_dict": {"p": "p_query"}},
                [{"query_name": "src_query"}],
                [{"query_name": "toy_parameters"}],
                [
                    {"query_name": "p_query"},
                    {"product_name": "p"},
                    {
                        "name": "flag",
                        "units": None,
                        "value": False,
                        "restrictions": {
                            "is_optional": False,
                            "allowed_values": ["True", "true", "yes", "1", "False", "false", "no", "0"],
                        },
                        "owl_uri": [
                            "http://www.w3.org/2001/XMLSchema#bool",
                            "http://odahub.io/ontology#Boolean",
                        ],
                    },
                    {
                        "name": "data_url",
                        "units": "str",
                        "value": None,
                        "restrictions": {"is_optional": True},
                        "owl_uri": [
                            "http://odahub.io/ontology#FileReference",
                            "http://odahub.io/ontology#FileURL",
                        ],
                    },
                ],
            ]
        ]
    )
    form = form_for(desc, "p")
    assert form.values == {"instrument": "toy", "product_type": "p", "flag": False}
    form.set_values(flag="yes", data_url="https://example.org/f.fits")
    assert form.values["flag"] is True and form.values["data_url"] == "https://example.org/f.fits"
    form.controls["data_url"].input.value = "/etc/passwd"
    assert form.errors["data_url"].startswith("data_url must be a URL")
    with pytest.raises(InvalidParameter, match="flag must be true or false"):
        form.set_values(flag="maybe")


def test_paste_box_fills_the_form():
    form = isgri()
    form.api_code_button.click()
    assert form.code_box.layout.display is None and "isgri_spectrum" in form.code_view.value
    form.paste_button.click()
    assert form.code_view.value == ""
    form.code_view.value = 'par_dict = {"product": "isgri_lc", "E2_keV": 99.0, "extra": 1}'
    form.load_button.click()
    assert form.product == "isgri_lc" and form.values["E2_keV"] == 99.0
    assert form.unknown_keys == ["extra"] and "extra" in form.note.value
    form.code_view.value = "par_dict = {"
    form.load_button.click()  # the button shows the error instead of raising
    assert "not valid Python" in form.note.value


def _bad_text(control):
    """A text this control must refuse, with the widget to type it in (None: no such text)."""
    from oda_widgets.form import (
        AngleControl,
        FileURLControl,
        InputListControl,
        NumberControl,
        StructuredControl,
    )

    if isinstance(control, (NumberControl, AngleControl, TimeControl)):
        return control.text, "not-a-value"
    if isinstance(control, StructuredControl):
        return control.input, "{"
    if isinstance(control, FileURLControl):
        return control.input, "no url"
    if isinstance(control, InputListControl):
        return control.text, "[1,"
    if isinstance(control, CatalogControl):
        return control.text, '{"a": 1}'
    return None


@pytest.mark.parametrize("case", DESCRIPTIONS, ids=IDS)
def test_every_checkable_field_refuses_bad_text(case):
    _, desc, product = case
    form = form_for(desc, product)
    checked = 0
    for name, control in form.controls.items():
        bad = _bad_text(control)
        if bad is None:
            continue
        widget, text = bad
        widget.value = text
        assert name in form.errors and form.errors[name].startswith(name), (name, form.errors)
        assert control.shown_message == form.errors[name]
        assert form.submit_button.disabled
        control.reset()
        assert name not in form.errors and not form.submit_button.disabled
        checked += 1
    assert checked >= sum(
        1
        for s in desc.product(product).parameters
        if s.kind in ("float", "integer", "angle", "energy", "time")
    )


@pytest.mark.parametrize(
    "case",
    [c for c in DESCRIPTIONS if "T_format" in c[1].product(c[2]).companions],
    ids=[c[0] for c in DESCRIPTIONS if "T_format" in c[1].product(c[2]).companions],
)
def test_time_format_switch_keeps_instants_everywhere(case):
    _, desc, product = case
    form = form_for(desc, product)
    before = form.values
    form.controls["T1"].set_format("mjd")
    mjd = form.values
    assert mjd["T_format"] == "mjd"
    for name in ("T1", "T2"):
        assert Time(mjd[name], format="mjd", scale="utc").isot == Time(before[name], scale="utc").isot
    form.controls["T2"].set_format("isot")
    assert form.values == before


def test_a_pasted_token_never_stays_in_widget_state():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    form = isgri()
    form.show_paste()
    form.code_view.value = f'par_dict = {{"E1_keV": 33.0, "token": "{token}"}}'
    assert token not in form.code_view.value
    form.load_code()
    assert form.values["E1_keV"] == 33.0 and form.unknown_keys == []
    assert token not in json.dumps(form.get_state(), default=str)
    assert all(token not in json.dumps(w.get_state(), default=str) for w in _rows(form))


def test_forms_still_build_after_all_widgets_were_closed():
    import ipywidgets

    isgri()
    ipywidgets.Widget.close_all()
    form = isgri()
    assert form.controls["E1_keV"].title.layout.comm is not None
    assert form.values["E1_keV"] == 20.0
