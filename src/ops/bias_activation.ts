/**
 * The `biasActivation` op: `activation(x + bias)`, bias along x's last axis,
 * the bias add and activation of the fused layers (FusedConv2D,
 * FusedDepthwiseConv2D, FusedDense), and how those layers choose between it
 * and tfjs's own fused kernels on each backend.
 *
 * Where the backend has the BiasActivation kernel (cpu) it runs that one
 * pass (its gradient is in bias_activation_grad.ts); elsewhere tf ops. The
 * fused layers use the kernel for inference only and train through
 * tf.fused.* (see `fusedEpiloguePlan`).
 *
 * NaN stays NaN through every activation on every backend, as in the stock
 * layers a folded model replaces. Some of tfjs's own kernels turn NaN into a
 * number (measured with tfjs 4.22 on inputs [NaN, ±Inf, 1, -1, 7], see
 * FUSED_KEEPS_NAN); where they do, the activation runs as
 * `where(isNaN(s), s, activation(s))`.
 */
import {add, elu, engine, env, getBackend, getKernel, isNaN as isNaNOp, leakyRelu, op, relu, relu6, sigmoid, Tensor, TensorLike, where} from '@tensorflow/tfjs-core';

import {FUSED_CPU_EPILOGUE_FLAG} from '../../kernels/flags';
import {BiasActivation, BiasActivationAttrs, BiasActivationInputs, FUSED_ACTIVATIONS, FusedActivationName} from '../../kernels/kernel_names';
import {describeValue} from '../../kernels/shared/describe_value';
import {fail} from '../../kernels/shared/fail';
import {convertToFloatTensor} from '../util/convert_to_tensor';

const OP = 'biasActivation';

/**
 * The activations each backend's tf.fused.conv2d / depthwiseConv2d / matMul
 * apply without turning a NaN into a number (tfjs 4.22; checked by
 * test/fold_nan.test.ts on cpu and wasm, test/fold_nan_browser.test.ts on
 * webgl and webgpu, which fail when tfjs changes under an entry):
 * - wasm: relu and relu6 give 0 for NaN (XNNPACK's clamps);
 * - webgl: elu gives +Inf, sigmoid 0;
 * - webgpu: relu6 and sigmoid give 0, elu +Inf.
 * A backend not listed fuses only the bias ('linear').
 */
export const FUSED_KEEPS_NAN: Record<string, readonly FusedActivationName[]> = {
  cpu: FUSED_ACTIVATIONS,
  wasm: ['linear', 'elu', 'leakyrelu', 'sigmoid'],
  webgl: ['linear', 'relu', 'relu6', 'leakyrelu'],
  webgpu: ['linear', 'relu', 'leakyrelu'],
};

/**
 * How a fused layer runs its bias and activation on the current backend:
 * - 'kernel': the plain convolution / product, then `biasActivation` (the
 *   BiasActivation kernel: cpu, not training, flag on);
 * - 'fused': tf.fused.* with the activation inside;
 * - 'fusedThenActivation': tf.fused.* with the bias only, then
 *   `activationKeepingNaN` (this backend's fused kernel loses NaN for it).
 */
export function fusedEpiloguePlan(activation: FusedActivationName, training: boolean):
    'kernel'|'fused'|'fusedThenActivation' {
  const backend = getBackend();
  if (!training && getKernel(BiasActivation, backend) != null) {
    if (env().getBool(FUSED_CPU_EPILOGUE_FLAG)) return 'kernel';
  }
  return (FUSED_KEEPS_NAN[backend] ?? ['linear']).includes(activation) ? 'fused' : 'fusedThenActivation';
}

/** The activation by tf ops (which have gradients), whatever they do to NaN. */
function activationOps(s: Tensor, activation: FusedActivationName, alpha: number): Tensor {
  switch (activation) {
    case 'relu': return relu(s);
    case 'relu6': return relu6(s);
    case 'elu': return elu(s);
    case 'leakyrelu': return leakyRelu(s, alpha);
    case 'sigmoid': return sigmoid(s);
    default: return s;
  }
}

/**
 * `activation(s)` by tf ops, NaN kept as NaN on every backend:
 * `where(isNaN(s), s, activation(s))` (isNaN and where read the bits, so they
 * hold where a backend's activation does not). Differentiable.
 */
export function activationKeepingNaN(s: Tensor, activation: FusedActivationName, alpha: number): Tensor {
  if (activation === 'linear') return s;
  return where(isNaNOp(s), s, activationOps(s, activation, alpha));
}

function checkActivationArgs(activation: unknown, leakyreluAlpha: unknown): void {
  if (!(FUSED_ACTIVATIONS as readonly unknown[]).includes(activation)) {
    fail(OP, `activation must be one of ${FUSED_ACTIVATIONS.map((a) => `'${a}'`).join(', ')}, ` +
         `but got ${describeValue(activation)}.`);
  }
  if (typeof leakyreluAlpha !== 'number' || !Number.isFinite(leakyreluAlpha)) {
    fail(OP, `leakyreluAlpha must be a finite number, but got ${describeValue(leakyreluAlpha)}.`);
  }
}

function biasActivation_<T extends Tensor>(
    x: T|TensorLike, bias: Tensor|TensorLike, activation: FusedActivationName,
    leakyreluAlpha = 0.2): T {
  checkActivationArgs(activation, leakyreluAlpha);
  const $x = convertToFloatTensor(x, 'x', OP);
  const $bias = convertToFloatTensor(bias, 'bias', OP);
  if ($x.rank < 1) fail(OP, `x must have rank >= 1, but got rank 0 (a scalar).`);
  const channels = $x.shape[$x.rank - 1];
  if ($bias.rank !== 1 || $bias.shape[0] !== channels) {
    fail(OP, `bias must be a rank-1 tensor of length ${channels} (x's last dimension, x of shape ` +
         `[${$x.shape}]), but got shape [${$bias.shape}].`);
  }
  if (getKernel(BiasActivation, getBackend()) == null) {
    return activationKeepingNaN(add($x, $bias), activation, leakyreluAlpha) as T;
  }
  const inputs: BiasActivationInputs = {x: $x, bias: $bias};
  const attrs: BiasActivationAttrs = {activation, leakyreluAlpha};
  return engine().runKernel(BiasActivation, inputs as {}, attrs as {}) as T;
}

/**
 * `activation(x + bias)`, `bias` along the last axis of `x`, NaN kept as NaN
 * through every activation. One pass on cpu (the BiasActivation kernel); tf
 * ops elsewhere. Differentiable with respect to x and bias.
 *
 * ```js
 * tfbni.biasActivation(tf.tensor2d([[-1, NaN, 7]]), [0, 0, 0], 'relu6').print();  // [[0, NaN, 6]]
 * ```
 *
 * @param x float32 (int32 is cast), rank >= 1, channels last.
 * @param bias rank 1, x's last dimension.
 * @param activation One of FUSED_ACTIVATIONS.
 * @param leakyreluAlpha The slope of 'leakyrelu' for negative inputs. Default 0.2.
 */
export const biasActivation = op({biasActivation_});
