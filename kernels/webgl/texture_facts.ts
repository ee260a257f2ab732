/**
 * The ONE place the webgl kernel reads tfjs-backend-webgl internals that are
 * not in its public typings (tested with tfjs 4.22): fields of
 * `backend.texData` entries, and a probe texture for the packed layout tfjs
 * gives an output. Only types are imported from tfjs-backend-webgl: the
 * browser bundle maps every @tensorflow/* import to the page's global `tf`,
 * and in Node importing this package must not load the webgl backend.
 */
import {env, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

export interface TextureFacts {
  /**
   * The values of the four statistics when every one of them has its values
   * on the CPU (not yet uploaded), else null.
   */
  cpuStatistics: Array<ArrayLike<number>>|null;
  /**
   * x sits in a packed texture laid out exactly as the packed output will be
   * (same logical shape and texture shape, no slice offset), so a packed
   * program may read x at the fragment's own texel.
   */
  xHasOutputLayout: boolean;
}

/** Packed output texture shapes by shape and the flags that decide them, per backend. */
const texShapes = new WeakMap<MathBackendWebGL, Map<string, [number, number]>>();

/**
 * tfjs 4.22 internals used: texData entries' `values` (CPU copy, dropped on
 * upload), `isPacked`, `texture`, `texShape`, `slice`, `shape`; and
 * `makeTensorInfo` + `uploadToGPU` on a packed probe to learn the texture
 * shape tfjs gives a packed output of x's shape (webgl_util's logic is not
 * importable at runtime from a plugin). The probe goes back to the texture
 * pool at once and is the one the main program's output then takes, so it
 * costs no memory. Answers are cached per backend, shape and the three
 * texture-size flags.
 */
export function textureFacts(
    backend: MathBackendWebGL, x: TensorInfo, statistics: TensorInfo[],
    packed: boolean): TextureFacts {
  const values = statistics.map((t) => backend.texData.get(t.dataId).values);
  const onCpu = values.every((v) => v != null && ArrayBuffer.isView(v));
  const cpuStatistics = onCpu ? values as unknown as Array<ArrayLike<number>> : null;

  const data = backend.texData.get(x.dataId);
  if (!packed || data.isPacked !== true || data.texture == null || data.slice != null ||
      data.texShape == null || !util.arraysEqual(data.shape, x.shape)) {
    return {cpuStatistics, xHasOutputLayout: false};
  }
  const key = [
    x.shape.join(','), env().getNumber('WEBGL_MAX_TEXTURE_SIZE'),
    env().getNumber('WEBGL_MAX_SIZE_FOR_NARROW_TEXTURE'),
    env().getBool('WEBGL_AUTO_SQUARIFY_NARROW_TEXTURE_SHAPE'),
  ].join('|');
  let shapes = texShapes.get(backend);
  if (shapes == null) texShapes.set(backend, shapes = new Map());
  let outShape = shapes.get(key);
  if (outShape == null) {
    const probe = backend.makeTensorInfo(x.shape, 'float32');
    const probeData = backend.texData.get(probe.dataId);
    probeData.isPacked = true;
    backend.uploadToGPU(probe.dataId);
    outShape = probeData.texShape!.slice() as [number, number];
    backend.disposeIntermediateTensorInfo(probe);
    if (shapes.size > 256) shapes.clear();
    shapes.set(key, outShape);
  }
  return {cpuStatistics, xHasOutputLayout: util.arraysEqual(data.texShape, outShape)};
}
