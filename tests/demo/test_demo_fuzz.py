"""Random parameter values never crash the demo dispatcher: 200, 400 or 403, never 500."""

from __future__ import annotations

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

values = st.one_of(
    st.text(max_size=40),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "\x00", "[]", "{}", "null", "1e308", "-0", "True"]),
)
PARAMS = [
    "RA",
    "DEC",
    "T1",
    "T2",
    "T_format",
    "radius",
    "max_pointings",
    "E1_keV",
    "E2_keV",
    "osa_version",
    "detection_threshold",
    "time_bin",
    "time_bin_format",
    "scw_list",
    "selected_catalog",
    "jemx_num",
    "data_level",
    "query_status",
    "job_id",
    "token",
    "session_id",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    product=st.sampled_from(
        [
            ("isgri", "isgri_image"),
            ("isgri", "isgri_lc"),
            ("jemx", "jemx_spectrum"),
            ("spi_acs", "spi_acs_lc"),
        ]
    ),
    extra=st.dictionaries(st.sampled_from(PARAMS), values, max_size=4),
)
def test_random_values_never_give_500(demo_dispatcher, product, extra):
    params = {
        "instrument": product[0],
        "product_type": product[1],
        "query_type": "Dummy",
        "api": "True",
        **extra,
    }
    r = requests.post(f"{demo_dispatcher}/run_analysis", data=params, timeout=120)
    assert r.status_code in (200, 400, 403), (params, r.status_code, r.text[:300])
    body = r.json()
    assert (
        ("query_status" in body)
        if r.status_code == 200
        else ("error_message" in body or "exit_status" in body)
    )
