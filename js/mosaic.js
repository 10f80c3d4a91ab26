// Mosaic viewer front end (anywidget ES module, self-contained: no imports).
//
// The image arrives once as float32 bytes ({value, dtype, shape, x0, y0, dx, dy}); colour map,
// stretch and limits are applied here on a canvas, so changing them sends no pixels.
// Pure helpers are exported for `node --test js/tests/`.

// ---------------------------------------------------------------------------------------------
// Colour maps: matplotlib's 256-entry tables (RGB hex, 6 characters per entry); gray is a ramp.
const TABLES = {
  viridis:
    "44015444025645045745055946075a46085c460a5d460b5e470d60470e6147106347116447136548146748166848176948186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f854240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f881fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad8128ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc743fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc8635ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21ad8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725",
  inferno:
    "00000401000501010601010802010a02020c02020e03021004031204031405041706041907051b08051d09061f0a07220b07240c08260d08290e092b10092d110a30120a32140b34150b37160b39180c3c190c3e1b0c411c0c431e0c451f0c48210c4a230c4c240c4f260c51280b53290b552b0b572d0b592f0a5b310a5c320a5e340a5f3609613809623909633b09643d09653e0966400a67420a68440a68450a69470b6a490b6a4a0c6b4c0c6b4d0d6c4f0d6c510e6c520e6d540f6d550f6d57106e59106e5a116e5c126e5d126e5f136e61136e62146e64156e65156e67166e69166e6a176e6c186e6d186e6f196e71196e721a6e741a6e751b6e771c6d781c6d7a1d6d7c1d6d7d1e6d7f1e6c801f6c82206c84206b85216b87216b88226a8a226a8c23698d23698f24699025689225689326679526679727669827669a28659b29649d29649f2a63a02a63a22b62a32c61a52c60a62d60a82e5fa92e5eab2f5ead305dae305cb0315bb1325ab3325ab43359b63458b73557b93556ba3655bc3754bd3853bf3952c03a51c13a50c33b4fc43c4ec63d4dc73e4cc83f4bca404acb4149cc4248ce4347cf4446d04545d24644d34743d44842d54a41d74b3fd84c3ed94d3dda4e3cdb503bdd513ade5238df5337e05536e15635e25734e35933e45a31e55c30e65d2fe75e2ee8602de9612bea632aeb6429eb6628ec6726ed6925ee6a24ef6c23ef6e21f06f20f1711ff1731df2741cf3761bf37819f47918f57b17f57d15f67e14f68013f78212f78410f8850ff8870ef8890cf98b0bf98c0af98e09fa9008fa9207fa9407fb9606fb9706fb9906fb9b06fb9d07fc9f07fca108fca309fca50afca60cfca80dfcaa0ffcac11fcae12fcb014fcb216fcb418fbb61afbb81dfbba1ffbbc21fbbe23fac026fac228fac42afac62df9c72ff9c932f9cb35f8cd37f8cf3af7d13df7d340f6d543f6d746f5d949f5db4cf4dd4ff4df53f4e156f3e35af3e55df2e661f2e865f2ea69f1ec6df1ed71f1ef75f1f179f2f27df2f482f3f586f3f68af4f88ef5f992f6fa96f8fb9af9fc9dfafda1fcffa4",
  magma:
    "00000401000501010601010802010902020b02020d03030f03031204041405041606051806051a07061c08071e0907200a08220b09240c09260d0a290e0b2b100b2d110c2f120d31130d34140e36150e38160f3b180f3d19103f1a10421c10441d11471e114920114b21114e22115024125325125527125829115a2a115c2c115f2d11612f116331116533106734106936106b38106c390f6e3b0f703d0f713f0f72400f74420f75440f764510774710784910784a10794c117a4e117b4f127b51127c52137c54137d56147d57157e59157e5a167e5c167f5d177f5f187f601880621980641a80651a80671b80681c816a1c816b1d816d1d816e1e81701f81721f817320817521817621817822817922827b23827c23827e24828025828125818326818426818627818827818928818b29818c29818e2a81902a81912b81932b80942c80962c80982d80992d809b2e7f9c2e7f9e2f7fa02f7fa1307ea3307ea5317ea6317da8327daa337dab337cad347cae347bb0357bb2357bb3367ab5367ab73779b83779ba3878bc3978bd3977bf3a77c03a76c23b75c43c75c53c74c73d73c83e73ca3e72cc3f71cd4071cf4070d0416fd2426fd3436ed5446dd6456cd8456cd9466bdb476adc4869de4968df4a68e04c67e24d66e34e65e44f64e55064e75263e85362e95462ea5661eb5760ec5860ed5a5fee5b5eef5d5ef05f5ef1605df2625df2645cf3655cf4675cf4695cf56b5cf66c5cf66e5cf7705cf7725cf8745cf8765cf9785df9795df97b5dfa7d5efa7f5efa815ffb835ffb8560fb8761fc8961fc8a62fc8c63fc8e64fc9065fd9266fd9467fd9668fd9869fd9a6afd9b6bfe9d6cfe9f6dfea16efea36ffea571fea772fea973feaa74feac76feae77feb078feb27afeb47bfeb67cfeb77efeb97ffebb81febd82febf84fec185fec287fec488fec68afec88cfeca8dfecc8ffecd90fecf92fed194fed395fed597fed799fed89afdda9cfddc9efddea0fde0a1fde2a3fde3a5fde5a7fde7a9fde9aafdebacfcecaefceeb0fcf0b2fcf2b4fcf4b6fcf6b8fcf7b9fcf9bbfcfbbdfcfdbf",
  cubehelix:
    "0000000201020301030502050702060803080a030a0b040c0c050e0e050f0f0611100713110815120817130919140a1b150b1d160c1f160d21170e23180f2518102719112919122b19132d1a142f1a16311a17331a18351b1a361b1b381b1c3a1b1e3b1b1f3d1a213e1a22401a24411a25431a2744192845192a46192c47192d48182f4918314a18324b17344c17364c17374d16394d163b4e163d4e163f4e16404e15424e15444f15464e15474e15494e154b4e154d4e154e4d15504d15524c16534c16554b16574b17584a175a49185b48195d48195e471a60461b61451c63441d64431e65421f674120684022693f236a3e256b3d266c3c286d3b2a6e3a2b6f392d70382f71373172363373353574353874343a75333c76323f76324177314477314678304978304c792f4e792f51792f54792f577a2f5a7a2f5d7a2f607a2f637a2f667a30697b306c7b316f7b31727b32757b33787b347b7a357e7a36817a37847a38877a3a8a7a3b8d7a3d907a3e937a40967a429979449c79469f7948a1794aa4794ca7794fa97951ac7954ae7956b17959b3795bb5795eb77961b97964bc7967be796abf796dc17a70c37a73c57a76c67a79c87b7cc97b7fca7c83cc7c86cd7d89ce7d8ccf7e8fd07e93d17f96d18099d2809cd381a0d382a3d383a6d484a9d485acd486afd487b2d588b5d589b8d48abbd48cbed48dc1d48ec3d490c6d391c9d392cbd294ced295d0d297d2d198d4d09ad7d09cd9cf9ddbcf9fddcea1dfcda2e0cca4e2cca6e4cba8e5caa9e7caabe8c9ade9c8afeac8b1ecc7b2edc6b4eec6b6eec5b8efc5baf0c4bcf1c4bdf1c3bff2c3c1f2c2c3f2c2c5f3c2c6f3c2c8f3c1caf3c1ccf3c1cdf3c1cff3c1d1f3c2d2f3c2d4f3c2d6f3c2d7f3c3d9f3c3daf2c4dcf2c4ddf2c5dff2c6e0f1c6e1f1c7e3f1c8e4f0c9e5f0cae7f0cbe8f0cce9efcdeaefcfebefd0ecefd1edefd3eeefd4efefd6f0efd7f1efd9f2efdbf3efdcf3efdef4efe0f5f0e2f6f0e3f6f0e5f7f1e7f8f1e9f8f2ebf9f3edfaf4effaf4f0fbf5f2fbf6f4fcf7f6fcf8f8fdfafafdfbfbfefcfdfefeffffff",
  gray: null,
};
export const COLORMAPS = Object.keys(TABLES);
export const STRETCHES = ["linear", "sqrt", "log", "asinh"];
export const LIMITS = ["minmax", "99.5", "99", "zscale", "manual"];

