// Grid, colour bar and keyboard helpers of js/mosaic.js (projections are checked against astropy
// in tests/mosaic/test_mosaic.py, at hundreds of points per projection).
import test from "node:test";
import assert from "node:assert/strict";
import {
  gridSpacing, formatRaLabel, formatDecLabel, formatDegLabel, gridLines, niceTicks, colorbarTicks,
  colorbarPosition, stretchFunction, keyAction, KEY_ZOOM, projection, PROJECTIONS, pixelToWorld, worldToPixel,
} from "../mosaic.js";

test("grid spacing: round sexagesimal steps, at most maxLines lines, finer when zoomed", () => {
  assert.equal(gridSpacing(30, "dec"), 5);          // 30° of Dec → 5° lines
  assert.equal(gridSpacing(2, "dec"), 20 / 60);     // 2° → 20′
  assert.equal(gridSpacing(0.05, "dec"), 30 / 3600);   // 3′ → 30″
  assert.equal(gridSpacing(30, "ra"), 5);           // 2 h of RA → 20 min lines
  for (const [extent, kind] of [[100, "ra"], [3, "ra"], [0.01, "ra"], [60, "dec"], [0.3, "dec"], [7, "deg"]]) {
    const s = gridSpacing(extent, kind);
    assert.ok(extent / s <= 6 + 1e-9, `${extent} ${kind} → ${s}`);
  }
  assert.ok(gridSpacing(1, "ra") < gridSpacing(10, "ra"));
});

test("labels show as many sexagesimal fields as the spacing needs", () => {
  assert.equal(formatRaLabel(266.25, 15), "17h");
  assert.equal(formatRaLabel(266.25, 0.25), "17h45m");
  assert.equal(formatRaLabel(266.4166667, 10 / 240), "17h45m40s");
  assert.equal(formatRaLabel(266.41685, 0.5 / 240), "17h45m40.0s");
  assert.equal(formatRaLabel(359.9999999, 15), "0h");
  assert.equal(formatDecLabel(-29.5, 5), "\u221229°");
  assert.equal(formatDecLabel(-29.5, 0.5), "\u221229°30\u2032");
  assert.equal(formatDecLabel(5.25 + 15 / 3600, 15 / 3600), "+5°15\u203215\u2033");
  assert.equal(formatDecLabel(0, 1), "0°");
  assert.equal(formatDegLabel(12.5, 0.5), "12.5°");
  assert.equal(formatDegLabel(-30, 10), "-30°");
});

const TAN = { crpix: [217, 231], cd: [[-0.0823, 0], [0, 0.0823]], proj: "TAN", crval: [266.4, -29.0] };

test("grid lines cover the view, labels sit on its edges at their own coordinate", () => {
  const view = { s: 1, ox: 0, oy: 460 };
  const clip = { x0: 0, y0: 0, x1: 433, y1: 460 };
  const g = gridLines(TAN, view, clip);
  assert.equal(g.latStep, 10);   // 38° of Dec in view: 10° lines (5° would make 8)
  assert.ok(g.lines.some((l) => l.axis === "lon") && g.lines.some((l) => l.axis === "lat"));
  assert.ok(g.labels.length >= 4);
  for (const lab of g.labels) {
    const [lon, lat] = pixelToWorld(TAN, (lab.sx - view.ox) / view.s - 0.5, (view.oy - lab.sy) / view.s - 0.5);
    if (lab.axis === "lon") {
      assert.equal(lab.edge, "bottom");
      assert.ok(Math.abs(((lon - lab.value + 540) % 360) - 180) < 1e-3, `${lab.text} at ${lon}`);
    } else {
      assert.equal(lab.edge, "left");
      assert.ok(Math.abs(lat - lab.value) < 1e-3, `${lab.text} at ${lat}`);
    }
  }
  // zoomed ×8 on the centre: finer steps
  const z = gridLines(TAN, { s: 8, ox: 216.5 - 217 * 8, oy: 230 + 231 * 8 }, clip);
  assert.ok(z.latStep < g.latStep && z.lonStep < g.lonStep);
});

