// Light-curve plot front end (anywidget ES module, self-contained: no imports).
//
// The kernel sends, per visible time range, a screen-resolution selection of each curve (M4: first,
// last, lowest, highest point per pixel column) with its error envelope per column, or every bin with
// its error bars when the range holds few bins. x travels as float32 offsets from one float64 origin
// (seconds since the view's reference instant), y as float32, in the `data` trait ({value, dtype,
// shape} buffers, so they are saved with the notebook's widget state).
//
// Zoom and pan happen here at once: the points already in the page are redrawn for the new range on a
// canvas, and the kernel is asked once — on wheel end (debounced), drag release, box release — for the
// new range (`x_range`); its one reply (`data`) is drawn once. Axes (IJD/MJD days, UTC dates, seconds;
// linear/log and inverted y), legend, overlays, the brushed interval and PNG export are drawn here.
// Pure helpers are exported for `node --test js/tests/`.

// ---------------------------------------------------------------------------------------------
// Arrays

/** The typed array of a `{value, dtype, shape}` buffer (DataView/ArrayBuffer/typed array value). */
export function decodeArray(a) {
  if (a === null || a === undefined) return null;
  if (typeof a === "number") return a;
  if (Array.isArray(a)) return Float64Array.from(a);
  const v = a.value;
  if (v === undefined || v === null) return null;
  const buf = v.buffer ? v.buffer : v;
  const off = v.byteOffset || 0;
  const len = v.byteLength;
  const Type = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array }[a.dtype];
  if (!Type) throw new Error(`unsupported dtype ${a.dtype}`);
  const size = Type.BYTES_PER_ELEMENT;
  if (off % size === 0) return new Type(buf, off, len / size);
  return new Type(buf.slice(off, off + len));
}

// ---------------------------------------------------------------------------------------------
// Numbers and ticks

/** "Nice" steps (1-2-5 × 10^k) from the smallest above `minStep`, in increasing order (a generator). */
export function* niceSteps(minStep) {
  if (!(minStep > 0) || !Number.isFinite(minStep)) return;
  let mag = 10 ** Math.floor(Math.log10(minStep));
  for (;;) {
    for (const m of [1, 2, 5]) {
      const s = m * mag;
      if (s >= minStep * (1 - 1e-12)) yield s;
    }
    mag *= 10;
  }
}

/** Decimals needed to write multiples of `step` exactly (1-2-5 steps). */
export function decimalsFor(step) {
  return Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
}

/** Multiples of `step` in [lo, hi] (computed as integers × step: no accumulated error). */
export function multiples(lo, hi, step) {
  const out = [];
  const k0 = Math.ceil(lo / step - 1e-9), k1 = Math.floor(hi / step + 1e-9);
  for (let k = k0; k <= k1 && out.length < 1000; k++) out.push(k * step);
  return out;
}

/**
 * `v` written for an axis whose ticks are `step` apart: fixed decimals, or — with `power` (an
 * integer shared by the axis' labels) — as a mantissa of that power of ten, "2.5e6".
 */
export function formatNumber(v, step, { power = null } = {}) {
  if (Math.abs(v) < step * 1e-9) return "0";
  if (power !== null) {
    const digits = Math.max(0, Math.min(6, power - Math.floor(Math.log10(step) + 1e-9)));
    return `${(v / 10 ** power).toFixed(digits)}e${power}`;
  }
  return v.toFixed(Math.min(12, decimalsFor(step)));
}

/**
 * Linear ticks over [lo, hi]: the smallest 1-2-5 step whose labels fit, `fits(count, labels)` deciding
 * (e.g. labels no wider than the axis). Returns {step, values, labels}.
 */
export function linearTicks(lo, hi, fits, { exponent = false } = {}) {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return { step: NaN, values: [], labels: [] };
  const power = exponent ? Math.floor(Math.log10(Math.max(Math.abs(lo), Math.abs(hi))) + 1e-9) : null;
  for (const step of niceSteps((hi - lo) / 40)) {
    const values = multiples(lo, hi, step);
    if (values.length > 40) continue;
    const labels = values.map((v) => formatNumber(v, step, { power }));
    if (fits(values.length, labels)) return { step, values, labels };
  }
  return { step: hi - lo, values: [lo], labels: [formatNumber(lo, hi - lo, { power })] };
}

/** Whether y values this large or small read better as 1.5e6 than as 1500000. */
export function wantsExponent(lo, hi) {
  const m = Math.max(Math.abs(lo), Math.abs(hi));
  return m >= 1e5 || (m > 0 && m < 1e-3);
}

/** Ticks of a log axis over [lo, hi] (> 0): decades, then 1-2-5 within decades if too few. */
export function logTicks(lo, hi, maxCount) {
  if (!(hi > lo) || !(lo > 0)) return { values: [], labels: [] };
  const e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  const fmt = (v) => {
    const a = Math.abs(v);
    if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(3)));
    const e = Math.floor(Math.log10(a) + 1e-9);
    return `${Math.round(v / 10 ** e)}e${e}`;
  };
  for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const values = [];
    for (let e = e0; e <= e1; e++) {
      for (const m of mantissas) {
        const v = m * 10 ** e;
        if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) values.push(v);
      }
    }
    let every = 1;
    while (values.length / every > maxCount) every++;
    const kept = values.filter((_, i) => i % every === 0);
    if (kept.length >= 3 || mantissas.length === 9) {
      if (kept.length >= 2) return { values: kept, labels: kept.map(fmt) };
      break;
    }
  }
  const t = linearTicks(lo, hi, (n) => n <= maxCount, { exponent: wantsExponent(lo, hi) });
  return { values: t.values, labels: t.labels };
}

