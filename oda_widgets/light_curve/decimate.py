"""Screen-resolution decimation of long light curves (numpy only).

A one-day SPI-ACS curve at 0.05 s has ~1.7 M bins; a browser cannot draw that many SVG points and
the kernel should not send 27 MB on each zoom. Like glue-jupyter's fixed-resolution image mark, we
send what the screen can show: for the visible x range cut into ``columns`` pixel columns, keep in
each column the first, last, lowest and highest point (the "M4" rule). A line through those points
looks the same as a line through all of them at that resolution and no peak is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Decimated:
    """Indices kept (sorted, into the full arrays) and, per column, the error-bar envelope.

    ``full`` is True when every point of the range was kept (no decimation happened): then error bars
    can be drawn per point. Otherwise ``env_x``/``env_lo``/``env_hi`` give one vertical segment per
    column from the lowest ``y - err`` to the highest ``y + err`` inside it.
    """

    index: np.ndarray
    full: bool
    env_x: np.ndarray
    env_lo: np.ndarray
    env_hi: np.ndarray


def _segment_pick(values: np.ndarray, starts: np.ndarray, seg: np.ndarray, reduce) -> np.ndarray:
    """Index of the first element equal to the per-segment extreme (``reduce`` = np.minimum/maximum)."""
    ext = reduce.reduceat(values, starts)
    hit = np.flatnonzero(values == ext[seg])
    # hit is sorted and seg[hit] non-decreasing: keep the first hit of each segment
    first = np.r_[True, seg[hit][1:] != seg[hit][:-1]]
    return hit[first]


def decimate(
    x: np.ndarray,
    y: np.ndarray,
    x_min: float,
    x_max: float,
    columns: int,
    err: np.ndarray | None = None,
    full_below: int | None = None,
) -> Decimated:
    """Points of (x, y) to draw for the view [x_min, x_max] at ``columns`` pixel columns.

    ``x`` must be sorted ascending and finite; ``y`` finite. One point beyond each edge of the view
    is kept so the line runs to the frame. If at most ``full_below`` points (default ``2*columns``)
    are in range, all of them are returned.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    n = x.size
    if n == 0:
        empty = np.empty(0)
        return Decimated(np.empty(0, dtype=np.int64), True, empty, empty, empty)
    if full_below is None:
        full_below = 2 * columns
    if not (x_max > x_min):
        x_min, x_max = float(x[0]), float(x[-1])
        if not (x_max > x_min):
            x_max = x_min + 1.0
    lo = max(int(np.searchsorted(x, x_min, side="left")) - 1, 0)
    hi = min(int(np.searchsorted(x, x_max, side="right")) + 1, n)
    if hi - lo <= full_below:
        idx = np.arange(lo, hi)
        empty = np.empty(0)
        return Decimated(idx, True, empty, empty, empty)
    xs = x[lo:hi]
    ys = y[lo:hi]
    col = np.floor((xs - x_min) * (columns / (x_max - x_min))).astype(np.int64)
    # the two outside points get their own columns (-1 and `columns`) and are kept as they are
    np.clip(col, -1, columns, out=col)
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    seg = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, xs.size]))
    last = np.r_[starts[1:] - 1, xs.size - 1]
    keep = np.concatenate(
        [starts, last, _segment_pick(ys, starts, seg, np.minimum), _segment_pick(ys, starts, seg, np.maximum)]
    )
    idx = np.unique(keep) + lo
    if err is not None:
        es = np.asarray(err)[lo:hi]
        env_lo = np.minimum.reduceat(ys - es, starts)
        env_hi = np.maximum.reduceat(ys + es, starts)
        env_x = (col[starts] + 0.5) * ((x_max - x_min) / columns) + x_min
        # the outside columns' centres would lie outside the data: use their own x instead
        outside = (col[starts] < 0) | (col[starts] >= columns)
        env_x[outside] = xs[starts][outside]
    else:
        env_x = env_lo = env_hi = np.empty(0)
    return Decimated(idx, False, env_x, env_lo, env_hi)


def segments(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertical segments (x, lo)–(x, hi) as one NaN-separated polyline (bqplot has no error-bar mark)."""
    n = len(x)
    xs = np.empty(3 * n, dtype=np.float64)
    ys = np.empty(3 * n, dtype=np.float64)
    xs[0::3] = x
    xs[1::3] = x
    # the break is a NaN y (bqplot skips undefined points); x stays finite so DateScale data stay valid
    xs[2::3] = x
    ys[0::3] = lo
    ys[1::3] = hi
    ys[2::3] = np.nan
    return xs, ys


__all__ = ["decimate", "Decimated", "segments"]
