// Pure helpers of js/lightcurve.js: ticks (days, UTC dates, seconds, log), leap seconds, view
// arithmetic, y extents and scales, decoding the kernel's buffers.
// Cross-checks of UTC labels against astropy live in tests/light_curve/test_plot.py.
import test from "node:test";
import assert from "node:assert/strict";
import {
  decodeArray, decodeData, niceSteps, decimalsFor, multiples, formatNumber, linearTicks, wantsExponent, logTicks,
  leapsAt, secToUnixMs, unixMsToSec, isoDate, isoTime, utcTicks, timeTicks, labelsFit,
  zoomRange, wheelFactor, keyRange, MIN_SPAN, KEY_ZOOM, yExtent, paddedRange, yMapper,
} from "../lightcurve.js";

const close = (a, b, tol, msg) => assert.ok(Math.abs(a - b) <= tol, `${msg ?? ""} ${a} vs ${b}`);
const f32 = (arr) => ({ value: new DataView(new Float32Array(arr).buffer), dtype: "float32", shape: [arr.length] });

test("decodeArray reads float32/float64 buffers, also at an unaligned offset, and passes numbers through", () => {
  assert.deepEqual([...decodeArray(f32([1, 2.5]))], [1, 2.5]);
  const f64 = new Float64Array([1e300, -2]);
  assert.deepEqual([...decodeArray({ value: new DataView(f64.buffer), dtype: "float64", shape: [2] })], [1e300, -2]);
  const raw = new Uint8Array(9);
  new DataView(raw.buffer).setFloat32(1, 3.5, true);
  assert.deepEqual([...decodeArray({ value: new DataView(raw.buffer, 1, 4), dtype: "float32", shape: [1] })], [3.5]);
  assert.equal(decodeArray(0.025), 0.025);
  assert.equal(decodeArray(null), null);
  assert.throws(() => decodeArray({ value: new DataView(new ArrayBuffer(2)), dtype: "int8" }), /unsupported dtype/);
});

test("decodeData keeps the origin, range and columns with every curve", () => {
  const d = decodeData({
    seq: 3, range: [10, 20], origin: 10, columns: 2,
    curves: [{ name: "a", mode: "envelope", x: f32([0, 5]), y: f32([1, 2]), lo: f32([0.5, NaN]), hi: f32([1.5, NaN]) },
      { name: "b", mode: "bars", x: f32([1]), y: f32([4]), err: f32([0.5]), xerr: 0.25 }],
  });
  assert.equal(d.seq, 3);
  assert.equal(d.curves[0].origin, 10);
  assert.deepEqual(d.curves[0].range, [10, 20]);
  assert.ok(Number.isNaN(d.curves[0].lo[1]));
  assert.equal(d.curves[1].xerr, 0.25);
  assert.equal(decodeData({}), null);
});

test("1-2-5 steps, decimals and multiples without accumulated error", () => {
  const steps = [];
  for (const s of niceSteps(0.013)) { steps.push(s); if (steps.length === 5) break; }
  assert.deepEqual(steps.map((s) => Number(s.toPrecision(3))), [0.02, 0.05, 0.1, 0.2, 0.5]);
  assert.equal(decimalsFor(0.05), 2);
  assert.equal(decimalsFor(1), 0);
  assert.equal(decimalsFor(2e-6), 6);
  const m = multiples(8826.12341, 8826.12359, 5e-5);
  assert.deepEqual(m.map((v) => formatNumber(v, 5e-5)), ["8826.12345", "8826.12350", "8826.12355"]);
});

test("linear ticks: the finest step whose labels fit; shared power of ten for large values", () => {
  const t = linearTicks(0, 4.3e6, (n) => n <= 10, { exponent: true });
  assert.equal(t.step, 5e5);
  assert.deepEqual(t.labels.slice(0, 3), ["0", "0.5e6", "1.0e6"]);
  assert.ok(wantsExponent(0, 4.3e6) && !wantsExponent(-3, 200) && wantsExponent(1e-13, 7e-12));
  // labels of an IJD axis zoomed to seconds: every tick distinct, all within the range
  const lo = 8826.5 + 10 / 86400, hi = 8826.5 + 12 / 86400;
  const d = linearTicks(lo, hi, labelsFit(900));
  assert.ok(d.values.length >= 3, d.labels.join());
  assert.equal(new Set(d.labels).size, d.labels.length);
  for (const v of d.values) assert.ok(v >= lo && v <= hi);
  assert.ok(labelsFit(900)(d.values.length, d.labels));
  assert.deepEqual(linearTicks(1, 1, () => true).values, []);
});

