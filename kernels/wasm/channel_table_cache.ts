/**
 * The wasm kernel's per-call preparation, cached per statistics tensors: the
 * channel terms (rounded_batch_norm.ts) and the SIMD core's table for a
 * layout. A model calls the kernel with the same four statistics tensors
 * every time; tfjs tensors are immutable (a Variable's assign() gives it a
 * new dataId), so what was computed from the same dataIds and epsilon is
 * still right, and the call only copies the table into the heap.
 *
 * Entries live in a WeakMap keyed by gamma's dataId: in JS memory (never in
 * the wasm heap, which nothing would free), collected with the tensor.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';

import {ChannelTerms, channelTerms} from '../shared/rounded_batch_norm';
import {CoreLayout, tableBytes, writeTable} from '../shared/simd/batch_norm_core';

interface Entry {
  beta: object;
  mean: object;
  variance: object;
  epsilon: number;
  terms: ChannelTerms;
  /** layoutKey -> the table's float64 values. */
  tables: Map<string, Float64Array>;
}

let entries = new WeakMap<object, Entry>();

/** Forgets every entry (tests). */
export function clearChannelTableCache(): void {
  entries = new WeakMap();
}

export interface Statistics {
  gamma: TensorInfo;
  beta: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  epsilon: number;
  /** The tensor's values (views are fine: they are copied on a miss). */
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
    tables: new Map(),
  });
  return terms;
}

/** What a table's values depend on besides the terms (a runs table: nothing). */
function layoutKey(layout: CoreLayout): string {
  return layout.kind === 'periodic' ? `p${layout.period},${layout.inner}` : 'r';
}

/** Tables kept per statistics tensors (one per x layout seen; more are rare). */
const MAX_TABLES = 8;

/**
 * Writes the layout's table for `terms` (as returned by cachedTerms for
 * gamma) at byte `pointer` of memory: a copy of the cached values, or
 * written once and kept.
 */
export function writeCachedTable(
    memory: WebAssembly.Memory, pointer: number, layout: CoreLayout, gamma: TensorInfo,
    terms: ChannelTerms): void {
  const entry = entries.get(gamma.dataId);
  const key = layoutKey(layout);
  const heapTable = new Float64Array(memory.buffer, pointer, tableBytes(layout) / 8);
  const cached = entry?.terms === terms ? entry.tables.get(key) : undefined;
  if (cached != null) {
    heapTable.set(cached);
    return;
  }
  writeTable(memory, pointer, layout, terms);
  if (entry?.terms === terms) {
    if (entry.tables.size >= MAX_TABLES) entry.tables.clear();
    entry.tables.set(key, heapTable.slice());
  }
}
