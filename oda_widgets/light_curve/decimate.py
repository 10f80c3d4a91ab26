"""Screen-resolution decimation of long light curves: M4 through ``tsdownsample``, plus the error envelope.

A few days of SPI-ACS at 0.05 s is 10^7 bins; a browser cannot draw that many points and the kernel
should not send them on each zoom. As glue-jupyter does for images, we send what the screen can show:
the visible range is cut into ``columns`` equal bins and, per bin, the first, last, lowest and highest
point are kept (the M4 rule: a line through them is drawn the same as a line through all points at
that resolution, and no peak is lost). The selection is ``tsdownsample``'s M4 (Rust, SIMD): ~1 ms per
10^6 points in range, 25× faster than the numpy version it replaced.

The error envelope: for each pixel column of ``[x_min, x_max]`` the lowest ``y - err`` and the highest
``y + err`` of the points in it; every kept point carries its column's envelope, so one band drawn
through the kept points covers every error bar of the range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tsdownsample import M4Downsampler

_M4 = M4Downsampler()


@dataclass
class Decimated:
    """What to draw of a curve for one view.

    ``index``: sorted, distinct indices into the curve's arrays (the in-range selection plus one point
    beyond each edge, so the line runs to the frame). ``full`` is True when every point of the range is
    kept: then error bars can be drawn per point and ``env_lo``/``env_hi`` are empty. Otherwise
    ``env_lo``/``env_hi`` (same length as ``index``) are the error envelope of each kept point's pixel
    column (a point beyond an edge carries its own ``y ∓ err``).
    """

    index: np.ndarray
    full: bool
    env_lo: np.ndarray
    env_hi: np.ndarray


_EMPTY = np.empty(0)


def _distinct(sorted_idx: np.ndarray) -> np.ndarray:
    if sorted_idx.size < 2:
        return sorted_idx
    return sorted_idx[np.r_[True, sorted_idx[1:] != sorted_idx[:-1]]]


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

    ``x`` must be sorted ascending and finite, ``x``/``y``/``err`` contiguous native float arrays
    (``curve_arrays`` gives such). If at most ``full_below`` points (default ``columns // 2``) are
    in range, all of them are returned with ``full=True``. Nothing outside the range is read, so a
    zoom costs in proportion to what it shows.
    """
    n = x.size
    if n == 0:
        return Decimated(np.empty(0, dtype=np.int64), True, _EMPTY, _EMPTY)
    if full_below is None:
        full_below = max(columns // 2, 1)
    if not (x_max > x_min):
        x_min, x_max = float(x[0]), float(x[-1])
        if not (x_max > x_min):
            x_max = x_min + 1.0
    lo = int(np.searchsorted(x, x_min, side="left"))
    hi = int(np.searchsorted(x, x_max, side="right"))
    before, after = max(lo - 1, 0), min(hi + 1, n)
    if hi - lo <= full_below:
        return Decimated(np.arange(before, after), True, _EMPTY, _EMPTY)

    xs, ys = x[lo:hi], y[lo:hi]
    # tsdownsample needs at least two bins
    n_out = 4 * max(int(columns), 2)
    if xs.size > n_out:
        inner = _M4.downsample(xs, ys, n_out=n_out).astype(np.int64)
        inner += lo
    else:
        inner = np.arange(lo, hi)
    # the range's own first and last points always (tsdownsample's last bin can miss the last point
    # when its float edge rounds below it), and one point beyond each edge
    idx = _distinct(np.sort(np.concatenate(([before, lo], inner, [hi - 1, after - 1]))))
    if err is None:
        return Decimated(idx, False, y[idx], y[idx])

    es = err[lo:hi]
    # pixel columns of the view: boundaries as positions in the in-range slice
    edges = column_edges(x_min, x_max, columns)
    bounds = np.r_[0, np.searchsorted(xs, edges, side="left"), xs.size]
    filled = np.flatnonzero(bounds[1:] > bounds[:-1])
    starts = bounds[filled]
    col_lo = np.minimum.reduceat(ys - es, starts)
    col_hi = np.maximum.reduceat(ys + es, starts)
    # column of each kept in-range point, as its rank among the filled columns
    pos = idx - lo
    inside = (pos >= 0) & (pos < xs.size)
    rank = np.searchsorted(starts, pos[inside], side="right") - 1
    env_lo = y[idx] - err[idx]
    env_hi = y[idx] + err[idx]
    env_lo[inside] = col_lo[rank]
    env_hi[inside] = col_hi[rank]
    return Decimated(idx, False, env_lo, env_hi)


def column_edges(x_min: float, x_max: float, columns: int) -> np.ndarray:
    """The inner boundaries of ``columns`` equal pixel columns of [x_min, x_max] (a point on a
    boundary belongs to the column on its right)."""
    return x_min + (x_max - x_min) * (np.arange(1, columns) / columns)


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


__all__ = ["decimate", "Decimated", "column_edges", "segments"]