// ---------------------------------------------------------------------------------------------
// Time axes: seconds since the view's reference (TT) ↔ IJD/MJD days, UTC (Unix ms) or seconds.

const SEC = 1000, MIN = 60 * SEC, HOUR = 60 * MIN, DAY = 24 * HOUR;

/** Leap seconds between the reference and `sec` (the kernel's table from astropy/erfa). */
export function leapsAt(sec, spec) {
  const leaps = spec.leaps || [];
  let n = spec.leap_base || 0;
  for (const [s, total] of leaps) {
    if (sec >= s) n = total; else break;
  }
  return n;
}

/** Seconds since the reference → Unix milliseconds (UTC, without leap seconds, as JS dates count). */
export function secToUnixMs(sec, spec) {
  return spec.ref_unix_ms + 1000 * (sec - leapsAt(sec, spec));
}

/**
 * Unix milliseconds → seconds since the reference. During a leap second two instants share a Unix
 * time (23:59:60 and the 00:00:00 after it): the later one is returned, so a tick at midnight is
 * midnight.
 */
export function unixMsToSec(ms, spec) {
  const naive = (ms - spec.ref_unix_ms) / 1000;
  let best = null;
  for (const n of [spec.leap_base || 0, ...(spec.leaps || []).map((l) => l[1])]) {
    const sec = naive + n;
    if (leapsAt(sec, spec) === n && (best === null || sec > best)) best = sec;
  }
  return best === null ? naive : best;
}

const pad2 = (n) => String(n).padStart(2, "0");

