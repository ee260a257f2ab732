/**
 * The graph part of foldBatchNormalization: finds, in a model's config (and
 * in the configs of nested models), each batch norm that can be folded into
 * the layer before it and each activation after it that can be fused, and
 * rewrites the config accordingly. Weights are computed afterwards from the
 * layers recorded here.
 */
import {serialization} from '@tensorflow/tfjs-core';
import {LayersModel, layers} from '@tensorflow/tfjs-layers';

import {axisIndex} from '../../kernels/shared/channel_axis';
import {foldedClass, fusedActivationOf, FusedActivation} from './fold_activation';
import {foldedLayerConfig} from './fold_config';
import {FOLDABLE_KERNELS} from './fold_weights';
import {KERAS_BATCH_NORMALIZATION_DEFAULTS} from './model_walk';

type Layer = layers.Layer;
type Config = serialization.ConfigDict;
/** A layer of a model config: functional entries also have name and inboundNodes. */
interface Entry {
  className: string;
  config: Config;
  name?: string;
  inboundNodes?: unknown[][][];
}
/** [layer name, node index, tensor index, kwargs?] */
type Ref = [string, number, number, ...unknown[]];

const BATCH_NORM_CLASSES = ['BatchNormalization', 'BatchNormInference'];
const TIME_DISTRIBUTED = 'TimeDistributed';

/** A batch norm folded into a layer, recorded for the weights and the report. */
export interface Fold {
  batchNorm: string;
  into: string;
  className: string;
  activation?: {layer: string, name: string};
  /** The original layer folded into (a TimeDistributed wrapper if wrapped) and its kind. */
  source: Layer;
  kind: string;
  /** The original batch norm (the inner layer if wrapped). */
  bn: Layer;
  epsilon: number;
}

export interface Plan {
  folds: Fold[];
  left: Array<{name: string, className: string, reason: string}>;
  keptActivations: Array<{name: string, reason: string}>;
}

const article = (word: string) => (/^[AEIOU]/.test(word) ? 'an' : 'a');

function nameOf(entry: Entry): string {
  return (entry.name ?? entry.config.name) as string;
}

/** The layer a TimeDistributed entry wraps, or the entry itself. */
function leaf(entry: Entry): {className: string, config: Config, wrapped: boolean} {
  const inner = entry.config.layer as {className?: string, config?: Config} | undefined;
  if (entry.className === TIME_DISTRIBUTED && inner?.className && inner.config) {
    return {className: inner.className, config: inner.config, wrapped: true};
  }
  return {className: entry.className, config: entry.config, wrapped: false};
}

function describeEntry(entry: Entry): string {
  const l = leaf(entry);
  const cls = l.wrapped ? `${TIME_DISTRIBUTED}(${l.className})` : l.className;
  return `${article(cls)} ${cls} (${nameOf(entry)})`;
}

function isContainerConfig(config: Config): boolean {
  return Array.isArray(config.layers);
}

function refsOf(entry: Entry): Ref[] {
  return (entry.inboundNodes ?? []).flat() as Ref[];
}

/** One container: a Sequential's or a functional model's layer list. */
class Scope {
  private readonly entries: Entry[];
  private readonly sequential: boolean;
  /** Layers an activation layer was fused into: name -> that activation layer, described. */
  private readonly fusedInto = new Map<string, string>();
  /** Layers a batch norm was folded into: name -> that batch norm's name. */
  private readonly foldedInto = new Map<string, string>();

  constructor(private readonly config: Config, private readonly model: LayersModel,
              private readonly prefix: string, private readonly stockLayersOnly: boolean,
              private readonly plan: Plan) {
    this.entries = config.layers as unknown as Entry[];
    this.sequential = !Array.isArray(config.outputLayers);
  }

  private index(name: string): number {
    return this.entries.findIndex((e) => nameOf(e) === name);
  }

  /** The entry feeding `at` and the ref to it (null: the model input). */
  private producer(at: number): {entry: Entry, ref?: Ref}|null {
    if (this.sequential) return at === 0 ? null : {entry: this.entries[at - 1]};
    const ref = refsOf(this.entries[at])[0];
    const entry = this.entries[this.index(ref[0])];
    return entry.className === 'InputLayer' ? null : {entry, ref};
  }

