// Mosaic viewer front end (anywidget ES module, self-contained: no imports).
//
// The image arrives once as float32 bytes ({value, dtype, shape, x0, y0, dx, dy}); colour map,
// stretch and limits are applied here on a canvas, so changing them sends no pixels.
// Pure helpers are exported for `node --test js/tests/`.

// ---------------------------------------------------------------------------------------------
// Colour maps: 17 anchor colours sampled from matplotlib's tables; linear interpolation between
// them stays within a few 1/255 of the full 256-entry tables (checked in js/tests).
const ANCHORS = {
  viridis: ["#440154", "#48186a", "#472d7b", "#424086", "#3b528b", "#33638d", "#2c728e", "#26828e", "#21918c", "#1fa088", "#28ae80", "#3fbc73", "#5ec962", "#84d44b", "#addc30", "#d8e219", "#fde725"],
  inferno: ["#000004", "#0b0724", "#210c4a", "#3d0965", "#57106e", "#71196e", "#8a226a", "#a32c61", "#bc3754", "#d24644", "#e45a31", "#f1731d", "#f98e09", "#fcac11", "#f9cb35", "#f2ea69", "#fcffa4"],
  magma: ["#000004", "#0a0822", "#1d1147", "#36106b", "#51127c", "#6a1c81", "#832681", "#9c2e7f", "#b73779", "#d0416f", "#e75263", "#f56b5c", "#fc8961", "#fea772", "#fec488", "#fde2a3", "#fcfdbf"],
  gray: ["#000000", "#ffffff"],
  cubehelix: ["#000000", "#150b1d", "#1b1e3b", "#17374d", "#16534c", "#236a3e", "#447731", "#727b32", "#a1794a", "#c57a76", "#d484a9", "#d198d4", "#c6b4ee", "#c1d1f3", "#cbe8f0", "#e3f6f0", "#ffffff"],
};
export const COLORMAPS = Object.keys(ANCHORS);
export const STRETCHES = ["linear", "sqrt", "log", "asinh"];
export const LIMITS = ["minmax", "99.5", "99", "zscale", "manual"];

function hexRgb(h) {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** 256×RGB table (Uint8Array of 768) of a named colour map. */
export function colormapTable(name) {
  const anchors = ANCHORS[name];
  if (!anchors) throw new Error(`unknown colour map ${name}`);
  const rgb = anchors.map(hexRgb);
  const out = new Uint8Array(768);
  const n = rgb.length - 1;
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * n;
    const k = Math.min(Math.floor(t), n - 1);
    const f = t - k;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(rgb[k][c] * (1 - f) + rgb[k + 1][c] * f);
  }
  return out;
}

/** The stretch function on [0, 1] → [0, 1] (same definitions as astropy.visualization, a = defaults). */
export function stretchFunction(name) {
  switch (name) {
    case "linear": return (x) => x;
    case "sqrt": return (x) => Math.sqrt(x);
    case "log": { const a = 1000; return (x) => Math.log(a * x + 1) / Math.log(a + 1); }
    case "asinh": { const a = 0.1; return (x) => Math.asinh(x / a) / Math.asinh(1 / a); }
    default: throw new Error(`unknown stretch ${name}`);
  }
}

const LUT_SIZE = 4096;

/** Colour lookup: LUT_SIZE packed RGBA (little-endian Uint32) for linear positions in [lo, hi]. */
export function colorLut(cmap, stretch) {
  const table = colormapTable(cmap);
  const f = stretchFunction(stretch);
  const lut = new Uint32Array(LUT_SIZE);
  for (let i = 0; i < LUT_SIZE; i++) {
    const s = Math.min(1, Math.max(0, f(i / (LUT_SIZE - 1))));
    const k = Math.round(s * 255) * 3;
    lut[i] = (255 << 24) | (table[k + 2] << 16) | (table[k + 1] << 8) | table[k];
  }
  return lut;
}

