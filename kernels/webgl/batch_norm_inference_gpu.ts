/**
 * Shader programs of the BatchNormInference webgl kernel.
 *
 * The kernel folds the four statistics once per call into a per-channel
 * scale and shift (see ../shared/channel_params.ts), stored in ONE [2, C] tensor
 * `params` (row 0: scale, row 1: shift). The main programs then do one
 * multiply-add per element:
 *
 *     y = x * scale[c] + shift[c]
 *
 * Why x * scale + shift and not (x - mean) * scale + beta (precision vs
 * speed). In float32 the folded form rounds the terms x*scale and
 * mean*scale (inside shift) and then adds them; when x ~ mean they cancel
 * and the absolute error is ~2^-24 of |x*scale| + |mean*scale| + |beta|, not
 * of the (small) result. The centered form computes x - mean exactly when x
 * and mean are within a factor of 2 (Sterbenz), so its error is relative to
 * the result. But it needs three values per channel (scale, mean, beta)
 * instead of two: a packed texel of a channels-last tensor covers two
 * channels, so scale and shift of both fit in ONE vec4 fetch, while the
 * centered form needs two parameter fetches per output texel. Measured on
 * SwiftShader (WebGL2, packed, chains of 20 ops as in bench/webgl.js, medians
 * of 7; repeated runs move by ~15% but keep the order), in ns per element for
 * [1,224,224,64] axis -1 / [1,64,224,224] axis 1:
 *     folded x*s+t, params [2, C], x read at its own texel (this file) .. 4.9 / 4.8
 *     same, with the infinite-scale guard ................................ 5.4 / 5.3
 *     same, x read through tfjs's coordinate sampler getX(coords) ....... 6.3 / 7.0
 *     centered (x-m)*s+b, params [3, C] .................................. 7.7 / 7.1
 *     folded, scale and shift as two [C, 1, ..., 1] tensors read with
 *       getScaleAtOutCoords() / getShiftAtOutCoords() .................... 7.5 / 8.2
 *     tf.batchNorm (channels-last) ....................................... 9.0
 *     tf.add(x, 0) ....................................................... 6.3 / 7.4
 * The centered form costs ~50% more: it would keep only ~1.2x over
 * tf.batchNorm and be slower than an identity op. And its extra accuracy is
 * mostly illusory: x normally comes out of a float32 layer and already
 * carries an error of ~2^-24 |x|, so after scaling the result is uncertain by
 * ~2^-24 |x*scale| anyway, the same order as the folded form's rounding. We
 * use the folded form; its bound (a few 2^-24 of the term magnitudes) is what
 * test/helpers/reference.ts allows ('webgl-f32').
 *
 * Special values. A channel whose scale is infinite (gamma = +-Inf, or
 * variance + epsilon = 0) cannot be folded: shift = beta - mean * scale is NaN
 * or infinite, while the formula gives +-Inf on each side of x = mean and NaN
 * at x = mean. For such channels the fold stores shift = -mean (NaN if beta is
 * NaN) and the shader evaluates (x + shift) * scale = (x - mean) * scale
 * instead (the "guard" variant, see normalizePacked). Left inexact: an
 * infinite scale together with an infinite beta of the opposite sign to
 * (x - mean) * scale, where the formula gives NaN and we give +-Inf.
 *
 * Layout. No transpose for any axis: the channel index is read from the
 * output coordinates and used to fetch the params texel directly. (Scale and
 * shift as two tensors of the broadcastable shape [C, 1, ..., 1], read with
 * tfjs's broadcasting samplers, also avoid a transpose, but cost one more
 * fetch and two more coordinate computations per texel: see the table.)
 * Which components of the packed 2x2 texel hold which channel depends only
 * on where the channel axis falls:
 *   'last'  (axis = rank-1): texel columns are channels c, c+1:
 *           scale = p.xyxy, shift = p.zwzw (p = params texel at (0, c))
 *   'rows'  (axis = rank-2): texel rows are channels c, c+1:
 *           scale = p.xxyy, shift = p.zzww
 *   'outer' (axis < rank-2): one channel per texel; c may be odd, so pick
 *           p.x/p.z or p.y/p.w by parity.
 *
 * Uniforms. No program here has a shape- or value-dependent constant in its
 * source except what tfjs bakes in when shape uniforms are off
 * (WEBGL_USE_SHAPES_UNIFORMS, default false; rank <= 4 only): `epsilon` is a
 * custom uniform of the fold programs, and the main programs do not need it.
 */
