/**
 * Exact per-channel moments of a data set seen batch by batch: each batch's
 * mean and sum of squared deviations in float64 (two passes over the batch),
 * merged into the running ones with Chan, Golub & LeVeque's update, which
 * stays exact where sum-of-squares formulas cancel (data far from zero).
 */
/** Per-channel count, mean and sum of squared deviations, merged batch by batch. */
export class ChannelMoments {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(readonly channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  /** Adds one batch (float32 values of `shape`, channels along `axis`). */
  add(values: ArrayLike<number>, shape: number[], axis: number): void {
    const c = this.channels;
    let inner = 1;
    for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
    const n = values.length / c;
    if (n === 0) return;
    const batchMean = new Float64Array(c);
    for (let i = 0; i < values.length; i++) batchMean[Math.floor(i / inner) % c] += values[i];
    for (let k = 0; k < c; k++) batchMean[k] /= n;
    const batchM2 = new Float64Array(c);
    for (let i = 0; i < values.length; i++) {
      const k = Math.floor(i / inner) % c;
      const d = values[i] - batchMean[k];
      batchM2[k] += d * d;
    }
    // Chan, Golub & LeVeque (1979): merge (count, mean, M2) of two parts.
    const total = this.count + n;
    for (let k = 0; k < c; k++) {
      const delta = batchMean[k] - this.mean[k];
      this.mean[k] += delta * (n / total);
      this.m2[k] += batchM2[k] + delta * delta * (this.count * n / total);
    }
    this.count = total;
  }
}