/** Fill `out` (Uint32Array, RGBA little-endian, rows flipped so FITS row 0 is at the bottom). */
export function colorize(data, nx, ny, lo, hi, lut, out) {
  const n1 = LUT_SIZE - 1;
  const scale = hi > lo ? n1 / (hi - lo) : 0;
  for (let j = 0; j < ny; j++) {
    const src = j * nx;
    const dst = (ny - 1 - j) * nx;
    for (let i = 0; i < nx; i++) {
      const v = data[src + i];
      if (v !== v) { out[dst + i] = 0; continue; } // NaN: transparent
      let k = ((v - lo) * scale) | 0;
      if (k < 0) k = 0; else if (k > n1) k = n1;
      out[dst + i] = lut[k];
    }
  }
  return out;
}

/** A sorted Float32Array of at most `max` finite values taken at a regular stride. */
export function finiteSample(data, max = 200000) {
  const stride = Math.max(1, Math.floor(data.length / max));
  const tmp = new Float32Array(Math.ceil(data.length / stride));
  let n = 0;
  for (let i = 0; i < data.length; i += stride) {
    const v = data[i];
    if (v === v && v !== Infinity && v !== -Infinity) tmp[n++] = v;
  }
  return tmp.subarray(0, n).sort();
}

/** numpy-style (linear) percentile of a sorted array, p in [0, 100]. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const pos = (p / 100) * (sorted.length - 1);
  const k = Math.floor(pos);
  const f = pos - k;
  return k + 1 < sorted.length ? sorted[k] * (1 - f) + sorted[k + 1] * f : sorted[k];
}

/** IRAF zscale on sorted samples, the algorithm of astropy's ZScaleInterval (defaults). */
export function zscale(sorted, { contrast = 0.25, maxReject = 0.5, minNpixels = 5, krej = 2.5, maxIterations = 5 } = {}) {
  const npix = sorted.length;
  if (!npix) return [NaN, NaN];
  let vmin = sorted[0];
  let vmax = sorted[npix - 1];
  const centerPixel = Math.floor((npix - 1) / 2);
  const median = npix % 2 ? sorted[centerPixel] : 0.5 * (sorted[centerPixel] + sorted[centerPixel + 1]);
  const minpix = Math.max(minNpixels, Math.floor(npix * maxReject));
  const ngrow = Math.max(1, Math.floor(npix * 0.01));
  let ngoodpix = npix;
  let lastNgoodpix = npix + 1;
  let badpix = new Uint8Array(npix);
  let slope = 0;
  let intercept = 0;
  for (let it = 0; it < maxIterations; it++) {
    if (ngoodpix >= lastNgoodpix || ngoodpix < minpix) break;
    // least-squares line through the good points (x = index)
    let sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
    for (let i = 0; i < npix; i++) {
      if (badpix[i]) continue;
      sx += i; sy += sorted[i]; sxx += i * i; sxy += i * sorted[i]; m++;
    }
    const det = m * sxx - sx * sx;
    slope = det ? (m * sxy - sx * sy) / det : 0;
    intercept = (sy - slope * sx) / m;
    let s2 = 0;
    const flat = new Float64Array(npix);
    for (let i = 0; i < npix; i++) {
      flat[i] = sorted[i] - (slope * i + intercept);
      if (!badpix[i]) s2 += flat[i] * flat[i];
    }
    const threshold = krej * Math.sqrt(s2 / m);
    const next = new Uint8Array(npix);
    for (let i = 0; i < npix; i++) if (flat[i] < -threshold || flat[i] > threshold) next[i] = 1;
    // grow rejected pixels by ngrow (astropy convolves with a box of width ngrow)
    const grown = new Uint8Array(npix);
    const half = Math.floor(ngrow / 2);
    for (let i = 0; i < npix; i++) {
      if (!next[i]) continue;
      for (let k = i - (ngrow - 1 - half); k <= i + half; k++) if (k >= 0 && k < npix) grown[k] = 1;
    }
    badpix = grown;
    lastNgoodpix = ngoodpix;
    ngoodpix = 0;
    for (let i = 0; i < npix; i++) if (!badpix[i]) ngoodpix++;
  }
  if (ngoodpix >= minpix) {
    if (contrast > 0) slope = slope / contrast;
    vmin = Math.max(vmin, median - (centerPixel - 1) * slope);
    vmax = Math.min(vmax, median + (npix - centerPixel) * slope);
  }
  return [vmin, vmax];
}

