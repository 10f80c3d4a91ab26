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
// Celestial WCS (FITS WCS papers I and II): pixel → intermediate world coordinates through the
// linear matrix, → native spherical (φ, θ) through the projection, → celestial (lon, lat) through
// the spherical rotation. Python (astropy/wcslib) sends everything that needs wcslib's rules —
// the Euler angles of the rotation (LONPOLE/LATPOLE resolved), the projection's PV parameters and
// fiducial offset — so only the closed-form projection formulas live here. Pixels are 0-based as
// astropy's pixel_to_world; angles in degrees.
// `wcs` = {crpix: [c1, c2] (1-based), cd: [[..],[..]] (deg/px), proj: "TAN", pv: [..],
//          euler: [αp, 90°−δp, φp, cos(90°−δp), sin(90°−δp)], offset: [x0, y0] | null}.
const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const R0 = R2D;   // the projections' sphere radius: intermediate coordinates in degrees
const sind = (a) => Math.sin(a * D2R);
const cosd = (a) => Math.cos(a * D2R);

// Each projection: x2s(X, Y) → [φ, θ] (NaN outside its domain), s2x(φ, θ) → [X, Y] (NaN where
// the point has no image), and its fiducial native latitude θ0.
function zenithal(thetaOfR, rOfTheta) {
  return {
    theta0: 90,
    x2s(X, Y) {
      const r = Math.hypot(X, Y);
      const phi = r === 0 ? 0 : Math.atan2(X, -Y) * R2D;
      return [phi, thetaOfR(r)];
    },
    s2x(phi, theta) {
      const r = rOfTheta(theta);
      return [r * sind(phi), -r * cosd(phi)];
    },
  };
}

function cylindrical(yOfTheta, thetaOfY) {
  return {
    theta0: 0,
    x2s(X, Y) { return Math.abs(X) > 180 ? [NaN, NaN] : [X, thetaOfY(Y)]; },
    s2x(phi, theta) { return [phi, yOfTheta(theta)]; },
  };
}

/** The projection named by the FITS code (`TAN`, `SIN`, ...), with its PV2_m parameters. */
export function projection(code, pv = []) {
  switch (code) {
    case "TAN": return zenithal((r) => Math.atan2(R0, r) * R2D, (t) => (t <= 0 ? NaN : R0 * cosd(t) / sind(t)));
    case "SIN": {
      if ((pv[1] || 0) !== 0 || (pv[2] || 0) !== 0) return null; // slant orthographic: not here
      return zenithal((r) => (r > R0 ? NaN : Math.acos(r / R0) * R2D), (t) => (t < 0 ? NaN : R0 * cosd(t)));
    }
    case "ARC": return zenithal((r) => (r > 180 ? NaN : 90 - r), (t) => 90 - t);
    case "ZEA": return zenithal((r) => (r > 2 * R0 ? NaN : 90 - 2 * Math.asin(r / (2 * R0)) * R2D),
      (t) => 2 * R0 * sind((90 - t) / 2));
    case "STG": return zenithal((r) => 90 - 2 * Math.atan(r / (2 * R0)) * R2D,
      (t) => (t <= -90 ? NaN : 2 * R0 * Math.tan(((90 - t) / 2) * D2R)));
    case "CAR": return cylindrical((t) => t, (y) => (Math.abs(y) > 90 ? NaN : y));
    case "MER": return cylindrical((t) => (Math.abs(t) >= 90 ? NaN : R0 * Math.log(Math.tan(((90 + t) / 2) * D2R))),
      (y) => 2 * Math.atan(Math.exp(y / R0)) * R2D - 90);
    case "CEA": {
      const lambda = pv[1] || 1;
      return cylindrical((t) => (R0 * sind(t)) / lambda,
        (y) => { const s = (lambda * y) / R0; return Math.abs(s) > 1 ? NaN : Math.asin(s) * R2D; });
    }
    case "SFL": return {
      theta0: 0,
      x2s(X, Y) {
        if (Math.abs(Y) > 90) return [NaN, NaN];
        const c = cosd(Y);
        const phi = c === 0 ? 0 : X / c;
        return Math.abs(phi) > 180 ? [NaN, NaN] : [phi, Y];
      },
      s2x(phi, theta) { return [phi * cosd(theta), theta]; },
    };
    case "MOL": return {
      theta0: 0,
      x2s(X, Y) {
        const s = Y / (Math.SQRT2 * R0);
        if (Math.abs(s) > 1) return [NaN, NaN];
        const g = Math.asin(s);
        const c = Math.cos(g);
        const phi = c === 0 ? 0 : (Math.PI * X) / (2 * Math.SQRT2 * c);
        const z = (2 * g + Math.sin(2 * g)) / Math.PI;
        if (Math.abs(phi) > 180 || Math.abs(z) > 1) return [NaN, NaN];
        return [phi, Math.asin(z) * R2D];
      },
      s2x(phi, theta) {
        // γ solves 2γ + sin 2γ = π sin θ (Newton; a few steps reach 1e-12)
        const target = Math.PI * sind(theta);
        let g = theta * D2R;
        for (let i = 0; i < 50 && Math.abs(theta) < 90; i++) {
          const f = 2 * g + Math.sin(2 * g) - target;
          const d = 2 + 2 * Math.cos(2 * g);
          if (d === 0) break;
          const step = f / d;
          g -= step;
          if (Math.abs(step) < 1e-13) break;
        }
        if (Math.abs(theta) >= 90) g = Math.sign(theta) * Math.PI / 2;
        return [((2 * Math.SQRT2) / Math.PI) * phi * Math.cos(g), Math.SQRT2 * R0 * Math.sin(g)];
      },
    };
    case "AIT": return {
      theta0: 0,
      x2s(X, Y) {
        const u = X / (4 * R0), v = Y / (2 * R0);
        const z2 = 1 - u * u - v * v;
        if (z2 < 0.5 - 1e-12) return [NaN, NaN];
        const z = Math.sqrt(z2);
        return [2 * Math.atan2((z * X) / (2 * R0), 2 * z2 - 1) * R2D, Math.asin(Math.min(1, Math.max(-1, (Y * z) / R0))) * R2D];
      },
      s2x(phi, theta) {
        const g = R0 * Math.sqrt(2 / (1 + cosd(theta) * cosd(phi / 2)));
        return [2 * g * cosd(theta) * sind(phi / 2), g * sind(theta)];
      },
    };
    default: return null;
  }
}

