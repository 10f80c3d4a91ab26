"""Checks across fields (T1 before T2, E1_keV below E2_keV), run after each field is valid alone.

A check is a callable ``check(fields, read) -> {parameter: message}``: ``fields`` are the
product's fields that are valid on their own (name → :class:`~oda_widgets.form.model.Field`, with
``spec``, ``instrument`` and ``kind``), ``read(field)`` their value. A check that needs a field the
product lacks (or one that is wrong already) says nothing. Adding one is one entry::

    def time_bin_at_least_a_second(fields, read):
        tb = fields.get("time_bin")
        if tb is not None and tb.instrument == "isgri" and tb.format == "sec" and read(tb) < 1:
            return {"time_bin": "ISGRI light curves need time_bin ≥ 1 s"}
        return {}

    register_check(time_bin_at_least_a_second)

A message may offer values that would satisfy the check: return an :class:`Advice` (a ``str``
with ``fixes``); the form shows them as one-click fixes (``FormModel.apply_fix``). The built-in
instrument rules are :class:`TimeBinRule` entries of :data:`TIME_BIN_RULES` (another instrument's
rule is one more ``register_check(TimeBinRule(...))``), plus :func:`light_curve_bins` (a bin
longer than T1–T2, or so short that the curve would have more than ``MAX_LIGHT_CURVE_BINS``
points).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oda_widgets.client.protocol import MAX_LIGHT_CURVE_BINS
from oda_widgets.errors import InvalidParameter

if TYPE_CHECKING:
    from oda_widgets.form.model import Field

__all__ = [
    "Check",
    "Advice",
    "fixes_of",
    "Ordered",
    "TimeBinRule",
    "TIME_BIN_RULES",
    "light_curve_bins",
    "register_check",
    "unregister_check",
    "checks",
]


class Advice(str):
    """A check's message that also offers the values that would satisfy it (``fixes``, in the
    field's current units/format, as ``Field.set`` takes them)."""

    fixes: tuple[Any, ...]

    def __new__(cls, text: str, fixes: tuple[Any, ...] | list[Any] = ()) -> Advice:
        advice = super().__new__(cls, text)
        advice.fixes = tuple(fixes)
        return advice


def fixes_of(message: Any) -> list[Any]:
    """The fixes a check's message offers (none for a plain string)."""
    return list(getattr(message, "fixes", ()) or ())


Check = Callable[[Mapping[str, "Field"], Callable[["Field"], Any]], dict[str, str]]


@dataclass(frozen=True)
class Ordered:
    """``second`` must come after (times) or above (numbers) ``first``; the message is at ``second``."""

    first: str
    second: str

    def __call__(self, fields: Mapping[str, Field], read: Callable[[Field], Any]) -> dict[str, str]:
        a, b = fields.get(self.first), fields.get(self.second)
        if a is None or b is None:
            return {}
        try:
            x, y = read(a), read(b)
            if x is None or y is None:
                return {}
            if a.kind.name == "time" and b.kind.name == "time":
                if not a.kind.order_key(a, x) < b.kind.order_key(b, y):
                    return {self.second: f"{self.second} must be after {self.first}"}
            elif not a.kind.order_key(a, x) < b.kind.order_key(b, y):
                return {self.second: f"{self.second} must be above {self.first} ({x:g})"}
        except (InvalidParameter, TypeError):
            return {}
        return {}


def _nice_ceiling(x: float) -> float:
    """The smallest number with two significant digits that is at least ``x``."""
    step = 10.0 ** (math.floor(math.log10(x)) - 1)
    return _clean(math.ceil(x / step - 1e-9) * step)


def _clean(x: float) -> float:
    """``x`` without float noise (0.15000000000000002 → 0.15)."""
    return float(f"{x:.12g}")


@dataclass(frozen=True)
class TimeBinRule:
    """What an instrument takes as a light-curve ``time_bin`` (seconds): at least ``minimum``, at
    most ``maximum``, a whole number of ``multiple``. A refused bin offers the nearest valid ones.
    ``label`` names the instrument in messages; ``source`` says where the numbers come from."""

    instrument: str
    label: str
    minimum: float | None = None
    maximum: float | None = None
    multiple: float | None = None
    source: str = ""
    parameter: str = "time_bin"

    def __call__(self, fields: Mapping[str, Field], read: Callable[[Field], Any]) -> dict[str, str]:
        field = fields.get(self.parameter)
        if field is None or field.instrument != self.instrument or not hasattr(field.kind, "seconds"):
            return {}
        try:
            value = read(field)
        except InvalidParameter:
            return {}
        if value is None:
            return {}
        kind: Any = field.kind
        sec = kind.seconds(field, float(value))
        unit = field.format or "sec"

        def shown(s: float) -> Any:
            return kind.from_seconds(field, s)

        def text(s: float) -> str:
            return f"{shown(s):g}" if unit == "sec" else f"{shown(s):.6g} {unit} ({s:g} s)"

        if self.minimum is not None and sec < self.minimum * (1 - 1e-9):
            return {
                self.parameter: Advice(
                    f"{self.label} light-curve bins are at least {self.minimum:g} s; use {text(self.minimum)}",
                    (shown(self.minimum),),
                )
            }
        if self.maximum is not None and sec > self.maximum * (1 + 1e-9):
            return {
                self.parameter: Advice(
                    f"{self.label} light-curve bins are at most {self.maximum:g} s; use {text(self.maximum)}",
                    (shown(self.maximum),),
                )
            }
        if self.multiple:
            k = sec / self.multiple
            if abs(k - round(k)) > 1e-6:
                below, above = _clean(math.floor(k) * self.multiple), _clean(math.ceil(k) * self.multiple)
                near = [s for s in (below, above) if s > 0 and (self.minimum is None or s >= self.minimum)]
                near = [s for s in near if self.maximum is None or s <= self.maximum]
                return {
                    self.parameter: Advice(
                        f"{self.label} bins are multiples of {self.multiple:g} s (the backend would cut "
                        f"{text(sec)} down to {text(below)}); use " + " or ".join(text(s) for s in near),
                        tuple(shown(s) for s in near),
                    )
                }
        return {}


