/**
 * Checks a layers model's topology (as written in model.json) before
 * tfjs-layers deserializes it (readModelFiles does, for fileSystem and the
 * CLI). tfjs-layers' `Container.fromConfig` queues
 * every layer call and retries it until its inputs exist: a call whose input
 * layer is missing, whose node index never comes, or that waits on itself
 * through a cycle is retried forever (100% CPU, no error). Duplicate layer
 * names make it look calls up on the wrong layer.
 *
 * What is checked, in every (nested) functional model: layer names are
 * strings and unique; each inbound node is a list of
 * [layerName, nodeIndex, tensorIndex, kwargs?] naming a layer of the same
 * model and a node that layer will have; the input and output layers
 * likewise; and the calls form no cycle. A call's node waits for the earlier
 * calls of its own layer too, so with these checks tfjs's retry loop always
 * ends (a layer's node k exists once k calls of it are done, whichever they
 * are). Real Keras configs pass: their nodes are numbered in creation order.
 */
import {quoteText} from './quote';

type Dict = Record<string, unknown>;

/** Thrown for a topology tfjs-layers must not be given; the message names the file and the layer. */
export class TopologyError extends Error {}

const FUNCTIONAL = ['Model', 'Functional'];
const SEQUENTIAL = 'Sequential';

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The layer list of a container's config, or undefined for a layer that is not a model. */
function layerList(className: unknown, config: unknown): unknown[]|undefined {
  if (className === SEQUENTIAL) {
    if (Array.isArray(config)) return config;
    return isDict(config) && Array.isArray(config.layers) ? config.layers : [];
  }
  if (typeof className === 'string' && FUNCTIONAL.includes(className)) {
    return isDict(config) && Array.isArray(config.layers) ? config.layers : [];
  }
  return undefined;
}

/**
 * Nodes a layer has before any call in the config: an InputLayer and a
 * built model (functional, or Sequential with layers; a class of its own
 * whose config lists layers counts as a model) make one on creation.
 */
function initialNodes(className: unknown, config: unknown): number {
  if (className === 'InputLayer') return 1;
  const list = layerList(className, config) ?? (isDict(config) && Array.isArray(config.layers) ? config.layers : undefined);
  return list !== undefined && (className !== SEQUENTIAL || list.length > 0) ? 1 : 0;
}

/** Checks `topology` (model.json's modelTopology); throws TopologyError naming `file`. */
export function checkLayersTopology(topology: unknown, file: string): void {
  const root = isDict(topology) && isDict(topology.model_config) ? topology.model_config : topology;
  if (!isDict(root)) throw new TopologyError(`${file}: the modelTopology is not an object`);
  checkContainer(root.class_name, root.config, file, 'the model');
}

