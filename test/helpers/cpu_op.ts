/**
 * The op on the cpu backend with TFBNI_CPU_WASM set as asked, for the cpu
 * suites (test/cpu.test.ts, test/fuzz_cpu.test.ts) that compare its two
 * paths with each other and with the exact reference.
 */
import * as tf from '@tensorflow/tfjs';

import {CPU_WASM_FLAG} from '../../kernels/flags';
import {batchNormInference} from '../../src';
import {ExactInputs} from './exact';

/** The formula's inputs as the float32 arrays the kernel reads. */
export interface Float32Inputs extends ExactInputs {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** The op's output on the current (cpu) backend, with the SIMD path on or off. */
export function runCpuOp(d: Float32Inputs, wasm: boolean): Float32Array {
  tf.env().set(CPU_WASM_FLAG, wasm);
  const x = tf.tensor(d.x, d.shape);
  const y = batchNormInference(x, d.gamma, d.beta, d.mean, d.variance, {epsilon: d.epsilon, axis: d.axis});
  const values = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  return values;
}