/** 256×RGB table (Uint8Array of 768) of a named colour map. */
export function colormapTable(name) {
  if (!(name in TABLES)) throw new Error(`unknown colour map ${name}`);
  const out = new Uint8Array(768);
  const hex = TABLES[name];
  for (let i = 0; i < 768; i++) out[i] = hex === null ? Math.floor(i / 3) : parseInt(hex.slice(2 * i, 2 * i + 2), 16);
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

/**
 * Paint the view at screen resolution: each of the W×H screen pixels takes the colour of the data
 * pixel under its centre (nearest neighbour), so the cost follows the canvas, not the mosaic.
 * `cut` = {x0, y0, dx, dy}: the array's pixel (i, j) covers edge coordinates
 * [x0 + i·dx, x0 + (i+1)·dx) × [y0 + j·dy, …); `view` = {W, H, s, ox, oy}: screen x = ox + u·s,
 * screen y = oy − v·s (FITS row 0 at the bottom). NaN and off-image pixels are transparent.
 * `out` is a Uint32Array of W·H packed RGBA (little-endian).
 */
export function paintView(data, nx, ny, cut, view, lo, hi, lut, out) {
  const { W, H, s, ox, oy } = view;
  const { x0, y0, dx, dy } = cut;
  const n1 = LUT_SIZE - 1;
  const scale = hi > lo ? n1 / (hi - lo) : 0;
  const cols = new Int32Array(W);
  for (let sx = 0; sx < W; sx++) {
    const i = Math.floor(((sx + 0.5 - ox) / s - x0) / dx);
    cols[sx] = i >= 0 && i < nx ? i : -1;
  }
  for (let sy = 0; sy < H; sy++) {
    const j = Math.floor(((oy - sy - 0.5) / s - y0) / dy);
    const dst = sy * W;
    if (j < 0 || j >= ny) { out.fill(0, dst, dst + W); continue; }
    const src = j * nx;
    for (let sx = 0; sx < W; sx++) {
      const i = cols[sx];
      if (i < 0) { out[dst + sx] = 0; continue; }
      const v = data[src + i];
      if (v !== v) { out[dst + sx] = 0; continue; } // NaN: transparent
      let k = ((v - lo) * scale) | 0;
      if (k < 0) k = 0; else if (k > n1) k = n1;
      out[dst + sx] = lut[k];
    }
  }
  return out;
}

/** Up to `max` finite values taken at a regular stride (unsorted; a fresh Float32Array). */
export function finiteSample(data, max = 200000) {
  const stride = Math.max(1, Math.ceil(data.length / max));
  const tmp = new Float32Array(Math.ceil(data.length / stride));
  let n = 0;
  for (let i = 0; i < data.length; i += stride) {
    const v = data[i];
    if (v === v && v !== Infinity && v !== -Infinity) tmp[n++] = v;
  }
  return tmp.slice(0, n);
}

// k-th smallest of a (reordered in place; Hoare quickselect), leaving a[0..k-1] <= a[k] <= a[k+1..].
function selectK(a, k) {
  let l = 0, r = a.length - 1;
  while (r > l) {
    const pivot = a[(l + r) >> 1];
    let i = l, j = r;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) { const t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (k <= j) r = j; else if (k >= i) l = i; else break;
  }
  return a[k];
}

/** numpy-style (linear) percentile, p in [0, 100], of finite values (any order; reordered in place). */
export function percentile(values, p) {
  const n = values.length;
  if (!n) return NaN;
  const pos = (p / 100) * (n - 1);
  const k = Math.floor(pos);
  const f = pos - k;
  const a = selectK(values, k);
  if (f === 0 || k + 1 >= n) return a;
  let b = Infinity;
  for (let i = k + 1; i < n; i++) if (values[i] < b) b = values[i];
  return a * (1 - f) + b * f;
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

/** [lo, hi] for a limits mode from finite samples (any order; the array may be reordered). */
export function computeLimits(sample, mode, manual = [NaN, NaN]) {
  if (!sample.length) return [0, 1];
  switch (mode) {
    case "minmax": {
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < sample.length; i++) { const v = sample[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
      return [lo, hi];
    }
    case "99": return [percentile(sample, 0.5), percentile(sample, 99.5)];
    case "99.5": return [percentile(sample, 0.25), percentile(sample, 99.75)];
    case "zscale": {
      // zscale looks at ~1000 samples, as astropy's default
      const step = Math.max(1, Math.floor(sample.length / 1000));
      const sub = [];
      for (let i = 0; i < sample.length; i += step) sub.push(sample[i]);
      return zscale(Float64Array.from(sub).sort());
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
    screen: null, lut: null,
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

  // per-step timings of the last draw, for benchmarks/mosaic_catalog.py
  const steps = {};
  function step(name, t0) { steps[name] = +(performance.now() - t0).toFixed(2); return performance.now(); }

  function loadImage() {
    const img = model.get("image");
    if (!img || !img.value) { st.data = null; return; }
    let t = performance.now();
    st.data = decodeArray(img);
    t = step("decode", t);
    [st.ny, st.nx] = img.shape;
    st.cut = { x0: img.x0 || 0, y0: img.y0 || 0, dx: img.dx || 1, dy: img.dy || 1 };
    const full = img.full_shape || img.shape;
    const newFull = full[0] !== st.full[0] || full[1] !== st.full[1];
    st.full = [full[0], full[1]];
    // remote cuts keep the limits of the whole-image cut so panning does not flicker the colours
    // a cut of the same image keeps its limits (no flicker while panning); a new extension does not
    if (!img.cut || !st.sample || newFull || img.extension !== st.extension) {
      st.extension = img.extension;
      st.sample = finiteSample(st.data);
      st.limitsCache = {};
    }
    step("sample", t);
    if (newFull || !st.fitted) fit();
  }

  function recolor() {
    if (!st.data) return;
    const mode = model.get("limits");
    let t = performance.now();
    // limits depend on the image only: computed once per image and mode
    if (mode === "manual") st.limits = [model.get("vmin"), model.get("vmax")];
    else st.limits = st.limitsCache[mode] || (st.limitsCache[mode] = computeLimits(st.sample, mode));
    t = step("limits", t);
    if (mode !== "manual") {
      vminIn.value = Number(st.limits[0]).toPrecision(4);
      vmaxIn.value = Number(st.limits[1]).toPrecision(4);
    }
    st.lut = colorLut(model.get("cmap"), model.get("stretch"));
    step("lut", t);
  }

  function draw() {
    const t = performance.now();
    const ctx = canvas.getContext("2d");
    if (!st.screen || st.screen.width !== st.W || st.screen.height !== st.H) st.screen = ctx.createImageData(st.W, st.H);
    const out = new Uint32Array(st.screen.data.buffer);
    if (st.data && st.lut) {
      paintView(st.data, st.nx, st.ny, st.cut, { W: st.W, H: st.H, s: st.s, ox: st.ox, oy: st.oy },
        st.limits[0], st.limits[1], st.lut, out);
    } else out.fill(0);
    ctx.putImageData(st.screen, 0, 0);
    step("paint", t);
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
    root.dataset.steps = JSON.stringify(steps);
  }

  // -- catalog overlay ----------------------------------------------------------------------
  // Source pixel positions are projected once per catalog/WCS; id sets are rebuilt only when the
  // id lists change, so a slider step costs one pass over the sources and a few batched strokes.
  const ov = { src: null, wcs: null, px: null, visRef: null, vis: null, selRef: null, sel: null };
  const LABEL_LIMIT = 200;

  function projected() {
    const src = model.get("sources") || {};
    const wcs = model.get("wcs");
    if (!src.ra || !wcs || !wcs.cd) return null;
    if (ov.src !== src || ov.wcs !== wcs) {
      ov.src = src; ov.wcs = wcs;
      ov.px = new Float64Array(2 * src.ra.length);
      for (let k = 0; k < src.ra.length; k++) {
        const [x, y] = worldToPixel(wcs, src.ra[k], src.dec[k]);
        ov.px[2 * k] = x; ov.px[2 * k + 1] = y;
      }
    }
    const vis = model.get("visible_ids"), sel = model.get("selected_ids");
    if (ov.visRef !== vis) { ov.visRef = vis; ov.vis = new Set(vis); }
    if (ov.selRef !== sel) { ov.selRef = sel; ov.sel = new Set(sel); }
    return src;
  }

  function sourcesOnScreen() {
    const src = projected();
    if (!src) return [];
    const out = [];
    for (let k = 0; k < src.ra.length; k++) {
      const id = src.ids[k];
      if (!ov.vis.has(id)) continue;
      const x = ov.px[2 * k], y = ov.px[2 * k + 1];
      if (!Number.isFinite(x)) continue;
      const sx = st.ox + (x + 0.5) * st.s, sy = st.oy - (y + 0.5) * st.s;
      if (sx < -20 || sy < -20 || sx > st.W + 20 || sy > st.H + 20) continue;
      out.push({ id, k, isNew: !!src.new[k], selected: ov.sel.has(id), sx, sy });
    }
    return out;
  }

  const STYLE = { known: "#00e5ff", new: "#ff5fd2", active: "#ffff00" };

  function drawOverlay() {
    const t0 = performance.now();
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, st.W, st.H);
    const active = model.get("active_id");
    const shown = sourcesOnScreen();
    root.dataset.overlayCount = String(shown.length);
    // four batched paths: known/NEW × selected/not; NEW sources dashed and pink
    for (const isNew of [false, true]) {
      for (const selected of [false, true]) {
        ctx.beginPath();
        for (const p of shown) {
          if (p.isNew !== isNew || p.selected !== selected || p.id === active) continue;
          ctx.moveTo(p.sx + 8, p.sy);
          ctx.arc(p.sx, p.sy, 8, 0, 2 * Math.PI);
        }
        ctx.setLineDash(isNew ? [4, 3] : []);
        ctx.lineWidth = selected ? 2 : 1;
        ctx.globalAlpha = selected ? 1 : 0.55;
        ctx.strokeStyle = isNew ? STYLE.new : STYLE.known;
        ctx.stroke();
      }
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    ctx.font = "12px sans-serif";
    const names = (model.get("sources") || {}).names || [];
    const crowded = shown.length > LABEL_LIMIT;
    for (const p of shown) {
      const isActive = p.id === active;
      if (isActive) {
        ctx.beginPath();
        ctx.arc(p.sx, p.sy, 11, 0, 2 * Math.PI);
        ctx.lineWidth = 3;
        ctx.strokeStyle = STYLE.active;
        ctx.stroke();
      }
      // labels only when they can be read (or for the highlighted source)
      if (!crowded || isActive) {
        // a dark outline keeps labels readable on any colour map
        ctx.lineWidth = 3;
        ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
        ctx.strokeText(names[p.k], p.sx + 10, p.sy - 10);
        ctx.fillStyle = isActive ? STYLE.active : p.isNew ? STYLE.new : STYLE.known;
        ctx.fillText(names[p.k], p.sx + 10, p.sy - 10);
      }
    }
    overlay.dataset.positions = JSON.stringify(shown.map((p) => [p.id, Math.round(p.sx), Math.round(p.sy)]));
    root.dataset.overlayMs = (performance.now() - t0).toFixed(2);
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
  // A slider step changes visible_ids and selected_ids one after the other (and links echo them):
  // draw the overlay once, just before the next frame, rather than once per change.
  let overlayPending = false;
  const onOverlay = () => {
    if (overlayPending) return;
    overlayPending = true;
    const later = typeof requestAnimationFrame === "function" ? requestAnimationFrame : (f) => setTimeout(f, 0);
    later(() => { overlayPending = false; drawOverlay(); });
  };
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