function checkContainer(className: unknown, config: unknown, file: string, where: string): void {
  const list = layerList(className, config);
  if (list === undefined) return;  // not a model: nothing to check (tfjs reports unknown classes)
  const name = isDict(config) && typeof config.name === 'string' ? `model ${quoteText(config.name)}` : where;
  const fail: (message: string) => never = (message) => {
    throw new TopologyError(`${file}: ${message}`);
  };
  const entries = list.map((entry, i) => {
    if (!isDict(entry)) fail(`layer ${i + 1} of ${name} is ${quoteText(entry)}, not a layer`);
    const config = entry.config;
    const layerName = isDict(config) && config.name !== undefined ? config.name : entry.name;
    if (typeof layerName !== 'string') {
      fail(`layer ${i + 1} of ${name} (${quoteText(entry.class_name)}) has the name ${quoteText(layerName)}; ` +
           `expected a string`);
    }
    return {entry, name: layerName as string};
  });
  const seen = new Set<string>();
  for (const {name: layerName} of entries) {
    if (seen.has(layerName)) fail(`${name} has two layers named ${quoteText(layerName)}; layer names must be unique`);
    seen.add(layerName);
  }
  for (const {entry, name: layerName} of entries) {
    checkContainer(entry.class_name, entry.config, file, `the layer ${quoteText(layerName)}`);
  }
  if (className === SEQUENTIAL) return;

  // Functional: the calls (nodes) of each layer, and what each waits for.
  const first = new Map<string, number>();
  const calls = new Map<string, unknown[][]>();
  for (const {entry, name: layerName} of entries) {
    first.set(layerName, initialNodes(entry.class_name, entry.config));
    const inbound = entry.inbound_nodes ?? [];
    if (!Array.isArray(inbound)) fail(`the layer ${quoteText(layerName)} of ${name} has inbound_nodes that are not a list`);
    const made: unknown[][] = [];
    for (const node of inbound as unknown[]) {
      if (!Array.isArray(node)) {
        fail(`the layer ${quoteText(layerName)} of ${name} has the inbound node ${quoteText(node)}; ` +
             `expected a list of [layer, node, tensor] (this tool reads tfjs / Keras 2 model.json files)`);
      }
      if (node.length > 0) made.push(node);  // an empty call makes no node
    }
    calls.set(layerName, made);
  }
  const nodeCount = (layerName: string) => first.get(layerName)! + calls.get(layerName)!.length;
  /** Checks a [layer, node, tensor] reference; returns the node it waits for, if made by a call. */
  const reference = (ref: unknown, who: string): string|undefined => {
    if (!Array.isArray(ref) || ref.length < 3) fail(`${who} has the input ${quoteText(ref)}; expected [layer, node, tensor]`);
    const [inName, nodeIndex, tensorIndex] = ref as unknown[];
    if (typeof inName !== 'string' || !first.has(inName)) {
      fail(`${who} takes an input from layer ${quoteText(inName)}, which is not a layer of ${name}`);
    }
    const layer = inName as string;
    if (!Number.isSafeInteger(nodeIndex) || (nodeIndex as number) < 0 ||
        (nodeIndex as number) >= nodeCount(layer)) {
      fail(`${who} takes an input from node ${quoteText(nodeIndex)} of layer ${quoteText(layer)}, which has ` +
           `${nodeCount(layer)} node(s)`);
    }
    if (!Number.isSafeInteger(tensorIndex) || (tensorIndex as number) < 0) {
      fail(`${who} takes tensor ${quoteText(tensorIndex)} of layer ${quoteText(layer)}; expected a whole number >= 0`);
    }
    return (nodeIndex as number) >= first.get(layer)! ? `${layer}\u0000${nodeIndex}` : undefined;
  };
  // Edges: node -> the nodes it waits for (its inputs, and its layer's previous call).
  const waits = new Map<string, string[]>();
  for (const {name: layerName} of entries) {
    calls.get(layerName)!.forEach((node, k) => {
      const index = first.get(layerName)! + k;
      const who = `the layer ${quoteText(layerName)} of ${name} (call ${k + 1})`;
      const deps = node.map((ref) => reference(ref, who)).filter((d): d is string => d !== undefined);
      if (k > 0) deps.push(`${layerName}\u0000${index - 1}`);
      waits.set(`${layerName}\u0000${index}`, deps);
    });
  }
  for (const key of ['input_layers', 'output_layers']) {
    const refs = isDict(config) ? config[key] : undefined;
    if (refs === undefined) continue;
    if (!Array.isArray(refs)) fail(`${name} has ${key} that are not a list`);
    for (const ref of refs as unknown[]) reference(ref, `the ${key.replace('_', ' ')} of ${name}`);
  }
  findCycle(waits, (cycle) => fail(
      `the layers of ${name} call each other in a cycle: ` +
      `${cycle.map((n) => quoteText(n.split('\u0000')[0])).join(' -> ')}; a model's layers must form a graph ` +
      `without cycles`));
}

/** Depth-first search for a cycle (iterative: deep models must not overflow the stack). */
function findCycle(edges: Map<string, string[]>, report: (cycle: string[]) => void): void {
  const state = new Map<string, 1|2>();  // 1: on the current path, 2: done
  for (const start of edges.keys()) {
    if (state.has(start)) continue;
    const path: string[] = [start];
    const next: number[] = [0];
    state.set(start, 1);
    while (path.length > 0) {
      const node = path[path.length - 1];
      const deps = edges.get(node) ?? [];
      const i = next[next.length - 1]++;
      if (i >= deps.length) {
        state.set(node, 2);
        path.pop();
        next.pop();
        continue;
      }
      const dep = deps[i];
      if (state.get(dep) === 1) {
        report([...path.slice(path.indexOf(dep)), dep].reverse());
        return;
      }
      if (!state.has(dep)) {
        state.set(dep, 1);
        path.push(dep);
        next.push(0);
      }
    }
  }
}
