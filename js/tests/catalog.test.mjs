// Pure helpers of js/catalog.js: the filter (oda_api semantics), sorting, the virtual-scroll window.
import test from "node:test";
import assert from "node:assert/strict";
import { filterRows, sortRows, visibleWindow, ROW_HEIGHT } from "../catalog.js";

const sig = [7, null, 5, 4.99, 12, 30];
const names = ["GX 1+4", "NEW_1", "NEW_2", "Crab", "4U 1700-377", "OAO 1657-415"];

test("significance cut is >= and drops NaN/null", () => {
  assert.deepEqual(filterRows(sig, names, { minSig: 5 }), [0, 2, 4, 5]);
  assert.deepEqual(filterRows(sig, names, { minSig: null }), [0, 1, 2, 3, 4, 5]);
});

test("exclude NEW drops names containing NEW (case-sensitive, as oda_api)", () => {
  assert.deepEqual(filterRows(sig, names, { minSig: 5, excludeNew: true }), [0, 4, 5]);
  assert.deepEqual(filterRows([1], ["renewal"], { excludeNew: true }), [0]);
});

test("name search is case-insensitive and combines with the other cuts", () => {
  assert.deepEqual(filterRows(sig, names, { search: "  gx " }), [0]);
  assert.deepEqual(filterRows(sig, names, { search: "new", minSig: 6 }), []);
  assert.deepEqual(filterRows(sig, names, { search: "new" }), [1, 2]);
});

test("sorting: ascending/descending, nulls last, stable on ties", () => {
  const rows = [0, 1, 2, 3, 4, 5];
  assert.deepEqual(sortRows(rows, sig), [3, 2, 0, 4, 5, 1]);
  assert.deepEqual(sortRows(rows, sig, true), [5, 4, 0, 2, 3, 1]);
  assert.deepEqual(sortRows(rows, names), [4, 3, 0, 1, 2, 5]);
  assert.deepEqual(sortRows([2, 0, 1], [1, 1, 1]), [0, 1, 2]);
});

test("virtual scrolling renders a window of rows, not all 10^4", () => {
  const [first, last] = visibleWindow(5000 * ROW_HEIGHT, 300, 10000);
  assert.ok(first <= 5000 && last >= 5000 + Math.ceil(300 / ROW_HEIGHT));
  assert.ok(last - first < 40);
  assert.deepEqual(visibleWindow(0, 300, 3), [0, 3]);
});

import { stepCut, CUT_STEP } from "../catalog.js";

test("objects of interest (kept rows) pass the cut and the NEW filter, not the search", () => {
  const kept = new Set([1]);
  assert.deepEqual(filterRows(sig, names, { minSig: 5, excludeNew: true, kept }), [0, 1, 4, 5]);
  assert.deepEqual(filterRows(sig, names, { minSig: 5, search: "gx", kept }), [0]);
});

test("arrow keys step the cut on a 0.1σ grid: eight steps up from 7.2 is exactly 8", () => {
  const range = { lo: -3.2, hi: 30.1 };
  let v = 7.2;
  for (let i = 0; i < 8; i++) v = stepCut(v, "ArrowUp", range);
  assert.equal(v, 8);
  assert.equal(stepCut(7.93, "ArrowUp", range), 8);          // off-grid values snap
  assert.equal(stepCut(8, "ArrowDown", { ...range, shift: true }), 7);
  assert.equal(stepCut(8, "PageUp", range), 9);
  assert.equal(stepCut(30, "ArrowUp", range), 30.1);          // the range holds
  assert.equal(stepCut(5, "Home", range), -3.2);
  assert.equal(stepCut(null, "ArrowUp", range), -3.1);
  assert.equal(stepCut(5, "x", range), null);
  assert.equal(CUT_STEP, 0.1);
});
