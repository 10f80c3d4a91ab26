"""Decimation: tsdownsample's M4 selection per view, plus the error envelope per pixel column."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tsdownsample import M4Downsampler

from oda_widgets.light_curve.decimate import column_edges, decimate

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
def test_selection_is_tsdownsample_m4_and_the_envelope_covers_every_error_bar(c):
    x, y, columns, x_min, x_max = c
    err = np.abs(y) * 0.1 + 1
    d = decimate(x, y, x_min, x_max, columns, err=err)
    kept = d.index
    assert np.all(np.diff(kept) > 0)  # sorted, distinct
    if not x_max > x_min:
        return  # degenerate view: decimate falls back to the full range
    lo = np.searchsorted(x, x_min, "left")
    hi = np.searchsorted(x, x_max, "right")
    before, after = max(lo - 1, 0), min(hi + 1, x.size)
    # in-range points and one neighbour beyond each edge are all that is kept
    assert set(kept.tolist()) <= set(range(before, after))
    assert before in kept and after - 1 in kept
    if d.full:
        assert kept.tolist() == list(range(before, after))
        assert hi - lo <= max(columns // 2, 1)
        return
    inner = kept[(kept >= lo) & (kept < hi)]
    n_out = 4 * max(columns, 2)
    if hi - lo > n_out:
        m4 = M4Downsampler().downsample(x[lo:hi], y[lo:hi], n_out=n_out).astype(np.int64) + lo
        # plus the range's first and last points, which the view always keeps
        expected = np.unique(np.r_[lo, m4, hi - 1])
    else:
        expected = np.arange(lo, hi)
    assert inner.tolist() == expected.tolist()  # exactly tsdownsample's M4 selection
    assert y[inner].max() == y[lo:hi].max() and y[inner].min() == y[lo:hi].min()
    assert lo in inner and hi - 1 in inner
    # M4's at most 4 per bin, the range's first and last points (kept even where M4's float bin edge
    # drops them), and one point beyond each edge
    assert len(kept) <= 4 * max(columns, 2) + 4
    # envelope: each kept point carries its pixel column's lowest y - err and highest y + err
    col_of = np.searchsorted(column_edges(x_min, x_max, columns), x, side="right")
    for i, e_lo, e_hi in zip(kept, d.env_lo, d.env_hi):
        if lo <= i < hi:
            members = np.flatnonzero(col_of[lo:hi] == col_of[i]) + lo
            assert e_lo == np.min(y[members] - err[members])
            assert e_hi == np.max(y[members] + err[members])
        else:
            assert e_lo == y[i] - err[i] and e_hi == y[i] + err[i]
    # so the band drawn through the kept points covers every error bar of the range
    assert d.env_lo.min() == np.min(y[before:after] - err[before:after])
    assert d.env_hi.max() == np.max(y[before:after] + err[before:after])


def test_m4_keeps_first_last_min_max_of_every_equal_width_bin():
    """The M4 rule, checked bin by bin against a plain numpy reference on irregular times."""
    rng = np.random.default_rng(7)
    x = np.cumsum(rng.uniform(0.01, 0.09, 200_000))
    y = rng.normal(0, 1, x.size)
    y[123_456] = 50.0  # a one-bin spike
    columns = 300
    d = decimate(x, y, x[1000], x[150_000], columns)
    lo, hi = 1000, 150_001
    xs, kept = x[lo:hi], set(d.index.tolist())
    # tsdownsample's bins: equal widths over [first, last] of the range
    edges = xs[0] + (xs[-1] - xs[0]) * np.arange(1, columns) / columns
    bounds = np.r_[0, np.searchsorted(xs, edges, side="right"), xs.size]
    for b0, b1 in itertools.pairwise(bounds):
        if b1 <= b0:
            continue
        seg = np.arange(b0, b1) + lo
        assert {seg[0], seg[-1], seg[np.argmin(y[seg])], seg[np.argmax(y[seg])]} <= kept
    assert 123_456 in kept


def test_ten_million_points_come_down_to_screen_size_float32():
    rng = np.random.default_rng(0)
    n = 10_000_000
    x = np.arange(n) * 0.05
    y = rng.poisson(4000, n).astype(np.float32) / np.float32(0.05)
    err = np.sqrt(y * np.float32(0.05)) / np.float32(0.05)
    y[7_654_321] = 4e6  # a one-bin burst must survive
    d = decimate(x, y, x[0], x[-1], 1000, err=err)
    assert d.index.size <= 4 * 1000 + 2
    assert 7_654_321 in d.index
    assert d.env_hi.max() == np.float32(4e6) + err[7_654_321]
    assert d.env_lo.dtype == np.float32  # the envelope stays in the data's precision
    # a 5 % zoom reads only its own range
    a, b = x[n // 2], x[n // 2 + n // 20]
    z = decimate(x, y, a, b, 1000, err=err)
    assert x[z.index[1]] >= a and x[z.index[-2]] <= b