test("log ticks: decades when the range spans several, 1-2-5 within one", () => {
  assert.deepEqual(logTicks(0.5, 2e6, 10).labels, ["1", "10", "100", "1000", "10000", "1e5", "1e6"]);
  const inside = logTicks(150, 900, 10);
  assert.deepEqual(inside.values, [200, 300, 400, 500, 600, 700, 800, 900]);
  assert.ok(logTicks(1e-14, 1e-11, 10).labels.includes("1e-12"));
  assert.deepEqual(logTicks(-1, 10, 5).values, []);
});

test("leap seconds: a second less per leap between the reference and the instant, both ways", () => {
  // reference 2015-06-01, a leap at the end of 2015-06-30: 30 days and 1 s of TT later
  const spec = { ref_unix_ms: Date.UTC(2015, 5, 1), leap_base: 0, leaps: [[30 * 86400 + 1, 1]] };
  assert.equal(leapsAt(-5, spec), 0);
  assert.equal(leapsAt(30 * 86400 + 1, spec), 1);
  assert.equal(secToUnixMs(30 * 86400 + 1, spec), Date.UTC(2015, 6, 1));
  assert.equal(isoTime(secToUnixMs(30 * 86400 + 11, spec)), "00:00:10");
  for (const s of [-100, 0, 1e6, 30 * 86400 - 0.5, 30 * 86400 + 5]) close(unixMsToSec(secToUnixMs(s, spec), spec), s, 1e-6);
  // 23:59:60 and the midnight after it share a Unix time: a midnight tick is the midnight
  assert.equal(unixMsToSec(Date.UTC(2015, 6, 1), spec), 30 * 86400 + 1);
  // before the reference, across a leap: negative count
  const later = { ref_unix_ms: Date.UTC(2016, 0, 1), leap_base: -1, leaps: [[-184 * 86400, 0]] };
  assert.equal(secToUnixMs(-185 * 86400, later), Date.UTC(2016, 0, 1) - 1000 * (185 * 86400 - 1));
});

test("ISO dates and times of Unix ms, sub-millisecond digits kept", () => {
  const ms = Date.UTC(2022, 9, 9, 13, 17, 0) + 250.5;
  assert.equal(isoDate(ms), "2022-10-09");
  assert.equal(isoTime(ms), "13:17:00");
  assert.equal(isoTime(ms, 4), "13:17:00.2505");
  assert.equal(isoDate(Date.UTC(2002, 0, 1)), "2002-01-01");
});

test("UTC ticks adapt to the zoom: hours with the date where it changes, seconds, ms, days, months, years", () => {
  const t0 = Date.UTC(2024, 2, 1, 12);
  const fit = labelsFit(900);
  const hours = utcTicks(t0, t0 + 2 * 86400e3, fit);
  assert.ok(hours.step.fixed >= 3600e3 && hours.step.fixed <= 12 * 3600e3);
  assert.equal(hours.ticks[0].sub, "2024-03-01");
  for (const t of hours.ticks) {
    assert.equal(t.ms % hours.step.fixed, 0);
    assert.equal(t.label, isoTime(t.ms).slice(0, 5));
    assert.equal(t.sub !== "", t.label === "00:00" || t === hours.ticks[0]);
  }
  const secs = utcTicks(t0 + 5000, t0 + 35000, fit);
  assert.ok(secs.step.fixed >= 1000 && secs.step.fixed < 60000);
  assert.ok(secs.ticks.every((t) => /^12:00:\d\d$/.test(t.label)));
  const ms = utcTicks(t0 + 5000, t0 + 5500, fit);
  assert.ok(ms.step.fixed < 1000 && ms.ticks.every((t) => /^12:00:05\.\d+$/.test(t.label)));
  const sub = utcTicks(t0 + 5000, t0 + 5000.5, fit);
  assert.ok(sub.step.fixed < 1 && /^12:00:05\.000\d$/.test(sub.ticks[1].label), sub.ticks.map((t) => t.label).join());
  const days = utcTicks(t0, t0 + 20 * 86400e3, fit);
  assert.ok(days.step.days >= 1 && days.ticks.every((t) => /^2024-03-\d\d$/.test(t.label) && t.sub === ""));
  const months = utcTicks(Date.UTC(2018, 2, 10), Date.UTC(2019, 4, 1), fit);
  assert.ok(months.step.months && months.ticks.every((t) => /^201[89]-\d\d$/.test(t.label)));
  assert.ok(months.ticks.every((t) => new Date(t.ms).getUTCDate() === 1 && new Date(t.ms).getUTCHours() === 0));
  const years = utcTicks(Date.UTC(2002, 9, 17), Date.UTC(2024, 0, 1), fit);
  assert.ok(years.step.years && years.ticks.every((t) => /^20\d\d$/.test(t.label)));
  assert.ok(fit(years.ticks.length, years.ticks.map((t) => t.label)));
});