/** Projection codes the browser draws grids and read-outs for (others fall back to pixels). */
export const PROJECTIONS = ["TAN", "SIN", "ARC", "ZEA", "STG", "CAR", "MER", "CEA", "SFL", "MOL", "AIT"];

// The Euler angles of a WCS dict; a TAN dict of the first version (crval only) gets wcslib's
// defaults for a zenithal projection: LONPOLE 180°, so αp = α0, δp = δ0.
function eulerOf(wcs) {
  if (wcs.euler) return wcs.euler;
  const [a0, d0] = wcs.crval;
  return [a0, 90 - d0, 180, sind(d0), cosd(d0)];
}

const wcsCache = new WeakMap();
function compiled(wcs) {
  let c = wcsCache.get(wcs);
  if (c) return c;
  const prj = projection(wcs.proj || "TAN", wcs.pv || []);
  const [[a11, a12], [a21, a22]] = wcs.cd;
  const det = a11 * a22 - a12 * a21;
  const e = eulerOf(wcs);
  let off = [0, 0];
  if (prj && wcs.offset) off = wcs.offset;
  c = { prj, a11, a12, a21, a22, det, e, off };
  wcsCache.set(wcs, c);
  return c;
}

/** [lon, lat] in degrees of 0-based pixel (x, y); NaNs outside the projection's domain. */
export function pixelToWorld(wcs, x, y) {
  const c = compiled(wcs);
  if (!c.prj) return [NaN, NaN];
  const dx = x + 1 - wcs.crpix[0], dy = y + 1 - wcs.crpix[1];
  const X = c.a11 * dx + c.a12 * dy + c.off[0], Y = c.a21 * dx + c.a22 * dy + c.off[1];
  const [phi, theta] = c.prj.x2s(X, Y);
  if (!Number.isFinite(phi) || !Number.isFinite(theta)) return [NaN, NaN];
  // native → celestial (paper II eq. 2)
  const [ap, , pp, sdp, cdp] = c.e;
  const ct = cosd(theta), st = sind(theta), dphi = (phi - pp) * D2R;
  // atan2 of the rotated unit vector's components keeps full precision near the poles (asin does not)
  const u = -ct * Math.sin(dphi), v = st * cdp - ct * sdp * Math.cos(dphi);
  let lon = ap + Math.atan2(u, v) * R2D;
  const lat = Math.atan2(st * sdp + ct * cdp * Math.cos(dphi), Math.hypot(u, v)) * R2D;
  lon = ((lon % 360) + 360) % 360;
  return [lon, lat];
}

/** 0-based pixel [x, y] of a sky position in degrees; NaNs where the projection has no image. */
export function worldToPixel(wcs, lon, lat) {
  const c = compiled(wcs);
  if (!c.prj) return [NaN, NaN];
  // celestial → native (paper II eq. 5)
  const [ap, , pp, sdp, cdp] = c.e;
  const cl = cosd(lat), sl = sind(lat), da = (lon - ap) * D2R;
  const u = -cl * Math.sin(da), v = sl * cdp - cl * sdp * Math.cos(da);
  let phi = pp + Math.atan2(u, v) * R2D;
  const theta = Math.atan2(sl * sdp + cl * cdp * Math.cos(da), Math.hypot(u, v)) * R2D;
  phi = ((((phi + 180) % 360) + 360) % 360) - 180;
  const [X0, Y0] = c.prj.s2x(phi, theta);
  if (!Number.isFinite(X0) || !Number.isFinite(Y0)) return [NaN, NaN];
  const X = X0 - c.off[0], Y = Y0 - c.off[1];
  const dx = (c.a22 * X - c.a12 * Y) / c.det;
  const dy = (-c.a21 * X + c.a11 * Y) / c.det;
  return [dx + wcs.crpix[0] - 1, dy + wcs.crpix[1] - 1];
}

// ---------------------------------------------------------------------------------------------
// Coordinate grid: spacing chosen for the visible extent (as WCSAxes/ds9 do: round sexagesimal
// steps for RA/Dec, 1-2-5 decimal steps otherwise), lines sampled in the sky and projected.

const H = 15, M = 0.25, S = 1 / 240;                  // RA: an hour, a minute, a second in degrees
const D = 1, AM = 1 / 60, AS = 1 / 3600;              // Dec: degree, arcminute, arcsecond
export const RA_STEPS = [6 * H, 4 * H, 3 * H, 2 * H, H, 30 * M, 20 * M, 15 * M, 10 * M, 5 * M, 2 * M, M,
  30 * S, 20 * S, 15 * S, 10 * S, 5 * S, 2 * S, S, 0.5 * S, 0.2 * S, 0.1 * S];
export const DEC_STEPS = [45, 30, 20, 15, 10, 5, 2, D, 30 * AM, 20 * AM, 15 * AM, 10 * AM, 5 * AM, 2 * AM, AM,
  30 * AS, 20 * AS, 15 * AS, 10 * AS, 5 * AS, 2 * AS, AS, 0.5 * AS, 0.2 * AS, 0.1 * AS];

function decimalSteps() {
  const out = [90, 45, 30];
  for (let e = 1; e >= -6; e--) for (const m of [5, 2, 1]) out.push(m * 10 ** e);
  return out.filter((v) => v <= 30 || v === 45 || v === 90);
}
const DECIMAL_STEPS = decimalSteps();

/**
 * The grid spacing (degrees) for a coordinate spanning `extent` degrees: the smallest round step
 * giving at most `maxLines` lines. `kind` = "ra" (hours/minutes/seconds of time), "dec"
 * (degrees/arcmin/arcsec) or "deg" (decimal degrees).
 */
export function gridSpacing(extent, kind, maxLines = 6) {
  const steps = kind === "ra" ? RA_STEPS : kind === "dec" ? DEC_STEPS : DECIMAL_STEPS;
  let best = steps[0];
  for (const s of steps) {
    if (extent / s <= maxLines) best = s; else break;
  }
  return best;
}

