// Table view front end (anywidget ES module, self-contained: no imports).
//
// Columns arrive as binary buffers: numbers as float64 (NaN = missing), text as UTF-8 bytes plus
// uint32 offsets. Sorting and scrolling run here: only the rows in view are in the DOM, so 10^5
// rows scroll without the kernel. The x/y plot draws on a canvas (error bars, upper-limit arrows,
// log axes); which columns it uses is Python's choice (products/columns.py), shown and changed
// through the synced traits. Pure helpers are exported for `node --test js/tests/`.

export const ROW_HEIGHT = 22;
const PLOT_MARGIN = { left: 74, right: 16, top: 14, bottom: 44 };

/** A typed view of a binary trait value (DataView, ArrayBuffer or typed array) without copying when aligned. */
function bytesOf(v) {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return new Uint8Array(v.buffer, v.byteOffset || 0, v.byteLength);
}

/**
 * A column's values: a Float64Array for numbers (kinds f, i, b, t) sent as `values`, an array of
 * strings for text (`text` + `offsets`).
 */
export function decodeColumn(data, nRows) {
  if (data.values !== undefined) {
    const b = bytesOf(data.values);
    if (b.byteOffset % 8 === 0) return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
    return new Float64Array(b.slice().buffer);
  }
  const text = bytesOf(data.text);
  const ob = bytesOf(data.offsets);
  const offsets = ob.byteOffset % 4 === 0 ? new Uint32Array(ob.buffer, ob.byteOffset, ob.byteLength / 4)
    : new Uint32Array(ob.slice().buffer);
  const dec = new TextDecoder();
  const n = nRows ?? offsets.length - 1;
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = dec.decode(text.subarray(offsets[i], offsets[i + 1]));
  return out;
}

/** True for a missing number (NaN) — missing values sort last in both directions. */
function missing(v) {
  return typeof v === "number" && Number.isNaN(v);
}

/**
 * Row ids in display order: sorted by `values` (numbers or strings), descending if asked; missing
 * numbers (NaN) last; ties keep table order (the same rule as TableView.sorted_rows in Python).
 */
export function sortOrder(values, nRows, desc = false) {
  const n = nRows ?? values.length;
  const ids = new Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  if (!values) return ids;
  const sign = desc ? -1 : 1;
  ids.sort((a, b) => {
    const x = values[a], y = values[b];
    const xm = missing(x), ym = missing(y);
    if (xm || ym) return xm === ym ? a - b : xm ? 1 : -1;
    if (x < y) return -sign;
    if (x > y) return sign;
    return a - b;
  });
  return ids;
}

/** The rows to put in the DOM for a scroll position: [first, last) with `overscan` rows either side. */
export function visibleWindow(scrollTop, viewportHeight, nRows, rowHeight = ROW_HEIGHT, overscan = 6) {
  const first = Math.min(nRows, Math.max(0, Math.floor(scrollTop / rowHeight) - overscan));
  const last = Math.min(nRows, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return [first, Math.max(first, last)];
}

/** A cell's text: integers as integers, other numbers to 6 significant digits, NaN blank. */
export function formatValue(v, kind) {
  if (v === null || v === undefined) return "";
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return "";
  if (kind === "b") return v ? "true" : "false";
  if (kind === "i") return String(Math.round(v));
  if (kind === "t") return v.toFixed(6);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(4).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(6)));
}

/** Round ("nice") values between lo and hi, about `count` of them (1-2-5 steps). */
export function linearTicks(lo, hi, count = 6) {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) out.push(Math.abs(k * step) < step * 1e-9 ? 0 : k * step);
  return out;
}

