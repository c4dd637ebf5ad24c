/**
 * @file Backend selection: the registry (js always; wasm where WebAssembly SIMD exists; blas where an OpenBLAS file
 * is found), `setBackend`/`getBackend` with 'auto' for the fastest one here, and the kernel dispatcher that falls
 * back, kernel by kernel, to the js reference backend (warning once per missing kernel). The default, at import, is
 * 'auto' (or ADJOINT_BACKEND): choosing it only looks for files, so importing maps no native library and starts no
 * thread; OpenBLAS is mapped at the first GEMM (falling back to wasm, with one warning, if it then fails to load)
 * and wasm's workers start at the first threaded GEMM.
 */
import { checked, custom, optional, str } from '../core/args.js';
import { ValueError } from '../core/errors.js';
import type { Backend, Kernels } from './backend.js';
import { blasUnavailable, makeBlasBackend, makeWasmBackend } from './cpu-backends.js';
import { type Gemm, referenceGemm } from './gemm.js';
import { jsBackend } from './js/index.js';
import { getNumThreads } from './threads.js';
import { wasmGemm, wasmInfo } from './wasm/index.js';

export type { Backend, Kernels, View } from './backend.js';

const registry = new Map<string, Backend>([['js', jsBackend]]);
const wasm = makeWasmBackend();
if (wasm) registry.set(wasm.name, wasm);
let autoNoted = false;
/** Why OpenBLAS, found on disk, failed to load at its first GEMM (null while it has not failed). */
let blasFailure: string | null = null;
const blas = makeBlasBackend((why) => {
  blasFailure = why;
  autoNoted = true; // this warning says it all; an explicit 'auto' later adds no second one
  registry.delete('blas');
  const to = registry.has('wasm') ? 'wasm' : 'js';
  console.warn(`adjoint: ${why}; the ${to} backend runs from now on`);
  if (active.name === 'blas') select(to, 'fallback', 'setBackend');
  const w = wasmGemm();
  return w ? (((g) => w.gemm(g)) as Gemm) : referenceGemm;
});
if (blas) registry.set('blas', blas.backend);
let active: Backend = jsBackend;
let dispatch: Kernels = jsBackend.kernels as Kernels;
/** How the active backend was chosen: by name, by 'auto', or as the fallback when OpenBLAS failed to load. */
let chosenBy: 'name' | 'auto' | 'fallback' = 'name';
const warned = new Set<string>();

/** Makes a backend selectable by name (the wasm and blas backends register themselves this way). */
function registerBackendFn(b: Backend): void {
  registry.set(b.name, b);
}

function backendNamesFn(): string[] {
  return [...registry.keys()];
}

/** The active backend's name: what 'auto' (the default) resolved to, unless one was chosen by name. */
function getBackendFn(): string {
  return active.name;
}

export function activeBackend(): Backend {
  return active;
}

/**
 * The fastest backend registered here: blas, else wasm, else js. With `note`, says once (in Node) how to get blas
 * when it is missing: for an explicit 'auto' or `fastestBackend()`, not for the silent default at import.
 */
function fastest(note: boolean): string {
  if (registry.has('blas')) return 'blas';
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (note && isNode && !autoNoted) {
    autoNoted = true;
    console.warn(
      `adjoint: OpenBLAS not found (${blasUnavailable() ?? 'not loaded'}); using the wasm backend. For ` +
        'faster matmul and convolution install it (Debian/Ubuntu: apt-get install libopenblas0-pthread; macOS: brew ' +
        'install openblas) or set ADJOINT_OPENBLAS to the library file',
    );
  }
  return registry.has('wasm') ? 'wasm' : 'js';
}

function fastestBackendFn(): string {
  return fastest(true);
}

/**
 * Resolves when the active backend is ready to run at full speed: for wasm, its worker threads are up (as tfjs's
 * `await tf.ready()`). Needed only on a browser's main thread, which cannot wait for workers synchronously; in Node
 * the first threaded kernel waits for them itself.
 */
async function readyFn(): Promise<void> {
  if (active.name === 'wasm') await wasmGemm()?.ready();
}