  /** Names of what reads `at`'s output ('the model output' included). */
  private consumers(at: number): string[] {
    const name = nameOf(this.entries[at]);
    if (this.sequential) {
      return at === this.entries.length - 1 ? ['the model output'] : [nameOf(this.entries[at + 1])];
    }
    const out = this.entries.filter((e) => refsOf(e).some((r) => r[0] === name)).map(nameOf);
    const outputs = this.config.outputLayers as unknown as Ref[];
    if (outputs.some((r) => r[0] === name)) out.push('the model output');
    return out;
  }

  private applications(entry: Entry): number {
    return this.sequential ? 1 : (entry.inboundNodes ?? []).length;
  }

  private layerObject(entry: Entry): Layer {
    return this.model.getLayer(nameOf(entry));
  }

  run(): void {
    for (const entry of this.entries) {
      if (isContainerConfig(entry.config)) {
        new Scope(entry.config, this.layerObject(entry) as LayersModel, `${this.prefix}${nameOf(entry)}/`,
                  this.stockLayersOnly, this.plan).run();
      }
    }
    for (let at = 0; at < this.entries.length; at++) {
      const bn = this.entries[at];
      if (!BATCH_NORM_CLASSES.includes(leaf(bn).className)) continue;
      const reason = this.whyNot(at);
      if (reason === null) {
        this.fold(at);
        at--;  // the entry at `at` is gone; look at what moved there
      } else {
        this.plan.left.push({name: this.prefix + nameOf(bn), className: leaf(bn).className, reason});
      }
    }
  }

  /** Why the batch norm at `at` cannot be folded, or null. */
  private whyNot(at: number): string|null {
    const bn = this.entries[at];
    const n = this.applications(bn);
    if (n !== 1) return `it is shared (applied ${n} times)`;
    const from = this.producer(at);
    if (from === null) return 'its input is the model input';
    const p = from.entry;
    const pLeaf = leaf(p);
    const fused = this.fusedInto.get(nameOf(p));
    if (fused !== undefined) return `its input is ${fused}, fused into ${nameOf(p)}`;
    const earlier = this.foldedInto.get(nameOf(p));
    if (earlier !== undefined) return `its input ${nameOf(p)} already has ${earlier} folded into it`;
    if (!(pLeaf.className in FOLDABLE_KERNELS) || pLeaf.wrapped !== leaf(bn).wrapped) {
      return `its input is ${describeEntry(p)}`;
    }
    const pName = nameOf(p);
    const pApplied = this.applications(p);
    if (pApplied !== 1) return `${pLeaf.className} ${pName} is shared (applied ${pApplied} times)`;
    // The config of one scope sees only its own uses: a layer of a nested model
    // can also be applied in the outer graph (or another model), where folding
    // would change what it computes. The layer object counts every use.
    const uses = this.layerObject(p).inboundNodes.length;
    if (uses > 1) {
      return `${pLeaf.className} ${pName} is shared (applied ${uses} times, also outside this ` +
             `${this.prefix === '' ? '' : 'nested '}model)`;
    }
    const others = this.consumers(this.index(pName)).filter((c) => c !== nameOf(bn));
    if (others.length > 0) return `${pLeaf.className} ${pName}'s output also feeds ${others.join(', ')}`;
    const activation = pLeaf.config.activation ?? 'linear';
    if (activation !== 'linear') return `${pLeaf.className} ${pName} has activation ${String(activation)}`;
    const written = leaf(bn).config.axis ?? KERAS_BATCH_NORMALIZATION_DEFAULTS.axis;
    if (Array.isArray(written) && written.length !== 1) {
      return `it normalizes over the axes ${JSON.stringify(written)}`;
    }
    const axis = (Array.isArray(written) ? written[0] : written) as number;
    const shape = this.layerObject(p).outputShape as number[];
    const rank = shape.length - (pLeaf.wrapped ? 1 : 0);
    const format = pLeaf.config.dataFormat === 'channelsFirst' ? 'channelsFirst' : 'channelsLast';
    const channelAxis = format === 'channelsFirst' ? 1 : rank - 1;
    const normalized = axisIndex(axis, rank);
    if (normalized !== channelAxis) {
      return `axis ${String(axis)} is not the channel axis of ${pName} (${format})`;
    }
    const epsilon = leaf(bn).config.epsilon ?? KERAS_BATCH_NORMALIZATION_DEFAULTS.epsilon;
    if (typeof epsilon !== 'number' || !(epsilon > 0) || !Number.isFinite(epsilon)) {
      return `its epsilon ${String(epsilon)} is not a finite number > 0`;
    }
    return null;
  }

