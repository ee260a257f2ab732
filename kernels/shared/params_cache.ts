/**
 * A per-backend cache of per-channel parameters (a GPU kernel's folded
 * scale/shift texture or buffer), so a call whose statistics did not change
 * runs ONE GPU pass (the main program) instead of a fold and then the main
 * program.
 *
 * Keyed by the IDENTITY of the four statistics' data (their dataIds), the
 * epsilon and a `variant` string saying what else the parameters depend on
 * (texture format, packing, the form the kernel chose). tfjs tensors are
 * immutable: a dataId's values never change, and a tf.Variable's assign()
 * swaps in a new dataId. So a cached entry is valid until one of its four
 * dataIds is released; then it is released too, at once (see watchDisposals),
 * so tf.memory() returns to where it was before the statistics were created.
 *
 * Usage in a backend's kernel:
 *
 *     const paramsCache = cachePerBackend<MyBackend, TensorInfo>(
 *         (backend, params) => backend.disposeIntermediateTensorInfo(params));
 *     ...
 *     const cache = paramsCache(backend);
 *     const key = {gamma: gamma.dataId, beta: beta.dataId, mean: mean.dataId,
 *                  variance: variance.dataId, epsilon, variant: 'f32|packed'};
 *     const params = cache.get(key) ?? cache.set(key, foldSomehow());
 *
 * Backend-independent: it only uses KernelBackend's public disposeData and
 * refCount.
 */
import {env} from '@tensorflow/tfjs-core';
import type {DataId, KernelBackend, TensorInfo} from '@tensorflow/tfjs-core';

export interface ParamsKey {
  gamma: DataId;
  beta: DataId;
  mean: DataId;
  variance: DataId;
  epsilon: number;
  /** Anything else the cached value depends on; entries differing here are distinct. */
  variant: string;
}

interface Entry<P> {
  key: ParamsKey;
  value: P;
}

/** The most entries one backend keeps; the least recently used goes first. */
export const MAX_CACHED_PARAMS = 256;

export class ParamsCache<P> {
  /** Insertion order is recency order (get() re-inserts). */
  private readonly entries = new Set<Entry<P>>();
  /** Every entry, indexed by each of its four dataIds. */
  private readonly byDataId = new Map<DataId, Set<Entry<P>>>();

  constructor(
      private readonly release: (value: P) => void,
      private readonly maxEntries = MAX_CACHED_PARAMS) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached value for exactly these statistics, epsilon and variant, if any. */
  get(key: ParamsKey): P|undefined {
    const entry = this.find(key);
    if (entry == null) return undefined;
    this.entries.delete(entry);
    this.entries.add(entry);
    return entry.value;
  }

  /**
   * Stores `value` (replacing and releasing an entry with the same key) and
   * returns it. Evicts the least recently used entry beyond the maximum.
   */
  set(key: ParamsKey, value: P): P {
    const old = this.find(key);
    if (old != null) this.remove(old);
    const entry: Entry<P> = {key: {...key}, value};
    this.entries.add(entry);
    for (const id of new Set([key.gamma, key.beta, key.mean, key.variance])) {
      let set = this.byDataId.get(id);
      if (set == null) this.byDataId.set(id, set = new Set());
      set.add(entry);
    }
    while (this.entries.size > this.maxEntries) {
      this.remove(this.entries.values().next().value as Entry<P>);
    }
    return value;
  }

  /** Releases every entry that uses `dataId` (one of the statistics was released). */
  forget(dataId: DataId): void {
    const set = this.byDataId.get(dataId);
    if (set == null) return;
    for (const entry of [...set]) this.remove(entry);
  }

  /** Releases every entry. */
  clear(): void {
    for (const entry of [...this.entries]) this.remove(entry);
  }

  private find(key: ParamsKey): Entry<P>|undefined {
    const candidates = this.byDataId.get(key.gamma);
    if (candidates == null) return undefined;
    for (const entry of candidates) {
      const k = entry.key;
      if (k.beta === key.beta && k.mean === key.mean && k.variance === key.variance &&
          Object.is(k.epsilon, key.epsilon) && k.variant === key.variant) {
        return entry;
      }
    }
    return undefined;
  }

