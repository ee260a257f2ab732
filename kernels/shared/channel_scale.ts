/**
 * The per-channel scale of the batch norm formula, written once for every
 * place that computes it on the CPU (the cpu and wasm kernels' channel
 * terms, the webgl kernel's affine terms, folding a batch norm into the
 * layer before it):
 *
 *     scale[c] = gamma[c] / sqrt(variance[c] + epsilon)      (in float64)
 */

/** scale[c] for every channel; `gamma` undefined means all ones (Keras's `scale: false`). */
export function channelScales(
    gamma: ArrayLike<number>|undefined, variance: ArrayLike<number>, epsilon: number):
    Float64Array {
  const scale = new Float64Array(variance.length);
  for (let c = 0; c < scale.length; c++) {
    scale[c] = (gamma === undefined ? 1 : gamma[c]) / Math.sqrt(variance[c] + epsilon);
  }
  return scale;
}
