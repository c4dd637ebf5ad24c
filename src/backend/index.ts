/**
 * @file Backend selection: the registry (js always; wasm where WebAssembly SIMD exists; blas where OpenBLAS loads),
 * `setBackend`/`getBackend` with 'auto' for the fastest one here, and the kernel dispatcher that falls back,
 * kernel by kernel, to the js reference backend (warning once per missing kernel).
 */
import { checked, custom, optional, str } from '../core/args.js';
import { ValueError } from '../core/errors.js';
import type { Backend, Kernels } from './backend.js';
import { blasUnavailable, makeBlasBackend, makeWasmBackend } from './cpu-backends.js';
import { jsBackend } from './js/index.js';
import { getNumThreads } from './threads.js';
import { wasmGemm, wasmInfo } from './wasm/index.js';

export type { Backend, Kernels, View } from './backend.js';

const registry = new Map<string, Backend>([['js', jsBackend]]);
for (const b of [makeWasmBackend(), makeBlasBackend()]) if (b) registry.set(b.name, b);
let active: Backend = jsBackend;
let dispatch: Kernels = jsBackend.kernels as Kernels;
const warned = new Set<string>();

/** Makes a backend selectable by name (the wasm and blas backends register themselves this way). */
function registerBackendFn(b: Backend): void {
  registry.set(b.name, b);
}

function backendNamesFn(): string[] {
  return [...registry.keys()];
}

function getBackendFn(): string {
  return active.name;
}

export function activeBackend(): Backend {
  return active;
}

let autoNoted = false;

/**
 * The fastest backend registered here: blas, else wasm (saying once, in Node, how to get blas), else js.
 */
function fastestBackendFn(): string {
  if (registry.has('blas')) return 'blas';
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (isNode && !autoNoted) {
    autoNoted = true;
    console.warn(
      `adjoint: OpenBLAS not found (${blasUnavailable() ?? 'not loaded'}); using the wasm backend. For faster matmul and ` +
        'convolution install it (Debian/Ubuntu: apt-get install libopenblas0-pthread; macOS: brew install openblas) ' +
        'or set ADJOINT_OPENBLAS to the library file',
    );
  }
  return registry.has('wasm') ? 'wasm' : 'js';
}

/**
 * Resolves when the active backend is ready to run at full speed: for wasm, its worker threads are up (as tfjs's
 * `await tf.ready()`). Needed only on a browser's main thread, which cannot wait for workers synchronously; in Node
 * the first threaded kernel waits for them itself.
 */
async function readyFn(): Promise<void> {
  if (active.name === 'wasm') await wasmGemm()?.ready();
}

/** One line saying what a backend runs on this machine: its GEMM, SIMD features and threads. */
function describeBackendFn(name: string = active.name): string {
  if (name === 'js') return 'js (reference kernels, 1 thread)';
  if (name === 'wasm') {
    const w = wasmInfo();
    const threads = w?.shared ? getNumThreads() : 1;
    const running = w?.workers ? `, ${w.workers} worker(s) running` : '';
    const shared = w?.shared ? '' : ', no SharedArrayBuffer: one thread';
    return `wasm (WebAssembly SIMD${w?.relaxedSimd ? ' + relaxed-SIMD FMA' : ''}, ${threads} thread(s)${running}${shared})`;
  }
  if (name === 'blas') return `blas (OpenBLAS through koffi, ${getNumThreads()} thread(s))`;
  return name;
}

/** Picks the backend every tensor created from now on lives on; 'auto' picks `fastestBackend()`. */
function setBackendFn(name: string): void {
  if (name === 'auto') name = fastestBackendFn();
  const b = registry.get(name);
  if (!b)
    throw new ValueError(`setBackend: unknown backend '${name}'; available: ${backendNames().join(', ')} (or 'auto')`);
  active = b;
  dispatch = withFallback(b);
}

function withFallback(b: Backend): Kernels {
  if (b === jsBackend) return jsBackend.kernels as Kernels;
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(jsBackend.kernels)) {
    const own = (b.kernels as Record<string, unknown>)[name];
    if (own) out[name] = own;
    else
      out[name] = (...args: unknown[]) => {
        if (!warned.has(`${b.name}.${name}`)) {
          warned.add(`${b.name}.${name}`);
          console.warn(`adjoint: backend '${b.name}' has no '${name}' kernel; using the js reference kernel`);
        }
        return (ref as (...a: unknown[]) => unknown)(...args);
      };
  }
  return out as unknown as Kernels;
}

/** The kernels of the active backend, with reference fallbacks filled in. */
export function kernels(): Kernels {
  return dispatch;
}

// The public selection functions, with their declared parameters.
const NONE = {};
/** A backend object: a name and its kernels (src/backend/backend.ts is the contract). */
const BACKEND = custom<Backend>(
  'a Backend ({name, alloc, release, upload, readSync, read, kernels})',
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Backend).name === 'string' &&
    typeof (v as Backend).kernels === 'object' &&
    typeof (v as Backend).alloc === 'function',
);
export const registerBackend = checked('registerBackend', { args: { backend: BACKEND } }, registerBackendFn);
export const backendNames = checked('backendNames', NONE, backendNamesFn);
export const getBackend = checked('getBackend', NONE, getBackendFn);
export const fastestBackend = checked('fastestBackend', NONE, fastestBackendFn);
export const ready = checked('ready', NONE, readyFn);
export const describeBackend = checked('describeBackend', { args: { name: optional(str) } }, describeBackendFn);
export const setBackend = checked('setBackend', { args: { name: str } }, setBackendFn);

const env = typeof process !== 'undefined' ? process.env?.ADJOINT_BACKEND : undefined;
if (env) setBackend(env);