  /** The activation layer right after the batch norm at `at` that can go in, if any. */
  private activationAfter(at: number): {at: number, activation: FusedActivation}|null {
    const consumers = this.consumers(at);
    if (consumers.length !== 1 || consumers[0] === 'the model output') return null;
    const next = this.index(consumers[0]);
    const entry = this.entries[next];
    const l = leaf(entry);
    const activation = fusedActivationOf(l.className, l.config);
    if (activation === null) return null;
    const name = this.prefix + nameOf(entry);
    if (typeof activation === 'string') {
      this.plan.keptActivations.push({name, reason: activation});
      return null;
    }
    if (this.applications(entry) !== 1) {
      this.plan.keptActivations.push({name, reason: 'it is shared'});
      return null;
    }
    return {at: next, activation};
  }

  private fold(at: number): void {
    const bn = this.entries[at];
    const p = this.producer(at)!.entry;
    const pLeaf = leaf(p);
    const after = this.activationAfter(at);
    const channelsLast = pLeaf.config.dataFormat !== 'channelsFirst';
    const choice = foldedClass(pLeaf.className, after?.activation ?? null, channelsLast, this.stockLayersOnly);
    const activation = choice.fuse ? after!.activation : null;
    const bnObject = this.layerObject(bn);
    this.plan.folds.push({
      batchNorm: this.prefix + nameOf(bn),
      into: this.prefix + nameOf(p),
      className: choice.className,
      activation: activation ? {layer: this.prefix + nameOf(this.entries[after!.at]), name: activation.name} :
                               undefined,
      source: this.layerObject(p),
      kind: pLeaf.className,
      bn: pLeaf.wrapped ? (bnObject as unknown as {layer: Layer}).layer : bnObject,
      epsilon: (leaf(bn).config.epsilon ?? KERAS_BATCH_NORMALIZATION_DEFAULTS.epsilon) as number,
    });
    if (after !== null && !choice.fuse && choice.reason !== undefined) {
      this.plan.keptActivations.push({name: this.prefix + nameOf(this.entries[after.at]), reason: choice.reason});
    }
    const folded = {className: choice.className, config: foldedLayerConfig(pLeaf.config, choice.className, activation)};
    if (pLeaf.wrapped) {
      p.config.layer = folded as unknown as Config;
    } else {
      p.className = folded.className;
      p.config = folded.config;
    }
    const removed = [bn, ...(activation ? [this.entries[after!.at]] : [])];
    if (activation) this.fusedInto.set(nameOf(p), describeEntry(this.entries[after!.at]));
    this.foldedInto.set(nameOf(p), nameOf(bn));
    if (!this.sequential) {
      const pRef = refsOf(bn)[0];
      for (const r of removed) this.redirect(nameOf(r), pRef);
    }
    for (const r of removed) this.entries.splice(this.entries.indexOf(r), 1);
  }

  /** Makes every reference to `name`'s output point at `to` instead. */
  private redirect(name: string, to: Ref): void {
    const swap = (r: Ref) => {
      if (r[0] === name) [r[0], r[1], r[2]] = [to[0], to[1], to[2]];
    };
    for (const e of this.entries) refsOf(e).forEach(swap);
    (this.config.outputLayers as unknown as Ref[]).forEach(swap);
  }
}

/** Rewrites `config` (a copy of `model.getConfig()`) in place; returns what was done. */
export function planFolds(config: Config, model: LayersModel, stockLayersOnly: boolean): Plan {
  const plan: Plan = {folds: [], left: [], keptActivations: []};
  new Scope(config, model, '', stockLayersOnly, plan).run();
  return plan;
}