/** One line saying what a backend runs on this machine (its GEMM, SIMD features, threads) and, for the active one, how it was chosen. */
function describeBackendFn(name: string = active.name): string {
  let line = name;
  if (name === 'js') line = 'js (reference kernels, 1 thread)';
  else if (name === 'wasm') {
    const w = wasmInfo();
    const threads = w?.shared ? getNumThreads() : 1;
    const running = w?.workers ? `, ${w.workers} worker(s) running` : '';
    const shared = w?.shared ? '' : ', no SharedArrayBuffer: one thread';
    line = `wasm (WebAssembly SIMD${w?.relaxedSimd ? ' + relaxed-SIMD FMA' : ''}, ${threads} thread(s)${running}${shared})`;
  } else if (name === 'blas') {
    const path = blas?.loadedPath();
    line = `blas (OpenBLAS through koffi, ${getNumThreads()} thread(s)${path ? '' : ', loaded at the first matmul'})`;
  }
  if (name !== active.name) return line;
  if (chosenBy === 'auto') return `${line}, picked by 'auto'`;
  if (chosenBy === 'fallback') return `${line}, because OpenBLAS did not load`;
  return line;
}

/**
 * Makes `name` the active backend ('auto': the fastest here). Choosing blas by name maps OpenBLAS now, so a library
 * that does not load is an error here rather than a fallback later. `who` names the caller in error messages.
 */
function select(name: string, how: 'name' | 'auto' | 'fallback', who: string, note = true): void {
  if (name === 'auto') {
    name = fastest(note);
    how = 'auto';
  }
  const b = registry.get(name);
  if (!b) {
    const fix = who === 'ADJOINT_BACKEND' ? 'set ADJOINT_BACKEND to one of them, or unset it' : 'pass one of them';
    if (name === 'blas')
      throw new ValueError(
        `${who}: the blas backend is unavailable here: ${blasFailure ?? blasUnavailable()}; ` +
          `available: ${backendNamesFn().join(', ')} (or 'auto'); ${fix}`,
      );
    throw new ValueError(
      `${who}: unknown backend '${name}'; available: ${backendNamesFn().join(', ')} (or 'auto'); ${fix}`,
    );
  }
  if (name === 'blas' && how === 'name' && blas && !blas.load())
    throw new ValueError(
      `${who}: the blas backend needs OpenBLAS, which did not load: ${blasUnavailable()}; choose 'wasm' or 'auto'`,
    );
  active = b;
  dispatch = withFallback(b);
  chosenBy = how;
}

/** Picks the backend every tensor created from now on lives on; 'auto' picks `fastestBackend()`. */
function setBackendFn(name: string): void {
  select(name, 'name', 'setBackend');
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

/**
 * The profiler's kernel observer (src/debug/profiler.ts): told the name of each kernel as it is called, with the
 * scalar function or reduction it was asked for (`unary(exp)`, `matmul`). Null keeps kernels() to one check.
 */
export type KernelObserver = (kernel: string) => void;
let kernelObserver: KernelObserver | null = null;
/** dispatch wrapped to report each call, made for the dispatch it wraps. */
let observed: { of: Kernels; kernels: Kernels } | null = null;
/** @internal installs (or, with null, removes) the profiler's kernel observer; returns the previous one. */
export function _setKernelObserver(o: KernelObserver | null): KernelObserver | null {
  const prev = kernelObserver;
  kernelObserver = o;
  observed = null;
  return prev;
}

function observing(k: Kernels, o: KernelObserver): Kernels {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(k))
    out[name] =
      typeof f === 'function'
        ? (...args: unknown[]) => {
            o(typeof args[0] === 'string' ? `${name}(${args[0]})` : name);
            return (f as (...a: unknown[]) => unknown)(...args);
          }
        : f;
  return out as unknown as Kernels;
}

/** The kernels of the active backend, with reference fallbacks filled in. */
export function kernels(): Kernels {
  if (kernelObserver === null) return dispatch;
  if (observed === null || observed.of !== dispatch)
    observed = { of: dispatch, kernels: observing(dispatch, kernelObserver) };
  return observed.kernels;
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

// The default: ADJOINT_BACKEND when set (a wrong name is an error naming the variable), else 'auto', silently.
const env = typeof process !== 'undefined' ? process.env?.ADJOINT_BACKEND : undefined;
if (env) select(env, 'name', 'ADJOINT_BACKEND');
else select('auto', 'auto', 'setBackend', false);
