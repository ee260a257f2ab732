#!/usr/bin/env node
/*
 * End-to-end bench: whole models (MobileNetV2 at 224x224x3, a ResNet-style
 * block stack at 28x28x32, a small CNN at 32x32x3; batch 1) as built with tf.layers ("stock"),
 * after replaceBatchNormalization ("replace"), after foldBatchNormalization
 * ("fold") and after foldBatchNormalization({stockLayersOnly: true})
 * ("fold-stock"); and, as the upper bound of what folding can remove, the
 * same model built without its batch norms and the activations after them
 * ("bound: no BN, no act.": different outputs, timing only).
 *
 *   npm run build && node bench/models.js [--backend cpu|wasm|webgl|webgpu] [--reps N] [--models a,b] [--json]
 *
 * What is timed: model.predict(x) and reading the result (dataSync() in
 * Node, await data() in the browser), i.e. what a user waits for, output
 * allocation included; for a model faster than 50 ms one sample is N such
 * predictions in a row (reported per prediction), so that timer and GC noise
 * do not decide. After warm-up runs, the variants run interleaved
 * (the order rotates each repetition); the table shows each variant's
 * median and minimum time and its speed-up over stock: the median of the
 * per-repetition ratios stock/variant (robust to load that changes during
 * the run) and the ratio of the minimums (warm).
 *
 * cpu and wasm run in Node; webgl and webgpu in headless Chromium (software
 * GL / SwiftShader Vulkan on a machine without a GPU: relative timings only).
 * Weights and statistics are random (bench/model_builders.js): nothing is
 * downloaded. Loaded in a page, this file defines window.tfbniModelsBench.
 */
