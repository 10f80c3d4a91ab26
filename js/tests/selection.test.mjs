// The browser twin of the catalog selection rule against cases the Python rule
// (oda_widgets/products/selection.py) computed: tests/catalog/test_selection_twin.py keeps
// selection_cases.json in step with it.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { filterRows, isNewSource } from "../catalog.js";

const cases = JSON.parse(readFileSync(new URL("./selection_cases.json", import.meta.url), "utf8"));

test("the case file is not empty", () => {
  assert.ok(cases.length >= 20);
});

for (const c of cases) {
  test(`filterRows agrees with the Python rule: ${c.label}`, () => {
    const opts = { minSig: c.min_significance, excludeNew: c.exclude_new, search: c.search, kept: new Set(c.kept) };
    assert.deepEqual(filterRows(c.significance, c.names, opts), c.expected);
  });
}

test("isNewSource agrees with the Python rule on every name of the cases", () => {
  for (const c of cases) {
    c.names.forEach((name, i) => assert.equal(isNewSource(name), c.new_flags[i], name));
  }
});
