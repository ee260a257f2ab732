/**
 * A tensor the current tfjs engine does not know, as an app gets when it
 * loads two copies of tfjs-core with two engines: a second Engine (tfjs-core's
 * class, reached through the current engine's constructor) with its own cpu
 * backend makes it. The tensor passes `instanceof tf.Tensor` (tfjs-core's
 * check is duck-typed) but its dataId is unknown to `tf.engine()`.
 *
 * Nothing global changes: the second engine is not installed, and the tensor
 * is not counted by `tf.memory()`.
 */
import * as tf from '@tensorflow/tfjs';
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

type EngineClass = new (env: tf.Environment) => ReturnType<typeof tf.engine>;

export function tensorOfAnotherEngine(shape: number[]): tf.Tensor {
  const Engine = tf.engine().constructor as EngineClass;
  const other = new Engine(tf.env());
  other.registerBackend('cpu', () => new MathBackendCPU());
  const size = shape.reduce((a, b) => a * b, 1);
  return other.makeTensor(new Float32Array(size).fill(1), shape, 'float32', other.findBackend('cpu')!);
}
