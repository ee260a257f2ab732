/**
 * The GraphDef JSON of a tfjs GraphModel (model.json's modelTopology, as
 * tensorflowjs_converter writes it): node types, attribute readers and
 * writers, tensor-name parsing. Attribute encoding as tfjs-converter's
 * operation mapper reads it: strings are base64, integers are decimal
 * strings, lists are `{list: {i|f|s|b: [...]}}`.
 */

export interface AttrValue {
  s?: string;
  i?: string|number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: {dim?: Array<{size?: string|number}>, unknownRank?: boolean};
  tensor?: {dtype?: string, tensorShape?: {dim?: Array<{size?: string|number}>}};
  list?: {s?: string[], i?: Array<string|number>, f?: number[], b?: boolean[], type?: string[]};
  [key: string]: unknown;
}

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
  device?: string;
  [key: string]: unknown;
}

export interface GraphTopology {
  node: GraphNode[];
  library?: {function?: Array<{nodeDef?: GraphNode[], ret?: Record<string, string>}>};
  versions?: unknown;
  [key: string]: unknown;
}

/** Whether a modelTopology is a GraphDef (a GraphModel's) rather than a Keras config. */
export function isGraphTopology(topology: unknown): topology is GraphTopology {
  return topology != null && typeof topology === 'object' &&
      Array.isArray((topology as {node?: unknown}).node);
}

/** A node input "name", "name:2" or "^name" (control dependency). */
export interface TensorRef {
  node: string;
  output: number;
  control: boolean;
}

export function parseInput(input: string): TensorRef {
  if (input.startsWith('^')) return {node: input.slice(1), output: 0, control: true};
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? {node: m[1], output: Number(m[2]), control: false} : {node: input, output: 0, control: false};
}

function decodeBase64(s: string): string {
  return typeof Buffer !== 'undefined' ? Buffer.from(s, 'base64').toString('utf8') : atob(s);
}

function encodeBase64(s: string): string {
  return typeof Buffer !== 'undefined' ? Buffer.from(s, 'utf8').toString('base64') : btoa(s);
}

export function getString(node: GraphNode, name: string): string|undefined {
  const v = node.attr?.[name]?.s;
  return v == null ? undefined : decodeBase64(v);
}

export function getStrings(node: GraphNode, name: string): string[] {
  return (node.attr?.[name]?.list?.s ?? []).map(decodeBase64);
}

export function getBool(node: GraphNode, name: string): boolean|undefined {
  const a = node.attr?.[name];
  return a?.b == null ? undefined : Boolean(a.b);
}

export function getNumber(node: GraphNode, name: string): number|undefined {
  const a = node.attr?.[name];
  if (a == null) return undefined;
  if (a.f != null) return Number(a.f);
  if (a.i != null) return Number(a.i);
  return undefined;
}

export function getType(node: GraphNode, name: string): string|undefined {
  return node.attr?.[name]?.type;
}

export function stringAttr(s: string): AttrValue {
  return {s: encodeBase64(s)};
}

export function stringListAttr(values: string[]): AttrValue {
  return {list: {s: values.map(encodeBase64)}};
}

/** A Const node holding a float32 weight of `shape` (its values are in the weights). */
export function constNode(name: string, shape: number[]): GraphNode {
  return {
    name,
    op: 'Const',
    attr: {
      value: {tensor: {dtype: 'DT_FLOAT', tensorShape: {dim: shape.map((size) => ({size: String(size)}))}}},
      dtype: {type: 'DT_FLOAT'},
    },
  };
}
