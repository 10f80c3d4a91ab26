// Pure helpers of js/table.js: binary columns, sorting, the virtual-scroll window, cell text, axes
// and the plot's geometry (error bars, upper limits, log axes, inverted magnitudes).
import test from "node:test";
import assert from "node:assert/strict";
import {
  ROW_HEIGHT, columnWidth, dataRange, decodeColumn, formatValue, headerText, linearTicks, logTicks,
  makeScale, plotGeometry, sortOrder, tickLabel, visibleWindow,
} from "../table.js";

function textColumn(strings) {
  const enc = new TextEncoder();
  const parts = strings.map((s) => enc.encode(s));
  const offsets = new Uint32Array(parts.length + 1);
  parts.forEach((p, i) => { offsets[i + 1] = offsets[i] + p.length; });
  const text = new Uint8Array(offsets[parts.length]);
  parts.forEach((p, i) => text.set(p, offsets[i]));
  return { text: new DataView(text.buffer), offsets: new DataView(offsets.buffer) };
}

test("numbers arrive as float64 buffers, text as UTF-8 + offsets (DataView or unaligned bytes)", () => {
  const f = new Float64Array([1.5, NaN, -2]);
  assert.deepEqual([...decodeColumn({ values: new DataView(f.buffer) })], [1.5, NaN, -2]);
  const shifted = new Uint8Array(8 * 3 + 1);
  shifted.set(new Uint8Array(f.buffer), 1);
  assert.deepEqual([...decodeColumn({ values: new DataView(shifted.buffer, 1, 24) })], [1.5, NaN, -2]);
  assert.deepEqual(decodeColumn(textColumn(["Mrk 421", "", "ν F_ν", "Fermi-LAT"])), ["Mrk 421", "", "ν F_ν", "Fermi-LAT"]);
});

test("sorting: ascending/descending, NaN last both ways, ties keep table order", () => {
  const v = [3, NaN, 1, 3, 2];
  assert.deepEqual(sortOrder(v, 5), [2, 4, 0, 3, 1]);
  assert.deepEqual(sortOrder(v, 5, true), [0, 3, 4, 2, 1]);
  assert.deepEqual(sortOrder(["b", "a", "b", "c"], 4, true), [3, 0, 2, 1]);
  assert.deepEqual(sortOrder(null, 3), [0, 1, 2]);
});

test("sorting 10^5 rows gives a monotonic order", () => {
  const n = 100000;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(i * 12.9898) * 43758.5453 % 1;
  const order = sortOrder(v, n, false);
  assert.equal(new Set(order).size, n);
  for (let k = 1; k < n; k++) assert.ok(v[order[k - 1]] <= v[order[k]]);
});

test("virtual scrolling puts a window of rows in the DOM, not 10^5", () => {
  const [first, last] = visibleWindow(50000 * ROW_HEIGHT, 300, 100000);
  assert.ok(first <= 50000 && last >= 50000 + Math.ceil(300 / ROW_HEIGHT));
  assert.ok(last - first < 40);
  assert.deepEqual(visibleWindow(0, 300, 3), [0, 3]);
  assert.deepEqual(visibleWindow(1e9, 300, 10), [10, 10]);
});

test("cell text: integers, 6 significant digits, exponents for tiny/huge, blanks for NaN", () => {
  assert.equal(formatValue(42, "i"), "42");
  assert.equal(formatValue(3.14159265, "f"), "3.14159");
  assert.equal(formatValue(1.234e-11, "f"), "1.234e-11");
  assert.equal(formatValue(2.64e9, "f"), "2.64e+9");
  assert.equal(formatValue(NaN, "f"), "");
  assert.equal(formatValue(1, "b"), "true");
  assert.equal(formatValue("Swift-XRT", "s"), "Swift-XRT");
  assert.equal(headerText({ name: "nuFnu", unit: "erg / (s cm2)" }), "nuFnu [erg / (s cm2)]");
  assert.ok(columnWidth({ name: "band", unit: "" }, ["0.1-1 GeV"]) >= 56);
});

test("axes: linear 1-2-5 ticks, decade ticks on log axes, 10^n labels", () => {
  assert.deepEqual(linearTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(logTicks(1e9, 1e27), [1e9, 1e12, 1e15, 1e18, 1e21, 1e24, 1e27]);
  assert.deepEqual(logTicks(1, 50), [1, 2, 5, 10, 20, 50]);
  assert.equal(tickLabel(1e15, true), "1e15");
  assert.equal(tickLabel(10, true), "10");
  assert.equal(tickLabel(0.5, false), "0.5");
  const s = makeScale(1, 100, 0, 200, true);
  assert.equal(s(10), 100);
  assert.deepEqual(dataRange([[1, 2, NaN]], false), [0.95, 2.05]);
  assert.equal(dataRange([[-1, 0]], true), null);
});

test("plot geometry: error bars, upper limits as arrows (not points), log axes hide values ≤ 0", () => {
  const x = [1e9, 1e12, 1e15, 1e18, 1e21];
  const y = [1e-12, 2e-11, -1, 5e-11, 3e-12];
  const yErr = [1e-13, 2e-12, 1, NaN, NaN];
  const ul = [0, 0, 0, 0, 1];
  const geo = plotGeometry({ x, y, yErr, ul }, { logX: true, logY: true, width: 600, height: 320 });
  assert.equal(geo.points.length, 3);
  assert.equal(geo.upperLimits.length, 1);
  assert.equal(geo.hidden, 1);
  assert.equal(geo.yBars.length, 2); // the point without an error has no bar
  const [px, py, tip] = geo.upperLimits[0];
  assert.ok(tip > py, "an upper limit points down");
  assert.ok(px > geo.points[2][0], "x order kept");
  assert.ok(geo.xTicks.length >= 3 && geo.yTicks.length >= 2);
});

test("magnitudes: an inverted y axis puts brighter (smaller) values up and upper limits point up", () => {
  const geo = plotGeometry({ x: [0, 1, 2], y: [4.0, 3.5, 4.2], ul: [0, 0, 1] }, { invertY: true, width: 400, height: 300 });
  const [a, b] = geo.points;
  assert.ok(b[1] < a[1], "3.5 mag is drawn above 4.0 mag");
  const [, py, tip] = geo.upperLimits[0];
  assert.ok(tip < py);
});
