/**
 * Main shader programs of the BatchNormInference webgl kernel: one pass over
 * x, reading the per-channel `terms` tensor the kernel caches (see
 * channel_terms.ts for how the terms are made).
 *
 * Terms [3, C], rows mean, scale s = gamma / sqrt(variance + epsilon) and
 * beta; every element is computed in the centred form, halved:
 *
 *     y = ((x * 0.5 - mean * 0.5) * s + beta * 0.5) * 2
 *
 * Why centred. x - mean is exact when x and mean are within a factor of two
 * (Sterbenz), so the rounding error is relative to the result, (x - mean) * s
 * and beta, not to the terms x*s and mean*s of the folded x*s + (beta -
 * mean*s), which cancel when x ~ mean: on half-float textures the folded
 * shift is stored with an 11-bit significand, so x = 300, mean = 299, s = 200
 * lost ulp(60000) = 32 of a result of 200. The centred form also needs no
 * special case for an infinite scale (it gives +-Inf on each side of the mean
 * and NaN at it, as the formula does), so there is no marker and no branch.
 * Why halved: x - mean, (x - mean) * s and the sum can overflow float32 where
 * the result does not (x = 3e38, mean = -3e38, s = 0.1); halving each operand
 * (exact for normal numbers) keeps them in range whenever the inputs and the
 * result are. The arithmetic is float32 on every texture format.
 *
 * Layout. No transpose for any axis: the channel index comes from the output
 * coordinates and addresses the terms texel directly. A packed terms texel
 * (rows r, r+1; columns c, c+1) holds (p[r][c], p[r][c+1], p[r+1][c],
 * p[r+1][c+1]): texel row 0 is (mean, scale), texel row 2 is (beta, 0).
 * Which components of x's 2x2 texel belong to which channel depends only on
 * where the channel axis falls:
 *   'last'  (axis = rank-1): texel columns are channels c, c+1: p.xyxy, p.zwzw
 *   'rows'  (axis = rank-2): texel rows are channels c, c+1:    p.xxyy, p.zzww
 *   'outer' (axis < rank-2): one channel per texel, c may be odd: the texel is
 *           swizzled to put channel c first, then p.xxxx, p.zzzz.
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

/** Swizzles giving, per component of x's texel, its channel's first and second terms row. */
const SWIZZLES: Record<ChannelLayout, [string, string]> = {
  last: ['xyxy', 'zwzw'],
  rows: ['xxyy', 'zzww'],
  outer: ['xxxx', 'zzzz'],
};

/** The centred form, halved (see the file comment). */
const CENTRED = 'y = ((v * 0.5 - mean * 0.5) * scale + beta * 0.5) * 2.0;';

/**
 * The main program on packed textures: per output texel one fetch of x and
 * two of `terms`.
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

  constructor(xShape: number[], axis: number, sameLayout: boolean) {
    const rank = xShape.length;
    this.outputShape = xShape;
    this.enableShapeUniforms = useShapeUniforms(rank);
    const layout = channelLayout(rank, axis);
    const [first, second] = SWIZZLES[layout];
    // 'outer': put channel c's values in .x/.z whatever c's parity.
    const fetch = (row: number) => layout === 'outer' ?
        `(imod(c, 2) == 0 ? getTerms(${row}, c) : getTerms(${row}, c).yxwz)` :
        `getTerms(${row}, c)`;
    const readX = sameLayout ? `${texture2D()}(x, resultUV)` : `getX(${coordsArgs(rank)})`;
    this.userCode = `
      // ${PROGRAM_TAG} packed ${sameLayout ? 'own-texel' : 'sampler'}
      void main() {
        ${coordsType(rank)} coords = getOutputCoords();
        int c = coords.${FIELDS[axis]};
        vec4 p = ${fetch(0)};
        vec4 mean = p.${first};
        vec4 scale = p.${second};
        vec4 beta = ${fetch(2)}.${first};
        vec4 v = ${readX};
        vec4 ${CENTRED}
        setOutput(y);
      }
    `;
  }
}

/**
 * The main program on unpacked textures (WEBGL_PACK=false): one fetch of x
 * (tfjs reads it at resultUV when the texture shapes agree) and three of
 * `terms` per element.
 */
export class BatchNormInferenceProgram implements GPGPUProgram {
  variableNames = ['x', 'terms'];
  outputShape: number[];
  userCode: string;
  enableShapeUniforms: boolean;

  constructor(xShape: number[], axis: number) {
    const rank = xShape.length;
    this.outputShape = xShape;
    this.enableShapeUniforms = useShapeUniforms(rank);
    this.userCode = `
      // ${PROGRAM_TAG} unpacked
      void main() {
        ${coordsType(rank)} coords = getOutputCoords();
        int c = coords.${FIELDS[axis]};
        float mean = getTerms(0, c);
        float scale = getTerms(1, c);
        float beta = getTerms(2, c);
        float v = getXAtOutCoords();
        float ${CENTRED}
        setOutput(y);
      }
    `;
  }
}
