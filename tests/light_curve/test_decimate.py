"""Min/max-per-column decimation keeps every extreme of the data it stands for."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from oda_widgets.light_curve.decimate import decimate, segments

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def curves(draw):
    n = draw(st.integers(1, 3000))
    steps = draw(hnp.arrays(np.float64, n, elements=st.floats(1e-3, 10, width=64)))
    x = np.cumsum(steps) + draw(st.floats(-1e5, 1e5))
    y = draw(hnp.arrays(np.float64, n, elements=finite))
    columns = draw(st.integers(1, 400))
    a = draw(st.floats(0, 1))
    b = draw(st.floats(0, 1))
    lo, hi = sorted((a, b))
    span = x[-1] - x[0]
    return x, y, columns, x[0] + lo * span, x[0] + hi * span


@settings(max_examples=300, deadline=None)
@given(curves())
def test_every_column_keeps_its_min_max_first_last(c):
    x, y, columns, x_min, x_max = c
    d = decimate(x, y, x_min, x_max, columns, err=np.abs(y) * 0.1 + 1)
    kept = set(d.index.tolist())
    assert list(d.index) == sorted(kept)
    if not x_max > x_min:
        return  # degenerate view: decimate falls back to the full range; checked below
    lo = max(np.searchsorted(x, x_min, "left") - 1, 0)
    hi = min(np.searchsorted(x, x_max, "right") + 1, x.size)
    # in-range points and their neighbours outside are all that is kept
    assert kept <= set(range(lo, hi))
    assert lo in kept and hi - 1 in kept
    if d.full:
        assert kept == set(range(lo, hi))
        return
    col = np.clip(np.floor((x[lo:hi] - x_min) * (columns / (x_max - x_min))), -1, columns)
    for c_ in np.unique(col):
        members = np.flatnonzero(col == c_) + lo
        ys = y[members]
        kept_here = [i for i in members if i in kept]
        assert y[kept_here].max() == ys.max()
        assert y[kept_here].min() == ys.min()
        assert members[0] in kept and members[-1] in kept
    assert len(kept) <= 4 * (columns + 2)
    # the error envelope covers every error bar of the range
    e = np.abs(y[lo:hi]) * 0.1 + 1
    assert d.env_hi.max() == np.max(y[lo:hi] + e)
    assert d.env_lo.min() == np.min(y[lo:hi] - e)


def test_a_million_points_come_down_to_screen_size():
    rng = np.random.default_rng(0)
    x = np.arange(1_700_000) * 0.05
    y = rng.poisson(3000, x.size).astype(float)
    y[1_234_567] = 99_999.0  # a one-bin spike must survive
    d = decimate(x, y, x[0], x[-1], 1000)
    assert d.index.size <= 4 * 1002
    assert 1_234_567 in d.index
    assert y[d.index].min() == y.min()


def test_segments_break_with_nan():
    xs, ys = segments(np.array([1.0, 2.0]), np.array([0.0, 1.0]), np.array([3.0, 4.0]))
    assert xs.tolist() == [1, 1, 1, 2, 2, 2]
    assert ys[:2].tolist() == [0, 3] and np.isnan(ys[2]) and ys[3:5].tolist() == [1, 4]
