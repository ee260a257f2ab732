/*
 * The browser demo of tfjs-batchnorm-inference (npm run demo):
 *
 *   1. a tf.sequential model with the BatchNormInference layer built from
 *      MATLAB statistics, run on webgl, checked against the cpu backend and
 *      the formula in float64;
 *   2. a converted Keras model whose BatchNormalization layers are replaced
 *      with replaceBatchNormalization, run on webgl, checked against the
 *      original model on cpu;
 *   3. a chart of the time per op of batchNormInference and tf.batchNorm on
 *      this device.
 *
 * Uses the globals `tf` (tf.min.js) and `tfbni` (this package's bundle).
 * Errors are shown on the page; when finished, document.body.dataset.status
 * is 'done' (or 'error'), and window.demoResults holds the numbers.
 * `?backend=cpu` (or any registered backend) runs it on another backend.
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const errors = [];
  const results = {};
  window.demoResults = results;

  /** An error's message and its first stack frames (not the whole stack). */
  function errorText(e) {
    if (!(e instanceof Error)) return String(e);
    const frames = (e.stack || '').split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 4);
    return [`${e.name}: ${e.message}`, ...frames].join('\n');
  }

  function fail(message) {
    errors.push(message);
    window.demoShowError(message);
  }

  function setStatus(text) {
    if (document.body.dataset.status !== 'error') {
      document.body.dataset.status = text;
      $('status').textContent = text;
    }
  }

  // ---------------------------------------------------------------------------
  // Small DOM helpers

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function table(id, header, rows) {
    return el('table', {id}, [
      el('thead', {}, [el('tr', {}, header.map((h) => el('th', {text: h})))]),
      el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {text: String(c)}))))),
    ]);
  }

  const num = (v, digits = 5) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
  const sci = (v) => (v === 0 ? '0' : v.toExponential(2));

  function maxAbsDiff(a, b) {
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      m = d > m || Number.isNaN(d) ? d : m;
    }
    return m;
  }

  function verdict(label, diff, tol) {
    const ok = diff <= tol;
    return el('div', {}, [
      `${label}: max |diff| = ${sci(diff)} (tolerance ${sci(tol)}) `,
      el('span', {class: ok ? 'pass' : 'fail', text: ok ? 'agree' : 'DISAGREE'}),
    ]);
  }

  /** Runs fn with `name` as the current backend, then switches back. */
  async function onBackend(name, fn) {
    const previous = tf.getBackend();
    await tf.setBackend(name);
    try {
      return await fn();
    } finally {
      await tf.setBackend(previous);
    }
  }

  async function fetchJSON(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
    return response.json();
  }

  // ---------------------------------------------------------------------------
  // Environment

  function gpuInfo() {
    const info = {renderer: '-', vendor: '-', webgl: '-'};
    const backend = tf.backend();
    let gl = backend && backend.gpgpu && backend.gpgpu.gl;
    if (!gl) {
      // Not on webgl: ask a throwaway context what the GPU is.
      const canvas = document.createElement('canvas');
      gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
    }
    if (!gl) return info;
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    info.renderer = gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
    info.vendor = gl.getParameter(debug ? debug.UNMASKED_VENDOR_WEBGL : gl.VENDOR);
    info.webgl = gl.getParameter(gl.VERSION);
    return info;
  }

  function showEnvironment(backendName) {
    const gpu = gpuInfo();
    results.backend = tf.getBackend();
    results.gpu = gpu.renderer;
    $('backend').textContent = results.backend;
    $('backend').dataset.backend = results.backend;
    $('gpu').textContent = `${gpu.renderer} (${gpu.vendor})`;
    let webgl = gpu.webgl;
    if (backendName === 'webgl') {
      const env = tf.env();
      webgl += `; tfjs WEBGL_VERSION ${env.getNumber('WEBGL_VERSION')}, float32 textures ` +
          (env.getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 'yes' : 'no (float16)');
    }
    $('webgl').textContent = webgl;
    $('versions').textContent = `TensorFlow.js ${tf.version.tfjs}, tfjs-batchnorm-inference ${tfbni.version}`;
  }

  /** Tolerance for float32 GPU results of order 1-10; float16 textures are coarser. */
  function tolerance() {
    if (tf.getBackend() !== 'webgl') return 1e-5;
    return tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 1e-4 : 5e-2;
  }

  // ---------------------------------------------------------------------------
  // 1. The layer with MATLAB statistics

  async function layerDemo() {
    const matlab = await fetchJSON('/examples/data/matlab_batchnorm.json');
    const C = matlab.NumChannels;
    const shape = [1, 2, 2, C];   // NHWC: the layer's default axis is -1
    const model = tf.sequential({
      layers: [tfbni.batchNormInferenceLayer({...matlab, inputShape: shape.slice(1)})],
    });
    const size = shape.reduce((a, b) => a * b, 1);
    const xValues = Float32Array.from({length: size}, (_, i) => ((i * 7) % 11 - 5) * 0.45);
    const x = tf.tensor(xValues, shape);

    const yGpu = model.predict(x);
    const gpu = await yGpu.data();
    yGpu.dispose();
    const cpu = await onBackend('cpu', async () => {
      const y = model.predict(x);
      const values = await y.data();
      y.dispose();
      return values;
    });
    x.dispose();
    model.dispose();

    const flat = (a) => a.flat(Infinity);
    const [mean, variance, scale, offset] =
        [matlab.TrainedMean, matlab.TrainedVariance, matlab.Scale, matlab.Offset].map(flat);
    const formula = Array.from(xValues, (v, i) => {
      const c = i % C;
      return scale[c] * (v - mean[c]) / Math.sqrt(variance[c] + matlab.Epsilon) + offset[c];
    });

    const rows = [];
    for (let i = 0; i < size; i++) {
      const c = i % C;
      const p = Math.floor(i / C);
      rows.push([`(${Math.floor(p / shape[2])}, ${p % shape[2]})`, c, num(xValues[i], 3),
                 num(gpu[i]), num(cpu[i]), num(formula[i]), sci(Math.abs(gpu[i] - formula[i]))]);
    }
    const backend = tf.getBackend();
    $('layer-result').append(table('layer-table',
        ['pixel (h, w)', 'channel', 'x', `y on ${backend}`, 'y on cpu', 'formula (float64)',
         `|${backend} - formula|`], rows));
    const tol = tolerance();
    const vsCpu = maxAbsDiff(gpu, cpu);
    const vsFormula = maxAbsDiff(gpu, formula);
    results.layer = {values: Array.from(gpu), vsCpu, vsFormula, tolerance: tol};
    $('layer-summary').append(
        el('div', {text: `Layer '${matlab.Name}': ${C} channels, Epsilon ${matlab.Epsilon}, ` +
                         `input [${shape}] (NHWC).`}),
        verdict(`${backend} vs cpu backend`, vsCpu, tol),
        verdict(`${backend} vs formula`, vsFormula, tol));
    $('layer-summary').dataset.maxDiff = String(Math.max(vsCpu, vsFormula));
    if (!(vsCpu <= tol && vsFormula <= tol)) {
      fail(`The layer on ${backend} disagrees: max |diff| ${sci(vsCpu)} vs cpu, ` +
           `${sci(vsFormula)} vs the formula (tolerance ${sci(tol)}).`);
    }
  }

  // ---------------------------------------------------------------------------
  // 2. The converted Keras model

  async function convertedModelDemo() {
    const url = '/examples/data/converted_model/model.json';
    const keras = await tf.loadLayersModel(url);
    const model = tfbni.replaceBatchNormalization(keras);
    const count = (m, cls) => m.layers.filter((l) => l.getClassName() === cls).length;
    const replaced = count(model, 'BatchNormInference');

    const inputShape = [3, ...keras.inputs[0].shape.slice(1)];
    const size = inputShape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(Float32Array.from({length: size}, (_, i) => Math.cos(i * 0.37) * 1.5),
                        inputShape);
    const backend = tf.getBackend();
    const yConverted = model.predict(x);
    const converted = await yConverted.array();
    yConverted.dispose();
    const original = await onBackend('cpu', async () => {
      const y = keras.predict(x);
      const values = await y.array();
      y.dispose();
      return values;
    });
    x.dispose();
    keras.dispose();
    model.dispose();

    const rows = [];
    converted.forEach((row, i) => {
      rows.push([`sample ${i}`, 'BatchNormalization (original), cpu', ...original[i].map((v) => num(v))]);
      rows.push(['', `BatchNormInference (converted), ${backend}`, ...row.map((v) => num(v))]);
    });
    const units = converted[0].length;
    $('model-result').append(table('model-table',
        ['input', 'model, backend', ...Array.from({length: units}, (_, j) => `logit ${j}`)], rows));
    // Three conv layers on the GPU: allow a little more than for one op.
    const tol = 10 * tolerance();
    const diff = maxAbsDiff(converted.flat(), original.flat());
    results.model = {replaced, diff, tolerance: tol, logits: converted};
    $('model-summary').append(
        el('div', {text: `'${keras.name}': ${replaced} BatchNormalization layers replaced by ` +
                         `BatchNormInference (${model.layers.filter((l) => l.getClassName() === 'BatchNormInference')
                             .map((l) => l.name).join(', ')}).`}),
        verdict(`converted on ${backend} vs original on cpu`, diff, tol));
    $('model-summary').dataset.maxDiff = String(diff);
    if (!(diff <= tol) || replaced === 0) {
      fail(`The converted model on ${backend} disagrees with the original: max |diff| ` +
           `${sci(diff)} (tolerance ${sci(tol)}), ${replaced} layers replaced.`);
    }
  }

  // ---------------------------------------------------------------------------
  // 3. Time per op

  const CHAIN = 21;     // dependent ops before one readback (20 intervals)
  const REPEATS = 3;    // median of
  // ~50k elements each: big enough to measure, small enough to stay fast on a
  // software-emulated GPU.
  const SHAPES = [
    {shape: [1, 32, 32, 48], axis: -1, label: '[1,32,32,48] NHWC'},
    {shape: [1, 16, 16, 192], axis: -1, label: '[1,16,16,192] NHWC'},
    {shape: [1, 48, 32, 32], axis: 1, label: '[1,48,32,32] NCHW'},
    {shape: [64, 768], axis: 1, label: '[64,768] NC'},
  ];


  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };

  /** ms for `n` chained ops on x, then one (synchronous) readback. */
  function timeChain(op, x, n) {
    const t0 = performance.now();
    const y = tf.tidy(() => {
      let t = x;
      for (let i = 0; i < n; i++) t = op(t);
      return t;
    });
    y.dataSync();
    const ms = performance.now() - t0;
    y.dispose();
    return ms;
  }

  /**
   * ms per op: median over REPEATS of (T(CHAIN ops + readback) - T(1 op +
   * readback)) / (CHAIN - 1), i.e. with the readback (and the pipeline's
   * start-up) subtracted.
   */
  function timePerOp(op, x) {
    timeChain(op, x, 2);  // warm-up: compiles the shaders, allocates textures
    const samples = [];
    for (let r = 0; r < REPEATS; r++) {
      const long = timeChain(op, x, CHAIN);
      const short = timeChain(op, x, 1);
      samples.push(Math.max(0, (long - short) / (CHAIN - 1)));
    }
    return median(samples);
  }

  function benchmark() {
    const rows = [];
    for (const {shape, axis, label} of SHAPES) {
      const rank = shape.length;
      const ax = axis < 0 ? axis + rank : axis;
      const C = shape[ax];
      const size = shape.reduce((a, b) => a * b, 1);
      // Statistics that keep the values bounded along the chain.
      const vec = (f) => tf.tensor1d(Float32Array.from({length: C}, (_, c) => f(c)));
      const gamma = vec((c) => 1 + 0.01 * (c % 3));
      const beta = vec((c) => 0.01 * ((c % 5) - 2));
      const mean = vec((c) => 0.02 * ((c % 7) - 3));
      const variance = vec((c) => 1 + 0.05 * (c % 4));
      const data = Float32Array.from({length: size}, (_, i) => ((i * 13) % 17 - 8) / 8);
      const x = tf.tensor(data, shape);
      // tf.batchNorm broadcasts 1-D statistics over the last axis: for a
      // channels-first shape it is timed on the channels-last layout of the
      // same size (it would compute a different result on NCHW).
      const lastShape = [...shape.slice(0, ax), ...shape.slice(ax + 1), C];
      const xLast = ax === rank - 1 ? x : tf.tensor(data, lastShape);
      const epsilon = 1e-3;
      const ours = timePerOp((t) => tfbni.batchNormInference(t, gamma, beta, mean, variance,
                                                              {epsilon, axis}), x);
      const theirs = timePerOp((t) => tf.batchNorm(t, mean, variance, beta, gamma, epsilon), xLast);
      tf.dispose([gamma, beta, mean, variance, x, xLast]);
      rows.push({label, size, ours, theirs});
    }
    return rows;
  }

  const fmtUs = (ms) => `${(ms * 1000).toFixed(ms * 1000 < 100 ? 1 : 0)} µs`;

  /** A grouped horizontal bar chart in inline SVG. */
  function drawChart(rows) {
    const NS = 'http://www.w3.org/2000/svg';
    const svgEl = (tag, attrs, text) => {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
      if (text !== undefined) node.textContent = text;
      return node;
    };
    const width = 720;
    const left = 160;
    const right = 80;
    const top = 34;
    const barH = 14;
    const groupH = 2 * barH + 16;
    const height = top + rows.length * groupH + 34;
    const maxMs = Math.max(...rows.map((r) => Math.max(r.ours, r.theirs)), 1e-6);
    // A "nice" axis end: 1, 2 or 5 times a power of ten.
    const pow = Math.pow(10, Math.floor(Math.log10(maxMs * 1000)));
    const niceUs = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= maxMs * 1000);
    const scale = (ms) => ((ms * 1000) / niceUs) * (width - left - right);
    const svg = svgEl('svg', {id: 'bench-svg', viewBox: `0 0 ${width} ${height}`, width, height,
                              role: 'img', 'font-family': 'system-ui, sans-serif', 'font-size': 12});
    svg.append(svgEl('title', {}, 'Time per op: batchNormInference vs tf.batchNorm'));
    // Legend.
    [['batchNormInference (this package)', '#1a73e8'], ['tf.batchNorm', '#9aa0a6']].forEach(([name, color], i) => {
      svg.append(svgEl('rect', {x: left + i * 250, y: 8, width: 12, height: 12, fill: color}));
      svg.append(svgEl('text', {x: left + i * 250 + 18, y: 18}, name));
    });
    // Grid and axis.
    const axisY = top + rows.length * groupH;
    for (let k = 0; k <= 5; k++) {
      const us = (niceUs * k) / 5;
      const gx = left + scale(us / 1000);
      svg.append(svgEl('line', {x1: gx, x2: gx, y1: top - 4, y2: axisY, stroke: '#e8eaed'}));
      svg.append(svgEl('text', {x: gx, y: axisY + 16, 'text-anchor': 'middle', fill: '#5f6368'},
                       `${+us.toPrecision(3)}`));
    }
    svg.append(svgEl('text', {x: left + (width - left - right) / 2, y: axisY + 30,
                              'text-anchor': 'middle', fill: '#5f6368'}, 'µs per op (lower is better)'));
    rows.forEach((r, i) => {
      const y0 = top + i * groupH;
      svg.append(svgEl('text', {x: left - 8, y: y0 + barH + 4, 'text-anchor': 'end'}, r.label));
      [[r.ours, '#1a73e8', 'ours'], [r.theirs, '#9aa0a6', 'tf']].forEach(([ms, color, kind], j) => {
        const w = Math.max(1, scale(ms));
        const y = y0 + j * barH;
        svg.append(svgEl('rect', {x: left, y, width: w, height: barH - 2, fill: color,
                                  'data-kind': kind, 'data-ms': ms}));
        svg.append(svgEl('text', {x: left + w + 4, y: y + barH - 3, fill: '#202124'}, fmtUs(ms)));
      });
    });
    $('chart').append(svg);
  }

  async function benchmarkDemo() {
    const backend = tf.getBackend();
    $('bench-method').textContent =
        `On ${backend}: ${CHAIN} dependent ops, then one readback; minus the time of 1 op and one ` +
        `readback; divided by ${CHAIN - 1}; median of ${REPEATS} runs after a warm-up. ` +
        'For NCHW, tf.batchNorm (channels-last only) is timed on the NHWC tensor of the same size. ' +
        'Ratio = batchNormInference time / tf.batchNorm time.';
    await tf.nextFrame();  // let the page paint sections 1 and 2 first
    const started = performance.now();
    const rows = benchmark();
    results.bench = {rows, seconds: (performance.now() - started) / 1000, chain: CHAIN, repeats: REPEATS};
    drawChart(rows);
    $('bench-result').append(table('bench-table',
        ['shape', 'elements', 'batchNormInference', 'tf.batchNorm', 'ratio'],
        rows.map((r) => [r.label, r.size.toLocaleString('en-US'), fmtUs(r.ours), fmtUs(r.theirs),
                         r.theirs > 0 ? `${(r.ours / r.theirs).toFixed(2)}×` : '-'])),
        el('div', {class: 'muted',
                   text: `Measured in ${results.bench.seconds.toFixed(1)} s. Timings on a shared or ` +
                         'software-emulated GPU are noisy; reload to measure again.'}));
  }

  // ---------------------------------------------------------------------------

  async function main() {
    window.demoFlushErrors();
    if (typeof tf === 'undefined') {
      throw new Error("TensorFlow.js did not load (/node_modules/@tensorflow/tfjs/dist/tf.min.js): run 'npm install'.");
    }
    if (typeof tfbni === 'undefined') {
      throw new Error("tfjs-batchnorm-inference did not load (/dist/tfjs-batchnorm-inference.min.js): " +
                      "run 'npm run build' (npm run demo builds it).");
    }
    setStatus('running');
    const wanted = new URLSearchParams(location.search).get('backend') || 'webgl';
    let ok = false;
    try {
      ok = await tf.setBackend(wanted);
    } catch (e) {
      throw new Error(`Could not set the ${wanted} backend: ${e.message}`);
    }
    if (!ok) {
      throw new Error(`The ${wanted} backend is not available in this browser` +
                      (wanted === 'webgl' ? ' (WebGL is disabled or unsupported); try ?backend=cpu.' : '.'));
    }
    await tf.ready();
    showEnvironment(wanted);
    // Each part reports its own failure and the others still run.
    for (const part of [layerDemo, convertedModelDemo, benchmarkDemo]) {
      try {
        await part();
      } catch (e) {
        fail(`${part.name}: ${errorText(e)}`);
      }
    }
    results.errors = errors;
    if (errors.length === 0) setStatus('done');
  }

  main().catch((e) => fail(errorText(e)));
})();