function fixed(v, digits) { return digits > 0 ? v.toFixed(digits) : String(Math.round(v)); }
function decimalsOf(step) { return Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)); }

/** Label of an RA grid line: as many sexagesimal fields as the spacing needs ("17h45m", "17h45m40s"). */
export function formatRaLabel(ra, step) {
  const sec = ((((ra % 360) + 360) % 360) / 15) * 3600;   // seconds of time
  const digits = step < S ? decimalsOf(step / S) : 0;
  const unit = 10 ** digits;
  let n = Math.round(sec * unit) % (86400 * unit);
  const h = Math.floor(n / (3600 * unit)); n -= h * 3600 * unit;
  const m = Math.floor(n / (60 * unit)); n -= m * 60 * unit;
  const s = n / unit;
  if (step >= H - 1e-9) return `${h}h`;
  if (step >= M - 1e-9) return `${h}h${pad(m, 2)}m`;
  return `${h}h${pad(m, 2)}m${digits ? s.toFixed(digits).padStart(3 + digits, "0") : pad(Math.round(s), 2)}s`;
}

/** Label of a Dec grid line ("−29°", "−29°30′", "−29°30′15″"). */
export function formatDecLabel(dec, step) {
  const sign = dec < -1e-12 ? "\u2212" : dec > 1e-12 ? "+" : "";
  const digits = step < AS ? decimalsOf(step / AS) : 0;
  const unit = 10 ** digits;
  let n = Math.round(Math.abs(dec) * 3600 * unit);
  const d = Math.floor(n / (3600 * unit)); n -= d * 3600 * unit;
  const m = Math.floor(n / (60 * unit)); n -= m * 60 * unit;
  const s = n / unit;
  if (step >= D - 1e-9) return `${sign}${d}°`;
  if (step >= AM - 1e-9) return `${sign}${d}°${pad(m, 2)}\u2032`;
  return `${sign}${d}°${pad(m, 2)}\u2032${digits ? s.toFixed(digits).padStart(3 + digits, "0") : pad(Math.round(s), 2)}\u2033`;
}

/** Label of a decimal-degree grid line (galactic, ecliptic, ...): "12.5°". */
export function formatDegLabel(v, step) {
  return `${fixed(v, decimalsOf(step))}°`;
}

/**
 * Grid lines and edge labels for the view. `view` = {s, ox, oy} (screen x = ox + (x+0.5)·s,
 * screen y = oy − (y+0.5)·s), `clip` = {x0, y0, x1, y1} the screen rectangle to cover (the image
 * on screen), `sexagesimal`: RA/Dec labels. Returns {lonStep, latStep, lines: [{axis, value,
 * segments: [[sx, sy, ...], ...]}], labels: [{axis, value, text, sx, sy, edge}]}.
 */
export function gridLines(wcs, view, clip, { sexagesimal = true, samples = 96, maxLines = 6 } = {}) {
  const toScreen = (lon, lat) => {
    const [x, y] = worldToPixel(wcs, lon, lat);
    return [view.ox + (x + 0.5) * view.s, view.oy - (y + 0.5) * view.s];
  };
  const toWorld = (sx, sy) => pixelToWorld(wcs, (sx - view.ox) / view.s - 0.5, (view.oy - sy) / view.s - 0.5);
  const empty = { lonStep: NaN, latStep: NaN, lines: [], labels: [] };
  if (!(clip.x1 > clip.x0 && clip.y1 > clip.y0)) return empty;
  // the sky in view: a grid of screen points over the clip rectangle
  const N = 24;
  const pts = [];
  for (let i = 0; i <= N; i++) {
    for (let j = 0; j <= N; j++) {
      const [lon, lat] = toWorld(clip.x0 + ((clip.x1 - clip.x0) * i) / N, clip.y0 + ((clip.y1 - clip.y0) * j) / N);
      if (Number.isFinite(lon)) pts.push([lon, lat]);
    }
  }
  if (!pts.length) return empty;
  const [cx, cy] = toWorld((clip.x0 + clip.x1) / 2, (clip.y0 + clip.y1) / 2);
  const lonC = Number.isFinite(cx) ? cx : pts[0][0];
  let dmin = Infinity, dmax = -Infinity, latMin = Infinity, latMax = -Infinity;
  for (const [lon, lat] of pts) {
    const d = ((((lon - lonC + 180) % 360) + 360) % 360) - 180;
    dmin = Math.min(dmin, d); dmax = Math.max(dmax, d);
    latMin = Math.min(latMin, lat); latMax = Math.max(latMax, lat);
  }
  let lonMin = lonC + dmin, lonMax = lonC + dmax;
  // a pole in view: every longitude meets there
  for (const pole of [90, -90]) {
    const [px, py] = toScreen(lonC, pole);
    if (px >= clip.x0 && px <= clip.x1 && py >= clip.y0 && py <= clip.y1) {
      lonMin = 0; lonMax = 360;
      if (pole > 0) latMax = 90; else latMin = -90;
    }
  }
  if (lonMax - lonMin > 300) { lonMin = 0; lonMax = 360; }
  const lonStep = gridSpacing(lonMax - lonMin, sexagesimal ? "ra" : "deg", maxLines);
  const latStep = gridSpacing(latMax - latMin, sexagesimal ? "dec" : "deg", maxLines);
  // pad by one step so lines reach the edges of the view
  const l0 = lonMin - lonStep, l1 = lonMax + lonStep;
  const b0 = Math.max(-90, latMin - latStep), b1 = Math.min(90, latMax + latStep);
  const maxJump = Math.max(clip.x1 - clip.x0, clip.y1 - clip.y0) / 4;
  function trace(f) {
    const segments = [];
    let seg = [];
    let prev = null;
    for (let k = 0; k <= samples; k++) {
      const [sx, sy] = f(k / samples);
      const ok = Number.isFinite(sx) && Number.isFinite(sy);
      if (!ok || (prev && Math.hypot(sx - prev[0], sy - prev[1]) > maxJump)) {
        if (seg.length >= 4) segments.push(seg);
        seg = [];
        prev = null;
        if (!ok) continue;
      }
      seg.push(sx, sy);
      prev = [sx, sy];
    }
    if (seg.length >= 4) segments.push(seg);
    return segments;
  }
  const lines = [];
  const full = lonMax - lonMin >= 360;
  const lonFirst = Math.ceil(l0 / lonStep) * lonStep;
  const seen = new Set();
  for (let v = lonFirst; v <= l1 + 1e-9; v += lonStep) {
    const lon = ((v % 360) + 360) % 360;
    const key = Math.round(lon / lonStep) % Math.round(360 / lonStep);
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push({ axis: "lon", value: lon, segments: trace((t) => toScreen(lon, b0 + (b1 - b0) * t)) });
  }
  const latFirst = Math.ceil(b0 / latStep) * latStep;
  for (let lat = latFirst; lat <= b1 + 1e-9; lat += latStep) {
    if (Math.abs(lat) >= 90 - 1e-9) continue;
    const a0 = full ? 0 : l0, a1 = full ? 360 : l1;
    lines.push({ axis: "lat", value: lat, segments: trace((t) => toScreen(a0 + (a1 - a0) * t, lat)) });
  }
  // labels where lines cross the clip edges: longitudes on the bottom (else top) edge,
  // latitudes on the left (else right) edge; crowded labels are dropped
  const labels = [];
  const fmtLon = sexagesimal ? formatRaLabel : formatDegLabel;
  const fmtLat = sexagesimal ? formatDecLabel : formatDegLabel;
  for (const line of lines) {
    const edges = line.axis === "lon" ? ["bottom", "top"] : ["left", "right"];
    for (const edge of edges) {
      const hit = crossing(line.segments, edge, clip);
      if (!hit) continue;
      const text = line.axis === "lon" ? fmtLon(line.value, lonStep) : fmtLat(line.value, latStep);
      labels.push({ axis: line.axis, value: line.value, text, sx: hit[0], sy: hit[1], edge });
      break;
    }
  }
  const kept = [];
  for (const lab of labels) {
    const tooClose = kept.some((k) => k.edge === lab.edge && Math.hypot(k.sx - lab.sx, k.sy - lab.sy) < 8 * Math.max(k.text.length, lab.text.length) * 0.8);
    if (!tooClose) kept.push(lab);
  }
  return { lonStep, latStep, lines, labels: kept };
}

