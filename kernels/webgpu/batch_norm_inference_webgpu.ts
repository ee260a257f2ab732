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
 * Why a second, halved evaluation: x - mean itself overflows where the
 * result does not (x = 3e38, mean = -3e38, scale 0.1: x - mean = 6e38 is
 * infinite, the result 6e37 is not), and so can (x - mean) * scale when beta
 * brings the sum back into range. Where the direct result is not finite, the
 * program evaluates the same centred form on halves,
 * ((x * 0.5 - mean * 0.5) * scale + beta * 0.5) * 2 (webgl's centred form,
 * kernels/webgl/batch_norm_inference_gpu.ts): if the inputs and the result
 * y are representable, each halved intermediate is half of an exact value
 * bounded by twice the largest float (|x - mean| <= |x| + |mean|,
 * |(x - mean) * scale| <= |y| + |beta|), so it does not overflow, and the
 * halved result is taken where it is finite. Elsewhere the direct result
 * stands, bit for bit what it was: for finite results the halving could
 * only add rounding (below). Special values: where the direct result is
 * +-Inf or NaN and the halved one is also not finite, the direct one is
 * kept, so x = +-Inf, NaN, an infinite or NaN statistic and a true overflow
 * give what the formula gives in IEEE arithmetic. (A halved subnormal can
 * round to zero, 2^-150 -> 0, and 0 * Inf = NaN where the direct form
 * gives Inf: keeping the direct non-finite result avoids that.)
 *
 * Rounding of the halved form. Multiplying by 0.5 or 2 is exact in the
 * normal range, so the halved form rounds exactly as the direct one does,
 * scaled by 2, except where a halved value is subnormal: x * 0.5, mean * 0.5
 * and beta * 0.5 then round to the subnormal spacing, an error of at most
 * 2^-150 each, 2^-149 after the final doubling, times |scale| for x and
 * mean (the final doubling itself is exact short of overflow). The halved form runs only where the direct result is not finite,
 * i.e. where |x*s| + |mean*s| + |beta| is within a factor of two of the
 * largest float or beyond; if x and mean are both subnormal then
 * |(x - mean) * s| <= 2^-125 * |s| is finite for any finite s, so beta
 * carries that magnitude. So these errors, together at most
 * 2^-148 * |s| + 2^-149 (|s| < 2^128 when finite), stand against terms of
 * 2^127 or more: far below one float32 rounding of those terms, let alone
 * the tolerance the suites allow (test/helpers/reference.ts).
 * The finiteness test reads the bits (exponent all ones = Inf or NaN)
 * rather than comparing floats: WGSL lets an implementation assume no
 * infinities or NaNs, so a float comparison could be folded away.
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
    const scalar = this.variant === 'scalar';
    const xType = scalar ? 'f32' : 'vec4<f32>';
    const bits = scalar ? 'u32' : 'vec4<u32>';
    const flags = scalar ? 'bool' : 'vec4<bool>';
    // The branch is taken only where some component is not finite, so the
    // common case pays for the test, not for the second evaluation.
    return `
      fn bniFinite(v : ${xType}) -> ${flags} {
        return (bitcast<${bits}>(v) & ${bits}(0x7f800000u)) != ${bits}(0x7f800000u);
      }

      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = (index / uniforms.inner) % uniforms.channels;
          let m = ${v}(terms[c]);
          let s = ${v}(terms[uniforms.channels + c]);
          let b = ${v}(terms[2 * uniforms.channels + c]);
          let xv = ${xType}(x[index]);
          var y = (xv - m) * s + b;
          let direct = bniFinite(y);
          if (!all(direct)) {
            let halved = ((xv * 0.5 - m * 0.5) * s + b * 0.5) * 2.0;
            y = select(y, halved, !direct & bniFinite(halved));
          }
          setOutputAtIndex(index, y);
        }
      }
    `;
  }
}
