/**
 * Every switch of the package, each a tfjs env flag: registered here, read
 * by the kernels with `env().getBool(name)`, set by users with
 * `tf.env().set(name, value)` or `?tfjsflags=NAME:value` in a page. The table
 * in docs/CONTRIBUTING.md lists them; a new switch is one entry in FLAGS and
 * one row there.
 */
import {env} from '@tensorflow/tfjs-core';

/**
 * cpu kernel: true runs the WebAssembly SIMD core where it applies, false
 * always the JS loop (same bits either way).
 */
export const CPU_WASM_FLAG = 'TFBNI_CPU_WASM';

/**
 * webgpu kernel: true uses the four-elements-per-invocation programs where
 * the layout allows, false always the scalar program.
 */
export const WEBGPU_VEC4_FLAG = 'TFBNI_WEBGPU_VEC4';

/**
 * GraphModels: true runs tfjs-converter's FusedBatchNorm, V2 and V3 nodes
 * with this package's op (data_format and is_training honoured); false
 * leaves them to tfjs-converter's own mapping. Read when a model is loaded:
 * setting it registers or removes the ops for models loaded afterwards.
 */
export const GRAPH_FUSED_BATCH_NORM_FLAG = 'TFBNI_GRAPH_FUSED_BATCH_NORM';

/**
 * The fused layers on cpu: true runs the plain convolution or product, then
 * the BiasActivation kernel (bias and activation in one pass, NaN kept);
 * false runs tf.fused.* as on the other backends.
 */
export const FUSED_CPU_EPILOGUE_FLAG = 'TFBNI_FUSED_CPU_EPILOGUE';

/** Each flag with its default. */
export const FLAGS: Readonly<Record<string, boolean>> = {
  [CPU_WASM_FLAG]: true,
  [WEBGPU_VEC4_FLAG]: true,
  [GRAPH_FUSED_BATCH_NORM_FLAG]: true,
  [FUSED_CPU_EPILOGUE_FLAG]: true,
};

/** What to run when a flag is set (tfjs's setHook), for flags that act on set. */
export type FlagHooks = Readonly<Record<string, (value: boolean) => void>>;

/**
 * Registers every flag in FLAGS. Idempotent, also across two copies of the
 * package sharing one tfjs-core: a flag is registered and at once evaluated,
 * so it appears in the public `env().getFlags()`, and a flag found there is
 * left alone (registering it again would replace its evaluation function
 * and, with a `?tfjsflags=` override, warn again and re-apply the URL value
 * over one set in code). Called by registerBatchNormInference (src/register.ts).
 */
export function registerFlags(hooks: FlagHooks = {}): void {
  for (const [name, value] of Object.entries(FLAGS)) {
    if (name in env().getFlags()) continue;
    const hook = hooks[name];
    env().registerFlag(name, () => value, hook != null ? (v) => hook(Boolean(v)) : undefined);
    env().getBool(name);
  }
}