(function (root) {
  'use strict';
  const inNode = typeof module === 'object' && module.exports;

  const VARIANTS = ['stock', 'replace', 'fold', 'fold-stock'];
  const BOUND = 'bound: no BN, no act.';
  const SAMPLE_MS = 50;
  const MODELS = {
    mobilenetv2: (tf, B) => B.mobileNetV2(tf, {size: 224}),
    resnet: (tf, B) => B.resNetBlocks(tf, {size: 28, width: 32}),
    smallcnn: (tf, B) => B.smallCnn(tf, {size: 32}),
  };

  /**
   * The measurement, given the tf namespace, the plugin (tfbni), the model
   * builders and tools/stats.js. opts: {models, reps, warmup, readAsync}.
   */
  async function measure(tf, tfbni, B, S, opts) {
    const now = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();
    const progress = opts.onProgress || (() => {});
    const backend = tf.getBackend();
    const result = {backend, reps: opts.reps, models: []};
    // On cpu the fused layers run their bias + activation as one pass of their own;
    // 'fold (tf.fused)' runs the same folded model through tf.fused's cpu kernels.
    // 'bound: no BN, no act.' = the model without its batch norms and the
    // activations after them: what folding could at best remove (timing only).
    const all = [...VARIANTS, ...(tf.getBackend() === 'cpu' ? ['fold (tf.fused)'] : []), BOUND];
    result.variants = all;
    for (const name of opts.models) {
      // Built and converted on the backend measured, with the async tools
      // (webgpu has no dependable synchronous read; they work everywhere).
      const stock = B.randomizeWeights(tf, MODELS[name](tf, B), 1);
      const folded = await tfbni.foldBatchNormalizationAsync(stock);
      const models = {
        stock,
        replace: (await tfbni.replaceBatchNormalizationAsync(stock)).model,
        fold: folded.model,
        'fold-stock': (await tfbni.foldBatchNormalizationAsync(stock, {stockLayersOnly: true})).model,
        'fold (tf.fused)': folded.model,
        [BOUND]: B.randomizeWeights(tf, B.withoutBatchNorm(() => MODELS[name](tf, B)), 1),
      };
      const x = tf.randomUniform([1, ...stock.inputs[0].shape.slice(1)], -1, 1, 'float32', 5);
      // One sample = `calls` predictions in a row (each read back), timed
      // together and reported per prediction: 1 for slow models, more for
      // fast ones so that a sample lasts about SAMPLE_MS (timer and GC noise).
      let calls = 1;
      const run = async (variant) => {
        tfbni.setFusedCpuEpilogue(variant !== 'fold (tf.fused)');
        const start = now();
        for (let c = 0; c < calls; c++) {
          const y = models[variant].predict(x);
          if (opts.readAsync) await y.data(); else y.dataSync();
          y.dispose();
        }
        const ms = (now() - start) / calls;
        tfbni.setFusedCpuEpilogue(true);
        return ms;
      };
      // The outputs must agree before their speed means anything.
      const reference = stock.predict(x);
      const peak = tf.tidy(() => tf.max(tf.abs(reference)));
      const scale = (await peak.data())[0];
      peak.dispose();
      const maxDiff = {};
      const unavailable = {};
      for (const v of all.slice(1).filter((v) => v !== BOUND)) {
        tfbni.setFusedCpuEpilogue(v !== 'fold (tf.fused)');
        try {
          const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(models[v].predict(x), reference))));
          maxDiff[v] = (await diff.data())[0] / scale;
          diff.dispose();
        } catch (e) {  // e.g. no BatchNormInference kernel for this backend in this build
          unavailable[v] = String(e.message || e).split('\n')[0];
        } finally {
          tfbni.setFusedCpuEpilogue(true);
        }
      }
      const variants = all.filter((v) => !(v in unavailable));
      reference.dispose();
      const warm = [];
      for (let i = 0; i < opts.warmup; i++) for (const v of variants) warm.push(await run(v));
      calls = Math.max(1, Math.round(SAMPLE_MS / S.median(warm)));
      const times = Object.fromEntries(variants.map((v) => [v, []]));
      for (let r = 0; r < opts.reps; r++) {
        for (let k = 0; k < variants.length; k++) {
          const v = variants[(r + k) % variants.length];
          times[v].push(await run(v));
        }
        progress(`${name} rep ${r + 1}/${opts.reps}`);
      }
      const row = {model: name, layers: tfbni.formatFoldReport(folded.report).split('\n')[0], variants: {},
                   unavailable, calls};
      for (const v of variants) {
        row.variants[v] = {
          medianMs: S.median(times[v]),
          minMs: S.minimum(times[v]),
          speedup: S.medianRatio(times.stock, times[v]),
          minSpeedup: S.minimum(times.stock) / S.minimum(times[v]),
          maxRelDiff: maxDiff[v] ?? 0,
        };
      }
      result.models.push(row);
      x.dispose();
      for (const v of [...VARIANTS, BOUND]) models[v].dispose();  // 'fold (tf.fused)' is models.fold
    }
    return result;
  }

  function formatModelsTable(result) {
    const lines = [
      `backend ${result.backend}, batch 1, ${result.reps} interleaved repetitions; ` +
          'speed-up = stock time / variant time (median of per-repetition ratios; ratio of minimums); ' +
          `ms per prediction; "×N": a sample is N predictions in a row (models faster than ${SAMPLE_MS} ms)`,
      '',
      '| model | variant | median ms | min ms | speed-up (median) | speed-up (min) | max rel. diff |',
      '|---|---|---:|---:|---:|---:|---:|',
    ];
    for (const row of result.models) {
      const model = row.calls > 1 ? `${row.model} ×${row.calls}` : row.model;
      for (const v of result.variants) {
        const r = row.variants[v];
        if (r === undefined) {
          lines.push(`| ${model} | ${v} | n/a | n/a | n/a | n/a | ${row.unavailable[v]} |`);
          continue;
        }
        const diff = v === BOUND ? 'n/a (timing only)' : r.maxRelDiff.toExponential(1);
        lines.push(`| ${model} | ${v} | ${r.medianMs.toFixed(2)} | ${r.minMs.toFixed(2)} | ` +
                   `${r.speedup.toFixed(2)}x | ${r.minSpeedup.toFixed(2)}x | ${diff} |`);
      }
    }
    return lines.join('\n');
  }

  if (!inNode) {
    root.tfbniModelsBench = (opts) => measure(root.tf, root.tfbni, root.tfbniModels, root.tfbniStats, opts);
    return;
  }

  const DEFAULT_REPS = {cpu: 5, wasm: 9, webgl: 15, webgpu: 9};
  async function runInNode(backend, opts) {
    const tf = require('@tensorflow/tfjs');
    if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
    const tfbni = require('../dist/index.cjs');
    if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not initialize`);
    const warn = console.warn;  // the cpu backend's "use tfjs-node" banner is not bench output
    console.warn = (...a) => { if (!String(a[0]).includes('tfjs-node')) warn(...a); };
    try {
      return await measure(tf, tfbni, require('./model_builders.js'), require('../tools/stats.js'), opts);
    } finally {
      console.warn = warn;
    }
  }

  /** In headless Chromium (tools/chromium.js), on a page of the package's own origin (WebGPU needs http://127.0.0.1). */
  function runInBrowser(backend, opts) {
    const {runInBenchPage} = require('./gpu_timing.js');
    const {WEBGPU_FLAGS} = require('../tools/chromium.js');
    return runInBenchPage({
      pathname: `/test/browser/harness.html?backend=${backend}`,
      scripts: ['/bench/model_builders.js', '/bench/models.js'],
      bundle: backend === 'webgpu' ? 'tfjs-batchnorm-inference.js' : 'tfjs-batchnorm-inference.min.js',
      extraFlags: backend === 'webgpu' ? WEBGPU_FLAGS : [],
      onProgress: opts.onProgress,
    }, async ({backend, opts, progress}) => {
      if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not initialize`);
      if (progress) opts.onProgress = (m) => window.tfbniBenchProgress(m);
      return window.tfbniModelsBench(opts);
    }, {backend, opts: {...opts, onProgress: undefined, readAsync: true}});
  }

  /**
   * Runs the bench on one backend: {backend = 'cpu', reps, warmup = 2,
   * models = all, onProgress}. Needs dist/ (npm run build).
   */
  async function runModelsBench(options = {}) {
    const backend = options.backend || 'cpu';
    const opts = {
      models: options.models || Object.keys(MODELS),
      reps: options.reps || DEFAULT_REPS[backend],
      warmup: options.warmup ?? 2,
      onProgress: options.onProgress,
    };
    const unknown = opts.models.filter((m) => !(m in MODELS));
    if (unknown.length) throw new Error(`unknown model ${unknown[0]}; the models are ${Object.keys(MODELS).join(', ')}`);
    if (backend === 'cpu' || backend === 'wasm') return runInNode(backend, opts);
    if (backend === 'webgl' || backend === 'webgpu') return runInBrowser(backend, opts);
    throw new Error(`unknown backend '${backend}'; use cpu, wasm, webgl or webgpu`);
  }

  module.exports = {runModelsBench, formatModelsTable, measure, VARIANTS, MODELS};

  if (require.main === module) {
    const args = process.argv.slice(2);
    const value = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
    const started = Date.now();
    runModelsBench({
      backend: value('--backend'),
      reps: value('--reps') ? Number(value('--reps')) : undefined,
      models: value('--models') ? value('--models').split(',') : undefined,
      onProgress: (m) => process.stderr.write(`  ${m}\n`),
    }).then((result) => {
      process.stdout.write(args.includes('--json') ? JSON.stringify(result, null, 2) + '\n' :
                           `${formatModelsTable(result)}\n(${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    }, (e) => {
      process.stderr.write(`bench/models.js: ${e.stack || e}\n`);
      process.exit(1);
    });
  }
})(typeof globalThis !== 'undefined' ? globalThis : this);