import {env} from '@tensorflow/tfjs-core';
import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

/** Where the channel axis falls relative to a packed 2x2 texel. */
export type ChannelLayout = 'last'|'rows'|'outer';

export function channelLayout(rank: number, axis: number): ChannelLayout {
  if (axis === rank - 1) return 'last';
  if (axis === rank - 2) return 'rows';
  return 'outer';
}

/**
 * The same test tfjs's programs use (`useShapeUniforms` in
 * tfjs-backend-webgl, not importable at runtime from a plugin): shape
 * uniforms when the flag is on and the rank is at most 4.
 */
export function useShapeUniforms(rank: number): boolean {
  return env().getBool('WEBGL_USE_SHAPES_UNIFORMS') && rank <= 4;
}

const FIELDS = ['x', 'y', 'z', 'w', 'u', 'v'];

function coordsType(rank: number): string {
  return rank === 1 ? 'int' : `ivec${rank}`;
}

function coordsArgs(rank: number): string {
  return FIELDS.slice(0, rank).map((f) => `coords.${f}`).join(', ');
}

function texture2D(): string {
  return env().getNumber('WEBGL_VERSION') === 2 ? 'texture' : 'texture2D';
}

/**
 * y = x * s + t; with `guard`, (x + t) * s = (x - mean) * s where s is
 * infinite (the fold stored t = -mean there). Component-wise selects, not
 * mix(): a blend would turn the unused infinite operand into NaN. The guard
 * is a compile-time variant because it is not free on software GL (~10% on
 * SwiftShader): the kernel asks for it when a CPU fold found an infinite
 * scale, and always after a GPU fold (whose values it does not see).
 */
function normalizePacked(guard: boolean): string {
  return guard ? `
    vec4 normalize4(vec4 x, vec4 s, vec4 t) {
      vec4 y = x * s + t;
      bvec4 inf = isinf(s);
      if (any(inf)) {
        vec4 z = (x + t) * s;
        y = vec4(inf.x ? z.x : y.x, inf.y ? z.y : y.y,
                 inf.z ? z.z : y.z, inf.w ? z.w : y.w);
      }
      return y;
    }
  ` : `
    vec4 normalize4(vec4 x, vec4 s, vec4 t) {
      return x * s + t;
    }
  `;
}

function normalizeUnpacked(guard: boolean): string {
  return guard ? `
    float normalize1(float x, float s, float t) {
      return isinf(s) ? (x + t) * s : x * s + t;
    }
  ` : `
    float normalize1(float x, float s, float t) {
      return x * s + t;
    }
  `;
}

/**
 * The main program on packed textures: per output texel one fetch of x and
 * one fetch of `params`, one vec4 multiply-add.
 *
 * `sameLayout`: the caller has checked that x's packed texture has the output's
 * texture shape (and no slice offset), so the texel of x at this fragment is
 * the one being written: it is read at resultUV, skipping tfjs's
 * coords-to-texel arithmetic for x (a measurable share of the time on
 * software GL).
 */
export class BatchNormInferencePackedProgram implements GPGPUProgram {
  variableNames = ['x', 'params'];
  outputShape: number[];
  userCode: string;
  packedInputs = true;
  packedOutput = true;
  enableShapeUniforms: boolean;

  constructor(xShape: number[], axis: number, sameLayout: boolean, guard: boolean) {
    const rank = xShape.length;
    this.outputShape = xShape;
    this.enableShapeUniforms = useShapeUniforms(rank);
    const c = `coords.${FIELDS[axis]}`;
    let params: string;
    switch (channelLayout(rank, axis)) {
      case 'last':
        params = `vec4 p = getParams(0, ${c});
                  vec4 scale = p.xyxy;
                  vec4 shift = p.zwzw;`;
        break;
      case 'rows':
        params = `vec4 p = getParams(0, ${c});
                  vec4 scale = p.xxyy;
                  vec4 shift = p.zzww;`;
        break;
      default:
        params = `int c = ${c};
                  vec4 p = getParams(0, c);
                  vec2 st = imod(c, 2) == 0 ? p.xz : p.yw;
                  vec4 scale = vec4(st.x);
                  vec4 shift = vec4(st.y);`;
    }
    const readX = sameLayout ? `${texture2D()}(x, resultUV)` : `getX(${coordsArgs(rank)})`;
    this.userCode = `
      ${normalizePacked(guard)}
      void main() {
        ${coordsType(rank)} coords = getOutputCoords();
        ${params}
        setOutput(normalize4(${readX}, scale, shift));
      }
    `;
  }
}