test("time axes: IJD/MJD ticks are round days at the right seconds; seconds ticks are round seconds", () => {
  const spec = { format: "IJD", ref_days: 8826.5 };
  const ticks = timeTicks(-3600, 7200, spec, labelsFit(900));
  assert.ok(ticks.length >= 3);
  for (const t of ticks) close(8826.5 + t.sec / 86400, Number(t.label), 1e-9, t.label);
  const mjd = timeTicks(0, 0.2, { format: "MJD", ref_days: 60188.25 }, labelsFit(900));
  for (const t of mjd) close(60188.25 + t.sec / 86400, Number(t.label), 1e-12, t.label);
  const secs = timeTicks(-43200, 43200, { format: "seconds" }, labelsFit(900));
  assert.ok(secs.some((t) => t.sec === 0 && t.label === "0"));
  const utc = timeTicks(0, 3600, { format: "UTC", ref_unix_ms: Date.UTC(2024, 2, 1, 12, 0, 0), leaps: [], leap_base: 0 }, labelsFit(900));
  assert.equal(utc[0].label, "12:00");
  assert.deepEqual(timeTicks(5, 5, spec, () => true), []);
});

test("zoom keeps the point under the cursor; the wheel's rate is bqplot's; keys pan, zoom, reset", () => {
  const z = zoomRange([0, 100], 0.05, 30);
  close(z[1] - z[0], 5, 1e-12);
  close((30 - z[0]) / (z[1] - z[0]), 0.3, 1e-12);
  const tiny = zoomRange([0, 1e-3], 1e-6);
  close(tiny[1] - tiny[0], MIN_SPAN, 1e-15);
  close(wheelFactor(-2996), 0.05, 1e-4);
  close(wheelFactor(-3, 1), wheelFactor(-120), 1e-12);
  assert.deepEqual(keyRange("ArrowRight", [0, 100], [0, 1000]), [10, 110]);
  assert.deepEqual(keyRange("ArrowLeft", [0, 100], [0, 1000], true), [-1, 99]);
  const plus = keyRange("+", [0, 100], [0, 1000]);
  close(plus[1] - plus[0], 100 / KEY_ZOOM, 1e-9);
  close((plus[0] + plus[1]) / 2, 50, 1e-9);
  const minus = keyRange("-", [0, 100], [0, 1000]);
  close(minus[1] - minus[0], 100 * KEY_ZOOM, 1e-9);
  assert.deepEqual(keyRange("0", [5, 6], [0, 1000]), [0, 1000]);
  assert.equal(keyRange("a", [0, 1], [0, 1]), null);
});

test("y extent: points, envelope columns and error bars inside the view only; log ignores ≤ 0", () => {
  const env = decodeData({
    range: [0, 100], origin: 0, columns: 4,
    curves: [{ name: "a", mode: "envelope", x: f32([0, 30, 60, 99, 150]), y: f32([5, 6, 7, 8, 1000]),
      lo: f32([4, 5, NaN, 7]), hi: f32([6, 9, NaN, 9.5]) }],
  }).curves;
  assert.deepEqual(yExtent(env, 0, 100), [4, 9.5]);
  assert.deepEqual(yExtent(env, 0, 49), [4, 9]); // columns 0 and 1 only; the point at 150 is off view
  const bars = decodeData({
    range: [0, 10], origin: 0, columns: 4,
    curves: [{ name: "b", mode: "bars", x: f32([1, 2]), y: f32([1, 10]), err: f32([2, 1]), xerr: 0.5 }],
  }).curves;
  assert.deepEqual(yExtent(bars, 0, 10), [-1, 11]);
  assert.deepEqual(yExtent(bars, 0, 10, true), [1, 11]);
  assert.equal(yExtent([], 0, 1), null);
});

test("padded ranges and y mapping: linear, log, inverted (magnitudes: brighter up)", () => {
  assert.deepEqual(paddedRange([0, 100]), [-5, 105]);
  const [l, h] = paddedRange([1, 1000], true);
  close(Math.log10(l), -0.15, 1e-12);
  close(Math.log10(h), 3.15, 1e-12);
  const flat = paddedRange([3, 3]);
  assert.ok(flat[0] < 3 && flat[1] > 3);
  const box = { top: 10, height: 100 };
  const lin = yMapper([0, 10], box);
  assert.equal(lin(0), 110);
  assert.equal(lin(10), 10);
  const inv = yMapper([12, 14], box, { inverted: true });
  assert.equal(inv(12), 10); // the brighter (smaller) magnitude at the top
  assert.equal(inv(14), 110);
  const lg = yMapper([1, 100], box, { log: true });
  assert.equal(lg(10), 60);
});
