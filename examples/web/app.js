/*
 * The browser demo of tfjs-batchnorm-inference (npm run demo):
 *
 *   1. a tf.sequential model with the BatchNormInference layer built from
 *      MATLAB statistics, run on this page's backend and on the cpu backend;
 *   2. a converted Keras model whose BatchNormalization layers are replaced
 *      with replaceBatchNormalization, against the original on cpu;
 *   3. a loaded model and a MobileNetV2 folded with foldBatchNormalizationAsync:
 *      the report, the time before and after, the largest output difference;
 *   4. the speed-up over tf.batchNorm on this device, measured by
 *      bench/webgl.js's in-page benchmark on the shapes of bench/shapes.js.
 *
 * Uses the globals `tf` (tf.min.js), `tfbni` (this package's bundle),
 * `tfbniStats` (test/helpers/stats.js), `tfbniModels` (test/helpers/model_builders.js),
 * `TFBNI_BENCH_SHAPES` (bench/shapes.js) and `tfbniWebglBench` (bench/webgl.js). Errors are shown on the page; when
 * finished, document.body.dataset.status is 'done' (or 'error') and
 * window.demoResults holds the numbers. URL parameters: ?backend=cpu (or any
 * registered backend), ?repeats=N, ?all (also the largest bench shapes),
 * ?quick (shapes up to 1M elements and a 96x96 MobileNetV2: what the test opens).
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const errors = [];
  const results = {};
  window.demoResults = results;

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

  const num = (v) => (Number.isFinite(v) ? v.toFixed(5) : String(v));
  const sci = (v) => (v === 0 ? '0' : v.toExponential(1));
  const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

  /** Seeded values in [-2, 2) from test/helpers/stats.js's generator. */
  function values(n, seed) {
    const next = tfbniStats.prng(seed);
    return Float32Array.from({length: n}, () => 4 * next() - 2);
  }

  function verdict(label, diff, tol) {
    const ok = diff <= tol;
    return el('div', {}, [`${label}: max |diff| = ${sci(diff)} (tolerance ${sci(tol)}) `,
                          el('span', {class: ok ? 'pass' : 'fail', text: ok ? 'agree' : 'DISAGREE'})]);
  }

  /** Runs fn with `name` as the backend, then switches back. */
  async function onBackend(name, fn) {
    const previous = tf.getBackend();
    await tf.setBackend(name);
    try {
      return await fn();
    } finally {
      await tf.setBackend(previous);
    }
  }

  async function predictValues(model, x) {
    const y = model.predict(x);
    const out = await y.data();
    y.dispose();
    return out;
  }

  /** Float32 GPU arithmetic vs the cpu kernel's exactly rounded one; float16 textures are coarser. */
  function tolerance() {
    if (tf.getBackend() !== 'webgl') return 1e-5;
    return tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 1e-4 : 5e-2;
  }

  function gpuRenderer() {
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
    if (!gl) return 'no WebGL';
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    return gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
  }

  function showEnvironment() {
    results.backend = tf.getBackend();
    results.gpu = gpuRenderer();
    $('backend').textContent = results.backend;
    $('gpu').textContent = results.gpu;
    $('versions').textContent = `TensorFlow.js ${tf.version.tfjs}, tfjs-batchnorm-inference ${tfbni.version}`;
  }

  // 1. The layer with MATLAB statistics --------------------------------------

  async function layerDemo() {
    const matlab = await (await fetch('/examples/data/matlab_batchnorm.json')).json();
    const shape = [1, 1, 2, matlab.NumChannels];   // NHWC: the layer's default axis is -1
    const model = tf.sequential({
      layers: [tfbni.batchNormInferenceLayer({...matlab, inputShape: shape.slice(1)})],
    });
    const xValues = values(shape.reduce((a, b) => a * b, 1), 1);
    const x = tf.tensor(xValues, shape);
    const here = await predictValues(model, x);
    const cpu = await onBackend('cpu', () => predictValues(model, x));
    x.dispose();
    model.dispose();

    const backend = tf.getBackend();
    const rows = Array.from(xValues, (v, i) =>
        [i % shape[3], num(v), num(here[i]), num(cpu[i]), sci(Math.abs(here[i] - cpu[i]))]);
    $('layer-result').append(table('layer-table',
        ['channel', 'x', `y on ${backend}`, 'y on cpu', 'difference'], rows));
    const diff = maxAbsDiff(here, cpu);
    const tol = tolerance();
    results.layer = {values: Array.from(here), x: Array.from(xValues), diff, tolerance: tol};
    $('layer-summary').append(verdict(`layer '${matlab.Name}' on ${backend} vs cpu backend`, diff, tol));
    if (!(diff <= tol)) fail(`The layer on ${backend} disagrees with the cpu backend by ${sci(diff)}.`);
  }

  // 2. The converted Keras model ---------------------------------------------

  async function convertedModelDemo() {
    const keras = await tf.loadLayersModel('/examples/data/converted_model/model.json');
    const {model} = tfbni.replaceBatchNormalization(keras);
    const replaced = model.layers.filter((l) => l.getClassName() === 'BatchNormInference').length;
    const shape = [3, ...keras.inputs[0].shape.slice(1)];
    const x = tf.tensor(values(shape.reduce((a, b) => a * b, 1), 2), shape);
    const converted = await predictValues(model, x);
    const original = await onBackend('cpu', () => predictValues(keras, x));
    x.dispose();
    keras.dispose();
    model.dispose();

    const units = converted.length / shape[0];
    const rows = [];
    for (let i = 0; i < shape[0]; i++) {
      const row = (v) => Array.from(v.slice(i * units, (i + 1) * units), num);
      rows.push([`sample ${i}`, 'original (BatchNormalization), cpu', ...row(original)]);
      rows.push(['', `converted (BatchNormInference), ${tf.getBackend()}`, ...row(converted)]);
    }
    $('model-result').append(table('model-table',
        ['input', 'model, backend', ...Array.from({length: units}, (_, j) => `logit ${j}`)], rows));
    const tol = 10 * tolerance();   // three conv layers on the GPU before the logits
    const diff = maxAbsDiff(converted, original);
    results.model = {replaced, diff, tolerance: tol};
    $('model-summary').append(
        el('div', {text: `'${keras.name}': ${replaced} BatchNormalization layers replaced by BatchNormInference.`}),
        verdict(`converted on ${tf.getBackend()} vs original on cpu`, diff, tol));
    if (!(diff <= tol) || replaced === 0) fail(`The converted model disagrees: ${sci(diff)}, ${replaced} replaced.`);
  }

  // 3. Folding batch norms away ----------------------------------------------

  /**
   * Times of predict + read for each model, interleaved, after a warm-up: one
   * array per model, one entry per repetition. onProgress(r) after each one.
   */
  async function timeModels(models, x, repeats, onProgress) {
    const times = models.map(() => []);
    for (const m of models) await predictValues(m, x);
    for (let r = 0; r < repeats; r++) {
      onProgress(r + 1);
      await tf.nextFrame();   // let the progress line paint
      for (let k = 0; k < models.length; k++) {
        const i = (r + k) % models.length;
        const start = performance.now();
        await predictValues(models[i], x);
        times[i].push(performance.now() - start);
      }
    }
    return times;
  }

  /**
   * A ratio a / b measured per repetition: its median, the range of the
   * per-repetition ratios, and whether that spread (half the range) exceeds the
   * median's distance from 1.0, i.e. whether "faster" or "slower" is within noise.
   */
  function ratioOf(a, b) {
    const ratios = a.map((v, i) => v / b[i]);
    const median = tfbniStats.median(ratios);
    const lo = Math.min(...ratios);
    const hi = Math.max(...ratios);
    return {median, lo, hi, noisy: (hi - lo) / 2 > Math.abs(median - 1)};
  }

  /** "1.23×", with the note when the spread says the difference from 1.0 is noise. */
  function ratioText(r) {
    return `${r.median.toFixed(2)}×` +
        (r.noisy ? ` (within noise: repetitions gave ${r.lo.toFixed(2)}–${r.hi.toFixed(2)}×)` : '');
  }

  /** max |a - b| / max |b| */
  const relativeDiff = (a, b) => maxAbsDiff(a, b) / b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

  async function foldDemo() {
    const loaded = await tf.loadLayersModel('/examples/data/converted_model/model.json');
    const size = params.has('quick') ? 96 : 224;
    const built = tfbniModels.randomizeWeights(tf, tfbniModels.mobileNetV2(tf, {size}), 1);
    const repeats = Number(params.get('repeats')) || 5;
    results.fold = [];
    // The table is shown at once; each model's row is added as soon as it is measured.
    const foldTable = table('fold-table',
        ['model', 'layers', 'batch norms folded', 'activations fused', 'left', 'before', 'after',
         'speed-up', 'largest difference'], []);
    $('fold-result').append(foldTable,
        el('div', {class: 'muted', text: `predict + read, medians of ${repeats} interleaved runs on ` +
                                         `${tf.getBackend()}; speed-up = median of the per-run ratios; largest ` +
                                         'difference as a fraction of max |y| (float32 sums in another order).'}));
    const progress = $('fold-progress');
    for (const [label, model] of [['converted_model (loaded)', loaded], [`MobileNetV2 ${size}×${size}×3 (built)`, built]]) {
      progress.textContent = `folding ${label}…`;
      await tf.nextFrame();
      const {model: folded, report} = await tfbni.foldBatchNormalizationAsync(model);
      const x = tf.randomUniform([1, ...model.inputs[0].shape.slice(1)], -1, 1, 'float32', 3);
      const diff = relativeDiff(await predictValues(folded, x), await predictValues(model, x));
      const [before, after] = await timeModels([model, folded], x, repeats, (r) => {
        progress.textContent = `timing ${label}, before and after folding: run ${r} of ${repeats}…`;
      });
      x.dispose();
      folded.dispose();
      model.dispose();
      const speedup = ratioOf(before, after);
      const summary = {model: label, layersBefore: report.layersBefore, layersAfter: report.layersAfter,
                       folded: report.folded.length, fused: report.fusedActivations.length, left: report.left.length,
                       beforeMs: tfbniStats.median(before), afterMs: tfbniStats.median(after),
                       speedup: speedup.median, speedupRange: [speedup.lo, speedup.hi], noisy: speedup.noisy, diff};
      results.fold.push(summary);
      foldTable.querySelector('tbody').append(el('tr', {}, [
        label, `${summary.layersBefore} → ${summary.layersAfter}`, summary.folded, summary.fused, summary.left,
        `${summary.beforeMs.toFixed(1)} ms`, `${summary.afterMs.toFixed(1)} ms`, ratioText(speedup), sci(diff),
      ].map((c) => el('td', {text: String(c)}))));
      if (!(diff <= 1e-4)) fail(`The folded ${label} disagrees with the original: ${sci(diff)} of max |y|.`);
    }
    progress.textContent = '';
  }

  // 4. Speed-up over tf.batchNorm ---------------------------------------------

  // Elements: larger bench shapes only with ?all (slow on software GL); ?quick keeps the small ones.
  const LARGEST = params.has('all') ? Infinity : params.has('quick') ? 1e6 : 4e6;
  // 'tensors': statistics made once (a layer's case); 'arrays': new Float32Arrays every call.
  const shapeLabel = (r) => `[${r.shape}] ${r.axis === 1 ? 'axis 1' : 'axis -1'}` +
      `${r.statistics === 'arrays' ? ', new stats' : ''}`;
  const verdictOf = (ratio) => (ratio >= 1.05 ? 'win' : ratio <= 0.95 ? 'loss' : 'tie');
  const COLORS = {win: '#188038', tie: '#9aa0a6', loss: '#c5221f'};

  /** Horizontal bars of the speed-up, an axis from 0 to a round number above the largest, a 1x line. */
  function drawChart(rows) {
    const NS = 'http://www.w3.org/2000/svg';
    const svgEl = (tag, attrs, text) => {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
      if (text !== undefined) node.textContent = text;
      return node;
    };
    const [width, left, right, top, barH] = [800, 240, 70, 40, 22];
    const axisY = top + rows.length * barH;
    const height = axisY + 44;
    const maxRatio = Math.max(1.2, ...rows.map((r) => r.speedup));
    const step = maxRatio > 4 ? 1 : maxRatio > 2 ? 0.5 : 0.25;
    const end = Math.ceil((maxRatio * 1.05) / step) * step;
    const xOf = (v) => left + (v / end) * (width - left - right);
    const svg = svgEl('svg', {id: 'bench-svg', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
                              'font-family': 'system-ui, sans-serif', 'font-size': 12});
    svg.append(svgEl('text', {x: left, y: 16, 'font-weight': 600},
                     'Speed-up over tf.batchNorm = its time / ours (higher is better)'));
    [['faster than tf.batchNorm', 'win'], ['within 5%', 'tie'], ['slower', 'loss']].forEach(([t, k], i) => {
      svg.append(svgEl('rect', {x: left + i * 180, y: 23, width: 10, height: 10, fill: COLORS[k]}));
      svg.append(svgEl('text', {x: left + i * 180 + 14, y: 32, fill: '#5f6368'}, t));
    });
    for (let v = 0; v <= end + 1e-9; v += step) {
      const gx = xOf(v);
      svg.append(svgEl('line', {x1: gx, x2: gx, y1: top - 2, y2: axisY, stroke: '#e8eaed'}));
      svg.append(svgEl('text', {x: gx, y: axisY + 14, 'text-anchor': 'middle', fill: '#5f6368'}, `${v}×`));
    }
    rows.forEach((r, i) => {
      const y = top + i * barH;
      svg.append(svgEl('text', {x: left - 8, y: y + barH - 8, 'text-anchor': 'end'}, shapeLabel(r)));
      const w = Math.max(1, xOf(r.speedup) - left);
      svg.append(svgEl('rect', {x: left, y: y + 3, width: w, height: barH - 6, fill: COLORS[verdictOf(r.speedup)],
                                'data-kind': 'speedup', 'data-value': r.speedup}));
      svg.append(svgEl('text', {x: left + w + 4, y: y + barH - 8}, `${r.speedup.toFixed(2)}×`));
    });
    const one = xOf(1);
    svg.append(svgEl('line', {x1: one, x2: one, y1: top - 4, y2: axisY, stroke: '#202124',
                              'stroke-dasharray': '4 3', 'data-kind': 'one'}));
    svg.append(svgEl('text', {x: (left + width - right) / 2, y: axisY + 32, 'text-anchor': 'middle',
                              fill: '#5f6368'}, '1× (dashed) = as fast as tf.batchNorm'));
    $('chart').append(svg);
  }

  /** What the numbers mean on this device, from the numbers. */
  function explain(bench, rows, repeats) {
    const software = /swiftshader|llvmpipe|software/i.test(bench.renderer);
    const list = (rs) => rs.map((r) => `${shapeLabel(r)} (${(r.size / 1e3).toFixed(0)}k elements, ` +
                                       `${r.speedup.toFixed(2)}×)`).join('; ');
    const wins = rows.filter((r) => verdictOf(r.speedup) === 'win');
    const others = rows.filter((r) => verdictOf(r.speedup) !== 'win');
    const small = rows.filter((r) => r.size <= 2e5);
    const large = rows.filter((r) => r.size > 2e5);
    const range = (rs, key) => `${Math.min(...rs.map((r) => r[key])).toFixed(2)}–` +
                               `${Math.max(...rs.map((r) => r[key])).toFixed(2)}×`;
    return [
      software ? `This device renders WebGL in software (${/swiftshader/i.test(bench.renderer) ? 'SwiftShader' :
                                                             bench.renderer}): the "GPU" is the CPU, so the ` +
                 'ratios say which program does less work, and the absolute times say nothing about a real GPU.' :
                 `GPU: ${bench.renderer}.`,
      wins.length ? `Measured here, the package is faster on ${list(wins)}.` : 'Measured here, it is faster on none.',
      others.length ? `It is not faster on ${list(others)}.` : '',
      small.length ? `Tensors of up to 200k elements are dispatch-bound: an op's time is mostly the fixed cost ` +
                     'of running one GPU program, the same for both, so their ratios move with noise (ours / ' +
                     `tf.add(x, 0), an identity-like op, is ${range(small, 'vsIdentity')} here).` : '',
      large.length ? `On larger tensors (${large.map(shapeLabel).join(', ')}) the per-element work decides: one ` +
                     'multiply-add per element against tf.batchNorm\'s square root and division; ours / ' +
                     `tf.add(x, 0) is ${range(large, 'vsIdentity')}.` : '',
      `Medians of ${repeats} repetitions (twice that for small tensors): on a busy device differences under ` +
          'about 20% are within noise; ?repeats=9 gives steadier figures, ?all adds the largest shapes.',
    ].filter(Boolean).join(' ');
  }

  async function benchmarkDemo() {
    if (tf.getBackend() !== 'webgl' || typeof window.tfbniWebglBench !== 'function') {
      $('bench-method').textContent = `The speed-up is measured on the webgl backend only (this page runs on ${tf.getBackend()}).`;
      return;
    }
    const shapes = window.TFBNI_BENCH_SHAPES.filter(({shape}) => shape.reduce((a, b) => a * b, 1) <= LARGEST);
    const repeats = Number(params.get('repeats')) || 3;
    $('bench-method').textContent =
        `Each shape: chains of dependent ops (ours, tf.batchNorm, tf.add(x, 0)) sampled in turn, one ` +
        `readback per chain timed alone and subtracted; medians of ${repeats} repetitions (${2 * repeats} ` +
        'for small tensors) after a warm-up (bench/webgl.js, as npm run bench measures). Statistics are ' +
        'tensors made once (a layer\'s case) or, in the rows marked "new stats", new arrays on every call. For axis 1, ' +
        'tf.batchNorm (channels-last only) is timed on the same number of elements in channels-last layout.';
    await tf.nextFrame();   // let the page paint sections 1 and 2 first
    const started = performance.now();
    const bench = await window.tfbniWebglBench({rows: shapes, repeats,
                                                onProgress: (m) => { $('bench-progress').textContent = m; }});
    $('bench-progress').textContent = '';
    const rows = bench.rows.map((r) => {
      const ratio = ratioOf(r.samples.batchNorm, r.samples.ours);
      return {shape: r.shape, axis: r.axis, statistics: r.statistics, size: r.size, chain: r.chain, ours: r.ours,
              batchNorm: r.batchNorm, identity: r.identity, speedup: r.batchNormOverOurs,
              speedupRange: [ratio.lo, ratio.hi], noisy: ratio.noisy, vsIdentity: r.oursOverIdentity};
    });
    results.bench = {rows, repeats, renderer: bench.renderer, seconds: (performance.now() - started) / 1000};
    drawChart(rows);
    $('bench-meaning').textContent = explain(bench, rows, repeats);
    const us = (ms) => `${(ms * 1000).toFixed(ms < 0.1 ? 1 : 0)} µs`;
    $('bench-result').append(table('bench-table',
        ['shape', 'elements', 'ops per chain', 'ours', 'tf.batchNorm', 'tf.add(x, 0)', 'speed-up', 'ours / add'],
        rows.map((r) => [shapeLabel(r), r.size.toLocaleString('en-US'), r.chain, us(r.ours), us(r.batchNorm),
                         us(r.identity), ratioText({median: r.speedup, lo: r.speedupRange[0], hi: r.speedupRange[1],
                                                    noisy: r.noisy}), `${r.vsIdentity.toFixed(2)}×`])),
        el('div', {class: 'muted', text: `Times per op (medians). Measured in ${results.bench.seconds.toFixed(0)} s; ` +
                                         'reload to measure again, ?all to add the largest shapes.'}));
  }

  async function main() {
    window.demoFlushErrors();
    if (typeof tf === 'undefined') throw new Error("TensorFlow.js did not load: run 'npm install'.");
    if (typeof tfbni === 'undefined') {
      throw new Error("tfjs-batchnorm-inference did not load: run 'npm run build' (npm run demo builds it).");
    }
    setStatus('running');
    const wanted = params.get('backend') || 'webgl';
    if (!(await tf.setBackend(wanted))) {
      throw new Error(`The ${wanted} backend is not available in this browser; try ?backend=cpu.`);
    }
    await tf.ready();
    showEnvironment();
    const parts = [layerDemo, convertedModelDemo, foldDemo, benchmarkDemo];
    for (const [i, part] of parts.entries()) {
      if (document.body.dataset.status !== 'error') $('status').textContent = `running section ${i + 1} of ${parts.length}`;
      try {
        await part();
      } catch (e) {
        fail(`${part.name}: ${errorText(e)}`);
      }
      await tf.nextFrame();   // paint this section before the next one starts
    }
    results.errors = errors;
    if (errors.length === 0) setStatus('done');
  }

  main().catch((e) => fail(errorText(e)));
})();
