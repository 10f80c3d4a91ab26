// Pure helpers of js/mosaic.js: colour maps, stretches, limits, TAN projection, formatting.
// Cross-checks against astropy/matplotlib numbers live in tests/mosaic/test_js_vs_astropy.py.
import test from "node:test";
import assert from "node:assert/strict";
import {
  COLORMAPS, STRETCHES, colormapTable, stretchFunction, colorLut, paintView, finiteSample, percentile,
  computeLimits, zscale, pixelToWorld, worldToPixel, formatRa, formatDec, decodeArray,
} from "../mosaic.js";

test("every colour map has 256 RGB entries; gray runs black to white monotonically", () => {
  for (const name of ["viridis", "gray", "inferno", "magma"]) assert.ok(COLORMAPS.includes(name));
  for (const name of COLORMAPS) assert.equal(colormapTable(name).length, 768);
  const g = colormapTable("gray");
  assert.deepEqual([...g.slice(0, 3)], [0, 0, 0]);
  assert.deepEqual([...g.slice(765)], [255, 255, 255]);
  for (let i = 1; i < 256; i++) assert.ok(g[i * 3] >= g[(i - 1) * 3]);
  const v = colormapTable("viridis");
  assert.deepEqual([...v.slice(0, 3)], [0x44, 0x01, 0x54]);
  assert.deepEqual([...v.slice(765)], [0xfd, 0xe7, 0x25]);
  assert.throws(() => colormapTable("jet"), /unknown colour map/);
});

test("stretches map 0 → 0 and 1 → 1 and increase in between", () => {
  for (const name of ["linear", "sqrt", "log", "asinh"]) assert.ok(STRETCHES.includes(name));
  for (const name of STRETCHES) {
    const f = stretchFunction(name);
    assert.ok(Math.abs(f(0)) < 1e-12, name);
    assert.ok(Math.abs(f(1) - 1) < 1e-12, name);
    let prev = -1;
    for (let x = 0; x <= 1; x += 0.01) { const y = f(x); assert.ok(y > prev, `${name} at ${x}`); prev = y; }
  }
  assert.ok(stretchFunction("log")(0.1) > 0.5, "log lifts faint values");
  assert.throws(() => stretchFunction("cube"), /unknown stretch/);
});

const ID = { x0: 0, y0: 0, dx: 1, dy: 1 };

test("paintView: NaN is transparent, limits clip, row 0 is drawn at the bottom", () => {
  const lut = colorLut("gray", "linear");
  const data = new Float32Array([NaN, -5, 0.5, 9]); // 2×2: row 0 = [NaN, -5], row 1 = [0.5, 9]
  // one screen pixel per data pixel, the image filling the 2×2 canvas
  const out = paintView(data, 2, 2, ID, { W: 2, H: 2, s: 1, ox: 0, oy: 2 }, 0, 1, lut, new Uint32Array(4));
  // screen row 0 (top) shows data row 1
  assert.equal(out[2], 0, "NaN → alpha 0");
  assert.equal(out[3], lut[0], "below lo clips to the first colour");
  assert.equal(out[1], lut[lut.length - 1], "above hi clips to the last colour");
  assert.equal(out[0] >>> 24, 255, "opaque");
  const mid = out[0] & 0xff;
  assert.ok(mid >= 126 && mid <= 129, `0.5 is mid-grey, got ${mid}`);
});

test("paintView samples at screen resolution: zoom, pan and off-image pixels", () => {
  const lut = colorLut("gray", "linear");
  const data = Float32Array.from({ length: 16 }, (_, i) => i / 15); // 4×4 ramp
  // zoom ×2 on a 4×4 canvas showing data pixels 1..2 in x and y
  const out = paintView(data, 4, 4, ID, { W: 4, H: 4, s: 2, ox: -2, oy: 6 }, 0, 1, lut, new Uint32Array(16));
  const at = (sx, sy) => out[sy * 4 + sx];
  const colour = (i, j) => lut[Math.floor((data[j * 4 + i]) * 4095)];
  assert.equal(at(0, 3), colour(1, 1));
  assert.equal(at(1, 3), colour(1, 1));
  assert.equal(at(2, 0), colour(2, 2));
  // shifted right by 3 screen pixels at scale 1: the first 3 columns are off the image
  const shifted = paintView(data, 4, 4, ID, { W: 4, H: 4, s: 1, ox: 3, oy: 4 }, 0, 1, lut, new Uint32Array(16));
  assert.deepEqual([shifted[0], shifted[1], shifted[2]], [0, 0, 0]);
  assert.equal(shifted[3], colour(0, 3));
  // a remote cut: every second pixel of a region starting at (2, 2)
  const cut = paintView(Float32Array.from([0.25]), 1, 1, { x0: 2, y0: 2, dx: 2, dy: 2 },
    { W: 6, H: 6, s: 1, ox: 0, oy: 6 }, 0, 1, lut, new Uint32Array(36));
  assert.equal(cut[3 * 6 + 2], lut[Math.floor(0.25 * 4095)]);   // screen (2, 3) ↔ edge (2.5, 2.5)
  assert.equal(cut[0], 0);
});

