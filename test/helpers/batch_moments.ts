/**
 * Float64 references for training mode and population statistics: the
 * per-channel mean and variance (divided by N) of float32 values, two-pass in
 * float64, and batch normalization with those statistics.
 */
import {channelOf} from './reference';

export interface Moments64 {
  mean: Float64Array;
  variance: Float64Array;
  count: number;
}

/** Per-channel mean and variance (divided by N) of `values` of `shape`, channels on `axis` (>= 0). */
export function moments64(values: ArrayLike<number>, shape: number[], axis: number): Moments64 {
  const channels = shape[axis];
  const channel = channelOf(shape, axis);
  const count = values.length / channels;
  const mean = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) mean[channel(i)] += values[i];
  for (let c = 0; c < channels; c++) mean[c] /= count;
  const variance = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - mean[channel(i)];
    variance[channel(i)] += d * d;
  }
  for (let c = 0; c < channels; c++) variance[c] /= count;
  return {mean, variance, count};
}

/** Training-mode batch normalization in float64: normalized with the batch's own moments. */
export function trainingForward64(
    values: ArrayLike<number>, shape: number[], axis: number, gamma: ArrayLike<number>,
    beta: ArrayLike<number>, epsilon: number): {y: Float64Array, xhat: Float64Array} & Moments64 {
  const m = moments64(values, shape, axis);
  const channel = channelOf(shape, axis);
  const y = new Float64Array(values.length);
  const xhat = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = channel(i);
    xhat[i] = (values[i] - m.mean[c]) / Math.sqrt(m.variance[c] + epsilon);
    y[i] = gamma[c] * xhat[i] + beta[c];
  }
  return {y, xhat, ...m};
}
