/*
 * In-page half of the webgl suite (test/webgl.test.ts). The page has loaded
 * tf.min.js and the plugin's bundle (global `tfbni`); Node calls these
 * functions through playwright's page.evaluate with plain arrays (NaN,
 * Infinity and -0 survive the trip), and compares what comes back with the
 * float64 reference on the Node side.
 */
'use strict';
(function() {
  const PARAM_NAMES = ['gamma', 'beta', 'mean', 'variance'];

  function memory() {
    const m = tf.memory();
    return {numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU};
  }

  /** Keys of every compiled shader program of the webgl backend. */
  function programKeys() {
    return Object.keys(tf.backend().binaryCache);
  }

  /** The tag on the first line of every program of the plugin's webgl kernel. */
  const TAG = 'tfbni:BatchNormInference';

  /** The programs of this plugin (main programs and GPU folds). */
  function ownPrograms() {
    return programKeys().filter((k) => k.includes(TAG));
  }

  /**
   * Runs fn() and returns the tags (e.g. 'packed own-texel folded', 'fold
   * packed') of the plugin's programs it ran, in order, by watching
   * backend.runWebGLProgram; other programs appear as '-'.
   */
  async function programsRun(fn) {
    const backend = tf.backend();
    const original = backend.runWebGLProgram;
    const ran = [];
    backend.runWebGLProgram = function(program, ...rest) {
      const m = new RegExp(TAG + ' ([^\\n]*)').exec(program.userCode);
      ran.push(m ? m[1].trim() : '-');
      return original.call(this, program, ...rest);
    };
    try {
      await fn();
    } finally {
      backend.runWebGLProgram = original;
    }
    return ran;
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

  function options(c, epsilon) {
    const opts = {epsilon: epsilon === undefined ? c.epsilon : epsilon};
    if (c.axisArg !== undefined) opts.axis = c.axisArg;
    return opts;
  }

  /** Creates x and the statistics where `placement` asks ('cpu' or 'gpu'). */
  function makeInputs(c, placement) {
    const packed = tf.env().getBool('WEBGL_PACK');
    const x = tf.tensor(c.x, c.shape, 'float32');
    const params = PARAM_NAMES.map((k) => tf.tensor1d(c[k], 'float32'));
    if (placement === 'gpu' && x.size > 0) {
      toGpu(x, packed);
      for (const p of params) toGpu(p, packed);
    }
    return {x, params};
  }

  /**
   * Runs every case once. placement 'cpu': inputs with CPU values (the fold
   * runs on the CPU, x is uploaded by the backend); 'gpu': everything already
   * in textures (the fold runs on the GPU; a packed x already has the output's
   * layout). Returns the values and tf.memory() around each case.
   */
  async function run(cases, placement) {
    const results = [];
    for (const c of cases) {
      const before = memory();
      const result = {name: c.name, before};
      try {
        const {x, params} = makeInputs(c, placement);
        const statsOnCpuBefore = params.map((p) => tf.backend().texData.get(p.dataId).values != null);
        const y = tfbni.batchNormInference(x, ...params, options(c));
        result.dtype = y.dtype;
        result.shape = y.shape;
        result.values = Array.from(await y.data());
        result.statsStayed = params.every((p, i) =>
            (tf.backend().texData.get(p.dataId).values != null) === statsOnCpuBefore[i]);
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
   * Gradients of sum(batchNormInference(...) * w) with respect to all five
   * inputs, on webgl and then on the cpu backend in this same page.
   */
  async function grads(cases) {
    async function once(c) {
      const {x, params} = makeInputs(c, 'cpu');
      const w = tf.tensor(c.w, c.shape, 'float32');
      const f = (x, g, b, m, v) => tf.sum(tf.mul(tfbni.batchNormInference(x, g, b, m, v, options(c)), w));
      const gs = tf.grads(f)([x, ...params]);
      const values = [];
      for (const g of gs) values.push(Array.from(await g.data()));
      tf.dispose([x, ...params, w, ...gs]);
      return values;
    }
    const before = memory();
    const webgl = [];
    for (const c of cases) webgl.push(await once(c));
    const after = memory();
    const backend = tf.getBackend();
    await tf.setBackend('cpu');
    const cpu = [];
    try {
      for (const c of cases) cpu.push(await once(c));
    } finally {
      await tf.setBackend(backend);
    }
    return {webgl, cpu, before, after, backendDuring: backend};
  }

  /**
   * Runs a case with several epsilons and reports how many shader programs
   * exist after each run: after the first (which may compile), the count must
   * not grow.
   */
  async function epsilonRuns(c, placement, epsilons) {
    const runs = [];
    for (const epsilon of epsilons) {
      const {x, params} = makeInputs(c, placement);
      const y = tfbni.batchNormInference(x, ...params, options(c, epsilon));
      const values = Array.from(await y.data());
      tf.dispose([x, ...params, y]);
      runs.push({epsilon, values, programs: programKeys().length, own: ownPrograms().length});
    }
    return runs;
  }

  /** Runs cases of different shapes and counts this plugin's programs after each. */
  async function shapeRuns(cases, placement) {
    const runs = [];
    for (const c of cases) {
      const {x, params} = makeInputs(c, placement);
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

  /** Which variants of the plugin's programs were compiled so far. */
  function variants() {
    const own = ownPrograms();
    const has = (re) => own.some((k) => re.test(k));
    return {
      packedSameLayout: has(/BatchNormInference packed own-texel/),
      packedGeneral: has(/BatchNormInference packed sampler/),
      unpacked: has(/BatchNormInference unpacked/),
      gpuFold: has(/BatchNormInference fold/),
      folded: has(/BatchNormInference (packed \S+|unpacked) folded/),
      guarded: has(/BatchNormInference (packed \S+|unpacked) guarded/),
    };
  }

  window.harness = {
    init, info, memory, run, grads, epsilonRuns, shapeRuns, derived, variants, programKeys,
    programsRun, toGpu,
  };
})();
