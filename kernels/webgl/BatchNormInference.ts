/**
 * BatchNormInference on the webgl backend.
 *
 * Two steps per call:
 *
 * 1. Fold the statistics ONCE into `params`, a [2, C] float32 tensor (row 0:
 *    scale = gamma / sqrt(variance + epsilon), row 1: shift = beta -
 *    mean * scale). When the four parameter tensors have their values on the
 *    CPU (texData values present: the usual case for weights that only this
 *    kernel reads) this is foldChannelParams in float64, rounded once to
 *    float32, and uploaded as one small texture. Otherwise (statistics that
 *    live in textures) a tiny GPU program over C elements does it, with
 *    epsilon as a uniform.
 * 2. One main program over x: y = x * scale[c] + shift[c], packed (vec4,
 *    WEBGL_PACK) or unpacked. See batch_norm_inference_gpu.ts for the layout,
 *    the precision choice and special values.
 *
 * The channel index comes from the output coordinates, so any rank the
 * backend supports (2..6 here; x has rank >= 2) and any axis work without a
 * transpose. Every intermediate (params, a layout probe) is disposed before
 * returning; only the output remains.
 *
 * Only types are imported from tfjs-backend-webgl: the browser bundle maps
 * every @tensorflow/* import to the page's global `tf`, and in Node importing
 * this package must not load the webgl backend.
 */
