"""The catalog selection rule has one Python home (products/selection.py) and one browser twin
(js/catalog.js). The cases in js/tests/selection_cases.json are computed by the Python rule; this
test keeps the file in step with it (ODA_WIDGETS_REGENERATE=1 rewrites it), and the node test
js/tests/selection.test.mjs checks the twin against the same file."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np

from oda_widgets.products.catalog import Catalog
from oda_widgets.products.selection import is_new_source, selected_rows

CASES = Path(__file__).resolve().parents[2] / "js" / "tests" / "selection_cases.json"

_NAMES = [
    "GX 1+4",
    "NEW_1",
    "NEW_2",
    "Crab",
    "4U 1700-377",
    "OAO 1657-415",
    "renewal",
    "new_3",
    "1E 1740.7-2942",
    "IGR J17091-3624",
    "Cen X-3",
    "NEWCOMER",
    "",
    "Ω source",
    "  padded  ",
]


def _generated() -> list[dict]:
    rng = random.Random(20240611)
    cases = []
    fixed = [
        ([7, None, 5, 4.99, 12, 30], _NAMES[:6], 5, False, ""),
        ([7, None, 5, 4.99, 12, 30], _NAMES[:6], 5, True, ""),
        ([7, None, 5, 4.99, 12, 30], _NAMES[:6], None, True, "  gx "),
        ([1, 2, 3], ["renewal", "NEW", "new"], None, True, ""),
        ([1, 2, 3], ["renewal", "NEW", "new"], None, False, "NEW"),
        ([None, None], ["a", "b"], 0, False, ""),
        ([-1, 0, 1], ["a", "b", "c"], 0, False, ""),
        ([], [], 5, True, "x"),
        ([5, 5], ["Ω source", "crab"], None, False, "ω"),
    ]
    for i, (sig, names, m, ex, search) in enumerate(fixed):
        cases.append(
            dict(
                label=f"fixed {i}",
                significance=sig,
                names=names,
                min_significance=m,
                exclude_new=ex,
                search=search,
                kept=[],
            )
        )
    # objects of interest (FLAG > 0) pass the cut and the NEW filter, not the search
    for i, (kept, search) in enumerate([([1, 3], ""), ([1, 3], "gx"), ([0, 2, 5], "")]):
        cases.append(
            dict(
                label=f"kept {i}",
                significance=[7, None, 5, 4.99, 12, 30],
                names=_NAMES[:6],
                min_significance=8,
                exclude_new=True,
                search=search,
                kept=kept,
            )
        )
    for i in range(24):
        n = rng.randint(0, 12)
        names = [rng.choice(_NAMES) for _ in range(n)]
        sig = [None if rng.random() < 0.15 else round(rng.uniform(-3, 40), 2) for _ in range(n)]
        cases.append(
            dict(
                label=f"random {i}",
                significance=sig,
                names=names,
                min_significance=rng.choice([None, 0.0, 5.0, 7.5, 12.0, 41.0]),
                exclude_new=rng.random() < 0.5,
                search=rng.choice(["", "", "x", " new ", "1E", "crab", "-3"]),
                kept=sorted(rng.sample(range(n), rng.randint(0, min(n, 2)))) if n else [],
            )
        )
    for c in cases:
        sig = np.array([np.nan if s is None else s for s in c["significance"]], dtype=float)
        c["expected"] = selected_rows(
            sig,
            c["names"],
            min_significance=c["min_significance"],
            exclude_new=c["exclude_new"],
            search=c["search"],
            kept=c["kept"],
        )
        c["new_flags"] = [is_new_source(n) for n in c["names"]]
    return cases


def test_case_file_is_what_the_python_rule_says():
    cases = _generated()
    if os.environ.get("ODA_WIDGETS_REGENERATE"):
        CASES.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert json.loads(CASES.read_text(encoding="utf-8")) == cases
    # the cases exercise every part of the rule
    assert any(
        c["expected"] != list(range(len(c["names"]))) and c["min_significance"] is not None for c in cases
    )
    assert any(c["exclude_new"] and any(c["new_flags"]) for c in cases)
    assert any(c["search"].strip() and c["expected"] for c in cases)
    assert any(
        set(c["kept"])
        - set(
            selected_rows(
                [np.nan if s is None else s for s in c["significance"]],
                c["names"],
                min_significance=c["min_significance"],
                exclude_new=c["exclude_new"],
                search=c["search"],
            )
        )
        & set(c["expected"])
        for c in cases
    )


def test_catalog_filter_follows_the_rule():
    t_names = ["A", "NEW_1", "B", "C NEW"]
    cat = Catalog.from_dict(
        {
            "cat_frame": "fk5",
            "cat_coord_units": "deg",
            "cat_lon_name": "ra",
            "cat_lat_name": "dec",
            "cat_column_names": ["meta_ID", "src_names", "significance", "ra", "dec"],
            "cat_column_descr": [
                ["meta_ID", "<i8"],
                ["src_names", "<U8"],
                ["significance", "<f8"],
                ["ra", "<f8"],
                ["dec", "<f8"],
            ],
            "cat_column_list": [
                [1, 2, 3, 4],
                t_names,
                [9.0, 12.0, float("nan"), 6.0],
                [0, 1, 2, 3],
                [0, 1, 2, 3],
            ],
        }
    )
    kept = cat.filter(min_significance=6, exclude_new=True)
    assert list(kept.table["src_names"]) == ["A"]
    rows = selected_rows(
        cat.table["significance"], cat.table["src_names"], min_significance=6, exclude_new=True
    )
    assert rows == [0]