/** Ticks of a log axis over [lo, hi] (lo > 0): every decade, thinned to about `count`; 2 and 5 too when under two decades. */
export function logTicks(lo, hi, count = 7) {
  if (!(hi > lo) || !(lo > 0)) return [];
  const d0 = Math.floor(Math.log10(lo)), d1 = Math.ceil(Math.log10(hi));
  const decades = d1 - d0;
  const every = Math.max(1, Math.ceil(decades / count));
  const out = [];
  for (let d = d0; d <= d1; d++) {
    if ((d - d0) % every !== 0) continue;
    const mults = decades <= 2 ? [1, 2, 5] : [1];
    for (const m of mults) {
      const v = m * 10 ** d;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

/** The text of a tick value: decades as 10^n on log axes, else up to 4 significant digits. */
export function tickLabel(v, log) {
  if (log) {
    const e = Math.log10(v);
    if (Math.abs(e - Math.round(e)) < 1e-9) return Math.abs(Math.round(e)) <= 2 ? String(Number(v.toPrecision(3))) : `1e${Math.round(e)}`;
  }
  const a = Math.abs(v);
  if (v !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1).replace(".0e", "e");
  return String(Number(v.toPrecision(4)));
}

/** [min, max] of the finite values (positive only on a log axis), padded 5 % (a factor on log axes). */
export function dataRange(arrays, log) {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) {
    if (!a) continue;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (!Number.isFinite(v) || (log && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi >= lo)) return null;
  if (log) {
    if (hi === lo) return [lo / 2, hi * 2];
    const f = (hi / lo) ** 0.05;
    return [lo / f, hi * f];
  }
  if (hi === lo) return [lo - (Math.abs(lo) || 1) / 2, hi + (Math.abs(hi) || 1) / 2];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** A scale: value → pixel (from [lo, hi] to [p0, p1]), linear or logarithmic. */
export function makeScale(lo, hi, p0, p1, log = false) {
  if (log) {
    const a = Math.log10(lo), b = Math.log10(hi);
    return (v) => p0 + ((Math.log10(v) - a) / (b - a)) * (p1 - p0);
  }
  return (v) => p0 + ((v - lo) / (hi - lo)) * (p1 - p0);
}

/**
 * Everything the plot draws, in pixels. `cols` holds Float64Arrays (x, y and optional xErr, yErr,
 * yLo, yHi, xLo, xHi) and `ul` (upper-limit flags); `rows` restricts to some rows (default all).
 * Points with a non-finite coordinate, or ≤ 0 on a log axis, are counted in `hidden`. Upper limits
 * are drawn as downward arrows (upward on an inverted axis), not as points.
 */
export function plotGeometry(cols, { logX = false, logY = false, invertY = false, width = 600, height = 320, margin = PLOT_MARGIN } = {}) {
  const { x, y } = cols;
  const n = x ? x.length : 0;
  const ok = (v, log) => Number.isFinite(v) && (!log || v > 0);
  const keep = [];
  let hidden = 0;
  for (let i = 0; i < n; i++) {
    if (ok(x[i], logX) && ok(y[i], logY)) keep.push(i); else hidden++;
  }
  const sub = (a) => (a ? keep.map((i) => a[i]) : null);
  const xs = sub(x), ys = sub(y);
  const ext = (base, err, sign) => (err ? base.map((v, k) => v + sign * (Number.isFinite(err[k]) ? err[k] : 0)) : null);
  const yErr = sub(cols.yErr), yLo = sub(cols.yLo), yHi = sub(cols.yHi), xErr = sub(cols.xErr);
  const yDown = yLo ? ext(ys, yLo, -1) : ext(ys, yErr, -1);
  const yUp = yHi ? ext(ys, yHi, 1) : ext(ys, yErr, 1);
  const xL = cols.xLo ? sub(cols.xLo) : ext(xs, xErr, -1);
  const xR = cols.xHi ? sub(cols.xHi) : ext(xs, xErr, 1);
  const xDomain = dataRange([xs, xL, xR], logX);
  const yDomain = dataRange([ys, yDown, yUp], logY);
  const out = { points: [], upperLimits: [], xBars: [], yBars: [], hidden, xDomain, yDomain, xTicks: [], yTicks: [] };
  if (!xDomain || !yDomain) return out;
  const L = margin.left, R = width - margin.right, T = margin.top, B = height - margin.bottom;
  const sx = makeScale(xDomain[0], xDomain[1], L, R, logX);
  const sy = invertY ? makeScale(yDomain[0], yDomain[1], T, B, logY) : makeScale(yDomain[0], yDomain[1], B, T, logY);
  const clampY = (p) => Math.min(B, Math.max(T, p));
  const ul = cols.ul;
  keep.forEach((i, k) => {
    const px = sx(xs[k]), py = sy(ys[k]);
    if (ul && ul[i]) {
      // an upper limit: the value is the top of what the data allow; the arrow points to lower
      // values (down on a normal axis, up on an inverted magnitude axis)
      const dir = invertY ? -1 : 1;
      out.upperLimits.push([px, py, clampY(py + dir * 22)]);
    } else {
      out.points.push([px, py]);
      if (yDown && yUp && Number.isFinite(yDown[k]) && Number.isFinite(yUp[k]) && yUp[k] !== yDown[k]) {
        const lo = logY && yDown[k] <= 0 ? yDomain[0] : yDown[k];
        out.yBars.push([px, clampY(sy(lo)), clampY(sy(yUp[k]))]);
      }
    }
    if (xL && xR && Number.isFinite(xL[k]) && Number.isFinite(xR[k]) && xL[k] !== xR[k]) {
      const lo = logX && xL[k] <= 0 ? xDomain[0] : xL[k];
      out.xBars.push([py, Math.max(L, sx(lo)), Math.min(R, sx(xR[k]))]);
    }
  });
  out.xTicks = (logX ? logTicks(...xDomain) : linearTicks(...xDomain)).map((v) => [sx(v), tickLabel(v, logX)]);
  out.yTicks = (logY ? logTicks(...yDomain) : linearTicks(...yDomain, 5)).map((v) => [sy(v), tickLabel(v, logY)]);
  return out;
}

/** A column's header text: its name and unit. */
export function headerText(col) {
  return col.unit ? `${col.name} [${col.unit}]` : col.name;
}

/** A column's width in pixels, from its header (name above unit) and a sample of its cells. */
export function columnWidth(col, sample) {
  let chars = Math.max(col.name.length + 2, (col.unit || "").length);
  for (const s of sample) chars = Math.max(chars, String(s).length);
  return Math.min(280, Math.max(56, 7 * chars + 18));
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
  const root = el("div", { className: "oda-table", testid: "table-root" });
  const bar = el("div", { className: "oda-table-bar" });
  const title = el("span", { className: "oda-table-title", testid: "table-title" });
  const count = el("span", { className: "oda-table-count", testid: "table-count" });
  const picker = el("details", { className: "oda-table-picker", testid: "table-column-picker" });
  const pickerList = el("div", { className: "oda-table-picker-list" });
  picker.append(el("summary", { textContent: "Columns" }), pickerList);
  const plotBtn = el("button", { className: "oda-table-btn", testid: "table-plot-toggle", textContent: "Plot" });
  const saveIn = el("input", { type: "text", className: "oda-table-path", placeholder: "file (.ecsv, .fits, .csv, .vot)", testid: "table-save-path" });
  const saveBtn = el("button", { className: "oda-table-btn", testid: "table-save", textContent: "Save" });
  const status = el("span", { className: "oda-table-status", testid: "table-status" });
  bar.append(title, count, picker, plotBtn, saveIn, saveBtn, status);

  const scroller = el("div", { className: "oda-table-viewport", testid: "table-viewport", tabIndex: 0 });
  const header = el("div", { className: "oda-table-header oda-table-row", testid: "table-header" });
  const spacer = el("div", { className: "oda-table-spacer" });
  const body = el("div", { className: "oda-table-body", testid: "table-body" });
  spacer.append(body);
  scroller.append(header, spacer);

  const plotBox = el("div", { className: "oda-table-plot", testid: "table-plot" });
  const plotBar = el("div", { className: "oda-table-plot-bar" });
  const xSel = el("select", { testid: "table-plot-x" });
  const ySel = el("select", { testid: "table-plot-y" });
  const logX = el("input", { type: "checkbox", testid: "table-log-x" });
  const logY = el("input", { type: "checkbox", testid: "table-log-y" });
  const note = el("span", { className: "oda-table-plot-note", testid: "table-plot-note" });
  plotBar.append(el("label", {}, "x ", xSel), el("label", {}, "y ", ySel),
    el("label", {}, logX, " log x"), el("label", {}, logY, " log y"), note);
  const canvas = el("canvas", { className: "oda-table-canvas", testid: "table-canvas" });
  plotBox.append(plotBar, canvas);

  const main = el("div", { className: "oda-table-main" });
  main.append(scroller, plotBox);
  root.append(bar, main);
  host.append(root);

  let cols = [];        // [{desc, values}]
  let byName = {};
  let order = [];
  let widths = [];

  function load() {
    const descs = model.get("columns") || [];
    const data = model.get("column_data") || [];
    const n = model.get("n_rows");
    cols = descs.map((d, i) => ({ desc: d, values: decodeColumn(data[i], n) }));
    byName = Object.fromEntries(cols.map((c) => [c.desc.name, c]));
    widths = cols.map((c) => {
      const sample = [];
      for (let i = 0; i < Math.min(n, 200); i++) sample.push(formatValue(c.values[i], c.desc.kind));
      return columnWidth(c.desc, sample);
    });
    buildPicker();
    buildSelects();
  }

  function shown() {
    const vis = new Set(model.get("visible_columns"));
    return cols.map((c, i) => [c, widths[i]]).filter(([c]) => vis.has(c.desc.name));
  }

  function buildPicker() {
    pickerList.replaceChildren();
    const vis = new Set(model.get("visible_columns"));
    for (const c of cols) {
      const box = el("input", { type: "checkbox", checked: vis.has(c.desc.name) });
      box.dataset.column = c.desc.name;
      box.addEventListener("change", () => {
        const now = new Set(model.get("visible_columns"));
        if (box.checked) now.add(c.desc.name); else now.delete(c.desc.name);
        model.set("visible_columns", cols.map((k) => k.desc.name).filter((nm) => now.has(nm)));
        model.save_changes();
      });
      pickerList.append(el("label", { className: "oda-table-picker-item" }, box, " " + headerText(c.desc)));
    }
  }

  function buildHeader() {
    header.replaceChildren();
    const by = model.get("sort_column");
    const desc = model.get("sort_descending");
    for (const [c, w] of shown()) {
      const arrow = by === c.desc.name ? (desc ? " ▼" : " ▲") : "";
      const h = el("span", { className: "oda-table-cell oda-table-th", style: `width:${w}px`, title: c.desc.description || headerText(c.desc) });
      h.dataset.testid = `table-th-${c.desc.name}`;
      h.append(el("span", { className: "oda-table-name", textContent: c.desc.name + arrow }));
      if (c.desc.unit) h.append(el("span", { className: "oda-table-unit", textContent: c.desc.unit }));
      h.addEventListener("click", () => {
        if (model.get("sort_column") === c.desc.name) model.set("sort_descending", !model.get("sort_descending"));
        else { model.set("sort_column", c.desc.name); model.set("sort_descending", false); }
        model.save_changes();
      });
      header.append(h);
    }
    const total = shown().reduce((s, [, w]) => s + w, 0);
    header.style.width = body.style.width = spacer.style.width = `${total}px`;
    // as wide as its columns (plus a scroll bar), so that the plot can sit beside a narrow table
    scroller.style.flex = `0 1 ${total + 18}px`;
  }

  function resort() {
    const t0 = performance.now();
    const by = model.get("sort_column");
    const n = model.get("n_rows");
    order = sortOrder(by && byName[by] ? byName[by].values : null, n, model.get("sort_descending"));
    root.dataset.lastSortMs = (performance.now() - t0).toFixed(1);
    spacer.style.height = `${n * ROW_HEIGHT}px`;
    count.textContent = `${n} rows × ${cols.length} columns`;
    drawRows(true);
  }

  let lastWindow = null;
  function drawRows(force = false) {
    const viewH = scroller.clientHeight || model.get("height");
    const [first, last] = visibleWindow(Math.max(0, scroller.scrollTop - header.offsetHeight), viewH, order.length);
    if (!force && lastWindow && lastWindow[0] === first && lastWindow[1] === last) return;
    lastWindow = [first, last];
    const visible = shown();
    const frag = document.createDocumentFragment();
    for (let k = first; k < last; k++) {
      const id = order[k];
      const row = el("div", { className: "oda-table-row" });
      row.dataset.row = String(id);
      for (const [c, w] of visible) {
        const v = c.values[id];
        const cell = el("span", { className: "oda-table-cell", textContent: formatValue(v, c.desc.kind), style: `width:${w}px` });
        if (typeof v === "number") cell.classList.add("oda-table-num");
        row.append(cell);
      }
      frag.append(row);
    }
    body.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    body.replaceChildren(frag);
    root.dataset.renderedRows = String(last - first);
  }

  function numericNames() {
    return cols.filter((c) => c.desc.kind !== "s").map((c) => c.desc.name);
  }

  function buildSelects() {
    for (const sel of [xSel, ySel]) {
      sel.replaceChildren(...numericNames().map((nm) => el("option", { value: nm, textContent: headerText(byName[nm].desc) })));
    }
  }

  function colValues(name) {
    const c = name ? byName[name] : null;
    return c && c.desc.kind !== "s" ? c.values : null;
  }

  function drawPlot() {
    const on = model.get("show_plot");
    plotBox.hidden = !on;
    plotBtn.classList.toggle("oda-active", on);
    if (!on) return;
    xSel.value = model.get("plot_x");
    ySel.value = model.get("plot_y");
    logX.checked = model.get("log_x");
    logY.checked = model.get("log_y");
    const full = (root.clientWidth || 900) - 24;
    const beside = full - scroller.offsetWidth - 12;
    const width = beside >= 380 ? Math.min(640, beside) : Math.max(320, Math.min(720, full));
    const height = 320;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = width * dpr; canvas.height = height * dpr;
    canvas.style.width = `${width}px`; canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const ulName = model.get("plot_upper_limit");
    const geo = plotGeometry({
      x: colValues(model.get("plot_x")), y: colValues(model.get("plot_y")),
      xErr: colValues(model.get("plot_x_err")), yErr: colValues(model.get("plot_y_err")),
      yLo: colValues(model.get("plot_y_err_lo")), yHi: colValues(model.get("plot_y_err_hi")),
      xLo: colValues(model.get("plot_x_lo")), xHi: colValues(model.get("plot_x_hi")),
      ul: ulName && byName[ulName] ? byName[ulName].values : null,
    }, { logX: model.get("log_x"), logY: model.get("log_y"), invertY: model.get("invert_y"), width, height });
    const L = PLOT_MARGIN.left, R = width - PLOT_MARGIN.right, T = PLOT_MARGIN.top, B = height - PLOT_MARGIN.bottom;
    ctx.font = "11px sans-serif";
    ctx.strokeStyle = "#e3e3e3"; ctx.fillStyle = "#333"; ctx.lineWidth = 1;
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const [px, label] of geo.xTicks) {
      ctx.beginPath(); ctx.moveTo(px, T); ctx.lineTo(px, B); ctx.stroke();
      ctx.fillText(label, px, B + 4);
    }
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const [py, label] of geo.yTicks) {
      ctx.beginPath(); ctx.moveTo(L, py); ctx.lineTo(R, py); ctx.stroke();
      ctx.fillText(label, L - 5, py);
    }
    ctx.strokeStyle = "#555"; ctx.strokeRect(L, T, R - L, B - T);
    const xc = byName[model.get("plot_x")], yc = byName[model.get("plot_y")];
    ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    if (xc) ctx.fillText(headerText(xc.desc), (L + R) / 2, height - 4);
    if (yc) {
      ctx.save(); ctx.translate(12, (T + B) / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "top";
      ctx.fillText(headerText(yc.desc) + (model.get("invert_y") ? " (brighter up)" : ""), 0, 0); ctx.restore();
    }
    ctx.strokeStyle = "#1f77b4"; ctx.lineWidth = 1;
    ctx.beginPath();
    for (const [px, a, b] of geo.yBars) { ctx.moveTo(px, a); ctx.lineTo(px, b); }
    for (const [py, a, b] of geo.xBars) { ctx.moveTo(a, py); ctx.lineTo(b, py); }
    ctx.stroke();
    ctx.fillStyle = "#1f77b4";
    const r = geo.points.length > 5000 ? 1.5 : 3;
    for (const [px, py] of geo.points) { ctx.beginPath(); ctx.arc(px, py, r, 0, 2 * Math.PI); ctx.fill(); }
    // upper limits: a bar at the limit and an arrow towards lower values, in another colour
    ctx.strokeStyle = ctx.fillStyle = "#d62728"; ctx.lineWidth = 1.5;
    for (const [px, py, tip] of geo.upperLimits) {
      const dir = Math.sign(tip - py) || 1;
      ctx.beginPath(); ctx.moveTo(px - 5, py); ctx.lineTo(px + 5, py); ctx.moveTo(px, py); ctx.lineTo(px, tip); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(px - 4, tip - dir * 5); ctx.lineTo(px + 4, tip - dir * 5); ctx.lineTo(px, tip); ctx.closePath(); ctx.fill();
    }
    plotBox.dataset.points = String(geo.points.length);
    plotBox.dataset.upperLimits = String(geo.upperLimits.length);
    plotBox.dataset.errorBars = String(geo.yBars.length);
    plotBox.dataset.hidden = String(geo.hidden);
    const parts = [`${geo.points.length} points`];
    if (geo.upperLimits.length) parts.push(`${geo.upperLimits.length} upper limits (▼)`);
    if (geo.hidden) parts.push(`${geo.hidden} not drawn (missing${model.get("log_x") || model.get("log_y") ? " or ≤ 0 on a log axis" : ""})`);
    note.textContent = parts.join(" · ");
  }

  xSel.addEventListener("change", () => { model.set("plot_x", xSel.value); model.save_changes(); });
  ySel.addEventListener("change", () => { model.set("plot_y", ySel.value); model.save_changes(); });
  logX.addEventListener("change", () => { model.set("log_x", logX.checked); model.save_changes(); });
  logY.addEventListener("change", () => { model.set("log_y", logY.checked); model.save_changes(); });
  plotBtn.addEventListener("click", () => { model.set("show_plot", !model.get("show_plot")); model.save_changes(); });
  saveBtn.addEventListener("click", () => model.send({ type: "save", path: saveIn.value.trim() }));
  scroller.addEventListener("scroll", () => drawRows());

  const onData = () => { load(); buildHeader(); resort(); drawPlot(); };
  const onColumns = () => { buildPicker(); buildHeader(); drawRows(true); };
  const onSort = () => { buildHeader(); resort(); };
  const handlers = [
    ["change:columns change:column_data change:n_rows", onData],
    ["change:visible_columns", onColumns],
    ["change:sort_column change:sort_descending", onSort],
    ["change:show_plot change:plot_x change:plot_y change:plot_x_err change:plot_y_err change:plot_y_err_lo change:plot_y_err_hi change:plot_x_lo change:plot_x_hi change:plot_upper_limit change:log_x change:log_y change:invert_y", drawPlot],
    ["change:status", () => { status.textContent = model.get("status"); }],
    ["change:title", () => { title.textContent = model.get("title"); }],
  ];
  for (const [ev, fn] of handlers) model.on(ev, fn);
  scroller.style.height = `${model.get("height")}px`;
  title.textContent = model.get("title");
  status.textContent = model.get("status");
  onData();
  // the plot's width follows the output area once it is laid out
  const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => drawPlot()) : null;
  if (ro) ro.observe(root);
  return () => { for (const [ev, fn] of handlers) model.off(ev, fn); if (ro) ro.disconnect(); };
}

export default { render };