// First point where a polyline crosses one edge of the clip rectangle (within the edge's span).
function crossing(segments, edge, clip) {
  const horizontal = edge === "bottom" || edge === "top";
  const level = edge === "bottom" ? clip.y1 : edge === "top" ? clip.y0 : edge === "left" ? clip.x0 : clip.x1;
  let best = null;
  for (const seg of segments) {
    for (let i = 0; i + 3 < seg.length; i += 2) {
      const ax = seg[i], ay = seg[i + 1], bx = seg[i + 2], by = seg[i + 3];
      const a = horizontal ? ay - level : ax - level, b = horizontal ? by - level : bx - level;
      if (a === b || a * b > 0) continue;
      const t = a / (a - b);
      const x = ax + (bx - ax) * t, y = ay + (by - ay) * t;
      const inside = horizontal ? x >= clip.x0 - 0.5 && x <= clip.x1 + 0.5 : y >= clip.y0 - 0.5 && y <= clip.y1 + 0.5;
      if (!inside) continue;
      // the crossing nearest the middle of the edge, so labels stay on the image side
      const mid = horizontal ? Math.abs(x - (clip.x0 + clip.x1) / 2) : Math.abs(y - (clip.y0 + clip.y1) / 2);
      if (!best || mid < best[2]) best = [x, y, mid];
    }
  }
  return best && [best[0], best[1]];
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
// Colour bar: colours run linearly along the bar (the colour map's own scale) and the data values
// sit where the stretch puts them, so the bar shows the stretch (as ds9's colour bar does).

/** Round ("nice") values between lo and hi, about `count` of them (1-2-5 steps). */
export function niceTicks(lo, hi, count = 6) {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Position in [0, 1] along the colour bar of data value v for limits [lo, hi] and a stretch. */
export function colorbarPosition(v, lo, hi, stretch) {
  const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  return stretchFunction(stretch)(t);
}

/**
 * Colour bar ticks: [{value, pos (0..1), text}], labels at least `minGap` of `width` pixels apart.
 * With a non-linear stretch the round values crowd at one end; extra round values from a finer
 * series fill the other end, so the bar stays readable.
 */
export function colorbarTicks(lo, hi, stretch, width, minGap = 48) {
  const candidates = [...niceTicks(lo, hi, 6), ...niceTicks(lo, hi, 24), ...niceTicks(lo, hi, 96)];
  const seen = new Set();
  const ticks = [];
  for (const value of candidates) {
    const key = value.toPrecision(12);
    if (seen.has(key)) continue;
    seen.add(key);
    const pos = colorbarPosition(value, lo, hi, stretch);
    if (ticks.some((t) => Math.abs(t.pos - pos) * width < minGap)) continue;
    ticks.push({ value, pos, text: formatValue(value) });
  }
  return ticks.sort((a, b) => a.pos - b.pos);
}

function formatValue(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace("e+", "e");
  return String(Number(v.toPrecision(4)));
}

// ---------------------------------------------------------------------------------------------
// Keyboard: arrows pan a tenth of the view (Shift: a hundredth), + and − zoom about the centre,
// 0 resets. Pure, for node tests: the new {s, ox, oy}, "reset", or null for other keys.

export const KEY_ZOOM = 1.25;

export function keyAction(key, view, { W, H, shift = false } = {}) {
  const frac = shift ? 0.01 : 0.1;
  const { s, ox, oy } = view;
  const zoom = (k) => {
    const ns = Math.min(64, Math.max(0.02, s * k));
    const f = ns / s;
    // the data point at the centre of the screen stays there
    return { s: ns, ox: W / 2 - (W / 2 - ox) * f, oy: H / 2 + (oy - H / 2) * f };
  };
  switch (key) {
    case "ArrowLeft": return { s, ox: ox + frac * W, oy };     // see what is to the left
    case "ArrowRight": return { s, ox: ox - frac * W, oy };
    case "ArrowUp": return { s, ox, oy: oy + frac * H };
    case "ArrowDown": return { s, ox, oy: oy - frac * H };
    case "+": case "=": return zoom(KEY_ZOOM);
    case "-": case "_": case "\u2212": return zoom(1 / KEY_ZOOM);
    case "0": case "Home": return "reset";
    default: return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Marker shapes (astrowidgets/ipyaladin names) traced into a 2-D context path at (x, y), size r.
export const MARKERS = ["circle", "square", "cross", "plus", "x", "diamond"];

export function traceMarker(ctx, marker, x, y, r) {
  switch (marker) {
    case "square": ctx.moveTo(x - r, y - r); ctx.rect(x - r, y - r, 2 * r, 2 * r); break;
    case "diamond": ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath(); break;
    case "plus": case "cross": ctx.moveTo(x - r, y); ctx.lineTo(x + r, y); ctx.moveTo(x, y - r); ctx.lineTo(x, y + r); break;
    case "x": ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x - r, y + r); ctx.lineTo(x + r, y - r); break;
    default: ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
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

const TOOLS = { pan: "Pan", box: "Box select", circle: "Circle select", add: "Add source" };
// the axes frame around the image: tick labels and axis names live in these margins
const FRAME = { left: 84, right: 12, top: 6, bottom: 40 };
const COLORBAR_H = 14;

function render({ model, el: host }) {
  const root = el("div", { className: "oda-mosaic", testid: "mosaic-root" });
  const title = el("div", { className: "oda-mosaic-title", testid: "mosaic-title" });
  const bar = el("div", { className: "oda-mosaic-bar" });
  const ext = el("div", { className: "oda-mosaic-ext", testid: "mosaic-extensions" });
  const cmapSel = select(COLORMAPS, model.get("cmap"), "mosaic-cmap");
  const stretchSel = select(STRETCHES, model.get("stretch"), "mosaic-stretch");
  const limitSel = select(LIMITS, model.get("limits"), "mosaic-limits", LIMIT_LABELS);
  const vminIn = el("input", { type: "number", step: "any", testid: "mosaic-vmin", className: "oda-mosaic-num", title: "lower limit" });
  const vmaxIn = el("input", { type: "number", step: "any", testid: "mosaic-vmax", className: "oda-mosaic-num", title: "upper limit" });
  const toolSel = select(Object.keys(TOOLS), model.get("tool"), "mosaic-tool", TOOLS);
  toolSel.title = "what a drag or click on the image does";
  const gridBox = el("input", { type: "checkbox", testid: "mosaic-grid-toggle", checked: model.get("show_grid") });
  const gridLabel = el("label", { className: "oda-mosaic-check" }, gridBox, " grid");
  const resetBtn = el("button", { textContent: "Reset view", testid: "mosaic-reset", className: "oda-mosaic-btn" });
  const pngBtn = el("button", { textContent: "PNG", testid: "mosaic-png", className: "oda-mosaic-btn", title: "download the view as PNG" });
  bar.append(ext, cmapSel, stretchSel, limitSel, vminIn, vmaxIn, toolSel, gridLabel, resetBtn, pngBtn);
  const stage = el("div", { className: "oda-mosaic-stage", testid: "mosaic-stage" });
  const frame = el("canvas", { className: "oda-mosaic-frame", testid: "mosaic-frame" });
  const canvas = el("canvas", { className: "oda-mosaic-canvas", testid: "mosaic-canvas" });
  const overlay = el("canvas", {
    className: "oda-mosaic-overlay", testid: "mosaic-overlay", tabIndex: 0,
    title: "drag: pan (or select), wheel: zoom; keys: arrows pan, + − zoom, 0 reset",
  });
  overlay.setAttribute("role", "img");
  overlay.setAttribute("aria-label", "sky image; arrow keys pan, plus and minus zoom, 0 resets the view");
  for (const c of [canvas, overlay]) { c.style.left = `${FRAME.left}px`; c.style.top = `${FRAME.top}px`; }
  stage.append(frame, canvas, overlay);
  const cbar = el("div", { className: "oda-mosaic-colorbar", testid: "mosaic-colorbar" });
  const cbarCanvas = el("canvas", { className: "oda-mosaic-colorbar-canvas", testid: "mosaic-colorbar-canvas" });
  const cbarUnit = el("span", { className: "oda-mosaic-unit", testid: "mosaic-unit" });
  cbar.append(cbarCanvas, cbarUnit);
  const readout = el("div", { className: "oda-mosaic-readout", testid: "mosaic-readout", textContent: "\u00a0" });
  root.append(title, bar, stage, cbar, readout);
  host.append(root);

  const st = {
    data: null, nx: 0, ny: 0, cut: null, full: [0, 0], sample: null, limits: [0, 1],
    screen: null, lut: null,
    s: 1, ox: 0, oy: 0, fitted: false, W: 0, H: 0, SW: 0, draws: 0,
  };

  function size() {
    const SW = Math.max(200 + FRAME.left + FRAME.right, Math.floor(stage.clientWidth || host.clientWidth || 640));
    const SH = model.get("height");
    const W = SW - FRAME.left - FRAME.right, H = Math.max(100, SH - FRAME.top - FRAME.bottom);
    if (W !== st.W || H !== st.H || SW !== st.SW) {
      st.W = W; st.H = H; st.SW = SW;
      for (const c of [canvas, overlay]) { c.width = W; c.height = H; }
      frame.width = SW; frame.height = H + FRAME.top + FRAME.bottom;
      stage.style.height = `${frame.height}px`;
      cbarCanvas.width = W; cbarCanvas.height = COLORBAR_H + 16;
      cbarCanvas.style.marginLeft = `${FRAME.left}px`;
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
    t = step("lut", t);
    drawColorbar();
    step("colorbar", t);
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
    root.dataset.view = JSON.stringify({ s: st.s, ox: st.ox, oy: st.oy, W: st.W, H: st.H });
    drawOverlay();
    drawFrame();
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

  // -- title and colour bar -------------------------------------------------------------------
  function drawTitle() {
    title.textContent = model.get("title") || "";
    title.style.display = title.textContent ? "" : "none";
  }

  // the page's text colour (Lab themes): read once, a style read forces a layout
  let inkColour = null;
  const ink = () => inkColour || (inkColour = getComputedStyle(root).color || "#222");

  function drawColorbar() {
    const ctx = cbarCanvas.getContext("2d");
    const W = cbarCanvas.width;
    ctx.clearRect(0, 0, W, cbarCanvas.height);
    // one row of colours, painted as pixels and repeated down the bar
    const table = colormapTable(model.get("cmap"));
    const strip = ctx.createImageData(W, COLORBAR_H);
    for (let x = 0; x < W; x++) {
      const k = Math.round((x / Math.max(1, W - 1)) * 255) * 3;
      for (let y = 0; y < COLORBAR_H; y++) {
        const o = (y * W + x) * 4;
        strip.data[o] = table[k]; strip.data[o + 1] = table[k + 1]; strip.data[o + 2] = table[k + 2]; strip.data[o + 3] = 255;
      }
    }
    ctx.putImageData(strip, 0, 0);
    ctx.strokeStyle = "#666";
    ctx.strokeRect(0.5, 0.5, W - 1, COLORBAR_H - 1);
    const [lo, hi] = st.limits;
    const stretch = model.get("stretch");
    const ticks = colorbarTicks(lo, hi, stretch, W);
    ctx.fillStyle = ink();
    ctx.strokeStyle = ctx.fillStyle;
    ctx.font = "11px sans-serif";
    ctx.textBaseline = "top";
    const placed = [];
    for (const t of ticks) {
      const x = t.pos * (W - 1);
      ctx.beginPath(); ctx.moveTo(x + 0.5, COLORBAR_H - 4); ctx.lineTo(x + 0.5, COLORBAR_H + 2); ctx.stroke();
      ctx.textAlign = x < 20 ? "left" : x > W - 20 ? "right" : "center";
      ctx.fillText(t.text, x, COLORBAR_H + 3);
      placed.push({ value: t.value, x, text: t.text });
    }
    const unit = model.get("unit");
    cbarUnit.textContent = `${model.get("extension")}${unit ? ` [${unit}]` : ""} · ${stretch}`;
    cbar.dataset.ticks = JSON.stringify(placed);
    cbar.dataset.lo = String(lo);
    cbar.dataset.hi = String(hi);
    cbar.dataset.stretch = stretch;
    cbar.dataset.cmap = model.get("cmap");
    cbar.dataset.width = String(W);
  }

  // -- coordinate grid ------------------------------------------------------------------------
  let gridCache = { key: "", grid: null };
  function currentGrid() {
    const wcs = model.get("wcs");
    if (!model.get("show_grid") || !wcs || !wcs.cd || wcs.supported === false) return null;
    const key = `${st.s}|${st.ox}|${st.oy}|${st.W}|${st.H}`;
    if (gridCache.key !== key || gridCache.wcs !== wcs) {
      const t0 = performance.now();
      gridCache = {
        key, wcs,
        grid: gridLines(wcs, { s: st.s, ox: st.ox, oy: st.oy }, { x0: 0, y0: 0, x1: st.W, y1: st.H },
          { sexagesimal: wcs.sexagesimal !== false }),
      };
      root.dataset.gridMs = (performance.now() - t0).toFixed(2);
    }
    return gridCache.grid;
  }

  function drawGridLines(ctx) {
    const grid = currentGrid();
    if (!grid) return;
    ctx.save();
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(255, 255, 255, 0.4)";
    ctx.beginPath();
    for (const line of grid.lines) {
      for (const seg of line.segments) {
        ctx.moveTo(seg[0], seg[1]);
        for (let i = 2; i < seg.length; i += 2) ctx.lineTo(seg[i], seg[i + 1]);
      }
    }
    ctx.stroke();
    ctx.restore();
  }

  function drawFrame() {
    const ctx = frame.getContext("2d");
    ctx.clearRect(0, 0, frame.width, frame.height);
    const colour = ink();
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1;
    ctx.strokeRect(FRAME.left - 0.5, FRAME.top - 0.5, st.W + 1, st.H + 1);
    const wcs = model.get("wcs") || {};
    const grid = currentGrid();
    const shown = [];
    if (grid) {
      ctx.font = "11px sans-serif";
      for (const lab of grid.labels) {
        const x = FRAME.left + lab.sx, y = FRAME.top + lab.sy;
        ctx.beginPath();
        if (lab.edge === "bottom") {
          ctx.moveTo(x, y); ctx.lineTo(x, y + 5); ctx.stroke();
          ctx.textAlign = "center"; ctx.textBaseline = "top"; ctx.fillText(lab.text, x, y + 6);
        } else if (lab.edge === "top") {
          ctx.moveTo(x, y); ctx.lineTo(x, y - 4); ctx.stroke();
        } else if (lab.edge === "left") {
          ctx.moveTo(x, y); ctx.lineTo(x - 5, y); ctx.stroke();
          ctx.textAlign = "right"; ctx.textBaseline = "middle"; ctx.fillText(lab.text, x - 7, y);
        } else {
          ctx.moveTo(x, y); ctx.lineTo(x + 4, y); ctx.stroke();
        }
        shown.push(lab);
      }
    }
    // axis names, as WCSAxes writes them: "RA (ICRS)", "Dec (ICRS)"
    if (wcs.cd) {
      const system = (wcs.frame || "").toUpperCase();
      const suffix = wcs.lon_name === "RA" ? ` (${system})` : "";
      ctx.font = "12px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText(`${wcs.lon_name || "RA"}${suffix}`, FRAME.left + st.W / 2, frame.height - 2);
      ctx.save();
      ctx.translate(12, FRAME.top + st.H / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = "middle";
      ctx.fillText(`${wcs.lat_name || "Dec"}${suffix}`, 0, 0);
      ctx.restore();
      if (wcs.supported === false) {
        ctx.textAlign = "left";
        ctx.textBaseline = "top";
        ctx.fillText(`pixel coordinates only: ${wcs.reason}`, FRAME.left + 4, FRAME.top + st.H + 4);
      }
    }
    frame.dataset.grid = JSON.stringify(grid ? { lonStep: grid.lonStep, latStep: grid.latStep, labels: shown } : null);
  }

  // -- catalog overlay, markers, regions, selection --------------------------------------------
  // Source pixel positions come from Python (astropy, exact for any WCS); id sets are rebuilt only
  // when the id lists change, so a slider step costs one pass over the sources and a few strokes.
  const ov = { src: null, wcs: null, px: null, visRef: null, vis: null, selRef: null, sel: null };
  const LABEL_LIMIT = 200;

  function projected() {
    const src = model.get("sources") || {};
    const wcs = model.get("wcs");
    if (!src.ids) return null;
    if (ov.src !== src || ov.wcs !== wcs) {
      ov.src = src; ov.wcs = wcs;
      ov.px = new Float64Array(2 * src.ids.length);
      for (let k = 0; k < src.ids.length; k++) {
        let x = src.x ? src.x[k] : NaN, y = src.y ? src.y[k] : NaN;
        if (!src.x && wcs && wcs.cd) [x, y] = worldToPixel(wcs, src.ra[k], src.dec[k]);
        ov.px[2 * k] = x === null ? NaN : x; ov.px[2 * k + 1] = y === null ? NaN : y;
      }
    }
    const vis = model.get("visible_ids"), sel = model.get("selected_ids");
    if (ov.visRef !== vis) { ov.visRef = vis; ov.vis = new Set(vis); }
    if (ov.selRef !== sel) { ov.selRef = sel; ov.sel = new Set(sel); }
    return src;
  }

  const toScreen = (x, y) => [st.ox + (x + 0.5) * st.s, st.oy - (y + 0.5) * st.s];

  function sourcesOnScreen() {
    const src = projected();
    if (!src) return [];
    const out = [];
    for (let k = 0; k < src.ids.length; k++) {
      const id = src.ids[k];
      if (!ov.vis.has(id)) continue;
      const x = ov.px[2 * k], y = ov.px[2 * k + 1];
      if (!Number.isFinite(x)) continue;
      const [sx, sy] = toScreen(x, y);
      if (sx < -20 || sy < -20 || sx > st.W + 20 || sy > st.H + 20) continue;
      out.push({ id, k, isNew: !!src.new[k], selected: ov.sel.has(id), sx, sy });
    }
    return out;
  }

  const STYLE = { known: "#00e5ff", new: "#ff5fd2", active: "#ffff00", selection: "#ffe066" };

  function outlinedText(ctx, text, x, y, colour) {
    // a dark outline keeps labels readable on any colour map
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
    ctx.strokeText(text, x, y);
    ctx.fillStyle = colour;
    ctx.fillText(text, x, y);
  }

  function drawMarkers(ctx) {
    const sets = model.get("marker_sets") || [];
    const counts = {};
    for (const m of sets) {
      ctx.beginPath();
      let n = 0;
      const r = m.size || 6;
      for (let k = 0; k < m.x.length; k++) {
        if (m.x[k] === null || m.y[k] === null) continue;
        const [sx, sy] = toScreen(m.x[k], m.y[k]);
        if (sx < -r || sy < -r || sx > st.W + r || sy > st.H + r) continue;
        traceMarker(ctx, m.marker, sx, sy, r);
        n++;
      }
      ctx.lineWidth = 1.5;
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = m.color || "red";
      ctx.stroke();
      counts[m.name] = n;
    }
    overlay.dataset.markers = JSON.stringify(counts);
  }

  function traceShape(ctx, r) {
    const [sx, sy] = toScreen(r.x, r.y);
    const rot = -(r.angle || 0) * D2R;
    switch (r.shape) {
      case "circle": ctx.moveTo(sx + r.r * st.s, sy); ctx.arc(sx, sy, Math.max(1, r.r * st.s), 0, 2 * Math.PI); break;
      case "ellipse": ctx.moveTo(sx + r.w / 2 * st.s * Math.cos(rot), sy + r.w / 2 * st.s * Math.sin(rot));
        ctx.ellipse(sx, sy, Math.max(1, r.w / 2 * st.s), Math.max(1, r.h / 2 * st.s), rot, 0, 2 * Math.PI); break;
      case "box": {
        const c = Math.cos(rot), s = Math.sin(rot), hw = (r.w / 2) * st.s, hh = (r.h / 2) * st.s;
        const corners = [[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]].map(([u, v]) => [sx + u * c - v * s, sy + u * s + v * c]);
        ctx.moveTo(...corners[0]); for (const p of corners.slice(1)) ctx.lineTo(...p); ctx.closePath(); break;
      }
      case "polygon": {
        const pts = r.xs.map((x, i) => toScreen(x, r.ys[i]));
        ctx.moveTo(...pts[0]); for (const p of pts.slice(1)) ctx.lineTo(...p); ctx.closePath(); break;
      }
      default: traceMarker(ctx, "x", sx, sy, 5);
    }
    return [sx, sy];
  }

  function drawRegions(ctx) {
    const shapes = model.get("region_shapes") || [];
    ctx.font = "11px sans-serif";
    for (const r of shapes) {
      ctx.beginPath();
      const [sx, sy] = traceShape(ctx, r);
      ctx.lineWidth = 1.5;
      ctx.setLineDash([]);
      ctx.strokeStyle = r.color || "#7cfc00";
      ctx.stroke();
      if (r.text) outlinedText(ctx, r.text, sx + 8, sy + 14, r.color || "#7cfc00");
    }
    overlay.dataset.regions = String(shapes.length);
    const sel = model.get("selection_region");
    const drawn = drag && drag.shape ? drag.shape : sel && sel.shape ? sel : null;
    if (drawn) {
      ctx.beginPath();
      if (drawn.shape === "box") {
        const [ax, ay] = toScreen(drawn.x0, drawn.y0), [bx, by] = toScreen(drawn.x1, drawn.y1);
        ctx.rect(Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay));
      } else {
        const [cx, cy] = toScreen(drawn.x, drawn.y);
        ctx.arc(cx, cy, Math.max(1, drawn.r * st.s), 0, 2 * Math.PI);
      }
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = STYLE.selection;
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  function drawOverlay() {
    const t0 = performance.now();
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, st.W, st.H);
    drawGridLines(ctx);
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
        outlinedText(ctx, names[p.k], p.sx + 10, p.sy - 10, isActive ? STYLE.active : p.isNew ? STYLE.new : STYLE.known);
      }
    }
    drawMarkers(ctx);
    drawRegions(ctx);
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
    if (wcs && wcs.cd && wcs.supported !== false) {
      const [lon, lat] = pixelToWorld(wcs, p.x, p.y);
      if (Number.isFinite(lon)) {
        const a = wcs.lon_name || "RA", b = wcs.lat_name || "Dec";
        const sexa = wcs.sexagesimal !== false ? ` (${formatRa(lon)} ${formatDec(lat)})` : "";
        sky = `${a} ${lon.toFixed(4)}° ${b} ${lat.toFixed(4)}°${sexa}  `;
        readout.dataset.ra = String(lon);
        readout.dataset.dec = String(lat);
      }
    }
    readout.dataset.x = String(p.x);
    readout.dataset.y = String(p.y);
    const unit = model.get("unit");
    readout.textContent = `${sky}x ${p.x.toFixed(1)} y ${p.y.toFixed(1)}  ${model.get("extension")}: ${Number.isNaN(v) ? "—" : v.toPrecision(5)}${unit && !Number.isNaN(v) ? ` ${unit}` : ""}`;
  }

  function setView(v) {
    st.s = v.s; st.ox = v.ox; st.oy = v.oy;
    draw();
    requestCut();
  }

  let drag = null;
  overlay.addEventListener("pointerdown", (ev) => {
    overlay.focus({ preventScroll: true });
    const p = toPixel(ev);
    drag = { x: ev.clientX, y: ev.clientY, ox: st.ox, oy: st.oy, moved: false, start: p, tool: model.get("tool"), shape: null };
    overlay.setPointerCapture && overlay.setPointerCapture(ev.pointerId);
  });
  overlay.addEventListener("pointermove", (ev) => {
    showReadout(ev);
    if (!drag) return;
    const ddx = ev.clientX - drag.x, ddy = ev.clientY - drag.y;
    if (Math.abs(ddx) + Math.abs(ddy) > 3) drag.moved = true;
    if (!drag.moved) return;
    if (drag.tool === "box" || drag.tool === "circle") {
      const p = toPixel(ev), a = drag.start;
      drag.shape = drag.tool === "box"
        ? { shape: "box", x0: a.x, y0: a.y, x1: p.x, y1: p.y }
        : { shape: "circle", x: a.x, y: a.y, r: Math.hypot(p.x - a.x, p.y - a.y) };
      drawOverlay();
    } else if (drag.tool !== "add") {
      st.ox = drag.ox + ddx; st.oy = drag.oy + ddy; draw();
    }
  });
  overlay.addEventListener("pointerup", (ev) => {
    const d = drag;
    drag = null;
    if (!d) return;
    if (d.shape) {
      model.set("selection_region", d.shape);
      model.save_changes();
      drawOverlay();
      return;
    }
    if (d.moved) { requestCut(); return; }
    const p = toPixel(ev);
    if (d.tool === "add") {
      // Python turns the pixel into sky coordinates (astropy) and adds the source to the catalog
      model.send({ type: "add_source", x: p.x, y: p.y });
      return;
    }
    // a click: pick the nearest overlay within 12 px
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
    setView({ s, ox: p.sx - u * s, oy: p.sy + v * s });
  }, { passive: false });
  overlay.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const next = keyAction(ev.key, st, { W: st.W, H: st.H, shift: ev.shiftKey });
    if (!next) return;
    ev.preventDefault();
    ev.stopPropagation();   // Lab's notebook shortcuts must not see these keys
    if (next === "reset") { fit(); draw(); requestCut(); } else setView(next);
  });

  resetBtn.addEventListener("click", () => { fit(); draw(); requestCut(); });
  function exportPng() {
    const out = document.createElement("canvas");
    out.width = frame.width; out.height = frame.height + cbarCanvas.height + 4;
    const c = out.getContext("2d");
    c.fillStyle = "#fff";
    c.fillRect(0, 0, out.width, out.height);
    c.drawImage(frame, 0, 0);
    c.drawImage(canvas, FRAME.left, FRAME.top);
    c.drawImage(overlay, FRAME.left, FRAME.top);
    c.drawImage(cbarCanvas, FRAME.left, frame.height + 4);
    return out.toDataURL("image/png");
  }
  pngBtn.addEventListener("click", () => {
    const a = el("a", { href: exportPng(), download: "mosaic.png" });
    a.click();
  });

  cmapSel.addEventListener("change", () => { model.set("cmap", cmapSel.value); model.save_changes(); });
  stretchSel.addEventListener("change", () => { model.set("stretch", stretchSel.value); model.save_changes(); });
  limitSel.addEventListener("change", () => { model.set("limits", limitSel.value); model.save_changes(); });
  toolSel.addEventListener("change", () => { model.set("tool", toolSel.value); model.save_changes(); });
  gridBox.addEventListener("change", () => { model.set("show_grid", gridBox.checked); model.save_changes(); });
  for (const inp of [vminIn, vmaxIn]) {
    inp.addEventListener("change", () => {
      // read both boxes first and switch to manual first: each set redraws at once, and an
      // automatic mode would write its own limits back into the boxes
      const lo = Number(vminIn.value), hi = Number(vmaxIn.value);
      model.set("limits", "manual");
      model.set("vmin", lo);
      model.set("vmax", hi);
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
  const onGrid = () => { gridBox.checked = model.get("show_grid"); draw(); };
  const onTool = () => { toolSel.value = model.get("tool"); overlay.dataset.tool = model.get("tool"); };
  const onMsg = (msg) => {
    if (msg && msg.type === "export_png") model.send({ type: "png", request: msg.request, data: exportPng() });
  };
  const handlers = [
    ["change:cmap change:stretch change:limits change:vmin change:vmax", onStyle],
    ["change:image", onImage],
    ["change:sources change:visible_ids change:selected_ids change:active_id change:marker_sets change:region_shapes change:selection_region", onOverlay],
    ["change:wcs change:show_grid", onGrid],
    ["change:unit", drawColorbar],
    ["change:title", drawTitle],
    ["change:tool", onTool],
    ["change:extensions change:extension", buildExtensions],
    ["msg:custom", onMsg],
  ];
  for (const [ev, fn] of handlers) model.on(ev, fn);
  const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => { if (size()) { fit(); recolor(); draw(); } }) : null;
  if (ro) ro.observe(stage);

  size();
  drawTitle();
  onTool();
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
