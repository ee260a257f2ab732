/**
 * The wasm backend's heap, as this package's wasm kernel uses it: the
 * WebAssembly.Memory every tensor of the backend lives in, where a tensor
 * lives in it, and the backend's own allocator (for per-call scratch).
 */
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';
import type {TensorInfo} from '@tensorflow/tfjs-core';

export interface WasmHeap {
  /**
   * The backend's WebAssembly.Memory, or null if this version of the backend
   * does not expose it (then only `buffer()` is usable, not a module that
   * imports the memory).
   */
  memory: WebAssembly.Memory|null;
  /**
   * The current buffer behind the heap. Re-read it after every allocation:
   * growing the memory replaces the buffer (and detaches the old one, unless
   * it is a SharedArrayBuffer).
   */
  buffer(): ArrayBuffer|SharedArrayBuffer;
  /** Byte offset of a tensor's first element in the heap. */
  offsetOf(t: TensorInfo): number;
  /** Allocates `bytes` (8-byte aligned) in the heap; may grow the memory. */
  malloc(bytes: number): number;
  free(pointer: number): void;
}

/** What the emscripten module of tfjs-backend-wasm 4.22 holds beyond its typings. */
interface EmscriptenInternals {
  asm?: {memory?: unknown};
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/**
 * The one function that reaches into @tensorflow/tfjs-backend-wasm beyond its
 * public typings (tested with 4.22): `backend.wasm.asm.memory`, the memory
 * the emscripten module exports, and its `_malloc` / `_free` / `HEAPU8`.
 * `getMemoryOffset` (the tensor's byte offset) and `makeOutput` are public.
 * The backend object is the kernel's `backend` argument: nothing here loads
 * the wasm package, so importing this file costs nothing without it, and in
 * the browser bundle it works with the page's own tf-backend-wasm script.
 */
export function wasmHeap(backend: BackendWasm): WasmHeap {
  const module = backend.wasm as unknown as EmscriptenInternals;
  const exported = module.asm?.memory;
  const memory = exported instanceof WebAssembly.Memory ? exported : null;
  return {
    memory,
    // memory.buffer is current even where another thread grew the memory
    // (the threaded build), which HEAPU8 is not until emscripten refreshes it.
    buffer: () => memory != null ? memory.buffer : module.HEAPU8.buffer,
    offsetOf: (t) => backend.getMemoryOffset(t.dataId),
    // `>>> 0`: emscripten returns a signed pointer above 2 GiB.
    malloc: (bytes) => module._malloc(bytes) >>> 0,
    free: (pointer) => module._free(pointer),
  };
}
