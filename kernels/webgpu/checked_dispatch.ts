/**
 * Runs a program of the webgpu kernel so that a shader which fails to
 * compile or validate is an exception, not a result read from whatever the
 * recycled output buffer held.
 *
 * WebGPU reports pipeline errors asynchronously (error scopes), while a
 * kernel returns synchronously. So the first dispatch of each program source
 * (the program's shaderKey and the dtypes of the buffers bound to it: the
 * WGSL declares each binding with its data's type) runs inside a validation
 * error scope; if the scope reports an error, the pipeline is dropped from
 * tfjs's cache, the error is logged naming the kernel, and every later call
 * with that source throws it before dispatching. The sources this kernel
 * generates compile for every buffer dtype tfjs uses for float32 tensors
 * (float32, and int32 or bool behind a float32 cast, which tfjs does not
 * copy): test/webgpu.test.ts runs each variant with each, and checks that a
 * broken shader throws.
 *
 * tfjs-backend-webgpu 4.22 internals used: `tensorMap` entries' `dtype` (the
 * buffer's type) and the private `pipelineCache` (keyed by the full shaderKey
 * runWebGPUProgram sets on the program).
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

import {BatchNormInference} from '../kernel_names';
import {fail} from '../shared/fail';

type Uniforms = Array<{type: string, data: number[]}>;

interface SourceState {
  /** Sources whose first dispatch raised no error (or is still being checked). */
  checked: Set<string>;
  /** Sources whose first dispatch raised an error, with its message. */
  failed: Map<string, string>;
}

const states = new WeakMap<WebGPUBackend, SourceState>();

function stateOf(backend: WebGPUBackend): SourceState {
  let state = states.get(backend);
  if (state == null) states.set(backend, state = {checked: new Set(), failed: new Map()});
  return state;
}

/** backend.runWebGPUProgram(program, inputs, 'float32', uniforms), checked as described above. */
export function runChecked(
    backend: WebGPUBackend, program: WebGPUProgram, inputs: TensorInfo[],
    uniforms: Uniforms): TensorInfo {
  const dtypes = inputs.map((t) => backend.tensorMap.get(t.dataId).dtype);
  const source = `${program.shaderKey}|${dtypes.join(',')}`;
  const state = stateOf(backend);
  const error = state.failed.get(source);
  if (error != null) {
    fail(`${BatchNormInference} (webgpu)`,
         `the shader ${program.shaderKey} for inputs of dtypes ${dtypes.join(', ')} failed ` +
         `to compile or validate: ${error}`);
  }
  if (state.checked.has(source)) {
    return backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
  }
  state.checked.add(source);
  const device = backend.device;
  device.pushErrorScope('validation');
  let out: TensorInfo;
  try {
    out = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
  } finally {
    device.popErrorScope().then((e) => {
      if (e == null) return;
      state.failed.set(source, e.message);
      state.checked.delete(source);
      delete (backend as unknown as {pipelineCache: Record<string, unknown>})
          .pipelineCache[program.shaderKey];
      console.error(`Error in ${BatchNormInference} (webgpu): the shader ${program.shaderKey} ` +
                    `failed to compile or validate (its result is not valid; later calls throw): ` +
                    e.message);
    }, () => undefined);
  }
  return out;
}
