/**
 * The channel terms on the GPU, for statistics that live in textures: writes
 * the terms [4, C] the main program reads (rows: s, t, mean / 2,
 * beta / 2; see batch_norm_inference_gpu.ts), in float32 arithmetic:
 *
 *     s = gamma / sqrt(variance + epsilon)
 *     t = beta - mean * s, or `marker` where |t| > limit (or t is NaN): the
 *         main program then takes the centred form for that channel.
 *
 * Uniforms: `epsilon`, `limit` (the largest |t| the texture format keeps
 * safe) and `marker` (see channel_terms.ts). Division rather than inversesqrt (GLSL
 * leaves inversesqrt(0) undefined); a negative variance + epsilon gives NaN
 * explicitly (sqrt of a negative is undefined in GLSL too).
 */
import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {PROGRAM_TAG, useShapeUniforms} from './batch_norm_inference_gpu';

const TERM_FUNCTIONS = `
  float channelScale(float gamma, float variance) {
    float d = variance + epsilon;
    return d < 0.0 ? NAN : gamma / sqrt(d);
  }
  float channelShift(float scale, float beta, float mean) {
    float t = beta - mean * scale;
    return abs(t) <= limit ? t : marker;
  }
`;

const UNIFORMS = [
  {name: 'epsilon', type: 'float' as const},
  {name: 'limit', type: 'float' as const},
  {name: 'marker', type: 'float' as const},
];

/** The custom uniform values, in the programs' order. */
export function channelTermsUniforms(epsilon: number, limit: number, marker: number): number[][] {
  return [[epsilon], [limit], [marker]];
}

/** The fields both programs share; `main` is the body of the shader's main(). */
abstract class ChannelTermsBase implements GPGPUProgram {
  variableNames = ['gamma', 'beta', 'mean', 'variance'];
  outputShape: number[];
  userCode: string;
  enableShapeUniforms = useShapeUniforms(2);
  customUniforms = UNIFORMS;

  constructor(channels: number, variant: 'packed'|'unpacked', main: string) {
    this.outputShape = [4, channels];
    this.userCode = `
      // ${PROGRAM_TAG} terms ${variant}
      ${TERM_FUNCTIONS}
      void main() {
        ivec2 rc = getOutputCoords();
        int c = rc.y;${main}
      }
    `;
  }
}

/** Writes the terms [4, C] packed: texel (0, c) = (s c, c+1, t c, c+1), (2, c) = halves of mean, beta. */
export class ChannelTermsPackedProgram extends ChannelTermsBase {
  packedInputs = true;
  packedOutput = true;

  constructor(channels: number) {
    super(channels, 'packed', `
        vec2 b = getBeta(c).xy;
        vec2 m = getMean(c).xy;
        if (rc.x == 0) {
          vec2 g = getGamma(c).xy;
          vec2 v = getVariance(c).xy;
          vec2 s = vec2(channelScale(g.x, v.x), channelScale(g.y, v.y));
          setOutput(vec4(s, channelShift(s.x, b.x, m.x), channelShift(s.y, b.y, m.y)));
        } else {
          setOutput(vec4(m * 0.5, b * 0.5));
        }`);
  }
}

/** Writes the terms [4, C] unpacked. */
export class ChannelTermsProgram extends ChannelTermsBase {
  constructor(channels: number) {
    super(channels, 'unpacked', `
        float s = channelScale(getGamma(c), getVariance(c));
        float y = rc.x == 0 ? s :
                  rc.x == 1 ? channelShift(s, getBeta(c), getMean(c)) :
                  rc.x == 2 ? getMean(c) * 0.5 : getBeta(c) * 0.5;
        setOutput(y);`);
  }
}