test("changing the stretch changes the colours of the same pixels", () => {
  const data = Float32Array.from({ length: 100 }, (_, i) => i / 99);
  const view = { W: 10, H: 10, s: 1, ox: 0, oy: 10 };
  const a = paintView(data, 10, 10, ID, view, 0, 1, colorLut("viridis", "linear"), new Uint32Array(100));
  const b = paintView(data, 10, 10, ID, view, 0, 1, colorLut("viridis", "asinh"), new Uint32Array(100));
  assert.notDeepEqual([...a], [...b]);
});

test("percentiles and limits on a known sample; non-finite values are ignored", () => {
  const values = Float32Array.from({ length: 101 }, (_, i) => (i * 37) % 101);   // 0..100 shuffled
  const withNaN = new Float32Array([...values, NaN, Infinity]);
  const s = finiteSample(withNaN);
  assert.equal(s.length, 101);
  assert.equal(percentile(s, 50), 50);
  assert.equal(percentile(s, 99.5), 99.5);
  assert.deepEqual(computeLimits(s, "minmax"), [0, 100]);
  assert.deepEqual(computeLimits(s, "99"), [0.5, 99.5]);
  assert.deepEqual(computeLimits(s, "99.5"), [0.25, 99.75]);
  assert.deepEqual(computeLimits(s, "manual", [3, 4]), [3, 4]);
  const [zlo, zhi] = zscale(Float64Array.from(s).sort());
  assert.ok(zlo >= 0 && zhi <= 100 && zlo < zhi);
});

const WCS = { crval: [268.56329345703, -28.829607009888], crpix: [217, 231],
  cd: [[-0.082286253915591, 0], [0, 0.082286253915591]] };

test("TAN: the reference pixel maps to CRVAL and world → pixel inverts pixel → world", () => {
  const [ra, dec] = pixelToWorld(WCS, 216, 230);
  assert.ok(Math.abs(ra - WCS.crval[0]) < 1e-9 && Math.abs(dec - WCS.crval[1]) < 1e-9);
  for (const [x, y] of [[0, 0], [432, 460], [10.3, 400.7], [300, 5]]) {
    const [a, d] = pixelToWorld(WCS, x, y);
    const [x2, y2] = worldToPixel(WCS, a, d);
    assert.ok(Math.hypot(x2 - x, y2 - y) < 1e-6, `${x},${y} → ${x2},${y2}`);
  }
  // RA grows to the left (negative CD1_1)
  assert.ok(pixelToWorld(WCS, 100, 230)[0] > pixelToWorld(WCS, 300, 230)[0]);
});

test("sexagesimal read-out", () => {
  assert.equal(formatRa(266.41683333), "17:45:40.04");
  assert.equal(formatDec(-29.00780556), "-29:00:28.1");
  assert.equal(formatDec(5.5), "+05:30:00.0");
  assert.equal(formatRa(359.99999999), "00:00:00.00");
});

test("decodeArray reads float32 bytes from a DataView at any offset", () => {
  const f = new Float32Array([1.5, NaN, -2]);
  const buf = new Uint8Array(4 + f.byteLength);
  buf.set(new Uint8Array(f.buffer), 4);
  const aligned = decodeArray({ value: new DataView(buf.buffer, 4, 12), dtype: "float32", shape: [1, 3] });
  assert.deepEqual([...aligned].map(String), ["1.5", "NaN", "-2"]);
  const odd = new Uint8Array(3 + f.byteLength);
  odd.set(new Uint8Array(f.buffer), 3);
  const unaligned = decodeArray({ value: new DataView(odd.buffer, 3, 12), dtype: "float32", shape: [1, 3] });
  assert.deepEqual([...unaligned].map(String), ["1.5", "NaN", "-2"]);
});
