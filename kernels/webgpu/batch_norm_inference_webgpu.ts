/**
 * The WGSL compute program of the BatchNormInference webgpu kernel.
 *
 * One dispatch per call, straight from the four statistics:
 *
 *     y = (x - mean[c]) * (gamma[c] / sqrt(variance[c] + epsilon)) + beta[c]
 *
 * Why the centred form and not the folded x * scale + shift: in float32 the
 * folded form overflows where the result does not (x = mean = 2e38: x*scale
 * and mean*scale are both infinite, Inf - Inf = NaN, the formula gives 0) and
 * loses the result to cancellation when x ~ mean (x = 700.5, mean = 700,
 * scale = 100: 70050 - 70000 carries the rounding error of 70050). The
 * centred difference x - mean is exact when x and mean are within a factor
 * of two (Sterbenz), so the error is relative to the result, not to the
 * terms. The cost is one more per-channel load; the statistics of a channel
 * are read by many neighbouring invocations and stay in cache.
 *
 * Why the scale is computed per invocation and not folded once per call: a
 * fold would be a second dispatch (or a CPU round trip for statistics that
 * live in GPU buffers, as a layer's weights do after their first use). One
 * sqrt and one division per element (per four elements in the vec4 variants)
 * are cheaper than a dispatch for every size we measured (bench/webgpu.js).
 * Special values follow IEEE arithmetic: variance + epsilon = 0 gives an
 * infinite scale and (x - mean) * Inf, i.e. +-Inf on each side of the mean
 * and NaN at it, as the formula does; a negative variance + epsilon gives NaN.
 *
 * Layout. The kernel hands the program x flattened (any rank, no transpose):
 * element e belongs to channel (e / inner) % channels, where inner is the
 * product of the dimensions after the channel axis. Three variants, chosen by
 * the kernel, differ only in how many elements an invocation writes:
 *   'last4'  channel axis last, C % 4 == 0: an invocation writes four
 *            consecutive channels; x and the statistics are read as vec4.
 *   'inner4' inner % 4 == 0: an invocation writes four elements of one
 *            channel; x is read as vec4, the statistics as scalars.
 *   'scalar' anything else: one element per invocation.
 * In every variant the channel is (index / uniforms.inner) % uniforms.channels
 * with `index` counted in the variant's units (the kernel divides inner or
 * channels by four for the vec4 variants).
 *
 * Uniforms. Shapes, `inner`, `channels` and `epsilon` are uniforms, so the
 * shader source and the pipeline depend only on the variant: a new epsilon,
 * shape or rank reuses the compiled pipeline (tfjs-backend-webgpu caches
 * pipelines by shaderKey plus the ranks and dtypes of the bindings, and every
 * binding here is rank 1).
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

export type BatchNormInferenceVariant = 'last4'|'inner4'|'scalar';

/** Elements written per invocation. */
export function variantComponents(variant: BatchNormInferenceVariant): 1|4 {
  return variant === 'scalar' ? 1 : 4;
}

/**
 * Threads per workgroup. 64 is the size WebGPU implementations recommend as
 * a portable default (a multiple of every common subgroup width).
 */
const WORKGROUP_SIZE = 64;

/**
 * Elementwise over x flattened to [size]. A dispatch larger than WebGPU's
 * per-dimension workgroup limit is reshaped to 2D/3D by tfjs-backend-webgpu
 * before it runs; tfjs's getGlobalIndex() (which calls main) accounts for it.
 */
export class BatchNormInferenceProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: {x: number[]};
  dispatch: [number, number, number];
  variableNames = ['x', 'gamma', 'beta', 'mean', 'variance'];
  variableComponents: number[];
  outputComponent: number;
  uniforms = 'inner : i32, channels : i32, epsilon : f32,';
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  size = true;
  private readonly variant: BatchNormInferenceVariant;

  /** `size`: the number of elements of x (flattened: the output is [size]). */
  constructor(size: number, variant: BatchNormInferenceVariant) {
    this.variant = variant;
    this.outputShape = [size];
    this.dispatchLayout = {x: [0]};
    const components = variantComponents(variant);
    this.outputComponent = components;
    const statComponents = variant === 'last4' ? 4 : 1;
    this.variableComponents = [components, statComponents, statComponents, statComponents,
                               statComponents];
    this.dispatch = [Math.ceil(size / components / WORKGROUP_SIZE), 1, 1];
    this.shaderKey = `batchNormInference_${variant}`;
  }

  getUserCode(): string {
    // 'inner4' reads one channel's statistics as scalars and applies them to
    // all four elements; the other variants read them at the output's width.
    const broadcast = this.variant === 'inner4' ? 'vec4<f32>' : '';
    const epsilon = this.variant === 'last4' ? 'vec4<f32>(uniforms.epsilon)' : 'uniforms.epsilon';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = (index / uniforms.inner) % uniforms.channels;
          let scale = ${broadcast}(gamma[c] / sqrt(variance[c] + ${epsilon}));
          setOutputAtIndex(index, (x[index] - ${broadcast}(mean[c])) * scale +
                                  ${broadcast}(beta[c]));
        }
      }
    `;
  }
}
