"""The form without widgets: FormModel, the parameter-kind registry and cross-field checks,
driven as a script would (no ipywidgets imported, nothing requested: descriptions given)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from astropy import units as u
from astropy.time import Time

from oda_widgets.client.description import parse_description
from oda_widgets.demo.instruments import meta_data
from oda_widgets.errors import InvalidParameter
from oda_widgets.form import (
    Field,
    FormModel,
    Kind,
    register_check,
    register_kind,
    unregister_check,
    unregister_kind,
)
from oda_widgets.form.kinds import kind_for

URL = "http://127.0.0.1:9"  # only written into API code: nothing is requested from it


def isgri(product="isgri_spectrum"):
    return FormModel(URL, product=product, description=parse_description(meta_data("isgri", None)))


def test_a_script_drives_the_form_without_ipywidgets():
    script = f"""
import json, sys
from oda_widgets.client.description import parse_description
from oda_widgets.demo.instruments import meta_data
from oda_widgets.form import FormModel
m = FormModel({URL!r}, product="isgri_lc", description=parse_description(meta_data("isgri", None)))
m.set_values(E1_keV=10)
first = dict(m.errors)
m.set_values(E1_keV=30, T_format="mjd")
print(json.dumps({{"first": first, "errors": m.errors, "values": m.values,
                   "widgets": [n for n in ("ipywidgets", "bqplot", "anywidget") if n in sys.modules]}}))
"""
    out = json.loads(
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    )
    assert out["first"] == {"E1_keV": "E1_keV must be ≥ 15 keV (allowed 15–800 keV)"}
    assert out["errors"] == {} and out["widgets"] == []
    v = out["values"]
    assert v["instrument"] == "isgri" and v["product_type"] == "isgri_lc" and v["E1_keV"] == 30.0
    assert v["T_format"] == "mjd" and isinstance(v["T1"], float) and isinstance(v["T2"], float)


def test_fields_parse_check_and_convert_like_the_form():
    m = isgri("isgri_lc")
    t1, t2 = m.fields["T1"], m.fields["T2"]
    before = Time(m.values["T1"], scale="utc")
    t1.set_format("mjd")  # one companion serves T1 and T2: both switch, instants kept
    assert (
        t2.format == "mjd"
        and abs(Time(m.values["T1"], format="mjd", scale="utc") - before).to_value(u.ms) < 1
    )
    m.fields["time_bin"].set(1 * u.hour)
    assert m.values["time_bin"] == pytest.approx(3600.0) and m.values["time_bin_format"] == "sec"
    m.fields["E2_keV"].set_input("nan")
    assert m.errors == {"E2_keV": "E2_keV must be a finite number"}
    with pytest.raises(InvalidParameter) as err:
        m.params
    assert err.value.parameter == "E2_keV"
    m.fields["E2_keV"].set_input("80")
    m.set_values(T2=Time("2000-01-01T00:00:00", scale="utc"))
    assert m.errors == {"T2": "T2 must be after T1"}  # the cross-field check, on instants


def test_par_dict_aliases_are_read_once_for_scripts_and_forms():
    m = isgri()
    m.set_values(
        {"product": "isgri_image", "product_type": "Dummy", "E1_keV": 25, "session_id": "X", "extra": 1}
    )
    assert (m.product, m.query_type, m.unknown_keys) == ("isgri_image", "Dummy", ["extra"])
    m.set_values(product_type="isgri_lc")  # the dispatcher's spelling
    assert m.product == "isgri_lc" and m.query_type == "Dummy" and m.values["E1_keV"] == 25.0
    assert "Not used by" not in m.note


def test_a_field_refused_by_set_values_keeps_its_message_until_edited():
    m = isgri()
    with pytest.raises(InvalidParameter):
        m.set_values(integral_data_rights="everything", E1_keV=30)
    assert "must be one of public, all-private" in m.errors["integral_data_rights"]
    assert m.fields["E1_keV"].value == 30.0  # the other values were placed
    m.fields["integral_data_rights"].set("public")
    assert "integral_data_rights" not in m.errors


class OddInteger(Kind):
    """A toy kind: whole numbers that must be odd."""

    name = "odd_integer"

    def parse(self, field, raw):
        text = str(raw).strip()
        if not text:
            return field.empty()
        if not text.lstrip("-").isdigit():
            raise field.fail(f"{field.name} must be a whole number, not {text!r}")
        return int(text)

    def validate(self, field, value):
        if value % 2 == 0:
            raise field.fail(f"{field.name} must be odd")


def test_a_new_parameter_kind_is_one_registry_entry_and_the_form_shows_it():
    rule = register_kind(lambda spec: spec.name == "max_pointings", OddInteger())
    try:
        m = isgri("isgri_image")
        field = m.fields["max_pointings"]
        assert field.kind.name == "odd_integer" and kind_for(field.spec) is rule[1]
        field.set(50)
        assert m.errors == {"max_pointings": "max_pointings must be odd"}
        field.set_input("51")
        assert m.values["max_pointings"] == 51
        # the widget form: no control registered for the kind, so a text box over the same field
        from oda_widgets.form import QueryForm, TextControl

        form = QueryForm(URL, product="isgri_image", description=parse_description(meta_data("isgri", None)))
        control = form.controls["max_pointings"]
        assert type(control) is TextControl
        control.input.value = "8"
        assert form.errors == {"max_pointings": "max_pointings must be odd"}
        assert control.shown_message == "max_pointings must be odd" and form.submit_button.disabled
    finally:
        unregister_kind(rule)
    assert isgri("isgri_image").fields["max_pointings"].kind.name == "count"


def test_a_new_cross_field_check_is_one_entry():
    def radius_within_field_of_view(fields, read):
        radius = fields.get("radius")
        if radius is not None and radius.instrument == "isgri" and read(radius) > 20:
            return {"radius": "ISGRI sees 20° at most"}
        return {}

    register_check(radius_within_field_of_view)
    try:
        m = isgri("isgri_image")
        m.set_values(radius=25)
        assert m.errors == {"radius": "ISGRI sees 20° at most"}
        m.set_values(radius=10)
        assert m.errors == {}
    finally:
        unregister_check(radius_within_field_of_view)


def test_a_field_alone():
    spec = parse_description(meta_data("isgri", None)).product("isgri_lc").parameter("T1")
    f = Field(spec, "isgri")
    seen = []
    f.observe(lambda field, what: seen.append(what))
    f.set(Time("2017-03-06T06:00:00", scale="utc"))
    assert f.value == "2017-03-06T06:00:00.000" and f.companions() == {"T_format": "isot"}
    f.set_format("mjd")
    assert f.value == pytest.approx(57818.25) and seen == ["input", "format"]
    f.set_input("yesterday-ish")
    assert f.message.startswith("T1 must be a time in ISO")
    f.reset()
    assert f.untouched


def test_remembered_values_without_widgets(tmp_path):
    desc = parse_description(meta_data("isgri", None))
    store = tmp_path / "last.json"
    m = FormModel(URL, product="isgri_image", description=desc, remember=store)
    m.memory.save("isgri", "isgri_image", {"E1_keV": 33.0, "token": "x", "selected_catalog": "{}"})
    again = FormModel(URL, product="isgri_image", description=desc, remember=store)
    assert again.values["E1_keV"] == 33.0
    assert set(json.loads(store.read_text())["isgri/isgri_image"]) == {"E1_keV"}
