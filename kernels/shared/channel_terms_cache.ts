/**
 * The channel terms used by the cpu and wasm kernels (rounded_batch_norm.ts: m, s, b in float64
 * per channel), computed once per statistics tensors and epsilon. A model
 * calls the kernel with the same four statistics tensors every time; tfjs
 * tensors are immutable (a Variable's assign() gives it a new dataId), so
 * terms computed from the same dataIds and epsilon are still right.
 *
 * Entries live in a WeakMap keyed by gamma's dataId, in JS memory (never in
 * the wasm heap, which nothing would free), collected with the tensor.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';

import {ChannelTerms, channelTerms} from './rounded_batch_norm';

interface Entry {
  beta: object;
  mean: object;
  variance: object;
  epsilon: number;
  terms: ChannelTerms;
}

let entries = new WeakMap<object, Entry>();

/** Forgets every entry (tests, bench). */
export function clearChannelTermsCache(): void {
  entries = new WeakMap();
}

export interface Statistics {
  gamma: TensorInfo;
  beta: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  epsilon: number;
  /** The tensor's values (heap views are fine: they are copied on a miss). */
  read(t: TensorInfo): Float32Array;
}

/** The channel terms of these statistics (computed once per statistics tensors). */
export function cachedTerms(st: Statistics): ChannelTerms {
  const {gamma, beta, mean, variance, epsilon} = st;
  const entry = entries.get(gamma.dataId);
  if (entry != null && entry.beta === beta.dataId && entry.mean === mean.dataId &&
      entry.variance === variance.dataId && entry.epsilon === epsilon) {
    return entry.terms;
  }
  // Copies: the exact path keeps gamma and variance, and heap views do not
  // outlive the next allocation.
  const terms = channelTerms(
      st.read(gamma).slice(), st.read(beta), st.read(mean), st.read(variance).slice(), epsilon);
  entries.set(gamma.dataId, {
    beta: beta.dataId, mean: mean.dataId, variance: variance.dataId, epsilon, terms,
  });
  return terms;
}
