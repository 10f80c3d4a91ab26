// Catalog table front end (anywidget ES module, self-contained: no imports).
//
// Sorting, filtering (significance cut, "exclude NEW", name search) and row checkboxes run here
// with no kernel round trip; the resulting row ids go back to Python in `visible_ids` and
// `selected_ids`. Only the rows in view are in the DOM (virtual scrolling), so 10^4 rows stay fast.
// Pure helpers are exported for `node --test js/tests/`.

export const ROW_HEIGHT = 24;

// The selection rule below is the browser twin of oda_widgets/products/selection.py (the one rule
// the product model, CatalogTable and the mosaic overlay use). Change both together:
// js/tests/selection_cases.json holds cases whose expected rows the Python rule computed, and
// js/tests/selection.test.mjs checks this twin against them.

/** What marks a new detection in a source name (case-sensitive, as the INTEGRAL pipelines write it). */
export const NEW_SOURCE_MARK = "NEW";

/** True for a new detection: its name contains "NEW". */
export function isNewSource(name) {
  return String(name).includes(NEW_SOURCE_MARK);
}

/**
 * Ascending row ids passing the cut — the semantics of oda_api's extract_catalog_from_image:
 * significance >= minSig (NaN/null never passes), names containing "NEW" dropped when
 * excludeNew, and (ours) a case-insensitive name search.
 */
export function filterRows(sig, names, { minSig = null, excludeNew = false, search = "", kept = null } = {}) {
  const needle = (search || "").trim().toLowerCase();
  const out = [];
  for (let i = 0; i < names.length; i++) {
    // objects of interest (FLAG > 0, `kept`) pass the cut and the NEW filter, as oda_api adds
    // them after its cut; the name search still applies
    const keep = kept !== null && kept.has(i);
    if (minSig !== null && minSig !== undefined && !keep) {
      const s = sig[i];
      if (s === null || s === undefined || !(s >= minSig)) continue;
    }
    const name = String(names[i]);
    if (excludeNew && !keep && isNewSource(name)) continue;
    if (needle && !name.toLowerCase().includes(needle)) continue;
    out.push(i);
  }
  return out;
}

/** One arrow-key step of the significance cut, in σ. */
export const CUT_STEP = 0.1;

/**
 * The cut after a key on the slider or the number box: arrows ±step (Shift ×10), PageUp/PageDown
 * ±10 steps, Home/End the range ends. The value snaps to the step grid, so eight presses from 7.2
 * give exactly 8 (not 7.9999…). null for other keys.
 */
export function stepCut(value, key, { lo, hi, shift = false, step = CUT_STEP } = {}) {
  const n = shift ? 10 : 1;
  const v = value === null || value === undefined || Number.isNaN(value) ? lo : value;
  const snap = (x) => Math.round(x / step) * step;
  let next;
  switch (key) {
    case "ArrowUp": case "ArrowRight": next = snap(v + n * step); break;
    case "ArrowDown": case "ArrowLeft": next = snap(v - n * step); break;
    case "PageUp": next = snap(v + 10 * step); break;
    case "PageDown": next = snap(v - 10 * step); break;
    case "Home": return lo;
    case "End": return hi;
    default: return null;
  }
  next = Math.min(hi, Math.max(lo, next));
  // one decimal more than the step has, then parse: no 7.999999999 from float steps
  const digits = Math.max(0, Math.ceil(-Math.log10(step))) + 1;
  return Number(next.toFixed(digits));
}

/** Row ids in display order: `rows` sorted by `values` (nulls last, stable), descending if asked. */
export function sortRows(rows, values, desc = false) {
  if (!values) return rows.slice();
  const sign = desc ? -1 : 1;
  return rows.slice().sort((a, b) => {
    const x = values[a], y = values[b];
    const xn = x === null || x === undefined || (typeof x === "number" && Number.isNaN(x));
    const yn = y === null || y === undefined || (typeof y === "number" && Number.isNaN(y));
    if (xn || yn) return xn === yn ? a - b : xn ? 1 : -1;
    if (x < y) return -sign;
    if (x > y) return sign;
    return a - b;
  });
}

