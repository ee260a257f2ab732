/*
 * In-page half of the webgpu suite (test/webgpu.test.ts). The page has loaded
 * tf.min.js, the webgpu backend and the plugin's bundle (global `tfbni`);
 * Node calls these functions through playwright's page.evaluate with plain
 * arrays (NaN, Infinity and -0 survive the trip) and compares the results
 * with the float64 reference on the Node side.
 */
'use strict';
(function() {
  const KERNEL = 'BatchNormInference';
  const PARAM_NAMES = ['gamma', 'beta', 'mean', 'variance'];

  function memory() {
    const m = tf.memory();
    return {numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU};
  }

  /** Keys of every compute pipeline the webgpu backend has compiled. */
  function pipelineKeys() {
    return Object.keys(tf.backend().pipelineCache);
  }

  /** The pipelines of this plugin (shaderKey batchNormInference_<variant>...). */
  function ownPipelines() {
    return pipelineKeys().filter((k) => k.startsWith('batchNormInference_'));
  }

  /**
   * Whether WebGPU is there and tfjs runs on it. Never throws: the Node side
   * turns a missing piece into a message saying what is needed.
   */
  async function init() {
    const out = {navigatorGpu: typeof navigator.gpu !== 'undefined', adapter: null,
                 backend: null, error: null, tfjs: tf.version.tfjs, plugin: tfbni.version,
                 webgpuBackendLoaded: tf.findBackendFactory('webgpu') != null};
    if (!out.navigatorGpu || !out.webgpuBackendLoaded) return out;
    try {
      const adapter = await navigator.gpu.requestAdapter();
      if (adapter == null) return out;
      const info = adapter.info || {};
      out.adapter = {vendor: info.vendor, architecture: info.architecture,
                     description: info.description};
      await tf.setBackend('webgpu');
      await tf.ready();
    } catch (e) {
      out.error = String((e && e.message) || e);
    }
    out.backend = tf.getBackend();
    out.hasKernel = tf.getKernel(KERNEL, 'webgpu') != null;
    return out;
  }

  function options(c, epsilon) {
    const opts = {epsilon: epsilon === undefined ? c.epsilon : epsilon};
    if (c.axisArg !== undefined) opts.axis = c.axisArg;
    return opts;
  }

  /**
   * x and the statistics; placement 'gpu' puts them in GPU buffers first (as
   * the output of an op and a layer's used weights are), 'cpu' leaves their
   * values on the CPU for the kernel's dispatch to upload.
   */
  function makeInputs(c, placement) {
    const x = tf.tensor(c.x, c.shape, 'float32');
    const params = PARAM_NAMES.map((k) => tf.tensor1d(c[k], 'float32'));
    if (placement === 'gpu' && x.size > 0) {
      for (const t of [x, ...params]) tf.backend().uploadToGPU(t.dataId);
    }
    return {x, params};
  }

  /**
   * Runs `body` while recording the shaderKey of every program the backend is
   * asked to run (as the program sets it, before tfjs appends to it).
   */
  async function recordPrograms(body) {
    const backend = tf.backend();
    const original = backend.runWebGPUProgram;
    const programs = [];
    backend.runWebGPUProgram = function(program, ...rest) {
      programs.push(program.shaderKey);
      return original.call(this, program, ...rest);
    };
    try {
      return {value: await body(), programs};
    } finally {
      delete backend.runWebGPUProgram;  // the prototype's method again
    }
  }

  /**
   * Runs every case with the tfjs flags `flags` set (restored afterwards);
   * returns values and tf.memory() around each, and which variants of the
   * main program ran.
   */
  async function run(cases, placement, flags = {}) {
    const saved = Object.fromEntries(Object.keys(flags).map((k) => [k, tf.env().get(k)]));
    for (const [k, v] of Object.entries(flags)) tf.env().set(k, v);
    try {
      const {value, programs} = await recordPrograms(() => runCases(cases, placement));
      const variants = [...new Set(programs.filter((k) => k.startsWith('batchNormInference_'))
                                       .map((k) => k.slice('batchNormInference_'.length)))];
      return {results: value, pipelines: ownPipelines(), variants: variants.sort()};
    } finally {
      for (const [k, v] of Object.entries(saved)) tf.env().set(k, v);
    }
  }

  async function runCases(cases, placement) {
    const results = [];
    for (const c of cases) {
      const before = memory();
      const result = {name: c.name, before};
      try {
        const {x, params} = makeInputs(c, placement);
        const y = tfbni.batchNormInference(x, ...params, options(c));
        result.dtype = y.dtype;
        result.shape = y.shape;
        result.values = Array.from(await y.data());
        tf.dispose([x, ...params, y]);
      } catch (e) {
        result.error = String((e && e.stack) || e);
      }
      result.after = memory();
      results.push(result);
    }
    return results;
  }

  /**
   * A large x (generated here, x[i] = ((i * 7919) % 2001 - 1000) / 100) so that
   * the dispatch exceeds 65535 workgroups in one dimension; returns the
   * values at `indices` only.
   */
  async function large(shape, axis, stats, epsilon, indices) {
    const before = memory();
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = ((i * 7919) % 2001 - 1000) / 100;
    const x = tf.tensor(data, shape);
    const params = stats.map((s) => tf.tensor1d(s));
    const y = tfbni.batchNormInference(x, ...params, {epsilon, axis});
    const values = await y.data();
    tf.dispose([x, y, ...params]);
    return {values: indices.map((i) => values[i]), before, after: memory(),
            pipelines: ownPipelines()};
  }

  /** Runs one case with each epsilon; counts pipelines after each run. */
  async function epsilonRuns(c, epsilons) {
    const runs = [];
    for (const epsilon of epsilons) {
      const {x, params} = makeInputs(c, 'cpu');
      const y = tfbni.batchNormInference(x, ...params, options(c, epsilon));
      const values = Array.from(await y.data());
      tf.dispose([x, ...params, y]);
      runs.push({epsilon, values, pipelines: pipelineKeys().length, own: ownPipelines().length});
    }
    return runs;
  }

  /**
   * Calls the op `times` times on the same tensors and counts the programs
   * the backend runs in each call (the fold, then the main program; only the
   * main program while the statistics are unchanged). Then disposes the
   * inputs: the cached params must go with them.
   */
  async function dispatchCounts(c, times) {
    const backend = tf.backend();
    const before = memory();
    const {x, params} = makeInputs(c, 'gpu');
    const original = backend.runWebGPUProgram;
    const counts = [];
    let n = 0;
    backend.runWebGPUProgram = function(...args) {
      n++;
      return original.apply(this, args);
    };
    try {
      for (let i = 0; i < times; i++) {
        n = 0;
        const y = tfbni.batchNormInference(x, ...params, options(c));
        counts.push(n);
        await y.data();
        y.dispose();
      }
    } finally {
      delete backend.runWebGPUProgram;  // the prototype's method again
    }
    const cached = memory();
    tf.dispose([x, ...params]);
    return {counts, before, cached, after: memory(), restored: backend.runWebGPUProgram === original};
  }

  /**
   * The kernel's own checks, reached through engine().runKernel (the op
   * checks first, so only direct calls get here). Returns each message and
   * tf.memory() before and after all of them.
   */
  function kernelErrors() {
    const t = {
      x: tf.ones([2, 3, 4]), xInt: tf.ones([2, 3, 4], 'int32'), x1: tf.ones([3]),
      g3: tf.ones([3]), g2: tf.ones([2]), z3: tf.zeros([3]),
    };
    const before = memory();
    const inputs = (over) => Object.assign(
        {x: t.x, gamma: t.g3, beta: t.z3, mean: t.z3, variance: t.g3}, over);
    const attempts = {
      missingVariance: [inputs({variance: undefined}), {epsilon: 1e-3, axis: 1}],
      epsilonZero: [inputs({}), {epsilon: 0, axis: 1}],
      axisTooLarge: [inputs({}), {epsilon: 1e-3, axis: 3}],
      gammaTooShort: [inputs({gamma: t.g2}), {epsilon: 1e-3, axis: 1}],
      intX: [inputs({x: t.xInt}), {epsilon: 1e-3, axis: 1}],
      rank1X: [inputs({x: t.x1}), {epsilon: 1e-3, axis: 0}],
    };
    const messages = {};
    for (const [name, [ins, attrs]] of Object.entries(attempts)) {
      try {
        tf.engine().runKernel(KERNEL, ins, attrs);
        messages[name] = null;
      } catch (e) {
        messages[name] = e.message;
      }
    }
    const after = memory();
    tf.dispose(Object.values(t));
    return {messages, before, after};
  }

  /**
   * Gradients of sum(batchNormInference(...) * w) with respect to all five
   * inputs, on webgpu and then on the cpu backend in this same page.
   */
  async function grads(cases) {
    async function once(c) {
      const {x, params} = makeInputs(c, 'cpu');
      const w = tf.tensor(c.w, c.shape, 'float32');
      const f = (x, g, b, m, v) =>
          tf.sum(tf.mul(tfbni.batchNormInference(x, g, b, m, v, options(c)), w));
      const gs = tf.grads(f)([x, ...params]);
      const values = [];
      for (const g of gs) values.push(Array.from(await g.data()));
      tf.dispose([x, ...params, w, ...gs]);
      return values;
    }
    const before = memory();
    const webgpu = [];
    for (const c of cases) webgpu.push(await once(c));
    const after = memory();
    const backend = tf.getBackend();
    await tf.setBackend('cpu');
    const cpu = [];
    try {
      for (const c of cases) cpu.push(await once(c));
    } finally {
      await tf.setBackend(backend);
    }
    return {webgpu, cpu, before, after, backendDuring: backend};
  }

  /**
   * A small conv net with the layer channels-last and, after a transpose to
   * channels-first, with axis 1: predictions on webgpu (after a first call
   * that uploads the weights), then the same model rebuilt on cpu with the
   * same weights. (Nothing is moved between backends: tfjs would read the
   * webgpu buffers synchronously to do that.)
   */
  async function layerModel() {
    const random = tfbniStats.prng(3);
    const values = (n, lo, hi) => Array.from({length: n}, () => lo + (hi - lo) * random());
    const stats = (axis, epsilon) => ({
      axis, TrainedMean: values(8, -1, 1), TrainedVariance: values(8, 0.1, 3),
      Scale: values(8, -2, 2), Offset: values(8, -1, 1), Epsilon: epsilon,
    });
    const layerArgs = [stats(-1, 1e-3), stats(1, 1e-5)];
    const xValues = values(2 * 6 * 6 * 3, -2, 2);
    const build = () => {
      const input = tf.input({shape: [6, 6, 3]});
      const conv = tf.layers.conv2d({filters: 8, kernelSize: 3, padding: 'same'}).apply(input);
      const bn1 = tfbni.batchNormInferenceLayer(layerArgs[0]).apply(conv);
      const chw = tf.layers.permute({dims: [3, 1, 2]}).apply(bn1);
      const bn2 = tfbni.batchNormInferenceLayer(layerArgs[1]).apply(chw);
      return tf.model({inputs: input, outputs: bn2});
    };
    const backend = tf.getBackend();
    const model = build();
    const initial = model.getWeights().map((w) =>
        w.name.includes('kernel') ? tf.tensor(values(w.size, -1, 1), w.shape) : w.clone());
    model.setWeights(initial);
    tf.dispose(initial);
    const weights = [];
    for (const w of model.getWeights()) weights.push({shape: w.shape, values: await w.data()});
    const x = tf.tensor(xValues, [2, 6, 6, 3]);
    // A first call uploads the weights; reading its result submits the queue,
    // which releases the intermediates tfjs disposed while they were queued.
    const first = model.predict(x);
    await first.data();
    first.dispose();
    const before = memory();
    const {value: webgpu, programs} = await recordPrograms(async () => {
      const y = model.predict(x);
      const values = Array.from(await y.data());
      y.dispose();
      return values;
    });
    const after = memory();
    const ownPrograms = programs.filter((k) => k.startsWith('batchNormInference'));
    x.dispose();
    model.dispose();
    await tf.setBackend('cpu');
    let cpu;
    try {
      const onCpu = build();
      const copies = weights.map((w) => tf.tensor(w.values, w.shape));
      onCpu.setWeights(copies);
      tf.dispose(copies);
      cpu = tf.tidy(() => Array.from(onCpu.predict(tf.tensor(xValues, [2, 6, 6, 3])).dataSync()));
      onCpu.dispose();
    } finally {
      await tf.setBackend(backend);
    }
    return {webgpu, cpu, before, after, backendDuring: backend, ownPrograms};
  }

  window.harness = {
    init, memory, run, large, epsilonRuns, dispatchCounts, kernelErrors, grads, layerModel,
    pipelineKeys, ownPipelines,
  };
})();
