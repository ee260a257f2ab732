/*
 * In-page half of the webgpu suite (test/webgpu.test.ts), loaded by
 * test/browser/harness.html?backend=webgpu: the page has loaded tf.min.js,
 * the webgpu backend, the plugin's bundle (global `tfbni`), test/helpers/stats.js
 * and harness_shared.js (what the webgl harness shares); Node calls these
 * functions through playwright's page.evaluate with plain arrays and
 * compares the results with the float64 reference on the Node side.
 */
'use strict';
(function() {
  const KERNEL = 'BatchNormInference';
  const {memory, options, makeInputs, runCases, grads, recordPrograms, withFlags} =
      window.harnessShared;

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

  /**
   * Puts a tensor in a GPU buffer (as the output of an op and a layer's used
   * weights are): makeInputs's placement 'gpu'. With 'cpu' the values stay
   * on the CPU for the kernel's dispatch to upload.
   */
  function toBuffer(t) {
    tf.backend().uploadToGPU(t.dataId);
  }

  /**
   * Runs `body` while recording the shaderKey of every program the backend is
   * asked to run (as the program sets it, before tfjs appends to it).
   */
  function recordShaderKeys(body) {
    return recordPrograms('runWebGPUProgram', (program) => program.shaderKey, body);
  }

  /**
   * Runs every case with the tfjs flags `flags` set (restored afterwards);
   * returns values and tf.memory() around each, and which variants of the
   * main program ran.
   */
  async function run(cases, placement, flags = {}) {
    return withFlags(flags, async () => {
      const {value, programs} = await recordShaderKeys(() => runCases(cases, placement, toBuffer));
      const variants = [...new Set(programs.filter((k) => k.startsWith('batchNormInference_'))
                                       .map((k) => k.slice('batchNormInference_'.length)))];
      return {results: value, pipelines: ownPipelines(), variants: variants.sort()};
    });
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
    const count = () => ({pipelines: pipelineKeys().length, own: ownPipelines().length});
    return window.harnessShared.epsilonRuns(c, 'cpu', toBuffer, epsilons, count);
  }

  /**
   * Calls the op `times` times on the same tensors and counts the programs
   * the backend runs in each call (the channel terms, then the main program; only the
   * main program while the statistics are unchanged). Then disposes the
   * inputs: the cached params must go with them.
   */
  async function dispatchCounts(c, times) {
    const backend = tf.backend();
    const before = memory();
    const {x, params} = makeInputs(c, 'gpu', toBuffer);
    const original = backend.runWebGPUProgram;
    const counts = [];
    for (let i = 0; i < times; i++) {
      const {value: y, programs} =
          await recordShaderKeys(() => tfbni.batchNormInference(x, ...params, options(c)));
      counts.push(programs.length);
      await y.data();
      y.dispose();
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
    const {value: webgpu, programs} = await recordShaderKeys(async () => {
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

  /** The typed-input cases (test/helpers/int32_inputs.ts), 'gpu' ones uploaded to buffers. */
  function typedInputs(cases) {
    return window.harnessShared.typedInputRuns(cases, toBuffer);
  }

  /**
   * A channel terms shader that does not compile (its WGSL replaced on its way to the
   * backend), for statistics whose gamma is bool-backed (a source no other
   * test compiles, so the failure it records touches nothing else): the
   * first call's error is found asynchronously; the next call must throw it.
   */
  async function brokenShader() {
    const backend = tf.backend();
    const boolGamma = () => tf.tidy(() => tf.cast(tf.tensor([true, true, false], [3], 'bool'), 'float32'));
    const before = memory();
    const t = {x: tf.ones([2, 3]), zero: tf.zeros([3]), one: tf.ones([3])};
    const call = (gamma) => tfbni.batchNormInference(t.x, gamma, t.zero, t.zero, t.one, {epsilon: 1e-3, axis: 1});
    const original = backend.runWebGPUProgram;
    backend.runWebGPUProgram = function(program, ...rest) {
      if (program.shaderKey === 'batchNormInferenceChannelTerms') {
        program.getUserCode = () => 'fn main(index : i32) { let broken : i32 = 1.5; }';
      }
      return original.call(this, program, ...rest);
    };
    const g1 = boolGamma();
    let firstError = null;
    try {
      const y = call(g1);
      await y.data();
      y.dispose();
    } catch (e) {
      firstError = e.message;
    } finally {
      delete backend.runWebGPUProgram;  // the prototype's method again
    }
    await backend.device.queue.onSubmittedWorkDone();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const g2 = boolGamma();
    const beforeSecond = memory();
    let message = null;
    try {
      call(g2).dispose();
    } catch (e) {
      message = e.message;
    }
    const afterSecond = memory();
    tf.dispose([g1, g2, ...Object.values(t)]);
    return {firstError, message, beforeSecond, afterSecond, before, after: memory(),
            restored: backend.runWebGPUProgram === original};
  }

  /** One case under tfjs's kernel leak check (IS_TEST), inputs placed as `placement` says. */
  async function leakCheckedRun(c, placement) {
    const [r] = await withFlags({IS_TEST: true}, () => runCases([c], placement, toBuffer));
    return r;
  }

  window.harness = {
    init, memory, run, large, epsilonRuns, dispatchCounts, kernelErrors, grads, layerModel,
    pipelineKeys, ownPipelines, typedInputs, brokenShader, leakCheckedRun,
    fromPixelsModel: window.harnessShared.fromPixelsModel,
  };
})();