/** The row window to put in the DOM for a scroll position (with `overscan` rows either side). */
export function visibleWindow(scrollTop, viewportHeight, nRows, rowHeight = ROW_HEIGHT, overscan = 8) {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(nRows, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return [first, last];
}

function fmt(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, "");
  return String(v);
}

function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "testid") n.dataset.testid = v; else if (k === "style") n.style.cssText = v; else n[k] = v;
  }
  n.append(...children);
  return n;
}

function render({ model, el: host }) {
  const root = el("div", { className: "oda-catalog", testid: "catalog-root" });
  const controls = el("div", { className: "oda-catalog-controls" });
  const slider = el("input", { type: "range", testid: "catalog-slider", className: "oda-catalog-slider" });
  slider.setAttribute("aria-label", "minimum significance (σ); arrow keys step 0.1, Shift+arrow 1");
  const sigLabel = el("span", { testid: "catalog-min-sig", className: "oda-catalog-siglabel" });
  // the exact cut: typed here (Enter or leaving the box applies it), stepped with the arrow keys
  const sigIn = el("input", { type: "number", step: String(CUT_STEP), testid: "catalog-min-sig-input",
    className: "oda-catalog-num", title: "minimum significance (σ): type a value" });
  sigIn.setAttribute("aria-label", "minimum significance in sigma");
  const newBox = el("input", { type: "checkbox", testid: "catalog-exclude-new" });
  const newLabel = el("label", { className: "oda-catalog-check" }, newBox, " exclude NEW");
  const searchIn = el("input", { type: "search", placeholder: "name…", testid: "catalog-search", className: "oda-catalog-search" });
  const count = el("span", { testid: "catalog-count", className: "oda-catalog-count" });
  controls.append(el("span", { textContent: "significance ≥ " }), slider, sigIn, el("span", { textContent: "σ" }), sigLabel, newLabel, searchIn, count);
  sigLabel.hidden = true;

  // the edit bar: add (typed position, a click on the image, or a resolved name), edit, delete, undo
  const edit = el("div", { className: "oda-catalog-edit", testid: "catalog-edit" });
  const nameIn = el("input", { type: "text", placeholder: "name", testid: "catalog-edit-name", className: "oda-catalog-text" });
  const raIn = el("input", { type: "text", placeholder: "RA (° or h:m:s)", testid: "catalog-edit-ra", className: "oda-catalog-text" });
  const decIn = el("input", { type: "text", placeholder: "Dec (° or d:m:s)", testid: "catalog-edit-dec", className: "oda-catalog-text" });
  const addBtn = el("button", { textContent: "Add", testid: "catalog-add", className: "oda-catalog-btn", title: "add an object of interest at RA/Dec (FLAG=1)" });
  const resolveBtn = el("button", { textContent: "Resolve & add", testid: "catalog-resolve", className: "oda-catalog-btn", title: "find the name with the dispatcher's resolver and add it" });
  const editBtn = el("button", { textContent: "Edit highlighted", testid: "catalog-edit-row", className: "oda-catalog-btn", title: "load the highlighted row into the fields; press again to apply" });
  const delBtn = el("button", { textContent: "Delete highlighted", testid: "catalog-delete", className: "oda-catalog-btn" });
  const undoBtn = el("button", { textContent: "Undo", testid: "catalog-undo", className: "oda-catalog-btn" });
  const redoBtn = el("button", { textContent: "Redo", testid: "catalog-redo", className: "oda-catalog-btn" });
  edit.append(nameIn, raIn, decIn, addBtn, resolveBtn, editBtn, delBtn, undoBtn, redoBtn);

  const actions = el("div", { className: "oda-catalog-actions" });
  const specBtn = el("button", { textContent: "Spectrum for selected", testid: "catalog-spectrum", className: "oda-catalog-btn" });
  const lcBtn = el("button", { textContent: "Light curves for selected", testid: "catalog-lc", className: "oda-catalog-btn" });
  const status = el("span", { testid: "catalog-status", className: "oda-catalog-status" });
  actions.append(specBtn, lcBtn, status);

  const header = el("div", { className: "oda-catalog-header oda-catalog-row", testid: "catalog-header" });
  const viewport = el("div", { className: "oda-catalog-viewport", testid: "catalog-viewport" });
  const spacer = el("div", { className: "oda-catalog-spacer" });
  const body = el("div", { className: "oda-catalog-body", testid: "catalog-body" });
  spacer.append(body);
  viewport.append(spacer);
  root.append(controls, edit, header, viewport, actions);
  host.append(root);

  let cols = null;       // {names, columns, sig, srcNames}
  let order = [];        // row ids in display order
  let visibleSet = new Set();
  let unchecked = new Set();

  function loadData() {
    const d = model.get("table_data") || { names: [], columns: [] };
    const byName = Object.fromEntries(d.names.map((n, i) => [n, d.columns[i]]));
    const nRows = d.columns.length ? d.columns[0].length : 0;
    // a table without a name column still has rows: filter them on blank names
    cols = { names: d.names, columns: d.columns, byName,
      sig: byName[model.get("significance_column")] || [],
      srcNames: byName[model.get("name_column")] || new Array(nRows).fill("") };
    const [lo, hi] = model.get("significance_range");
    // the slider keeps the catalog's range, on a 0.1 σ grid so that its steps land on round cuts
    slider.min = String(Math.floor(lo / CUT_STEP) * CUT_STEP); slider.max = String(Math.ceil(hi / CUT_STEP) * CUT_STEP);
    slider.step = String(CUT_STEP);
    sigIn.min = slider.min; sigIn.max = slider.max;
    buildHeader();
  }

  function widths() {
    return cols.names.map((n) => (n === model.get("name_column") ? 150 : 90));
  }

  function buildHeader() {
    header.replaceChildren();
    const all = el("input", { type: "checkbox", testid: "catalog-check-all", title: "check/uncheck all shown rows" });
    all.checked = true;
    all.addEventListener("change", () => {
      for (const id of order) { if (all.checked) unchecked.delete(id); else unchecked.add(id); }
      pushSelection();
    });
    header.append(el("span", { className: "oda-catalog-cb" }, all));
    const w = widths();
    cols.names.forEach((n, i) => {
      const by = model.get("sort_by");
      const arrow = by === n ? (model.get("sort_desc") ? " ▼" : " ▲") : "";
      const h = el("span", { className: "oda-catalog-cell oda-catalog-th", textContent: n + arrow, style: `width:${w[i]}px` });
      h.dataset.testid = `catalog-th-${n}`;
      h.addEventListener("click", () => {
        if (model.get("sort_by") === n) model.set("sort_desc", !model.get("sort_desc"));
        else { model.set("sort_by", n); model.set("sort_desc", false); }
        model.save_changes();
      });
      header.append(h);
    });
  }

  function refilter() {
    const t0 = performance.now();
    const ids = filterRows(cols.sig, cols.srcNames, {
      minSig: model.get("min_significance"), excludeNew: model.get("exclude_new_sources"), search: model.get("search_text"),
      kept: new Set(model.get("kept_ids")),
    });
    visibleSet = new Set(ids);
    const by = model.get("sort_by");
    order = sortRows(ids, by ? cols.byName[by] : null, model.get("sort_desc"));
    unchecked = new Set(model.get("unchecked_ids"));
    const selected = ids.filter((i) => !unchecked.has(i));
    model.set("visible_ids", ids);
    model.set("selected_ids", selected);
    spacer.style.height = `${order.length * ROW_HEIGHT}px`;
    drawRows(true);
    root.dataset.lastFilterMs = (performance.now() - t0).toFixed(2);
    return selected;
  }

  function pushSelection() {
    model.set("unchecked_ids", [...unchecked].sort((a, b) => a - b));
    model.set("selected_ids", [...visibleSet].sort((a, b) => a - b).filter((i) => !unchecked.has(i)));
    model.save_changes();
    drawRows(true);
  }

  let lastWindow = null;
  function drawRows(force = false) {
    const [first, last] = visibleWindow(viewport.scrollTop, viewport.clientHeight || model.get("height"), order.length);
    if (!force && lastWindow && lastWindow[0] === first && lastWindow[1] === last) return;
    lastWindow = [first, last];
    const w = widths();
    const active = model.get("active_id");
    const kept = new Set(model.get("kept_ids"));
    const frag = document.createDocumentFragment();
    for (let k = first; k < last; k++) {
      const id = order[k];
      const row = el("div", { className: "oda-catalog-row" });
      row.dataset.row = String(id);
      row.dataset.testid = "catalog-row";
      if (id === active) row.classList.add("oda-active");
      const isNew = isNewSource(cols.srcNames[id]);
      if (isNew) row.classList.add("oda-new");
      if (kept.has(id)) { row.classList.add("oda-flagged"); row.title = "object of interest (FLAG > 0): kept whatever the cut"; }
      const cb = el("input", { type: "checkbox", checked: !unchecked.has(id) });
      cb.addEventListener("click", (ev) => {
        ev.stopPropagation();
        if (cb.checked) unchecked.delete(id); else unchecked.add(id);
        pushSelection();
      });
      row.append(el("span", { className: "oda-catalog-cb" }, cb));
      cols.columns.forEach((c, i) => row.append(el("span", { className: "oda-catalog-cell", textContent: fmt(c[id]), style: `width:${w[i]}px` })));
      row.addEventListener("click", () => { model.set("active_id", id); model.save_changes(); });
      frag.append(row);
    }
    body.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    body.replaceChildren(frag);
    const nSel = order.length - order.filter((i) => unchecked.has(i)).length;
    count.textContent = `${order.length} of ${cols.srcNames.length} shown, ${nSel} selected`;
  }

  function syncControls() {
    const m = model.get("min_significance");
    slider.disabled = m === null;
    slider.value = String(m === null ? slider.min : m);
    sigIn.disabled = m === null;
    // the box shows the exact cut in effect (the slider can only show it on its grid)
    if (document.activeElement !== sigIn || Number(sigIn.value) !== m) sigIn.value = m === null ? "" : String(Number(m.toFixed(6)));
    sigLabel.textContent = m === null ? "any" : Number(m).toFixed(2);
    const editing = model.get("editable");
    edit.hidden = !editing;
    undoBtn.disabled = !model.get("can_undo");
    redoBtn.disabled = !model.get("can_redo");
    delBtn.disabled = editBtn.disabled = model.get("active_id") < 0;
    newBox.checked = model.get("exclude_new_sources");
    if (searchIn.value !== model.get("search_text")) searchIn.value = model.get("search_text");
  }

  // model.set fires the change:... handler below (onFilter) synchronously, which filters once
  slider.addEventListener("input", () => {
    model.set("min_significance", Number(slider.value));
    model.save_changes();
  });
  function setCut(v) {
    model.set("min_significance", v);
    model.save_changes();
  }
  // arrow keys step the cut on the 0.1 σ grid (the native range step would snap to its min)
  for (const input of [slider, sigIn]) {
    input.addEventListener("keydown", (ev) => {
      const [lo, hi] = [Number(slider.min), Number(slider.max)];
      const next = stepCut(model.get("min_significance"), ev.key, { lo, hi, shift: ev.shiftKey });
      if (next === null || (input === sigIn && (ev.key === "Home" || ev.key === "End"))) return;
      ev.preventDefault();
      ev.stopPropagation();   // Lab's notebook shortcuts must not see these keys
      setCut(next);
    });
  }
  function applyTyped() {
    const text = sigIn.value.trim();
    const v = Number(text);
    if (text === "" || !Number.isFinite(v)) {
      sigIn.setCustomValidity("a number of σ");
      sigIn.reportValidity && sigIn.reportValidity();
      return;
    }
    sigIn.setCustomValidity("");
    setCut(v);
  }
  sigIn.addEventListener("change", applyTyped);
  sigIn.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); applyTyped(); } });
  newBox.addEventListener("change", () => { model.set("exclude_new_sources", newBox.checked); model.save_changes(); });

  // edits go to Python (astropy parses positions; oda_api's conventions for objects of interest)
  const sendEdit = (msg) => model.send({ type: "edit", ...msg });
  let editingRow = -1;
  addBtn.addEventListener("click", () => sendEdit({ action: "add", name: nameIn.value, ra: raIn.value, dec: decIn.value }));
  resolveBtn.addEventListener("click", () => sendEdit({ action: "resolve", name: nameIn.value }));
  editBtn.addEventListener("click", () => {
    const id = model.get("active_id");
    if (editingRow === id && id >= 0) {
      sendEdit({ action: "edit", row: id, name: nameIn.value, ra: raIn.value, dec: decIn.value });
      editingRow = -1;
      editBtn.textContent = "Edit highlighted";
      return;
    }
    if (id < 0) return;
    const lon = cols.byName[model.get("lon_column")] || cols.byName.ra || [];
    const lat = cols.byName[model.get("lat_column")] || cols.byName.dec || [];
    nameIn.value = String(cols.srcNames[id] ?? "");
    raIn.value = lon[id] ?? "";
    decIn.value = lat[id] ?? "";
    editingRow = id;
    editBtn.textContent = "Apply edit";
  });
  delBtn.addEventListener("click", () => { const id = model.get("active_id"); if (id >= 0) sendEdit({ action: "delete", rows: [id] }); });
  undoBtn.addEventListener("click", () => sendEdit({ action: "undo" }));
  redoBtn.addEventListener("click", () => sendEdit({ action: "redo" }));
  searchIn.addEventListener("input", () => { model.set("search_text", searchIn.value); model.save_changes(); });
  viewport.addEventListener("scroll", () => drawRows());
  specBtn.addEventListener("click", () => model.send({ type: "action", name: "spectrum" }));
  lcBtn.addEventListener("click", () => model.send({ type: "action", name: "light_curve" }));

  function scrollToActive() {
    const id = model.get("active_id");
    const k = order.indexOf(id);
    if (k >= 0) {
      const top = k * ROW_HEIGHT;
      if (top < viewport.scrollTop || top > viewport.scrollTop + viewport.clientHeight - ROW_HEIGHT) viewport.scrollTop = Math.max(0, top - 2 * ROW_HEIGHT);
    }
    drawRows(true);
  }

  const onFilter = () => { syncControls(); refilter(); };
  const onData = () => { loadData(); onFilter(); };
  const onStatus = () => { status.textContent = model.get("status"); };
  const onSort = () => { buildHeader(); refilter(); };
  const handlers = [
    ["change:table_data change:significance_range", onData],
    ["change:min_significance change:exclude_new_sources change:search_text change:unchecked_ids change:kept_ids", onFilter],
    ["change:can_undo change:can_redo change:editable", syncControls],
    ["change:sort_by change:sort_desc", onSort],
    ["change:active_id", () => { syncControls(); scrollToActive(); }],
    ["change:status", onStatus],
  ];
  for (const [ev, fn] of handlers) model.on(ev, fn);
  viewport.style.height = `${model.get("height")}px`;
  loadData();
  syncControls();
  refilter();
  onStatus();
  return () => { for (const [ev, fn] of handlers) model.off(ev, fn); };
}

export default { render };