/** "YYYY-MM-DD" of a Unix ms instant. */
export function isoDate(ms) {
  const d = new Date(Math.floor(ms));
  return `${String(d.getUTCFullYear()).padStart(4, "0")}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/** "HH:MM:SS" (+ `decimals` of the second) of a Unix ms instant; sub-ms digits from the fraction. */
export function isoTime(ms, decimals = 0) {
  const whole = Math.floor(ms);
  const d = new Date(whole);
  let text = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  if (decimals > 0) {
    const frac = ((d.getUTCMilliseconds() + (ms - whole)) / 1000).toFixed(decimals);
    // toFixed rounds: 0.99995 → "1.0000" would not happen for tick values (multiples of the step)
    text += frac.slice(1);
  }
  return text;
}

// candidate UTC tick steps: fixed lengths in ms, then calendar days/months/years
const UTC_FIXED = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500,
  SEC, 2 * SEC, 5 * SEC, 10 * SEC, 15 * SEC, 30 * SEC, MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR];
const UTC_CALENDAR = [
  { days: 1 }, { days: 2 }, { days: 5 }, { days: 10 },
  { months: 1 }, { months: 2 }, { months: 3 }, { months: 6 },
  { years: 1 }, { years: 2 }, { years: 5 }, { years: 10 }, { years: 20 }, { years: 50 }, { years: 100 },
];

function calendarTicks(lo, hi, c) {
  const out = [];
  const start = new Date(Math.floor(lo));
  let y = start.getUTCFullYear(), m = start.getUTCMonth();
  if (c.years) y -= ((y % c.years) + c.years) % c.years;
  if (c.months) m -= m % c.months;
  for (let guard = 0; guard < 5000 && out.length < 400; guard++) {
    if (c.days) {
      // days of the month 1, 1 + k, 1 + 2k, ... (d3's timeDay.every): aligned on month starts
      const inMonth = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      for (let d = 1; d <= inMonth; d += c.days) {
        const ms = Date.UTC(y, m, d);
        if (ms > hi) return out;
        if (ms >= lo) out.push(ms);
      }
      m += 1;
    } else {
      const ms = Date.UTC(y, m, 1);
      if (ms > hi) return out;
      if (ms >= lo) out.push(ms);
      if (c.months) m += c.months; else y += c.years;
    }
  }
  return out;
}

/** Label of a UTC tick for a step: {label, kind} where kind says which date context it needs. */
function utcLabel(ms, step) {
  if (step.fixed !== undefined) {
    const s = step.fixed;
    if (s < SEC) return isoTime(ms, Math.min(4, decimalsFor(s / 1000)));
    if (s < MIN) return isoTime(ms, 0);
    return isoTime(ms, 0).slice(0, 5);
  }
  if (step.days) return isoDate(ms);
  if (step.months) return isoDate(ms).slice(0, 7);
  return isoDate(ms).slice(0, 4);
}

/**
 * UTC ticks over [lo, hi] (Unix ms): the finest round step (ms … years) whose labels fit
 * (`fits(count, labels)`). Each tick is {ms, label, sub}: times of day carry the date in `sub` on the
 * first tick and wherever the date changes, so every label can be read as a full instant.
 */
export function utcTicks(lo, hi, fits) {
  if (!(hi > lo)) return { step: null, ticks: [] };
  const steps = [...UTC_FIXED.map((f) => ({ fixed: f })), ...UTC_CALENDAR];
  for (const step of steps) {
    if (step.fixed !== undefined && (hi - lo) / step.fixed > 40) continue;
    if (step.days && (hi - lo) / (step.days * DAY) > 40) continue;
    if (step.months && (hi - lo) / (step.months * 30 * DAY) > 40) continue;
    if (step.years && (hi - lo) / (step.years * 365 * DAY) > 40) continue;
    const values = step.fixed !== undefined ? multiples(lo, hi, step.fixed) : calendarTicks(lo, hi, step);
    const labels = values.map((ms) => utcLabel(ms, step));
    if (!fits(values.length, labels)) continue;
    let lastDate = null;
    const ticks = values.map((ms, i) => {
      let sub = "";
      if (step.fixed !== undefined) {
        const date = isoDate(ms);
        if (date !== lastDate) sub = date;
        lastDate = date;
      }
      return { ms, label: labels[i], sub };
    });
    return { step, ticks };
  }
  return { step: null, ticks: [] };
}

/**
 * The time axis of a spec from the kernel ({format: IJD|MJD|UTC|seconds, ref_days, ref_unix_ms,
 * leaps, leap_base}): ticks for a range of seconds since the reference, each {sec, label, sub}.
 * `fits(count, labels)` says whether labels fit the axis.
 */
export function timeTicks(a, b, spec, fits) {
  if (!(b > a)) return [];
  if (spec.format === "UTC") {
    const lo = secToUnixMs(a, spec), hi = secToUnixMs(b, spec);
    return utcTicks(lo, hi, fits).ticks.map((t) => ({ sec: unixMsToSec(t.ms, spec), label: t.label, sub: t.sub }));
  }
  if (spec.format === "IJD" || spec.format === "MJD") {
    const d0 = spec.ref_days;
    const lo = d0 + a / 86400, hi = d0 + b / 86400;
    const t = linearTicks(lo, hi, fits);
    return t.values.map((v, i) => ({ sec: (v - d0) * 86400, label: t.labels[i], sub: "" }));
  }
  const t = linearTicks(a, b, fits);
  return t.values.map((v, i) => ({ sec: v, label: t.labels[i], sub: "" }));
}

/** Whether `count` labels of these texts fit in `width` pixels (about 6.6 px a character, 18 px apart). */
export function labelsFit(width, charWidth = 6.6, gap = 18) {
  return (count, labels) => {
    const longest = labels.reduce((m, s) => Math.max(m, s.length), 0);
    return count * (longest * charWidth + gap) <= width;
  };
}

// ---------------------------------------------------------------------------------------------
// View arithmetic (ranges of seconds since the reference)

export const MIN_SPAN = 1e-4; // seconds: below 0.1 ms float64 seconds over decades stop being exact
export const KEY_ZOOM = 1.25;

/** [a, b] zoomed by `factor` (< 1: in) about `centre` (seconds), no narrower than MIN_SPAN. */
export function zoomRange([a, b], factor, centre = (a + b) / 2) {
  let span = (b - a) * factor;
  if (span < MIN_SPAN) span = MIN_SPAN;
  const f = span / (b - a);
  const lo = centre - (centre - a) * f;
  return [lo, lo + span];
}

/** The zoom factor of a wheel event (bqplot's rate: a 100-unit notch is ×0.905). */
export function wheelFactor(deltaY, deltaMode = 0) {
  const unit = deltaMode === 1 ? 40 : deltaMode === 2 ? 800 : 1;
  return Math.exp(deltaY * unit * 0.001);
}

/** The range after a key: arrows pan a tenth (Shift: a hundredth), + − zoom about the centre, 0 resets. */
export function keyRange(key, range, full, shift = false) {
  const [a, b] = range;
  const step = (b - a) * (shift ? 0.01 : 0.1);
  switch (key) {
    case "ArrowLeft": return [a - step, b - step];
    case "ArrowRight": return [a + step, b + step];
    case "+": case "=": return zoomRange(range, 1 / KEY_ZOOM);
    case "-": case "_": case "\u2212": return zoomRange(range, KEY_ZOOM);
    case "0": case "Home": return [full[0], full[1]];
    default: return null;
  }
}

// ---------------------------------------------------------------------------------------------
// y extent and scales

/**
 * Lowest and highest y a view shows: each curve's points inside [a, b], its error envelope
 * (per column) or error bars there. NaN, and values ≤ 0 on a log axis, are ignored.
 */
export function yExtent(curves, a, b, log = false) {
  let lo = Infinity, hi = -Infinity;
  const take = (v) => {
    if (!(v === v) || (log && !(v > 0))) return;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  for (const c of curves) {
    const { x, y, origin } = c;
    if (!x) continue;
    const n = x.length;
    for (let i = 0; i < n; i++) {
      const s = origin + x[i];
      if (s < a || s > b) continue;
      if (c.err) { take(y[i] - c.err[i]); take(y[i] + c.err[i]); if (log) take(y[i]); } else take(y[i]);
    }
    if (c.lo && c.columns) {
      const [ra, rb] = c.range;
      const w = (rb - ra) / c.columns;
      const k0 = Math.max(0, Math.floor((a - ra) / w)), k1 = Math.min(c.columns - 1, Math.floor((b - ra) / w));
      for (let k = k0; k <= k1; k++) { take(c.lo[k]); take(c.hi[k]); }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** The y range drawn for an extent: padded by 5 % (in log space on a log axis); never empty. */
export function paddedRange(ext, log = false) {
  if (!ext) return log ? [1, 10] : [0, 1];
  let [lo, hi] = ext;
  if (log) {
    let l = Math.log10(lo), h = Math.log10(hi);
    if (h - l < 1e-9) { l -= 0.5; h += 0.5; }
    const p = (h - l) * 0.05;
    return [10 ** (l - p), 10 ** (h + p)];
  }
  if (hi - lo <= Math.abs(hi) * 1e-12) { const d = Math.abs(hi) * 0.05 || 1; lo -= d; hi += d; }
  const p = (hi - lo) * 0.05;
  return [lo - p, hi + p];
}

/** y → pixel row for a plot box {top, height}, linear or log, optionally inverted (magnitudes). */
export function yMapper([lo, hi], box, { log = false, inverted = false } = {}) {
  const f = log ? Math.log10 : (v) => v;
  const l = f(lo), h = f(hi);
  const k = box.height / (h - l || 1);
  return inverted
    ? (v) => box.top + (f(v) - l) * k
    : (v) => box.top + box.height - (f(v) - l) * k;
}

// ---------------------------------------------------------------------------------------------
// Markers (astrowidgets/ipyaladin names), traced into a 2-D context path at (x, y), size r.
export const MARKERS = ["circle", "square", "cross", "plus", "x", "diamond", "triangle"];

export function traceMarker(ctx, marker, x, y, r) {
  switch (marker) {
    case "square": ctx.moveTo(x - r, y - r); ctx.rect(x - r, y - r, 2 * r, 2 * r); break;
    case "diamond": ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath(); break;
    case "triangle": ctx.moveTo(x, y - r); ctx.lineTo(x + r, y + r); ctx.lineTo(x - r, y + r); ctx.closePath(); break;
    case "plus": case "cross": ctx.moveTo(x - r, y); ctx.lineTo(x + r, y); ctx.moveTo(x, y - r); ctx.lineTo(x, y + r); break;
    case "x": ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x - r, y + r); ctx.lineTo(x + r, y - r); break;
    default: ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
}

const DASHES = { solid: [], dashed: [6, 4], dotted: [2, 3], dash_dotted: [6, 3, 2, 3] };

// ---------------------------------------------------------------------------------------------
// The kernel's data for one range, decoded once: typed arrays per curve.

/** `data` trait → {seq, range, origin, columns, curves: [{name, mode, x, y, lo, hi, err, xerr, ...}]}. */
export function decodeData(data) {
  if (!data || !data.curves) return null;
  const range = data.range || [0, 1];
  const origin = data.origin || 0;
  const columns = data.columns || 0;
  const curves = data.curves.map((c) => {
    const out = { name: c.name, mode: c.mode, origin, range, columns, x: decodeArray(c.x), y: decodeArray(c.y) };
    if (c.mode === "envelope") { out.lo = decodeArray(c.lo); out.hi = decodeArray(c.hi); }
    if (c.mode === "bars") { out.err = decodeArray(c.err); out.xerr = decodeArray(c.xerr); }
    return out;
  });
  return { seq: data.seq || 0, range, origin, columns, curves };
}

// ---------------------------------------------------------------------------------------------
// The widget

function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "testid") n.dataset.testid = v; else if (k === "style") n.style.cssText = v; else n[k] = v;
  }
  n.append(...children);
  return n;
}

const TOOLS = { pan: "Pan", zoom: "Box zoom", select: "Select interval" };
const MARGIN = { right: 16, top: 10, bottom: 50 };
const FONT = "11px sans-serif";

function render({ model, el: host }) {
  const root = el("div", { className: "oda-lc-plot", testid: "lc-plot" });
  const bar = el("div", { className: "oda-lc-bar" });
  const toolButtons = {};
  for (const [tool, label] of Object.entries(TOOLS)) {
    const b = el("button", { textContent: label, className: "oda-lc-btn", testid: `lc-tool-${tool}`, type: "button" });
    b.addEventListener("click", () => { model.set("tool", tool); model.save_changes(); });
    toolButtons[tool] = b;
    bar.append(b);
  }
  const resetBtn = el("button", { textContent: "Reset zoom", className: "oda-lc-btn", testid: "lc-reset", type: "button" });
  const pngBtn = el("button", { textContent: "PNG", className: "oda-lc-btn", testid: "lc-png", type: "button", title: "download the plot as PNG" });
  const logBox = el("input", { type: "checkbox", testid: "lc-log" });
  const logLabel = el("label", { className: "oda-lc-check", title: "logarithmic rate axis" }, logBox, " log y");
  bar.append(resetBtn, pngBtn, logLabel);
  const stage = el("div", { className: "oda-lc-stage" });
  const canvas = el("canvas", {
    className: "oda-lc-canvas", testid: "lc-canvas", tabIndex: 0,
    title: "drag: pan (Shift: select an interval, Alt: box zoom), wheel: zoom; keys: ← → pan, + − zoom, 0 reset, Esc clears the selection",
  });
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "light curve; left and right arrows pan, plus and minus zoom, 0 resets");
  stage.append(canvas);
  root.append(bar, stage);
  host.append(root);

  const st = {
    view: null, data: null, dataNew: false, W: 0, H: 0, dpr: 1, box: null, yRange: [0, 1],
    paints: 0, dataPaints: 0, drag: null, legend: [], frame: 0,
  };

  // -- model state -------------------------------------------------------------------------------
  const full = () => { const f = model.get("full_range") || []; return f.length === 2 ? f : [0, 1]; };
  const spec = () => model.get("time_axis") || { format: "seconds" };
  const hidden = () => new Set(model.get("hidden") || []);
  const series = () => model.get("series") || [];
  const colourOf = (name) => (series().find((s) => s.name === name) || {}).colour || "#1f77b4";

  // the page adopts the model's x_range only when it changed (set by Python: zoom_to, reset…);
  // its own requests leave the view as the user left it
  function adoptRange() {
    const r = model.get("x_range") || [];
    const key = JSON.stringify(r);
    if (key === st.modelRange && st.view) return false;
    st.modelRange = key;
    const next = r.length === 2 && r[1] > r[0] ? [r[0], r[1]] : full();
    const changed = !st.view || next[0] !== st.view[0] || next[1] !== st.view[1];
    st.view = next;
    return changed;
  }
  function adoptData() {
    st.data = decodeData(model.get("data"));
    st.dataNew = true;
  }

  // -- size ----------------------------------------------------------------------------------------
  function size() {
    const W = Math.max(320, Math.floor(stage.clientWidth || host.clientWidth || 800));
    const H = Math.max(160, model.get("height") || 420);
    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    if (W === st.W && H === st.H && dpr === st.dpr) return false;
    st.W = W; st.H = H; st.dpr = dpr;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = `${W}px`; canvas.style.height = `${H}px`;
    stage.style.height = `${H}px`;
    return true;
  }

  // the page's text colour (Lab themes): read once, a style read forces a layout
  let inkColour = null;
  const ink = () => inkColour || (inkColour = getComputedStyle(root).color || "#222");

  // -- drawing -------------------------------------------------------------------------------------
  /**
   * Draw the whole plot into `ctx` (W×H css px): axes, grid, curves, overlays, selection, legend.
   * Returns what was drawn (ticks, points, legend boxes) for the dataset read by tests.
   */
  function drawAll(ctx, W, H, { theme = null } = {}) {
    const colours = theme || { ink: ink(), grid: "rgba(128,128,128,0.25)", background: null };
    const [a, b] = st.view;
    const log = !!model.get("y_log");
    const inverted = !!model.get("y_inverted");
    const shownCurves = st.data ? st.data.curves.filter((c) => !hidden().has(c.name)) : [];
    const limits = model.get("y_limits") || [];
    const yr = limits.length === 2 && limits[1] > limits[0] ? limits : paddedRange(yExtent(shownCurves, a, b, log), log);
    st.yRange = yr;
    ctx.font = FONT;
    // y ticks first: their widest label sets the left margin
    const plotH = H - MARGIN.top - MARGIN.bottom;
    const yt = log
      ? logTicks(yr[0], yr[1], Math.max(2, Math.floor(plotH / 28)))
      : linearTicks(yr[0], yr[1], (n) => n <= Math.max(2, Math.floor(plotH / 28)), { exponent: wantsExponent(yr[0], yr[1]) });
    const labelW = yt.labels.reduce((m, s) => Math.max(m, ctx.measureText(s).width), 0);
    const left = Math.ceil(Math.max(48, labelW + 30));
    const box = { left, top: MARGIN.top, width: Math.max(10, W - left - MARGIN.right), height: Math.max(10, plotH) };
    st.box = box;
    const kx = box.width / (b - a);
    const X = (s) => box.left + (s - a) * kx;
    const Y = yMapper(yr, box, { log, inverted });
    if (colours.background) { ctx.fillStyle = colours.background; ctx.fillRect(0, 0, W, H); }
    // x ticks
    const xt = timeTicks(a, b, spec(), labelsFit(box.width));
    // grid
    ctx.strokeStyle = colours.grid;
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    for (const t of xt) { const px = Math.round(X(t.sec)) + 0.5; ctx.moveTo(px, box.top); ctx.lineTo(px, box.top + box.height); }
    for (const v of yt.values) { const py = Math.round(Y(v)) + 0.5; ctx.moveTo(box.left, py); ctx.lineTo(box.left + box.width, py); }
    ctx.stroke();
    ctx.setLineDash([]);

    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    // overlay spans under the curves
    const overlays = model.get("overlays") || [];
    const drawnOverlays = {};
    for (const o of overlays) if (o.kind === "span") drawnOverlays[o.name] = drawSpans(ctx, o, X, box);
    let points = 0;
    for (const c of shownCurves) points += drawCurve(ctx, c, X, Y, colourOf(c.name), box, log);
    for (const o of overlays) if (o.kind !== "span") drawnOverlays[o.name] = drawOverlay(ctx, o, X, Y, box, log);
    // the selected interval, and the rubber band of a drag
    const sel = model.get("selection") || [];
    if (sel.length === 2) shade(ctx, X(sel[0]), X(sel[1]), box, "rgba(255,153,0,0.18)", "#ff9900");
    if (st.drag && (st.drag.kind === "zoom" || st.drag.kind === "select") && st.drag.moved) {
      const [x0, x1] = [st.drag.x0, st.drag.x1];
      shade(ctx, x0, x1, box, st.drag.kind === "select" ? "rgba(255,153,0,0.18)" : "rgba(25,118,210,0.15)",
        st.drag.kind === "select" ? "#ff9900" : "#1976d2");
    }
    ctx.restore();

    // frame, ticks and labels
    ctx.strokeStyle = colours.ink;
    ctx.fillStyle = colours.ink;
    ctx.lineWidth = 1;
    ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.width - 1, box.height - 1);
    ctx.beginPath();
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const xticks = [];
    for (const t of xt) {
      const px = X(t.sec);
      ctx.moveTo(Math.round(px) + 0.5, box.top + box.height); ctx.lineTo(Math.round(px) + 0.5, box.top + box.height + 5);
      ctx.fillText(t.label, px, box.top + box.height + 7);
      if (t.sub) ctx.fillText(t.sub, px, box.top + box.height + 20);
      xticks.push([t.sec, t.label, t.sub, Math.round(px * 10) / 10]);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const yticks = [];
    for (let i = 0; i < yt.values.length; i++) {
      const py = Y(yt.values[i]);
      ctx.moveTo(box.left - 5, Math.round(py) + 0.5); ctx.lineTo(box.left, Math.round(py) + 0.5);
      ctx.fillText(yt.labels[i], box.left - 7, py);
      yticks.push([yt.values[i], yt.labels[i], Math.round(py * 10) / 10]);
    }
    ctx.stroke();
    // axis names
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.font = "12px sans-serif";
    ctx.fillText(model.get("x_label") || "", box.left + box.width / 2, H - 2);
    ctx.save();
    ctx.translate(12, box.top + box.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(model.get("y_label") || "", 0, 0);
    ctx.restore();
    const legend = drawLegend(ctx, box, colours);
    return { xticks, yticks, points, legend, overlays: drawnOverlays };
  }

  function shade(ctx, x0, x1, box, fill, edge) {
    const l = Math.min(x0, x1), r = Math.max(x0, x1);
    ctx.fillStyle = fill;
    ctx.fillRect(l, box.top, r - l, box.height);
    ctx.strokeStyle = edge;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(Math.round(l) + 0.5, box.top); ctx.lineTo(Math.round(l) + 0.5, box.top + box.height);
    ctx.moveTo(Math.round(r) + 0.5, box.top); ctx.lineTo(Math.round(r) + 0.5, box.top + box.height);
    ctx.stroke();
  }

  // one curve: error envelope (per pixel column) or error bars, then the line; returns points drawn
  function drawCurve(ctx, c, X, Y, colour, box, log) {
    const { x, y, origin } = c;
    if (!x || !x.length) return 0;
    const n = x.length;
    const [a] = st.view;
    const kx = box.width / (st.view[1] - a);
    // origin − a once in float64, then float32 offsets: exact to far below a pixel
    const shift = origin - a;
    const px = (i) => box.left + (shift + x[i]) * kx;
    const bottom = box.top + box.height + 10;
    const yy = (v) => (log && !(v > 0) ? bottom : Y(v));
    if (c.mode === "envelope" && c.lo) {
      const [ra, rb] = c.range;
      const w = (rb - ra) / c.columns;
      ctx.fillStyle = colour;
      ctx.globalAlpha = 0.25;
      ctx.beginPath();
      for (let k = 0; k < c.columns; k++) {
        const lo = c.lo[k], hi = c.hi[k];
        if (!(lo === lo)) continue;
        const x0 = X(ra + k * w), x1 = X(ra + (k + 1) * w);
        if (x1 < box.left - 1 || x0 > box.left + box.width + 1) continue;
        const y0 = yy(hi), y1 = yy(lo);
        // at least a pixel wide and tall, so a narrow column still shows
        ctx.rect(x0, Math.min(y0, y1), Math.max(1, x1 - x0), Math.max(1, Math.abs(y1 - y0)));
      }
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    if (c.mode === "bars" && c.err) {
      ctx.strokeStyle = colour;
      ctx.globalAlpha = 0.55;
      ctx.lineWidth = 1;
      ctx.beginPath();
      const xe = c.xerr;
      for (let i = 0; i < n; i++) {
        const cx = px(i), v = y[i], e = c.err[i];
        if (!(v === v)) continue;
        ctx.moveTo(cx, yy(v - e)); ctx.lineTo(cx, yy(v + e));
        const h = xe === null || xe === undefined ? 0 : typeof xe === "number" ? xe : xe[i];
        if (h > 0) { const cy = yy(v); ctx.moveTo(cx - h * kx, cy); ctx.lineTo(cx + h * kx, cy); }
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.2;
    ctx.lineJoin = "round";
    ctx.beginPath();
    let pen = false, drawn = 0;
    for (let i = 0; i < n; i++) {
      const v = y[i];
      if (!(v === v) || (log && !(v > 0))) { pen = false; continue; }
      const cx = px(i), cy = Y(v);
      if (pen) ctx.lineTo(cx, cy); else ctx.moveTo(cx, cy);
      pen = true;
      drawn++;
    }
    ctx.stroke();
    // sparse bins (photometry, long ISGRI bins): a dot per bin
    if (c.mode === "bars" && n <= box.width / 6) {
      ctx.fillStyle = colour;
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const v = y[i];
        if (!(v === v) || (log && !(v > 0))) continue;
        const cx = px(i), cy = Y(v);
        ctx.moveTo(cx + 2.5, cy); ctx.arc(cx, cy, 2.5, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    return drawn;
  }

  function overlayArrays(o) {
    if (!o._decoded) {
      // decoded once per overlay object (the list is replaced when an overlay changes)
      Object.defineProperty(o, "_decoded", {
        value: { x: decodeArray(o.x), y: decodeArray(o.y), x2: decodeArray(o.x2) }, enumerable: false,
      });
    }
    return o._decoded;
  }

  function drawSpans(ctx, o, X, box) {
    const { x, x2 } = overlayArrays(o);
    if (!x || !x2) return 0;
    ctx.fillStyle = o.colour || "#ff7f0e";
    ctx.globalAlpha = o.opacity === undefined ? 0.2 : o.opacity;
    let n = 0;
    for (let i = 0; i < x.length; i++) {
      const l = X(x[i]), r = X(x2[i]);
      if (r < box.left || l > box.left + box.width) continue;
      ctx.fillRect(l, box.top, Math.max(1, r - l), box.height);
      n++;
    }
    ctx.globalAlpha = 1;
    return n;
  }

  function drawOverlay(ctx, o, X, Y, box, log) {
    const { x, y } = overlayArrays(o);
    if (!x || !y) return 0;
    ctx.strokeStyle = o.colour || "black";
    ctx.fillStyle = o.colour || "black";
    ctx.globalAlpha = o.opacity === undefined ? 1 : o.opacity;
    ctx.lineWidth = o.width || 1.5;
    ctx.setLineDash(DASHES[o.line_style] || []);
    let n = 0;
    ctx.beginPath();
    if (o.kind === "markers") {
      const r = o.size || 4;
      for (let i = 0; i < x.length; i++) {
        if (!(y[i] === y[i]) || (log && !(y[i] > 0))) continue;
        const cx = X(x[i]), cy = Y(y[i]);
        if (cx < box.left - r || cx > box.left + box.width + r) continue;
        traceMarker(ctx, o.marker || "circle", cx, cy, r);
        n++;
      }
      ctx.setLineDash([]);
      if (["circle", "square", "diamond", "triangle"].includes(o.marker || "circle")) ctx.fill(); else ctx.stroke();
    } else {
      let pen = false;
      for (let i = 0; i < x.length; i++) {
        if (!(y[i] === y[i]) || (log && !(y[i] > 0))) { pen = false; continue; }
        const cx = X(x[i]), cy = Y(y[i]);
        if (pen) ctx.lineTo(cx, cy); else ctx.moveTo(cx, cy);
        pen = true;
        n++;
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    return n;
  }

  function drawLegend(ctx, box, colours) {
    const items = series();
    st.legend = [];
    if (!items.length || !model.get("legend")) return [];
    ctx.font = "12px sans-serif";
    const h = hidden();
    const width = Math.min(box.width * 0.6, 36 + items.reduce((m, s) => Math.max(m, ctx.measureText(s.name).width), 0));
    const right = box.left + box.width - 8;
    let y = box.top + 8;
    const out = [];
    ctx.fillStyle = colours.background ? "rgba(255,255,255,0.85)" : "rgba(255,255,255,0.7)";
    ctx.fillRect(right - width - 4, y - 4, width + 8, items.length * 18 + 6);
    for (const s of items) {
      const off = h.has(s.name);
      ctx.globalAlpha = off ? 0.35 : 1;
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(right - width, y + 7); ctx.lineTo(right - width + 22, y + 7);
      ctx.stroke();
      ctx.fillStyle = "#222";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText(s.name, right - width + 28, y + 7, width - 28);
      ctx.globalAlpha = 1;
      st.legend.push({ name: s.name, x0: right - width - 4, x1: right + 4, y0: y - 2, y1: y + 16 });
      out.push([s.name, !off]);
      y += 18;
    }
    ctx.font = FONT;
    return out;
  }

  function paint() {
    // a paint now makes a frame already asked for redundant
    if (st.frame) cancelAnimationFrame(st.frame);
    st.frame = 0;
    if (!st.view) return;
    const t0 = performance.now();
    const ctx = canvas.getContext("2d");
    ctx.setTransform(st.dpr, 0, 0, st.dpr, 0, 0);
    ctx.clearRect(0, 0, st.W, st.H);
    const out = drawAll(ctx, st.W, st.H);
    st.paints += 1;
    const withData = st.dataNew;
    if (withData) { st.dataPaints += 1; st.dataNew = false; }
    const d = root.dataset;
    d.view = JSON.stringify(st.view);
    d.xticks = JSON.stringify(out.xticks);
    d.yticks = JSON.stringify(out.yticks);
    d.yRange = JSON.stringify(st.yRange);
    d.points = String(out.points);
    d.legend = JSON.stringify(out.legend);
    d.overlays = JSON.stringify(out.overlays);
    d.selection = JSON.stringify(model.get("selection") || []);
    d.box = JSON.stringify(st.box);
    d.seq = String(st.data ? st.data.seq : -1);
    d.drawMs = (performance.now() - t0).toFixed(2);
    d.dataPaints = String(st.dataPaints);
    // last: the attribute a benchmark or test waits on (a mutation, then the frame is painted)
    d.paints = String(st.paints);
  }
  function schedule() {
    if (st.frame) return;
    st.frame = requestAnimationFrame(paint);
  }

  // -- asking the kernel -----------------------------------------------------------------------
  let timer = null;
  function ask() {
    clearTimeout(timer);
    timer = null;
    const [a, b] = st.view;
    const r = model.get("x_range") || [];
    if (r.length === 2 && r[0] === a && r[1] === b) return;
    model.set("x_range", [a, b]);
    st.modelRange = JSON.stringify([a, b]);
    model.save_changes();
  }
  function askLater() {
    clearTimeout(timer);
    timer = setTimeout(ask, Math.max(0, model.get("debounce_ms") ?? 100));
  }
  function setView(range, when) {
    const [fa, fb] = full();
    let [a, b] = range;
    // never wider than a few times the whole curve, never narrower than MIN_SPAN
    const maxSpan = 4 * (fb - fa);
    if (b - a > maxSpan) { const c = (a + b) / 2; a = c - maxSpan / 2; b = c + maxSpan / 2; }
    if (b - a < MIN_SPAN) { const c = (a + b) / 2; a = c - MIN_SPAN / 2; b = c + MIN_SPAN / 2; }
    st.view = [a, b];
    schedule();
    if (when === "now") ask(); else if (when === "later") askLater();
  }

  // -- interaction ---------------------------------------------------------------------------------
  const local = (ev) => { const r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  const secAt = (px) => st.view[0] + ((px - st.box.left) / st.box.width) * (st.view[1] - st.view[0]);
  const inBox = (x, y) => st.box && x >= st.box.left && x <= st.box.left + st.box.width && y >= st.box.top && y <= st.box.top + st.box.height;

  canvas.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    canvas.focus({ preventScroll: true });
    const [x, y] = local(ev);
    const item = st.legend.find((it) => x >= it.x0 && x <= it.x1 && y >= it.y0 && y <= it.y1);
    if (item) { st.drag = { kind: "legend", item, sx: x, moved: false }; return; }
    if (!inBox(x, y)) return;
    const tool = model.get("tool");
    const kind = ev.shiftKey ? "select" : ev.altKey ? "zoom" : tool;
    st.drag = { kind, sx: x, x0: x, x1: x, view: st.view.slice(), moved: false };
    if (canvas.setPointerCapture) canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener("pointermove", (ev) => {
    const d = st.drag;
    if (!d) return;
    const [x] = local(ev);
    if (Math.abs(x - d.sx) > 3) d.moved = true;
    if (!d.moved || d.kind === "legend") return;
    if (d.kind === "pan") {
      const shift = ((x - d.sx) / st.box.width) * (d.view[1] - d.view[0]);
      setView([d.view[0] - shift, d.view[1] - shift], null);
    } else {
      d.x1 = Math.max(st.box.left, Math.min(st.box.left + st.box.width, x));
      schedule();
    }
  });
  function endDrag() {
    const d = st.drag;
    st.drag = null;
    if (!d) return;
    if (d.kind === "legend") {
      if (!d.moved) {
        const h = hidden();
        if (h.has(d.item.name)) h.delete(d.item.name); else h.add(d.item.name);
        model.set("hidden", [...h]);
        model.save_changes();
      }
      return;
    }
    if (!d.moved) {
      // a click in select mode clears the selection
      if (d.kind === "select" && (model.get("selection") || []).length) { model.set("selection", []); model.save_changes(); }
      schedule();
      return;
    }
    if (d.kind === "pan") { ask(); return; }
    const s0 = secAt(Math.min(d.x0, d.x1)), s1 = secAt(Math.max(d.x0, d.x1));
    if (d.kind === "select") {
      model.set("selection", [s0, s1]);
      model.save_changes();
      schedule();
    } else if (Math.abs(d.x1 - d.x0) > 4) {
      setView([s0, s1], "now");
    } else schedule();
  }
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);
  canvas.addEventListener("wheel", (ev) => {
    const [x, y] = local(ev);
    if (!inBox(x, y)) return;
    ev.preventDefault();
    setView(zoomRange(st.view, wheelFactor(ev.deltaY, ev.deltaMode), secAt(x)), "later");
  }, { passive: false });
  canvas.addEventListener("dblclick", () => setView(full(), "now"));
  canvas.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "Escape") {
      ev.preventDefault(); ev.stopPropagation();
      if ((model.get("selection") || []).length) { model.set("selection", []); model.save_changes(); }
      return;
    }
    const next = keyRange(ev.key, st.view, full(), ev.shiftKey);
    if (!next) return;
    ev.preventDefault();
    ev.stopPropagation(); // Lab's notebook shortcuts must not see these keys
    setView(next, "later");
  });
  resetBtn.addEventListener("click", () => setView(full(), "now"));
  logBox.addEventListener("change", () => { model.set("y_log", logBox.checked); model.save_changes(); });

  // -- PNG ----------------------------------------------------------------------------------------
  function exportPng(scale = 1) {
    const out = document.createElement("canvas");
    out.width = Math.round(st.W * scale); out.height = Math.round(st.H * scale);
    const ctx = out.getContext("2d");
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    // a PNG is read outside the page: dark ink on white whatever the Lab theme
    drawAll(ctx, st.W, st.H, { theme: { ink: "#222", grid: "rgba(0,0,0,0.15)", background: "#fff" } });
    return out.toDataURL("image/png");
  }
  pngBtn.addEventListener("click", () => {
    const a = el("a", { href: exportPng(1), download: "light-curve.png" });
    a.click();
  });

  // -- model events --------------------------------------------------------------------------------
  const onTool = () => {
    const tool = model.get("tool");
    for (const [name, b] of Object.entries(toolButtons)) b.classList.toggle("oda-active", name === tool);
    canvas.dataset.tool = tool;
    root.dataset.tool = tool;
  };
  const onToolbar = () => { bar.style.display = model.get("toolbar") ? "" : "none"; };
  const onLog = () => { logBox.checked = !!model.get("y_log"); schedule(); };
  // Python may set x_range and data in one message: whichever change event comes first draws the
  // new points at the new range, once
  const onData = () => { adoptRange(); adoptData(); paint(); };
  const onRange = () => { if (adoptRange()) schedule(); };
  const onFull = () => { if (!(model.get("x_range") || []).length && adoptRange()) schedule(); };
  const onMsg = (msg) => {
    if (msg && msg.type === "export_png") model.send({ type: "png", request: msg.request, data: exportPng(msg.scale || 1) });
  };
  const handlers = [
    ["change:data", onData],
    ["change:x_range", onRange],
    ["change:full_range", onFull],
    ["change:tool", onTool],
    ["change:toolbar", onToolbar],
    ["change:y_log", onLog],
    ["change:series change:hidden change:overlays change:selection change:time_axis change:x_label change:y_label change:y_inverted change:y_limits change:legend", schedule],
    ["change:height", () => { if (size()) paint(); }],
    ["msg:custom", onMsg],
  ];
  for (const [ev, fn] of handlers) model.on(ev, fn);
  const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => { if (size()) paint(); }) : null;
  if (ro) ro.observe(stage);

  size();
  adoptRange();
  adoptData();
  onTool();
  onToolbar();
  onLog();
  paint();
  return () => {
    for (const [ev, fn] of handlers) model.off(ev, fn);
    if (ro) ro.disconnect();
    clearTimeout(timer);
    if (st.frame) cancelAnimationFrame(st.frame);
  };
}

export default { render };
