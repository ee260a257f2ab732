/**
 * Main shader programs of the BatchNormInference webgl kernel: one pass over
 * x, reading the per-channel `terms` tensor the kernel caches (see
 * channel_terms.ts for how the terms are made).
 *
 * Terms [4, C], rows (s, t, mean / 2, beta / 2) with s = gamma /
 * sqrt(variance + epsilon) and t = beta - mean * s, or t = the uniform
 * `marker` for the channels that take the centred form:
 *
 *     y = x * s + t                                 where |t| < marker
 *     y = ((x * 0.5 - mean / 2) * s + beta / 2) * 2  elsewhere (centred)
 *
 * Why. The multiply-add x * s + t is one multiply-add per element and its error is
 * relative to the terms |x*s| + |mean*s| + |beta| (the tolerance
 * test/helpers/reference.ts allows), but it overflows where the terms exceed
 * the texture format while the result does not (x ~ mean ~ 1e38 on float32
 * textures, t = beta - mean*s beyond 65504 on half floats). The centred
 * expression avoids that: x - mean is formed first, and the halving (exact
 * for normal numbers) keeps x/2 - mean/2, (x - mean)*s/2 and the sum below the
 * largest float whenever the inputs and the result are representable. It
 * needs a second terms fetch, taken only in flagged channels (the flag is a
 * finite marker: infinities do not survive every upload path, e.g. tfjs's
 * half-float one turns them into NaN). An infinite or NaN scale or statistic
 * also takes the centred branch, which follows IEEE arithmetic as the formula
 * does. On half-float textures every channel takes the centred form: a
 * stored t carries an 11-bit significand, and x*s + t would lose its
 * rounding to cancellation when x ~ mean (channel_terms.ts). (A variant
 * without the test, for statistics whose every channel is safe, showed no
 * win in bench/webgl.js, so there is none; the centred form for every
 * channel on float32 textures was slower there, so it is not used.)
 *
 * Layout. No transpose for any axis: the channel index comes from the output
 * coordinates and addresses the terms texel directly. A packed terms texel
 * (rows r, r+1; columns c, c+1) holds (p[r][c], p[r][c+1], p[r+1][c],
 * p[r+1][c+1]); which components of x's 2x2 texel belong to which channel
 * depends only on where the channel axis falls:
 *   'last'  (axis = rank-1): texel columns are channels c, c+1: s = p.xyxy, t = p.zwzw
 *   'rows'  (axis = rank-2): texel rows are channels c, c+1:    s = p.xxyy, t = p.zzww
 *   'outer' (axis < rank-2): one channel per texel, c may be odd: the texel is
 *           swizzled to put channel c first, then s = p.xxxx, t = p.zzzz.
 *
 * Uniforms. Nothing shape- or value-dependent is baked into the source except
 * what tfjs bakes when shape uniforms are off (WEBGL_USE_SHAPES_UNIFORMS,
 * rank <= 4 only).
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

/**
 * First line of every program of this kernel (a GLSL comment): names the
 * variant, so tests can tell which programs were compiled and run.
 */
export const PROGRAM_TAG = 'tfbni:BatchNormInference';

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

/** The t value that flags a channel to compute centred. */
const MARKER_UNIFORM = [{name: 'marker', type: 'float' as const}];

/** Swizzles giving, per component of x's texel, its channel's first and second param row. */
const SWIZZLES: Record<ChannelLayout, [string, string]> = {
  last: ['xyxy', 'zwzw'],
  rows: ['xxyy', 'zzww'],
  outer: ['xxxx', 'zzzz'],
};

/**
 * The main program on packed textures: per output texel one fetch of x and
 * one of `terms` (two in centred channels), one vec4 multiply-add.
 *
 * `sameLayout`: the caller has checked that x's packed texture has the output's
 * texture shape (and no slice offset), so the texel of x at this fragment is
 * the one being written: it is read at resultUV, skipping tfjs's
 * coords-to-texel arithmetic for x.
 */
export class BatchNormInferencePackedProgram implements GPGPUProgram {
  variableNames = ['x', 'terms'];
  outputShape: number[];
  userCode: string;
  packedInputs = true;
  packedOutput = true;
  enableShapeUniforms: boolean;
  customUniforms = MARKER_UNIFORM;

  constructor(xShape: number[], axis: number, sameLayout: boolean) {
    const rank = xShape.length;
    this.outputShape = xShape;
    this.enableShapeUniforms = useShapeUniforms(rank);
    const layout = channelLayout(rank, axis);
    const [s, t] = SWIZZLES[layout];
    // 'outer': put channel c's values in .x/.z whatever c's parity.
    const fetch = (row: number) => layout === 'outer' ?
        `(imod(c, 2) == 0 ? getTerms(${row}, c) : getTerms(${row}, c).yxwz)` :
        `getTerms(${row}, c)`;
    const readX = sameLayout ? `${texture2D()}(x, resultUV)` : `getX(${coordsArgs(rank)})`;
    const centred = `
        bvec4 unsafe = greaterThanEqual(abs(shift), vec4(marker));
        if (any(unsafe)) {
          vec4 q = ${fetch(2)};
          vec4 z = ((v * 0.5 - q.${s}) * scale + q.${t}) * 2.0;
          y = vec4(unsafe.x ? z.x : y.x, unsafe.y ? z.y : y.y,
                   unsafe.z ? z.z : y.z, unsafe.w ? z.w : y.w);
        }`;
    this.userCode = `
      // ${PROGRAM_TAG} packed ${sameLayout ? 'own-texel' : 'sampler'}
      void main() {
        ${coordsType(rank)} coords = getOutputCoords();
        int c = coords.${FIELDS[axis]};
        vec4 p = ${fetch(0)};
        vec4 scale = p.${s};
        vec4 shift = p.${t};
        vec4 v = ${readX};
        vec4 y = v * scale + shift;${centred}
        setOutput(y);
      }
    `;
  }
}

/**
 * The main program on unpacked textures (WEBGL_PACK=false): one fetch of x
 * (tfjs reads it at resultUV when the texture shapes agree) and two of
 * `terms` per element (four in centred channels).
 */
export class BatchNormInferenceProgram implements GPGPUProgram {
  variableNames = ['x', 'terms'];
  outputShape: number[];
  userCode: string;
  enableShapeUniforms: boolean;
  customUniforms = MARKER_UNIFORM;

  constructor(xShape: number[], axis: number) {
    const rank = xShape.length;
    this.outputShape = xShape;
    this.enableShapeUniforms = useShapeUniforms(rank);
    const centred = `
        if (abs(shift) >= marker) {
          y = ((v * 0.5 - getTerms(2, c)) * scale + getTerms(3, c)) * 2.0;
        }`;
    this.userCode = `
      // ${PROGRAM_TAG} unpacked
      void main() {
        ${coordsType(rank)} coords = getOutputCoords();
        int c = coords.${FIELDS[axis]};
        float scale = getTerms(0, c);
        float shift = getTerms(1, c);
        float v = getXAtOutCoords();
        float y = v * scale + shift;${centred}
        setOutput(y);
      }
    `;
  }
}