import {env, KernelConfig, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {BatchNormInference, BatchNormInferenceAttrs, BatchNormInferenceInputs, requireInputs} from '../../src/kernel_names';
import {foldChannelParams} from '../shared/channel_params';

import {BatchNormInferencePackedProgram, BatchNormInferenceProgram, FoldChannelParamsPackedProgram, FoldChannelParamsProgram} from './batch_norm_inference_gpu';

/** The highest rank tfjs-backend-webgl's shader compiler handles. */
export const MAX_WEBGL_RANK = 6;

type Backend = MathBackendWebGL;

function fail(message: string): never {
  throw new Error(`Error in ${BatchNormInference} (webgl): ${message}`);
}

function cpuValues(backend: Backend, t: TensorInfo): ArrayLike<number>|null {
  const values = backend.texData.get(t.dataId).values;
  if (values == null) return null;
  if (!(ArrayBuffer.isView(values))) return null;  // string tensors
  return values as unknown as ArrayLike<number>;
}

/**
 * Folds on the CPU in float64 and rounds once to float32. Channels whose scale
 * is infinite keep shift = -mean (NaN if beta is NaN): the shader computes
 * (x + shift) * scale = (x - mean) * scale for them (beta - mean * Inf is NaN
 * or infinite and would lose the sign change at x = mean).
 */
export function foldOnCpu(
    gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>,
    variance: ArrayLike<number>, epsilon: number): Float32Array {
  const channels = gamma.length;
  const {scale, shift} = foldChannelParams(gamma, beta, mean, variance, epsilon);
  const params = new Float32Array(2 * channels);
  for (let c = 0; c < channels; c++) {
    const s = Math.fround(scale[c]);
    params[c] = s;
    params[channels + c] =
        s === Infinity || s === -Infinity ? (Number.isNaN(beta[c]) ? NaN : -mean[c]) : shift[c];
  }
  return params;
}

function hasInfiniteScale(params: Float32Array, channels: number): boolean {
  for (let c = 0; c < channels; c++) {
    if (params[c] === Infinity || params[c] === -Infinity) return true;
  }
  return false;
}

/**
 * The texture shape tfjs gives a packed output of `shape`, found by asking the
 * backend for one (the logic lives in tfjs-backend-webgl's webgl_util, which a
 * plugin cannot import at runtime). The texture goes back to the backend's
 * pool at once and is the one the main program's output then takes, so the
 * probe allocates nothing extra. Cached per backend and shape (the answer also
 * depends on three texture-size flags, which are part of the key).
 */
const texShapeCache = new WeakMap<Backend, Map<string, [number, number]>>();

function packedOutputTexShape(backend: Backend, shape: number[]): [number, number] {
  const key = [
    shape.join(','), env().getNumber('WEBGL_MAX_TEXTURE_SIZE'),
    env().getNumber('WEBGL_MAX_SIZE_FOR_NARROW_TEXTURE'),
    env().getBool('WEBGL_AUTO_SQUARIFY_NARROW_TEXTURE_SHAPE'),
  ].join('|');
  let cache = texShapeCache.get(backend);
  if (cache == null) {
    cache = new Map();
    texShapeCache.set(backend, cache);
  }
  let texShape = cache.get(key);
  if (texShape == null) {
    const probe = backend.makeTensorInfo(shape, 'float32');
    const probeData = backend.texData.get(probe.dataId);
    probeData.isPacked = true;
    backend.uploadToGPU(probe.dataId);
    texShape = probeData.texShape!.slice() as [number, number];
    backend.disposeIntermediateTensorInfo(probe);
    if (cache.size > 256) cache.clear();
    cache.set(key, texShape);
  }
  return texShape;
}

/**
 * True when x already sits in a packed texture laid out exactly as the output
 * will be (same logical shape, same texture shape, no slice offset): then the
 * packed program reads x at the fragment's own texel.
 */
function hasOutputLayout(backend: Backend, x: TensorInfo): boolean {
  const data = backend.texData.get(x.dataId);
  return data.isPacked === true && data.texture != null && data.slice == null &&
      data.texShape != null && util.arraysEqual(data.shape, x.shape) &&
      util.arraysEqual(data.texShape, packedOutputTexShape(backend, x.shape));
}

export function batchNormInference(args: {
  inputs: BatchNormInferenceInputs,
  backend: Backend,
  attrs: BatchNormInferenceAttrs,
}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta, mean, variance} = requireInputs(inputs, 'webgl');
  const rank = x.shape.length;
  if (rank < 2 || rank > MAX_WEBGL_RANK) {
    fail(`x must have rank 2 to ${MAX_WEBGL_RANK} on webgl, but got shape [${x.shape}].`);
  }
  const {epsilon} = attrs;
  const axis = attrs.axis < 0 ? attrs.axis + rank : attrs.axis;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    fail(`axis ${attrs.axis} is out of range for x of rank ${rank}.`);
  }
  const channels = x.shape[axis];
  for (const [name, p] of [['gamma', gamma], ['beta', beta], ['mean', mean], ['variance', variance]] as const) {
    if (p.shape.length !== 1 || p.shape[0] !== channels) {
      fail(`${name} must have shape [${channels}], but got [${p.shape}].`);
    }
  }
  if (util.sizeFromShape(x.shape) === 0) {
    return backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0));
  }

  const packed = env().getBool('WEBGL_PACK');
  const stats = [gamma, beta, mean, variance].map((t) => cpuValues(backend, t));
  let params: TensorInfo;
  // Whether the main program must handle channels with an infinite scale.
  let guard = true;
  if (stats.every((v) => v != null)) {
    const [g, b, m, v] = stats as Array<ArrayLike<number>>;
    const folded = foldOnCpu(g, b, m, v, epsilon);
    guard = hasInfiniteScale(folded, channels);
    params = backend.makeTensorInfo([2, channels], 'float32', folded);
  } else {
    const fold = packed ? new FoldChannelParamsPackedProgram(channels) :
                          new FoldChannelParamsProgram(channels);
    // Keep a packed result packed even if WEBGL_LAZILY_UNPACK is off: the
    // main program reads it packed.
    params = backend.runWebGLProgram(
        fold, [gamma, beta, mean, variance], 'float32', [[epsilon]], packed);
  }

  try {
    const program = packed ?
        new BatchNormInferencePackedProgram(x.shape, axis, hasOutputLayout(backend, x), guard) :
        new BatchNormInferenceProgram(x.shape, axis, guard);
    return backend.runWebGLProgram(program, [x, params], 'float32');
  } finally {
    backend.disposeIntermediateTensorInfo(params);
  }
}

export const batchNormInferenceConfig: KernelConfig = {
  kernelName: BatchNormInference,
  backendName: 'webgl',
  kernelFunc: batchNormInference as unknown as KernelFunc,
};