  private remove(entry: Entry<P>): void {
    if (!this.entries.delete(entry)) return;
    const {gamma, beta, mean, variance} = entry.key;
    for (const id of [gamma, beta, mean, variance]) {
      const set = this.byDataId.get(id);
      if (set == null) continue;
      set.delete(entry);
      if (set.size === 0) this.byDataId.delete(id);
    }
    this.release(entry.value);
  }
}

type DisposalListener = (dataId: DataId) => void;
const listeners = new WeakMap<KernelBackend, Set<DisposalListener>>();

/**
 * Calls `listener(dataId)` whenever `backend` releases a tensor's data for
 * good. Wraps the backend instance's disposeData once (later calls add
 * listeners to the same wrapper).
 *
 * Relies on tfjs 4.22 (tfjs-core Engine and the webgl/webgpu/cpu backends):
 * every way a tensor's data goes away (Tensor.dispose, tf.tidy,
 * Variable.assign and Variable.dispose, moving data to another backend) ends
 * in `backend.disposeData(dataId, force?)` on the backend that holds it, and
 * afterwards `backend.refCount(dataId)` is 0 exactly when no tensor refers
 * to that dataId any more (a reshape or clone sharing it keeps it above 0).
 */
export function watchDisposals(backend: KernelBackend, listener: DisposalListener): void {
  let set = listeners.get(backend);
  if (set == null) {
    const own = new Set<DisposalListener>();
    set = own;
    listeners.set(backend, own);
    const disposeData = backend.disposeData.bind(backend);
    backend.disposeData = (dataId: DataId, force?: boolean): boolean => {
      const released = disposeData(dataId, force);
      if (backend.refCount(dataId) === 0) {
        for (const l of own) l(dataId);
      }
      return released;
    };
  }
  set.add(listener);
}

/**
 * One ParamsCache per backend instance, created on first use and subscribed
 * to that backend's disposals. `release(backend, value)` frees a value (e.g.
 * `backend.disposeIntermediateTensorInfo`).
 */
export function cachePerBackend<B extends KernelBackend, P>(
    release: (backend: B, value: P) => void,
    maxEntries = MAX_CACHED_PARAMS): (backend: B) => ParamsCache<P> {
  const caches = new WeakMap<B, ParamsCache<P>>();
  return (backend: B) => {
    let cache = caches.get(backend);
    if (cache == null) {
      const created = new ParamsCache<P>((value) => release(backend, value), maxEntries);
      cache = created;
      caches.set(backend, created);
      watchDisposals(backend, (dataId) => created.forget(dataId));
    }
    return cache;
  };
}

/** A GPU kernel's channel terms for one call. */
export interface CachedTerms<P> {
  value: P;
  /** Not cached: the caller releases `value` after the call. */
  transient: boolean;
}

/**
 * The one lookup both GPU kernels use: the cached terms of these statistics
 * ([gamma, beta, mean, variance]), epsilon and variant, or `make()`'s, cached.
 *
 * Under tfjs's kernel leak check (flag IS_TEST, which tfjs's own test setups
 * set) the engine counts the backend's data ids around every kernel call, so
 * terms kept in the cache would read as a leak on any backend: under it
 * nothing is cached and the terms come back `transient`.
 */
export function cachedChannelTerms<P>(
    cache: ParamsCache<P>, statistics: TensorInfo[], epsilon: number, variant: string,
    make: () => P): CachedTerms<P> {
  const [gamma, beta, mean, variance] = statistics;
  const key: ParamsKey = {
    gamma: gamma.dataId, beta: beta.dataId, mean: mean.dataId, variance: variance.dataId,
    epsilon, variant,
  };
  const cached = cache.get(key);
  if (cached !== undefined) return {value: cached, transient: false};
  const value = make();
  if (env().getBool('IS_TEST')) return {value, transient: true};
  return {value: cache.set(key, value), transient: false};
}
