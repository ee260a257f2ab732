/**
 * The channel terms program of the webgl kernel, for statistics that live in
 * textures: writes the [3, C] `terms` the main program reads, rows mean,
 * scale and beta (the row order of the webgpu kernel's terms buffer), in
 * float32 arithmetic:
 *
 *     scale = gamma / sqrt(variance + epsilon)
 *
 * Packed, texel (0, c) holds (mean c, c+1, scale c, c+1) and texel (2, c)
 * (beta c, c+1, 0, 0). `epsilon` is a uniform. Division rather than
 * inversesqrt (GLSL leaves inversesqrt(0) undefined); a negative variance +
 * epsilon gives NaN explicitly (sqrt of a negative is undefined in GLSL too).
 */
import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {PROGRAM_TAG, useShapeUniforms} from './batch_norm_inference_gpu';

const SCALE_FUNCTION = `
  float channelScale(float gamma, float variance) {
    float d = variance + epsilon;
    return d < 0.0 ? NAN : gamma / sqrt(d);
  }
`;

const UNIFORMS = [{name: 'epsilon', type: 'float' as const}];

/** The custom uniform values, in the programs' order. */
export function channelTermsUniforms(epsilon: number): number[][] {
  return [[epsilon]];
}

/** The fields both programs share; `main` is the body of the shader's main(). */
abstract class ChannelTermsBase implements GPGPUProgram {
  variableNames = ['gamma', 'beta', 'mean', 'variance'];
  outputShape: number[];
  userCode: string;
  enableShapeUniforms = useShapeUniforms(2);
  customUniforms = UNIFORMS;

  constructor(channels: number, variant: 'packed'|'unpacked', main: string) {
    this.outputShape = [3, channels];
    this.userCode = `
      // ${PROGRAM_TAG} terms ${variant}
      ${SCALE_FUNCTION}
      void main() {
        ivec2 rc = getOutputCoords();
        int c = rc.y;${main}
      }
    `;
  }
}

/** Writes the terms [3, C] packed. */
export class ChannelTermsPackedProgram extends ChannelTermsBase {
  packedInputs = true;
  packedOutput = true;

  constructor(channels: number) {
    super(channels, 'packed', `
        if (rc.x == 0) {
          vec2 g = getGamma(c).xy;
          vec2 v = getVariance(c).xy;
          vec2 s = vec2(channelScale(g.x, v.x), channelScale(g.y, v.y));
          setOutput(vec4(getMean(c).xy, s));
        } else {
          setOutput(vec4(getBeta(c).xy, 0.0, 0.0));
        }`);
  }
}

/** Writes the terms [3, C] unpacked. */
export class ChannelTermsProgram extends ChannelTermsBase {
  constructor(channels: number) {
    super(channels, 'unpacked', `
        float y = rc.x == 0 ? getMean(c) :
                  rc.x == 1 ? channelScale(getGamma(c), getVariance(c)) : getBeta(c);
        setOutput(y);`);
  }
}
