/**
 * BiasActivation on the cpu backend: `activation(x + bias)`, bias along the
 * last axis, in one pass over x.
 *
 * tfjs's cpu kernels for tf.fused.* run the bias add (a broadcasting add) and
 * the activation as separate passes after the convolution or product; the
 * fused layers run the plain convolution and then this kernel instead.
 *
 * NaN stays NaN through every activation, as in tfjs's unary ops: each
 * activation is written with comparisons that are false for NaN (`s < 0`),
 * never as `s > 0 ? s : 0`, which turns NaN into 0. ±Infinity follow the
 * formulas (relu6(+Inf) = 6, elu(-Inf) = -1, sigmoid(-Inf) = 0).
 */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {BiasActivation, BiasActivationAttrs, BiasActivationInputs, FUSED_ACTIVATIONS, FusedActivationName} from '../kernel_names';
import {describeValue} from '../shared/describe_value';
import {fail} from '../shared/fail';

const WHO = `${BiasActivation} (cpu)`;

/** The activation of one value; NaN in, NaN out. */
type Activation = (s: number, alpha: number) => number;

const ACTIVATIONS: Record<FusedActivationName, Activation> = {
  linear: (s) => s,
  relu: (s) => (s < 0 ? 0 : s),
  relu6: (s) => (s < 0 ? 0 : (s > 6 ? 6 : s)),
  leakyrelu: (s, alpha) => (s < 0 ? alpha * s : s),
  elu: (s) => (s < 0 ? Math.exp(s) - 1 : s),
  sigmoid: (s) => 1 / (1 + Math.exp(-s)),
};

function checkInputs(inputs: BiasActivationInputs, attrs: BiasActivationAttrs):
    {x: TensorInfo, bias: TensorInfo} {
  const {x, bias} = inputs ?? {};
  if (x == null || bias == null) fail(WHO, `inputs x and bias are required.`);
  for (const [name, t] of [['x', x], ['bias', bias]] as const) {
    if (t.dtype !== 'float32') fail(WHO, `${name} must have dtype float32, but got ${t.dtype}.`);
  }
  const channels = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || bias.shape.length !== 1 || bias.shape[0] !== channels) {
    fail(WHO, `bias must be a rank-1 tensor of length ${channels} (x's last dimension, x of ` +
         `shape [${x.shape}]), but got shape [${bias.shape}].`);
  }
  if (!(FUSED_ACTIVATIONS as readonly unknown[]).includes(attrs?.activation)) {
    fail(WHO, `attr activation must be one of ${FUSED_ACTIVATIONS.map((a) => `'${a}'`).join(', ')}, ` +
         `but got ${describeValue(attrs?.activation)}.`);
  }
  if (typeof attrs.leakyreluAlpha !== 'number' || !Number.isFinite(attrs.leakyreluAlpha)) {
    fail(WHO, `attr leakyreluAlpha must be a finite number, but got ` +
         `${describeValue(attrs.leakyreluAlpha)}.`);
  }
  return {x, bias};
}

function biasActivation(args: {
  inputs: BiasActivationInputs, backend: MathBackendCPU, attrs: BiasActivationAttrs,
}): TensorInfo {
  const {backend, attrs} = args;
  const {x, bias} = checkInputs(args.inputs, attrs);
  const v = backend.data.get(x.dataId).values as Float32Array;
  const b = backend.data.get(bias.dataId).values as Float32Array;
  const f = ACTIVATIONS[attrs.activation];
  const alpha = attrs.leakyreluAlpha;
  const c = b.length;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i += c) {
    for (let j = 0; j < c; j++) out[i + j] = f(v[i + j] + b[j], alpha);
  }
  return backend.makeTensorInfo(x.shape, 'float32', out);
}

export const biasActivationConfig: KernelConfig = {
  kernelName: BiasActivation,
  backendName: 'cpu',
  kernelFunc: biasActivation as unknown as KernelFunc,
};
