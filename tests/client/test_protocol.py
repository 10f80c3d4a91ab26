"""client/protocol.py: the protocol's facts, once — key sets, par_dict reading, API code both ways,
follow-up requests, which parameter a refusal blames."""

from __future__ import annotations

import json

import pytest

from oda_widgets.client import protocol
from oda_widgets.client.protocol import (
    BOOKKEEPING,
    NOT_FORWARDED,
    NOT_IN_JOB_ID,
    api_code,
    blamed_parameter,
    follow_up,
    par_dict_from_code,
    parameter_in_message,
    read_par_dict,
    user_parameters,
)
from oda_widgets.errors import InvalidParameter


def test_key_sets_say_what_the_protocol_says():
    assert {
        "instrument", "product_type", "query_type", "query_status", "job_id", "session_id",
        "token", "api", "off_line", "oda_api_version", "dry_run", "async_dispatcher",
    } == BOOKKEEPING  # fmt: skip
    # the dispatcher's job id ignores who asks and the job's own state, not what is asked
    assert BOOKKEEPING - {"instrument", "product_type", "query_type"} == NOT_IN_JOB_ID
    assert BOOKKEEPING | {"selected_catalog", "catalog_selected_objects"} == NOT_FORWARDED
    assert not protocol.NOT_PARAMETERS & {"T1", "scw_list", "selected_catalog", "RA"}


def test_the_demo_and_the_client_share_the_sets():
    from oda_widgets.client import dispatcher
    from oda_widgets.demo import instruments, jobs

    assert dispatcher.BOOKKEEPING is BOOKKEEPING
    assert jobs.JOB_ID_EXCLUDED is NOT_IN_JOB_ID
    assert BOOKKEEPING | protocol.REQUEST_OPTIONS <= instruments.CONTROL_KEYS


def test_user_parameters_drop_bookkeeping_only():
    d = {
        "instrument": "isgri",
        "product_type": "isgri_lc",
        "token": "t",
        "job_id": "j",
        "T1": "x",
        "scw_list": [],
    }
    assert user_parameters(d) == {"T1": "x", "scw_list": []}


@pytest.mark.parametrize(
    "given,expected",
    [
        ({"product": "isgri_lc", "product_type": "Dummy"}, (None, "isgri_lc", "Dummy")),  # oda_api keywords
        ({"product_type": "isgri_lc", "query_type": "Real"}, (None, "isgri_lc", "Real")),  # the wire
        ({"product_type": "Real"}, (None, None, "Real")),
        ({"instrument": "mock", "product": "p"}, (None, "p", None)),  # oda_api's placeholder
        ({"instrument": "jemx", "query_type": "Weird"}, ("jemx", None, None)),
    ],
)
def test_read_par_dict_untangles_the_product_names(given, expected):
    r = read_par_dict({**given, "E1_keV": 20.0})
    assert (r.instrument, r.product, r.query_type) == expected and r.parameters == {"E1_keV": 20.0}


def test_api_code_in_both_layouts_from_one_generator():
    par = {
        "instrument": "isgri",
        "product_type": "isgri_lc",
        "query_type": "Real",
        "T1": "2017-03-06T13:26:48",
        "session_id": "S",
        "job_id": "J",
        "query_status": "new",
        "use_scws": "no",
        "token": "secret.tok.en",
        "scw_list": ["066500220010.001"],
        "off_line": False,
        "empty": None,
    }
    shown = api_code(par, "https://example.org/dispatch-data", with_token=True)
    assert "secret" not in shown and "os.environ['ODA_TOKEN']" in shown
    back, skipped = par_dict_from_code(shown)
    assert skipped == ["token"]
    assert back == {
        "T1": "2017-03-06T13:26:48",
        "empty": None,
        "instrument": "isgri",
        "off_line": False,
        "product": "isgri_lc",
        "product_type": "Real",
        "scw_list": ["066500220010.001"],
    }
    theirs = api_code(par, "https://example.org/dispatch-data", layout="dispatcher")
    assert theirs.startswith(
        "from oda_api.api import DispatcherAPI\ndisp=DispatcherAPI(url='https://example.org"
    )
    d = json.loads(theirs.split("par_dict=", 1)[1].split("\n\ndata_collection")[0].replace("False", "false"))
    assert d["token"] == "secret.tok.en"  # the dispatcher's own text carries it, as the real one does
    assert (
        "empty" not in d
        and list(d) == sorted(d)
        and d["product"] == "isgri_lc"
        and d["product_type"] == "Real"
    )
    with pytest.raises(ValueError):
        api_code(par, "u", layout="html")


def test_follow_up_request_from_an_image_and_a_selection():
    image = {
        "instrument": "isgri",
        "product_type": "isgri_image",
        "query_type": "Real",
        "session_id": "S",
        "token": "t",
        "T1": "a",
        "T2": "b",
        "E1_keV": 25.0,
        "selected_catalog": "old",
        "catalog_selected_objects": "1,2",
    }

    class Selection:
        def to_selected_catalog(self):
            return '{"cat_column_list": []}'

    req = follow_up(image, Selection(), "light_curve")
    assert req == {
        "instrument": "isgri",
        "product_type": "isgri_lc",
        "T1": "a",
        "T2": "b",
        "E1_keV": 25.0,
        "selected_catalog": '{"cat_column_list": []}',
    }
    assert follow_up(image, None, "spectrum", instrument="jemx")["product_type"] == "jemx_spectrum"
    assert "selected_catalog" not in follow_up(image, None, "spectrum")
    with pytest.raises(InvalidParameter) as err:
        follow_up(image, None, "image")
    assert err.value.parameter == "kind"
    with pytest.raises(InvalidParameter) as err:
        follow_up({"T1": "a"}, None, "lc")
    assert err.value.parameter == "instrument"


def test_which_parameter_a_refusal_blames():
    sent = {"instrument": "empty", "p": 900.0, "osa_version": "OSA11.0", "src_name": "Crab"}
    assert parameter_in_message("p value is restricted to 800 W", sent) == "p"
    assert parameter_in_message("Parameter T1 wrong value", {}) == "T1"
    assert parameter_in_message("the token provided is not valid", sent) == "token"
    fields = ["p", "osa_version", "src_name"]
    assert blamed_parameter("OSA11.0 is being phased out", sent, fields, named=None) == "osa_version"
    assert blamed_parameter("whatever", sent, fields, named="p") == "p"
    assert blamed_parameter("nothing known", sent, fields, named="instrument") is None
