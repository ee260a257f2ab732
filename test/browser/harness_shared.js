/*
 * What the in-page halves of the GPU suites share (harness_webgl.js for
 * test/webgl.test.ts, harness_webgpu.js for test/webgpu.test.ts), loaded by
 * test/browser/harness.html before them: cases come from Node as plain arrays
 * (NaN, Infinity and -0 survive the trip), run through the op on the page's
 * backend, and go back with tf.memory() around them; Node compares them with
 * the float64 reference. Sets window.harnessShared.
 */
'use strict';
(function() {
  const PARAM_NAMES = ['gamma', 'beta', 'mean', 'variance'];

  function memory() {
    const m = tf.memory();
    return {numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU};
  }

  /** The op's options for a case: its epsilon (or `epsilon`), and its axis when it gives one. */
  function options(c, epsilon) {
    const opts = {epsilon: epsilon === undefined ? c.epsilon : epsilon};
    if (c.axisArg !== undefined) opts.axis = c.axisArg;
    return opts;
  }

  /**
   * x and the statistics of a case; placement 'gpu' hands each (unless x is
   * empty) to `toGpu`, the backend's way of putting a tensor's values on the
   * GPU only, 'cpu' leaves their values on the CPU.
   */
  function makeInputs(c, placement, toGpu) {
    const x = tf.tensor(c.x, c.shape, 'float32');
    const params = PARAM_NAMES.map((k) => tf.tensor1d(c[k], 'float32'));
    if (placement === 'gpu' && x.size > 0) {
      for (const t of [x, ...params]) toGpu(t);
    }
    return {x, params};
  }

  /**
   * Runs every case once, its inputs from `make(c)` ({x, params, opts}):
   * returns its name, dtype, shape and values (or the error), and
   * tf.memory() before and after. `prepare(c)`, if given, is awaited before
   * the memory is read; `observe(params)`, if given, is called before the op
   * and returns a function whose result (an object) is added to the case's
   * result after the op ran.
   */
  async function runEach(cases, make, prepare, observe) {
    const results = [];
    for (const c of cases) {
      if (prepare) await prepare(c);
      const before = memory();
      const result = {name: c.name, before};
      try {
        const {x, params, opts} = make(c);
        const observed = observe ? observe(params) : () => ({});
        const y = tfbni.batchNormInference(x, ...params, opts);
        result.dtype = y.dtype;
        result.shape = y.shape;
        result.values = Array.from(await y.data());
        Object.assign(result, observed());
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
   * Runs every case once (inputs from makeInputs(c, placement, toGpu)); see
   * runEach for what comes back.
   */
  function runCases(cases, placement, toGpu, observe) {
    const make = (c) => ({...makeInputs(c, placement, toGpu), opts: options(c)});
    return runEach(cases, make, null, observe);
  }

  /**
   * Runs a case (inputs as makeInputs places them) with each epsilon; after
   * each run, adds what `count()` returns (how many programs exist).
   */
  async function epsilonRuns(c, placement, toGpu, epsilons, count) {
    const runs = [];
    for (const epsilon of epsilons) {
      const {x, params} = makeInputs(c, placement, toGpu);
      const y = tfbni.batchNormInference(x, ...params, options(c, epsilon));
      const values = Array.from(await y.data());
      tf.dispose([x, ...params, y]);
      runs.push({epsilon, values, ...count()});
    }
    return runs;
  }

  /**
   * Gradients of sum(batchNormInference(...) * w) with respect to all five
   * inputs, on the page's backend and then on the cpu backend in this same
   * page: {<backend>: [...], cpu: [...], before, after, backendDuring}.
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
    const backend = tf.getBackend();
    const onBackend = [];
    for (const c of cases) onBackend.push(await once(c));
    const after = memory();
    await tf.setBackend('cpu');
    const cpu = [];
    try {
      for (const c of cases) cpu.push(await once(c));
    } finally {
      await tf.setBackend(backend);
    }
    return {[backend]: onBackend, cpu, before, after, backendDuring: backend};
  }

  /**
   * Runs `body` while recording what `describe(program)` says of every
   * program the backend is asked to run through its method `method`
   * (runWebGLProgram, runWebGPUProgram); the method is the backend's own
   * again afterwards. Resolves to {value: body's, programs}.
   */
  async function recordPrograms(method, describe, body) {
    const backend = tf.backend();
    const hadOwn = Object.prototype.hasOwnProperty.call(backend, method);
    const original = backend[method];
    const programs = [];
    backend[method] = function(program, ...rest) {
      programs.push(describe(program));
      return original.call(this, program, ...rest);
    };
    try {
      return {value: await body(), programs};
    } finally {
      if (hadOwn) backend[method] = original;
      else delete backend[method];  // the prototype's method again
    }
  }

  /** Runs `body` with the tfjs flags `flags` set, restoring them afterwards. */
  async function withFlags(flags, body) {
    const saved = Object.fromEntries(Object.keys(flags).map((k) => [k, tf.env().get(k)]));
    for (const [k, v] of Object.entries(flags)) tf.env().set(k, v);
    try {
      return await body();
    } finally {
      for (const [k, v] of Object.entries(saved)) tf.env().set(k, v);
    }
  }

  /**
   * One input of a typed-input case (test/helpers/int32_inputs.ts) as its
   * kind says: a float32 or int32 tensor, or tf.cast(int32 | bool -> float32),
   * whose data tfjs leaves int32 (bool) behind the float32 dtype.
   */
  function typedInput(values, shape, kind) {
    if (kind === 'int32') return tf.tensor(values, shape, 'int32');
    if (kind === 'int32-cast' || kind === 'bool-cast') {
      const source = kind === 'int32-cast' ? tf.tensor(values, shape, 'int32') :
                                             tf.tensor(values.map((v) => v !== 0), shape, 'bool');
      const cast = tf.cast(source, 'float32');
      source.dispose();
      return cast;
    }
    return tf.tensor(values, shape, 'float32');
  }

  /**
   * Runs each typed-input case after filling (and freeing) a tensor of x's
   * size with 777, so that a result read from a recycled buffer shows.
   * `toGpu(t)` puts a tensor's values on the GPU (cases with gpu: true).
   */
  function typedInputRuns(cases, toGpu) {
    const make = (c) => {
      const x = typedInput(c.x, c.shape, c.kinds.x);
      const params = PARAM_NAMES.map((k) => typedInput(c[k], [c[k].length], c.kinds[k]));
      if (c.gpu) for (const t of [x, ...params]) toGpu(t);
      return {x, params, opts: {epsilon: c.epsilon, axis: c.axis}};
    };
    return runEach(cases, make, (c) => fillAndFree(c.shape));
  }

  /** Fills a tensor of `shape` with 777, waits for it and frees it: its buffer is then recycled. */
  async function fillAndFree(shape) {
    const trap = tf.fill(shape, 777);
    await trap.data();
    trap.dispose();
  }

  /**
   * A channels-last layer model fed what tf.browser.fromPixels gives (an
   * int32 [height, width, 3] image, batched): returns the pixels, the
   * layer's statistics, the prediction and tf.memory() around it.
   */
  async function fromPixelsModel() {
    const [height, width] = [3, 4];
    const rgba = Array.from({length: height * width * 4}, (_, i) => (i * 37 + 11) % 256);
    const stats = {TrainedMean: [120, 100, 140], TrainedVariance: [900, 1600, 2500],
                   Scale: [1, -2, 0.5], Offset: [0, 1, -1]};
    await fillAndFree([1, height, width, 3]);
    const before = memory();
    const input = tf.input({shape: [height, width, 3]});
    const layer = tfbni.batchNormInferenceLayer({axis: -1, Epsilon: 1e-3, ...stats});
    const model = tf.model({inputs: input, outputs: layer.apply(input)});
    const pixels = tf.browser.fromPixels(
        new ImageData(Uint8ClampedArray.from(rgba), width, height), 3);
    const batch = pixels.expandDims(0);
    const y = model.predict(batch);
    const values = Array.from(await y.data());
    const dtype = pixels.dtype;
    const rgb = Array.from(await pixels.data());
    tf.dispose([pixels, batch, y]);
    model.dispose();
    return {dtype, shape: [1, height, width, 3], rgb, stats, values, before, after: memory()};
  }

  window.harnessShared = {
    memory, options, makeInputs, runCases, epsilonRuns, grads, recordPrograms, withFlags,
    typedInputRuns, fromPixelsModel,
  };
})();