/**
 * The main program on unpacked textures (WEBGL_PACK=false): one fetch of x
 * (tfjs reads it at resultUV when the texture shapes agree) and two of
 * `params` per element.
 */
export class BatchNormInferenceProgram implements GPGPUProgram {
  variableNames = ['x', 'params'];
  outputShape: number[];
  userCode: string;
  enableShapeUniforms: boolean;

  constructor(xShape: number[], axis: number, guard: boolean) {
    const rank = xShape.length;
    this.outputShape = xShape;
    this.enableShapeUniforms = useShapeUniforms(rank);
    this.userCode = `
      ${normalizeUnpacked(guard)}
      void main() {
        ${coordsType(rank)} coords = getOutputCoords();
        int c = coords.${FIELDS[axis]};
        setOutput(normalize1(getXAtOutCoords(), getParams(0, c), getParams(1, c)));
      }
    `;
  }
}

/**
 * Folding on the GPU, for statistics that live in textures: the same formulas
 * as foldChannelParams, in float32. `epsilon` is a uniform. Division rather
 * than inversesqrt (GLSL leaves inversesqrt(0) undefined); a negative
 * variance + epsilon gives NaN explicitly (sqrt of a negative is undefined in
 * GLSL too).
 */
const FOLD_FUNCTIONS = `
  float foldScale(float gamma, float variance) {
    float d = variance + epsilon;
    return d < 0.0 ? NAN : gamma / sqrt(d);
  }
  float foldShift(float scale, float beta, float mean) {
    return isinf(scale) ? (isnan(beta) ? NAN : -mean) : beta - mean * scale;
  }
`;

const EPSILON_UNIFORM = [{name: 'epsilon', type: 'float' as const}];

/** Writes params [2, C] packed: texel (0, c) = (scale c, c+1, shift c, c+1). */
export class FoldChannelParamsPackedProgram implements GPGPUProgram {
  variableNames = ['gamma', 'beta', 'mean', 'variance'];
  outputShape: number[];
  userCode: string;
  packedInputs = true;
  packedOutput = true;
  enableShapeUniforms: boolean;
  customUniforms = EPSILON_UNIFORM;

  constructor(channels: number) {
    this.outputShape = [2, channels];
    this.enableShapeUniforms = useShapeUniforms(2);
    this.userCode = `
      ${FOLD_FUNCTIONS}
      void main() {
        int c = getOutputCoords().y;
        vec2 g = getGamma(c).xy;
        vec2 b = getBeta(c).xy;
        vec2 m = getMean(c).xy;
        vec2 v = getVariance(c).xy;
        vec2 s = vec2(foldScale(g.x, v.x), foldScale(g.y, v.y));
        setOutput(vec4(s, foldShift(s.x, b.x, m.x), foldShift(s.y, b.y, m.y)));
      }
    `;
  }
}

/** Writes params [2, C] unpacked: row 0 scale, row 1 shift. */
export class FoldChannelParamsProgram implements GPGPUProgram {
  variableNames = ['gamma', 'beta', 'mean', 'variance'];
  outputShape: number[];
  userCode: string;
  enableShapeUniforms: boolean;
  customUniforms = EPSILON_UNIFORM;

  constructor(channels: number) {
    this.outputShape = [2, channels];
    this.enableShapeUniforms = useShapeUniforms(2);
    this.userCode = `
      ${FOLD_FUNCTIONS}
      void main() {
        ivec2 rc = getOutputCoords();
        float scale = foldScale(getGamma(rc.y), getVariance(rc.y));
        setOutput(rc.x == 0 ? scale : foldShift(scale, getBeta(rc.y), getMean(rc.y)));
      }
    `;
  }
}