test("a pole in view: every longitude line, no crash", () => {
  const polar = { crpix: [100, 100], cd: [[-0.5, 0], [0, 0.5]], proj: "ARC", crval: [0, 90] };
  const g = gridLines(polar, { s: 2, ox: 0, oy: 400 }, { x0: 0, y0: 0, x1: 400, y1: 400 });
  const lons = g.lines.filter((l) => l.axis === "lon");
  assert.ok(lons.length >= 6);
  assert.ok(lons.every((l) => l.segments.length >= 1));
});

test("every projection listed exists and inverts itself", () => {
  for (const code of PROJECTIONS) {
    const p = projection(code, code === "CEA" ? [0, 0.7] : []);
    assert.ok(p, code);
    for (const [phi, theta] of [[10, 60], [-100, 20], [170, -30]]) {
      if (p.theta0 === 90 && theta < 0 && ["TAN", "SIN"].includes(code)) continue;
      const [x, y] = p.s2x(phi, theta);
      const [phi2, theta2] = p.x2s(x, y);
      assert.ok(Math.abs(phi2 - phi) < 1e-9 && Math.abs(theta2 - theta) < 1e-9, `${code} ${phi},${theta} → ${phi2},${theta2}`);
    }
  }
  assert.equal(projection("ZPN"), null);
  // CAR at (0, 0): wcslib puts the native pole at αp = 180°, δp = 90°, φp = 0 (astropy cel.euler)
  const car = { crpix: [1, 1], cd: [[-1, 0], [0, 1]], proj: "CAR", euler: [180, 0, 0, 1, 0] };
  const [x, y] = worldToPixel(car, 10, 20);
  assert.ok(Math.abs(x + 10) < 1e-9 && Math.abs(y - 20) < 1e-9, `${x} ${y}`);
});

test("colour bar: round ticks placed where the stretch puts them, never crowded", () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(-3.2, 7.9, 10), [-2, 0, 2, 4, 6]);
  for (const stretch of ["linear", "sqrt", "log", "asinh"]) {
    const ticks = colorbarTicks(-2, 30, stretch, 400);
    assert.ok(ticks.length >= 3, stretch);
    for (const t of ticks) {
      assert.ok(Math.abs(t.pos - stretchFunction(stretch)((t.value + 2) / 32)) < 1e-12);
    }
    for (let i = 1; i < ticks.length; i++) assert.ok((ticks[i].pos - ticks[i - 1].pos) * 400 >= 48);
  }
  assert.equal(colorbarPosition(100, 0, 10, "linear"), 1);
  assert.deepEqual(colorbarTicks(1, 1, "linear", 400), []);
});

test("keyboard: arrows pan a tenth of the view, +/- zoom about the centre, 0 resets", () => {
  const v = { s: 2, ox: 10, oy: 300 };
  const box = { W: 400, H: 300 };
  assert.deepEqual(keyAction("ArrowLeft", v, box), { s: 2, ox: 50, oy: 300 });
  assert.deepEqual(keyAction("ArrowRight", v, { ...box, shift: true }), { s: 2, ox: 6, oy: 300 });
  assert.deepEqual(keyAction("ArrowUp", v, box), { s: 2, ox: 10, oy: 330 });
  const z = keyAction("+", v, box);
  assert.equal(z.s, 2 * KEY_ZOOM);
  // the data point under the centre stays under it
  const u0 = (200 - v.ox) / v.s, u1 = (200 - z.ox) / z.s;
  const w0 = (v.oy - 150) / v.s, w1 = (z.oy - 150) / z.s;
  assert.ok(Math.abs(u0 - u1) < 1e-9 && Math.abs(w0 - w1) < 1e-9);
  const back = keyAction("-", z, box);
  assert.ok(Math.abs(back.s - 2) < 1e-12 && Math.abs(back.ox - 10) < 1e-9);
  assert.equal(keyAction("0", v, box), "reset");
  assert.equal(keyAction("a", v, box), null);
});