/** [lo, hi] for a limits mode from sorted finite samples. */
export function computeLimits(sorted, mode, manual = [NaN, NaN]) {
  if (!sorted.length) return [0, 1];
  switch (mode) {
    case "minmax": return [sorted[0], sorted[sorted.length - 1]];
    case "99": return [percentile(sorted, 0.5), percentile(sorted, 99.5)];
    case "99.5": return [percentile(sorted, 0.25), percentile(sorted, 99.75)];
    case "zscale": {
      // zscale looks at ~1000 samples, as astropy's default
      const step = Math.max(1, Math.floor(sorted.length / 1000));
      const sub = [];
      for (let i = 0; i < sorted.length; i += step) sub.push(sorted[i]);
      return zscale(Float64Array.from(sub));
    }
    case "manual": return manual;
    default: throw new Error(`unknown limits ${mode}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Gnomonic (TAN) projection, FITS WCS paper II with LONPOLE = 180°. Pixels 0-based as astropy's
// pixel_to_world; `wcs` = {crval: [ra0, dec0], crpix: [c1, c2] (1-based FITS), cd: [[..],[..]]}.
const D2R = Math.PI / 180;

export function pixelToWorld(wcs, x, y) {
  const dx = x + 1 - wcs.crpix[0];
  const dy = y + 1 - wcs.crpix[1];
  const xi = (wcs.cd[0][0] * dx + wcs.cd[0][1] * dy) * D2R;
  const eta = (wcs.cd[1][0] * dx + wcs.cd[1][1] * dy) * D2R;
  const a0 = wcs.crval[0] * D2R;
  const d0 = wcs.crval[1] * D2R;
  const den = Math.cos(d0) - eta * Math.sin(d0);
  let ra = (a0 + Math.atan2(xi, den)) / D2R;
  const dec = Math.atan2(Math.sin(d0) + eta * Math.cos(d0), Math.hypot(xi, den)) / D2R;
  ra = ((ra % 360) + 360) % 360;
  return [ra, dec];
}

export function worldToPixel(wcs, ra, dec) {
  const a = ra * D2R, d = dec * D2R;
  const a0 = wcs.crval[0] * D2R, d0 = wcs.crval[1] * D2R;
  const cosc = Math.sin(d0) * Math.sin(d) + Math.cos(d0) * Math.cos(d) * Math.cos(a - a0);
  if (cosc <= 0) return [NaN, NaN]; // the far hemisphere has no TAN image
  const xi = (Math.cos(d) * Math.sin(a - a0)) / cosc / D2R;
  const eta = (Math.cos(d0) * Math.sin(d) - Math.sin(d0) * Math.cos(d) * Math.cos(a - a0)) / cosc / D2R;
  const [[a11, a12], [a21, a22]] = wcs.cd;
  const det = a11 * a22 - a12 * a21;
  const dx = (a22 * xi - a12 * eta) / det;
  const dy = (-a21 * xi + a11 * eta) / det;
  return [dx + wcs.crpix[0] - 1, dy + wcs.crpix[1] - 1];
}

function pad(n, w) { return String(n).padStart(w, "0"); }

/** "hh:mm:ss.ss" of RA in degrees. */
export function formatRa(ra) {
  let cs = Math.round((((ra % 360) + 360) % 360) / 15 * 360000); // centiseconds of time
  cs %= 24 * 360000;
  const h = Math.floor(cs / 360000), m = Math.floor((cs % 360000) / 6000), s = (cs % 6000) / 100;
  return `${pad(h, 2)}:${pad(m, 2)}:${s.toFixed(2).padStart(5, "0")}`;
}

/** "±dd:mm:ss.s" of Dec in degrees. */
export function formatDec(dec) {
  const sign = dec < 0 ? "-" : "+";
  const ds = Math.round(Math.abs(dec) * 36000); // tenths of arcsec
  const d = Math.floor(ds / 36000), m = Math.floor((ds % 36000) / 600), s = (ds % 600) / 10;
  return `${sign}${pad(d, 2)}:${pad(m, 2)}:${s.toFixed(1).padStart(4, "0")}`;
}

/** The float array of a `{value, dtype, shape}` trait (DataView/ArrayBuffer/typed array value). */
export function decodeArray(img) {
  const v = img.value;
  const buf = v.buffer ? v.buffer : v;
  const off = v.byteOffset || 0;
  const len = v.byteLength;
  if (img.dtype === "float32") {
    if (off % 4 === 0) return new Float32Array(buf, off, len / 4);
    return new Float32Array(buf.slice(off, off + len));
  }
  if (img.dtype === "float64") return new Float64Array(buf.slice(off, off + len));
  throw new Error(`unsupported dtype ${img.dtype}`);
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

function select(options, value, testid, labels = {}) {
  const s = el("select", { testid, className: "oda-mosaic-select" });
  for (const o of options) s.append(el("option", { value: o, textContent: labels[o] || o }));
  s.value = value;
  return s;
}

const LIMIT_LABELS = { minmax: "min/max", "99.5": "99.5 %", "99": "99 %", zscale: "zscale", manual: "manual" };

function render({ model, el: host }) {
  const root = el("div", { className: "oda-mosaic", testid: "mosaic-root" });
  const bar = el("div", { className: "oda-mosaic-bar" });
  const ext = el("div", { className: "oda-mosaic-ext", testid: "mosaic-extensions" });
  const cmapSel = select(COLORMAPS, model.get("cmap"), "mosaic-cmap");
  const stretchSel = select(STRETCHES, model.get("stretch"), "mosaic-stretch");
  const limitSel = select(LIMITS, model.get("limits"), "mosaic-limits", LIMIT_LABELS);
  const vminIn = el("input", { type: "number", step: "any", testid: "mosaic-vmin", className: "oda-mosaic-num", title: "lower limit" });
  const vmaxIn = el("input", { type: "number", step: "any", testid: "mosaic-vmax", className: "oda-mosaic-num", title: "upper limit" });
  const resetBtn = el("button", { textContent: "Reset view", testid: "mosaic-reset", className: "oda-mosaic-btn" });
  const pngBtn = el("button", { textContent: "PNG", testid: "mosaic-png", className: "oda-mosaic-btn", title: "download the view as PNG" });
  bar.append(ext, cmapSel, stretchSel, limitSel, vminIn, vmaxIn, resetBtn, pngBtn);
  const stage = el("div", { className: "oda-mosaic-stage" });
  const canvas = el("canvas", { className: "oda-mosaic-canvas", testid: "mosaic-canvas" });
  const overlay = el("canvas", { className: "oda-mosaic-overlay", testid: "mosaic-overlay" });
  stage.append(canvas, overlay);
  const readout = el("div", { className: "oda-mosaic-readout", testid: "mosaic-readout", textContent: "\u00a0" });
  root.append(bar, stage, readout);
  host.append(root);

  const st = {
    data: null, nx: 0, ny: 0, cut: null, full: [0, 0], sample: null, limits: [0, 1],
    off: document.createElement("canvas"), offImg: null,
    s: 1, ox: 0, oy: 0, fitted: false, W: 0, H: 0, draws: 0,
  };

  function size() {
    const W = Math.max(200, Math.floor(stage.clientWidth || host.clientWidth || 640));
    const H = model.get("height");
    if (W !== st.W || H !== st.H) {
      st.W = W; st.H = H;
      for (const c of [canvas, overlay]) { c.width = W; c.height = H; }
      stage.style.height = `${H}px`;
      return true;
    }
    return false;
  }

  function fit() {
    const [NY, NX] = st.full;
    if (!NX || !NY) return;
    st.s = Math.min(st.W / NX, st.H / NY);
    st.ox = (st.W - NX * st.s) / 2;
    st.oy = st.H - (st.H - NY * st.s) / 2;
    st.fitted = true;
  }

  function loadImage() {
    const img = model.get("image");
    if (!img || !img.value) { st.data = null; return; }
    st.data = decodeArray(img);
    [st.ny, st.nx] = img.shape;
    st.cut = { x0: img.x0 || 0, y0: img.y0 || 0, dx: img.dx || 1, dy: img.dy || 1 };
    const full = img.full_shape || img.shape;
    const newFull = full[0] !== st.full[0] || full[1] !== st.full[1];
    st.full = [full[0], full[1]];
    // remote cuts keep the limits of the whole-image cut so panning does not flicker the colours
    if (!img.cut || !st.sample || newFull) st.sample = finiteSample(st.data);
    st.off.width = st.nx; st.off.height = st.ny;
    st.offImg = st.off.getContext("2d").createImageData(st.nx, st.ny);
    if (newFull || !st.fitted) fit();
  }

  function recolor() {
    if (!st.data) return;
    const mode = model.get("limits");
    st.limits = computeLimits(st.sample, mode, [model.get("vmin"), model.get("vmax")]);
    if (mode !== "manual") {
      vminIn.value = Number(st.limits[0]).toPrecision(4);
      vmaxIn.value = Number(st.limits[1]).toPrecision(4);
    }
    const lut = colorLut(model.get("cmap"), model.get("stretch"));
    colorize(st.data, st.nx, st.ny, st.limits[0], st.limits[1], lut, new Uint32Array(st.offImg.data.buffer));
    st.off.getContext("2d").putImageData(st.offImg, 0, 0);
  }

  function draw() {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, st.W, st.H);
    if (st.data) {
      ctx.imageSmoothingEnabled = false;
      const { x0, y0, dx, dy } = st.cut;
      ctx.drawImage(st.off, st.ox + x0 * st.s, st.oy - (y0 + st.ny * dy) * st.s, st.nx * dx * st.s, st.ny * dy * st.s);
    }
    drawOverlay();
  }

  function timed(fn) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    st.draws += 1;
    root.dataset.lastDrawMs = ms.toFixed(2);
    root.dataset.draws = String(st.draws);
    if (st.draws === 1) root.dataset.firstDrawMs = ms.toFixed(2);
  }

  // -- catalog overlay ----------------------------------------------------------------------
  function sourcesOnScreen() {
    const src = model.get("sources") || {};
    const wcs = model.get("wcs");
    if (!src.ra || !wcs || !wcs.cd) return [];
    const visible = new Set(model.get("visible_ids"));
    const selected = new Set(model.get("selected_ids"));
    const out = [];
    for (let k = 0; k < src.ra.length; k++) {
      const id = src.ids[k];
      if (!visible.has(id)) continue;
      const [x, y] = worldToPixel(wcs, src.ra[k], src.dec[k]);
      if (!Number.isFinite(x)) continue;
      out.push({ id, name: src.names[k], isNew: !!src.new[k], selected: selected.has(id),
        sx: st.ox + (x + 0.5) * st.s, sy: st.oy - (y + 0.5) * st.s });
    }
    return out;
  }

  function drawOverlay() {
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, st.W, st.H);
    const active = model.get("active_id");
    const shown = sourcesOnScreen();
    root.dataset.overlayCount = String(shown.length);
    ctx.font = "12px sans-serif";
    for (const p of shown) {
      const isActive = p.id === active;
      ctx.beginPath();
      ctx.arc(p.sx, p.sy, isActive ? 11 : 8, 0, 2 * Math.PI);
      ctx.setLineDash(p.isNew ? [4, 3] : []);
      ctx.lineWidth = isActive ? 3 : p.selected ? 2 : 1;
      ctx.strokeStyle = isActive ? "#ffff00" : p.isNew ? "#ff5fd2" : "#00e5ff";
      ctx.globalAlpha = p.selected || isActive ? 1 : 0.55;
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(p.name, p.sx + 10, p.sy - 10);
    }
    ctx.globalAlpha = 1;
    overlay.dataset.positions = JSON.stringify(shown.map((p) => [p.id, Math.round(p.sx), Math.round(p.sy)]));
  }

  // -- remote (screen-resolution) cuts --------------------------------------------------------
  let viewTimer = null;
  function requestCut() {
    if (!model.get("remote")) return;
    clearTimeout(viewTimer);
    viewTimer = setTimeout(() => {
      const [NY, NX] = st.full;
      const u0 = Math.max(0, Math.floor(-st.ox / st.s));
      const u1 = Math.min(NX, Math.ceil((st.W - st.ox) / st.s));
      const v0 = Math.max(0, Math.floor((st.oy - st.H) / st.s));
      const v1 = Math.min(NY, Math.ceil(st.oy / st.s));
      if (u1 <= u0 || v1 <= v0) return;
      model.set("view_box", { x0: u0, x1: u1, y0: v0, y1: v1, width: st.W, height: st.H });
      model.save_changes();
    }, 150);
  }

  // -- interaction ----------------------------------------------------------------------------
  function toPixel(ev) {
    const r = overlay.getBoundingClientRect();
    const sx = ev.clientX - r.left, sy = ev.clientY - r.top;
    return { sx, sy, x: (sx - st.ox) / st.s - 0.5, y: (st.oy - sy) / st.s - 0.5 };
  }

  function valueAt(x, y) {
    if (!st.data) return NaN;
    const { x0, y0, dx, dy } = st.cut;
    const i = Math.floor((x + 0.5 - x0) / dx), j = Math.floor((y + 0.5 - y0) / dy);
    if (i < 0 || j < 0 || i >= st.nx || j >= st.ny) return NaN;
    return st.data[j * st.nx + i];
  }

  function showReadout(ev) {
    const p = toPixel(ev);
    const [NY, NX] = st.full;
    if (p.x < -0.5 || p.y < -0.5 || p.x > NX - 0.5 || p.y > NY - 0.5) { readout.textContent = "\u00a0"; return; }
    const v = valueAt(p.x, p.y);
    const wcs = model.get("wcs");
    let sky = "";
    if (wcs && wcs.cd) {
      const [ra, dec] = pixelToWorld(wcs, p.x, p.y);
      sky = `RA ${ra.toFixed(4)}° Dec ${dec.toFixed(4)}° (${formatRa(ra)} ${formatDec(dec)})  `;
      readout.dataset.ra = String(ra);
      readout.dataset.dec = String(dec);
    }
    readout.dataset.x = String(p.x);
    readout.dataset.y = String(p.y);
    readout.textContent = `${sky}x ${p.x.toFixed(1)} y ${p.y.toFixed(1)}  ${model.get("extension")}: ${Number.isNaN(v) ? "—" : v.toPrecision(5)}`;
  }

  let drag = null;
  overlay.addEventListener("pointerdown", (ev) => {
    drag = { x: ev.clientX, y: ev.clientY, ox: st.ox, oy: st.oy, moved: false };
    overlay.setPointerCapture && overlay.setPointerCapture(ev.pointerId);
  });
  overlay.addEventListener("pointermove", (ev) => {
    showReadout(ev);
    if (!drag) return;
    const ddx = ev.clientX - drag.x, ddy = ev.clientY - drag.y;
    if (Math.abs(ddx) + Math.abs(ddy) > 3) drag.moved = true;
    if (drag.moved) { st.ox = drag.ox + ddx; st.oy = drag.oy + ddy; draw(); }
  });
  overlay.addEventListener("pointerup", (ev) => {
    const d = drag;
    drag = null;
    if (!d) return;
    if (d.moved) { requestCut(); return; }
    // a click: pick the nearest overlay within 12 px
    const p = toPixel(ev);
    let best = null, bestD = 12;
    for (const s of sourcesOnScreen()) {
      const dist = Math.hypot(s.sx - p.sx, s.sy - p.sy);
      if (dist < bestD) { best = s; bestD = dist; }
    }
    if (best) { model.set("active_id", best.id); model.save_changes(); }
  });
  overlay.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = toPixel(ev);
    const k = Math.exp(-ev.deltaY * 0.0015);
    const s = Math.min(64, Math.max(0.02, st.s * k));
    // keep the data point under the cursor fixed
    const u = (p.sx - st.ox) / st.s, v = (st.oy - p.sy) / st.s;
    st.s = s; st.ox = p.sx - u * s; st.oy = p.sy + v * s;
    draw();
    requestCut();
  }, { passive: false });
  overlay.addEventListener("pointerleave", () => { readout.textContent = "\u00a0"; });

  resetBtn.addEventListener("click", () => { fit(); draw(); requestCut(); });
  function exportPng() {
    const out = document.createElement("canvas");
    out.width = st.W; out.height = st.H;
    const c = out.getContext("2d");
    c.drawImage(canvas, 0, 0);
    c.drawImage(overlay, 0, 0);
    return out.toDataURL("image/png");
  }
  pngBtn.addEventListener("click", () => {
    const a = el("a", { href: exportPng(), download: "mosaic.png" });
    a.click();
  });

  cmapSel.addEventListener("change", () => { model.set("cmap", cmapSel.value); model.save_changes(); });
  stretchSel.addEventListener("change", () => { model.set("stretch", stretchSel.value); model.save_changes(); });
  limitSel.addEventListener("change", () => { model.set("limits", limitSel.value); model.save_changes(); });
  for (const inp of [vminIn, vmaxIn]) {
    inp.addEventListener("change", () => {
      model.set("vmin", Number(vminIn.value));
      model.set("vmax", Number(vmaxIn.value));
      model.set("limits", "manual");
      model.save_changes();
    });
  }

  function buildExtensions() {
    ext.replaceChildren();
    for (const name of model.get("extensions")) {
      const b = el("button", { textContent: name, className: "oda-mosaic-btn", testid: `mosaic-ext-${name}` });
      if (name === model.get("extension")) b.classList.add("oda-active");
      b.addEventListener("click", () => { model.set("extension", name); model.save_changes(); });
      ext.append(b);
    }
  }

  const onStyle = () => {
    cmapSel.value = model.get("cmap");
    stretchSel.value = model.get("stretch");
    limitSel.value = model.get("limits");
    timed(() => { recolor(); draw(); });
  };
  const onImage = () => { timed(() => { loadImage(); recolor(); draw(); }); };
  const onOverlay = () => drawOverlay();
  const onMsg = (msg) => {
    if (msg && msg.type === "export_png") model.send({ type: "png", request: msg.request, data: exportPng() });
  };
  const handlers = [
    ["change:cmap change:stretch change:limits change:vmin change:vmax", onStyle],
    ["change:image", onImage],
    ["change:sources change:visible_ids change:selected_ids change:active_id change:wcs", onOverlay],
    ["change:extensions change:extension", buildExtensions],
    ["msg:custom", onMsg],
  ];
  for (const [ev, fn] of handlers) model.on(ev, fn);
  const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => { if (size()) { fit(); draw(); } }) : null;
  if (ro) ro.observe(stage);

  size();
  buildExtensions();
  onImage();
  requestCut();
  return () => {
    for (const [ev, fn] of handlers) model.off(ev, fn);
    if (ro) ro.disconnect();
    clearTimeout(viewTimer);
  };
}

export default { render };