#: The instruments' light-curve bin rules. ISGRI and JEM-X: at least 20 s (the web frontend's
#: ``data-mmoda-time-bin-min`` and "Minimum value is 20 seconds." in ``mmoda_isgri.inc`` /
#: ``mmoda_jemx.inc``), at most 20000 s (``OSATimebin.t_bin_max_seconds`` in
#: dispatcher-plugin-integral ``osa_lightcurve_query.py``: "Time bin max value exceeded").
#: SPI-ACS: multiples of its native 0.05 s bin (``data-mmoda-time-bin-multiple`` 50 ms in
#: ``mmoda_spi_acs.inc``; dispatcher-plugin-integral-all-sky rounds the bin down to a multiple of
#: the data's own bin, ``int(delta_t/instr_t_bin)*instr_t_bin``).
TIME_BIN_RULES = (
    TimeBinRule("isgri", "ISGRI", minimum=20.0, maximum=20000.0, source="MMODA frontend; OSA plugin"),
    TimeBinRule("jemx", "JEM-X", minimum=20.0, maximum=20000.0, source="MMODA frontend; OSA plugin"),
    TimeBinRule("spi_acs", "SPI-ACS", minimum=0.05, multiple=0.05, source="MMODA frontend; SPI-ACS plugin"),
)


def light_curve_bins(fields: Mapping[str, Field], read: Callable[[Field], Any]) -> dict[str, str]:
    """A ``time_bin`` must fit the T1–T2 window (a longer bin gives at most one point) and not
    ask for more than ``MAX_LIGHT_CURVE_BINS`` points. Not checked when a ScW list chooses the data
    (then T1/T2 do not)."""
    tb, t1, t2 = fields.get("time_bin"), fields.get("T1"), fields.get("T2")
    if tb is None or t1 is None or t2 is None or not hasattr(tb.kind, "seconds"):
        return {}
    try:
        scws = fields.get("scw_list")
        if scws is not None and read(scws):
            return {}
        value = read(tb)
        start, stop = t1.kind.order_key(t1, read(t1)), t2.kind.order_key(t2, read(t2))
    except (InvalidParameter, TypeError, ValueError):
        return {}
    if value is None:
        return {}
    kind: Any = tb.kind
    window = float((stop - start).to_value("s"))
    sec = kind.seconds(tb, float(value))
    if window <= 0 or sec <= 0:
        return {}
    unit = tb.format or "sec"
    if sec > window * (1 + 1e-9):
        fix = kind.from_seconds(tb, window)
        return {
            "time_bin": Advice(
                f"time_bin is longer than T1–T2 ({window:g} s): the light curve would have at most "
                f"one point; use {fix:g}{'' if unit == 'sec' else ' ' + unit} or less",
                (fix,),
            )
        }
    if window / sec > MAX_LIGHT_CURVE_BINS:
        shortest = _nice_ceiling(window / MAX_LIGHT_CURVE_BINS)
        rule = next(
            (r for r in checks() if isinstance(r, TimeBinRule) and r.instrument == tb.instrument), None
        )
        if rule is not None and rule.multiple:  # the fix must also be a valid bin of the instrument
            shortest = _clean(math.ceil(window / MAX_LIGHT_CURVE_BINS / rule.multiple - 1e-9) * rule.multiple)
        fix = kind.from_seconds(tb, shortest)
        return {
            "time_bin": Advice(
                f"time_bin {kind.from_seconds(tb, sec):g}{'' if unit == 'sec' else ' ' + unit} over T1–T2 asks for "
                f"{window / sec:.3g} points; at most {MAX_LIGHT_CURVE_BINS:,} — use at least {fix:g}"
                f"{'' if unit == 'sec' else ' ' + unit}",
                (fix,),
            )
        }
    return {}


_BUILTIN: list[Check] = [
    Ordered("T1", "T2"),
    Ordered("E1_keV", "E2_keV"),
    *TIME_BIN_RULES,
    light_curve_bins,
]
_USER: list[Check] = []


def register_check(check: Check) -> Check:
    """Run ``check`` on every form (after the built-in ones); returns it for :func:`unregister_check`."""
    _USER.append(check)
    return check


def unregister_check(check: Check) -> None:
    """Stop running a check added with :func:`register_check`."""
    _USER.remove(check)


def checks() -> list[Check]:
    """The checks in the order they run."""
    return [*_BUILTIN, *_USER]
