/**
 * The main WGSL compute program of the BatchNormInference webgpu kernel:
 *
 *     y = (x - mean[c]) * scale[c] + beta[c]
 *
 * reading one `terms` buffer of 3 * C floats laid out as three rows, mean,
 * scale = gamma / sqrt(variance + epsilon) and beta (written once per set of
 * statistics by channel_terms_webgpu.ts and cached, see BatchNormInference.ts).
 *
 * Why the centred form and not the folded x * scale + shift: in float32 the
 * folded form overflows where the result does not (x = mean = 2e38: x*scale
 * and mean*scale are both infinite, Inf - Inf = NaN, the formula gives 0) and
 * loses the result to cancellation when x ~ mean (x = 700.5, mean = 700,
 * scale = 100: 70050 - 70000 carries the rounding error of 70050). The
 * centred difference x - mean is exact when x and mean are within a factor
 * of two (Sterbenz), so the error is relative to the result, not to the
 * terms. It costs a third per-channel value, read from cache by neighbouring
 * invocations. Special values follow IEEE arithmetic: an infinite scale
 * (variance + epsilon = 0, or gamma infinite) gives +-Inf on each side of the
 * mean and NaN at it, as the formula does.
 *
 * Why the scale is not computed here from gamma and variance: a sqrt and a
 * division per invocation made the whole program several times slower on
 * SwiftShader than reading a precomputed scale (measured when this design was
 * chosen; figures in the README's webgpu section). The channel terms program is a tiny
 * dispatch over C elements, and its result is cached while the statistics
 * live, so it runs once per set of statistics.
 *
 * Layout. The kernel hands the program x flattened (any rank, no transpose):
 * element e belongs to channel (e / inner) % C, where inner is the product of
 * the dimensions after the channel axis. Three variants, chosen by the
 * kernel, differ only in how many elements an invocation writes:
 *   'last4'  channel axis last, C % 4 == 0: an invocation writes four
 *            consecutive channels; x and terms are read as vec4.
 *   'inner4' inner % 4 == 0: an invocation writes four elements of one
 *            channel; x is read as vec4, terms as scalars.
 *   'scalar' anything else: one element per invocation.
 * In every variant the channel is (index / uniforms.inner) % uniforms.channels
 * with `index` counted in the variant's units (the kernel divides inner or
 * channels by four for the vec4 variants), and a terms row is
 * uniforms.channels entries long in the same units.
 *
 * Uniforms. Shapes, `inner` and `channels` are uniforms, so the shader source
 * and the pipeline depend only on the variant: a new shape, rank or epsilon
 * reuses the compiled pipeline (tfjs-backend-webgpu caches pipelines by
 * shaderKey plus the ranks and dtypes of the bindings, all rank 1 here).
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

export type BatchNormInferenceVariant = 'last4'|'inner4'|'scalar';

/** Threads per workgroup: 64, the usual portable choice for WebGPU. */
export const WORKGROUP_SIZE = 64;

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
  variableNames = ['x', 'terms'];
  variableComponents: number[];
  outputComponent: number;
  uniforms = 'inner : i32, channels : i32,';
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  size = true;
  private readonly variant: BatchNormInferenceVariant;

  /** `size`: the number of elements of x (the output is [size]). */
  constructor(size: number, variant: BatchNormInferenceVariant) {
    this.variant = variant;
    this.outputShape = [size];
    this.dispatchLayout = {x: [0]};
    const components = variant === 'scalar' ? 1 : 4;
    this.outputComponent = components;
    this.variableComponents = [components, variant === 'last4' ? 4 : 1];
    this.dispatch = [Math.ceil(size / components / WORKGROUP_SIZE), 1, 1];
    this.shaderKey = `batchNormInference_${variant}`;
  }

  getUserCode(): string {
    // 'inner4' applies one channel's scalars to four elements.
    const v = this.variant === 'inner4' ? 'vec4<f32>' : '';
    // x's buffer is declared with the dtype of its data (i32 for int32 or
    // bool data, also behind a float32 cast, which tfjs does not copy): the
    // explicit conversion reads any of them (a no-op on f32).
    const xType = this.variant === 'scalar' ? 'f32' : 'vec4<f32>';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = (index / uniforms.inner) % uniforms.channels;
          let m = ${v}(terms[c]);
          let s = ${v}(terms[uniforms.channels + c]);
          let b = ${v}(terms[2 * uniforms.channels + c]);
          setOutputAtIndex(index, (${xType}(x[index]) - m) * s + b);
        }
      }
    `;
  }
}
