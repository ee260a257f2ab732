/*
 * In-page half of the webgl suite (test/webgl.test.ts), loaded by
 * test/browser/harness.html (the default backend, webgl): the page has
 * loaded tf.min.js, the plugin's bundle (global `tfbni`) and
 * harness_shared.js (what the webgpu harness shares); Node calls these
 * functions through playwright's page.evaluate with plain arrays, and
 * compares what comes back with the float64 reference on the Node side.
 */
'use strict';
(function() {
  const {memory, options, makeInputs, runCases, grads, recordPrograms} = window.harnessShared;

  /** Keys of every compiled shader program of the webgl backend. */
  function programKeys() {
    return Object.keys(tf.backend().binaryCache);
  }

  /** The tag on the first line of every program of the plugin's webgl kernel. */
  const TAG = 'tfbni:BatchNormInference';

  /** The programs of this plugin (main programs and GPU channel terms). */
  function ownPrograms() {
    return programKeys().filter((k) => k.includes(TAG));
  }

  /**
   * Runs fn() and returns the tags (e.g. 'packed own-texel', 'terms
   * packed') of the plugin's programs it ran, in order, by watching
   * backend.runWebGLProgram; other programs appear as '-'.
   */
  async function programsRun(fn) {
    const tag = (program) => {
      const m = new RegExp(TAG + ' ([^\\n]*)').exec(program.userCode);
      return m ? m[1].trim() : '-';
    };
    return (await recordPrograms('runWebGLProgram', tag, fn)).programs;
  }

  function renderer(gl) {
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
  }

  function info() {
    const backend = tf.backend();
    const gl = backend.gpgpu.gl;
    const env = tf.env();
    return {
      backend: tf.getBackend(),
      webglVersion: env.getNumber('WEBGL_VERSION'),
      glVersion: gl.getParameter(gl.VERSION),
      renderer: renderer(gl),
      pack: env.getBool('WEBGL_PACK'),
      forceF16: env.getBool('WEBGL_FORCE_F16_TEXTURES'),
      renderFloat32: env.getBool('WEBGL_RENDER_FLOAT32_ENABLED'),
      maxTextureSize: env.getNumber('WEBGL_MAX_TEXTURE_SIZE'),
      shapeUniforms: env.getBool('WEBGL_USE_SHAPES_UNIFORMS'),
      textureBits: textureBits(),
      tfjs: tf.version.tfjs,
      plugin: tfbni.version,
    };
  }

  /**
   * 32 or 16: whether a value stored in a texture keeps float32 precision
   * (1 + 2^-20 survives) or is rounded to half float. (tfjs's own
   * backend.floatPrecision() answers 16 on float32-capable GPUs in 4.22, so
   * it is not used here.)
   */
  function textureBits() {
    const t = tf.tensor1d([1 + Math.pow(2, -20)], 'float32');
    toGpu(t, tf.env().getBool('WEBGL_PACK'));
    const v = t.dataSync()[0];
    t.dispose();
    return v === 1 ? 16 : 32;
  }

  /** Sets the flags, then initializes the webgl backend (flags first). */
  async function init(flags) {
    for (const [name, value] of Object.entries(flags)) tf.env().set(name, value);
    if (!(await tf.setBackend('webgl'))) throw new Error('tf.setBackend("webgl") failed');
    await tf.ready();
    return info();
  }

  /**
   * Moves a tensor's values into a texture, as the backend does for a
   * program's input (packed when `packed`), so a kernel sees data that lives
   * on the GPU only (texData values null).
   */
  function toGpu(t, packed) {
    const backend = tf.backend();
    const data = backend.texData.get(t.dataId);
    data.isPacked = packed;
    backend.uploadToGPU(t.dataId);
    if (backend.texData.get(t.dataId).values != null || data.texture == null) {
      throw new Error('toGpu: the tensor still has CPU values');
    }
  }

  /** toGpu in the current layout (packed as WEBGL_PACK says): makeInputs's placement 'gpu'. */
  function toTexture(t) {
    toGpu(t, tf.env().getBool('WEBGL_PACK'));
  }

  /** The statistics' place (CPU values or not) before and after the op. */
  function statsStay(params) {
    const onCpu = () => params.map((p) => tf.backend().texData.get(p.dataId).values != null);
    const before = onCpu();
    return () => ({statsStayed: onCpu().every((v, i) => v === before[i])});
  }

  /**
   * Runs every case once. placement 'cpu': inputs with CPU values (the
   * channel terms are made on the CPU, x is uploaded by the backend); 'gpu':
   * everything already in textures (the terms are made on the GPU; a packed x
   * already has the output's layout). Returns the values and tf.memory() around each case, and
   * whether the kernel left the statistics where they were (statsStayed).
   */
  async function run(cases, placement) {
    return runCases(cases, placement, toTexture, statsStay);
  }

  /**
   * Runs a case with several epsilons and reports how many shader programs
   * exist after each run: after the first (which may compile), the count must
   * not grow.
   */
  async function epsilonRuns(c, placement, epsilons) {
    const count = () => ({programs: programKeys().length, own: ownPrograms().length});
    return window.harnessShared.epsilonRuns(c, placement, toTexture, epsilons, count);
  }

  /** Runs cases of different shapes and counts this plugin's programs after each. */
  async function shapeRuns(cases, placement) {
    const runs = [];
    for (const c of cases) {
      const {x, params} = makeInputs(c, placement, toTexture);
      const y = tfbni.batchNormInference(x, ...params, options(c));
      const values = Array.from(await y.data());
      tf.dispose([x, ...params, y]);
      runs.push({name: c.name, values, own: ownPrograms().length});
    }
    return runs;
  }

  /**
   * x produced by other ops, so its texture has a layout of its own: a free
   * reshape (texture kept, texData shape differs), a reshape that repacks, a
   * slice (a shallow slice with a flat offset when unpacked), a transpose.
   * Returns x's and y's values (read after the op ran) and the statistics;
   * the reference is computed in Node. Also a rank-7 x, which must be
   * rejected with a clear message and no leak.
   */
  async function derived() {
    const before = memory();
    const base = tf.tidy(() => tf.add(tf.randomUniform([4, 6, 10], -5, 5, 'float32', 7), 0));
    const makers = {
      'free reshape [4,6,10] -> [2,2,6,10], axis 1': [() => tf.reshape(base, [2, 2, 6, 10]), 1],
      'repacking reshape [4,6,10] -> [4,60], axis -1': [() => tf.reshape(base, [4, 60]), -1],
      'slice [1:3] of [4,6,10], axis -1': [() => tf.slice(base, [1, 0, 0], [2, 6, 10]), -1],
      'slice [1:3] of [4,6,10], axis 1': [() => tf.slice(base, [1, 0, 0], [2, 6, 10]), 1],
      'transpose [4,6,10] -> [10,4,6], axis 0': [() => tf.transpose(base, [2, 0, 1]), 0],
    };
    const results = [];
    for (const [name, [make, axis]] of Object.entries(makers)) {
      const x = make();
      const c = x.shape[axis < 0 ? axis + x.rank : axis];
      const stats = [0.5, -1, -0.5, 0.1].map((lo, i) =>
          tf.randomUniform([c], lo, lo + 2, 'float32', 10 + i));
      const y = tfbni.batchNormInference(x, ...stats, {epsilon: 1e-3, axis});
      const values = Array.from(await y.data());
      const xs = Array.from(await x.data());
      const params = [];
      for (const t of stats) params.push(Array.from(await t.data()));
      results.push({name, shape: x.shape, axis, x: xs, params, values});
      tf.dispose([x, y, ...stats]);
    }
    base.dispose();
    let rank7Error = null;
    const x7 = tf.zeros([1, 2, 1, 1, 1, 1, 2]);
    try {
      tfbni.batchNormInference(x7, [1, 1], [0, 0], [0, 0], [1, 1], {epsilon: 1e-3, axis: 1}).dispose();
    } catch (e) {
      rank7Error = e.message;
    }
    x7.dispose();
    return {results, rank7Error, before, after: memory()};
  }

  /**
   * The params cache (issue #9 E). With x and the statistics placed as
   * `placement` says: two calls with the same statistics (programs run by
   * each), a call with other statistics `c2` (same shape), the first ones
   * again, then a tf.Variable gamma before and after assign(c2.gamma). Then
   * everything is disposed; tf.memory() is returned while the statistics
   * were alive and after.
   */
  async function cacheRuns(c, c2, placement) {
    const {x, params} = makeInputs(c, placement, toTexture);
    const otherInputs = makeInputs(c2, placement, toTexture);
    otherInputs.x.dispose();
    const other = otherInputs.params;
    const gamma = tf.tidy(() => tf.variable(tf.tensor1d(c.gamma, 'float32')));
    const newGamma = tf.tensor1d(c2.gamma, 'float32');
    if (placement === 'gpu') toTexture(newGamma);
    const calls = [
      ['same statistics, first call', params],
      ['same statistics, second call', params],
      ['other statistics', other],
      ['first statistics again', params],
      ['gamma a tf.Variable', [gamma, ...params.slice(1)]],
      ['after gamma.assign(other gamma)', [gamma, ...params.slice(1)], () => gamma.assign(newGamma)],
      ['gamma a tf.Variable, again', [gamma, ...params.slice(1)]],
    ];
    const runs = [];
    for (const [name, stats, before] of calls) {
      if (before) before();
      let y;
      const programs = await programsRun(() => {
        y = tfbni.batchNormInference(x, ...stats, options(c));
      });
      runs.push({name, programs, values: Array.from(await y.data())});
      y.dispose();
    }
    const alive = memory();
    tf.dispose([x, ...params, ...other, gamma, newGamma]);
    return {runs, alive, after: memory()};
  }

  /**
   * A BatchNormInference layer in a model: predict, setWeights with the
   * statistics of `c2`, predict again. Returns both outputs and the weight
   * names; disposes everything.
   */
  async function layerRuns(c, c2) {
    const args = (k) => ({
      TrainedMean: k.mean, TrainedVariance: k.variance, Scale: k.gamma, Offset: k.beta,
      Epsilon: k.epsilon, axis: c.axisArg === undefined ? 1 : c.axisArg,
      inputShape: c.shape.slice(1),
    });
    const layer = tfbni.batchNormInferenceLayer(args(c));
    const model = tf.sequential({layers: [layer]});
    const x = tf.tensor(c.x, c.shape, 'float32');
    const predict = async () => {
      const y = model.predict(x);
      const v = Array.from(await y.data());
      y.dispose();
      return v;
    };
    const first = await predict();
    const byName = {gamma: c2.gamma, beta: c2.beta, moving_mean: c2.mean, moving_variance: c2.variance};
    const names = layer.weights.map((w) => w.originalName || w.name);
    const newWeights = names.map((n) => {
      const key = Object.keys(byName).find((k) => n.endsWith(k));
      return tf.tensor1d(byName[key], 'float32');
    });
    layer.setWeights(newWeights);
    tf.dispose(newWeights);
    const second = await predict();
    x.dispose();
    model.dispose();
    return {first, second, names, after: memory()};
  }

  /**
   * Runs case c with tfjs's kernel leak check on (flag IS_TEST), statistics
   * on `placement`: returns the values or the error, and tf.memory() after.
   */
  async function leakCheckedRun(c, placement) {
    tf.env().set('IS_TEST', true);
    try {
      const [r] = await run([c], placement);
      return r;
    } finally {
      tf.env().set('IS_TEST', false);
    }
  }

  /** Which variants of the plugin's programs were compiled so far. */
  function variants() {
    const own = ownPrograms();
    const has = (re) => own.some((k) => re.test(k));
    return {
      packedSameLayout: has(/BatchNormInference packed own-texel/),
      packedGeneral: has(/BatchNormInference packed sampler/),
      unpacked: has(/BatchNormInference unpacked/),
      gpuTerms: has(/BatchNormInference terms/),
    };
  }

  /** The typed-input cases (test/helpers/int32_inputs.ts), 'gpu' ones uploaded to textures. */
  function typedInputs(cases) {
    return window.harnessShared.typedInputRuns(cases, toTexture);
  }

  window.harness = {
    init, info, memory, run, grads, epsilonRuns, shapeRuns, derived, variants, programKeys,
    programsRun, toGpu, cacheRuns, layerRuns, leakCheckedRun, typedInputs,
    fromPixelsModel: window.harnessShared.fromPixelsModel,
  };
})();
