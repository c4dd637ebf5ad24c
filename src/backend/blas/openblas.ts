/**
 * @file The GEMM contract (../gemm.ts) run by the system OpenBLAS through the koffi FFI: the fastest CPU GEMM a
 * Node process can reach without a native build step. Everything native is fetched lazily (koffi through a
 * createRequire from process.getBuiltinModule, the library by path at first use), so a browser bundle can import
 * this module; there `loadOpenBlas()` returns null and the wasm GEMM runs instead. `findOpenBlas()` answers
 * "would it load?" from the file system alone (koffi resolvable, a library file present), so the default backend
 * can be chosen at import without mapping the library or starting its threads.
 */
import { DTypeError, ValueError } from '../../core/errors.js';
import type { Gemm, GemmArgs } from '../gemm.js';

export interface OpenBlas {
  gemm: Gemm;
  /** openblas_set_num_threads: the threads one GEMM call may use. */
  setThreads(n: number): void;
  /** openblas_get_num_threads(). */
  getThreads(): number;
  /** The library file that was loaded. */
  path: string;
  /** openblas_get_config(): version, target kernel, threading model. */
  config: string;
}

/** The slice of koffi used here, declared locally so type-checking does not need the optional package. */
interface KoffiLib {
  func(prototype: string): (...args: unknown[]) => unknown;
}
interface Koffi {
  load(path: string): KoffiLib;
}

// CBLAS enum values (cblas.h); OpenBLAS's Debian/Homebrew builds use 32-bit ints for dims and these.
const ROW_MAJOR = 101;
const COL_MAJOR = 102;
const NO_TRANS = 111;
const TRANS = 112;
const INT_MAX = 2147483647;

let cached: OpenBlas | null | undefined;
let lastError: string | null = null;

/** Why the last `loadOpenBlas()` returned null (null when it loaded or was not tried). */
export function loadError(): string | null {
  return lastError;
}

/** Loads OpenBLAS once (cached); null when koffi or the library is unavailable (reason in loadError()). */
export function loadOpenBlas(): OpenBlas | null {
  if (cached !== undefined) return cached;
  cached = tryLoad();
  return cached;
}

/** The files to try, in order: ADJOINT_OPENBLAS alone when set (a file the user named is not second-guessed). */
function candidates(platform: string, env: string | undefined): string[] {
  if (env) return [env];
  const out: string[] = [];
  if (platform === 'darwin') {
    out.push(
      '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
      '/usr/local/opt/openblas/lib/libopenblas.dylib',
      'libopenblas.dylib',
    );
  } else if (platform === 'win32') {
    out.push('libopenblas.dll', 'openblas.dll');
  } else {
    for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu']) {
      // Debian's alternatives: the pthread build first, since an OpenMP runtime inside Node competes with libuv.
      for (const variant of ['openblas-pthread', 'openblas-openmp', 'openblas-serial'])
        out.push(`${dir}/${variant}/libopenblas.so.0`);
      out.push(`${dir}/libopenblas.so.0`, `${dir}/libopenblas.so`);
    }
    // Bare names let the dynamic loader search its own paths (Fedora's /usr/lib64, LD_LIBRARY_PATH).
    out.push('libopenblas.so.0', 'libopenblas.so');
  }
  return out;
}

type Proc = {
  getBuiltinModule?: (id: string) => unknown;
  platform?: string;
  env?: Record<string, string | undefined>;
};
type NodeRequire = ((id: string) => unknown) & { resolve(id: string): string };

/** Node's `require` for this module, or null outside Node (or before 20.16); the reason goes to lastError. */
function nodeRequire(proc: Proc | undefined): NodeRequire | null {
  if (proc?.env?.ADJOINT_OPENBLAS === 'off') {
    lastError = 'ADJOINT_OPENBLAS=off';
    return null;
  }
  const getBuiltin = proc?.getBuiltinModule;
  if (typeof getBuiltin !== 'function') {
    lastError = proc
      ? 'OpenBLAS needs Node.js 20.16 or newer (process.getBuiltinModule); upgrade Node'
      : 'OpenBLAS is only reachable from Node.js (not in a browser); the wasm backend runs instead';
    return null;
  }
  const mod = getBuiltin.call(proc, 'node:module') as { createRequire(from: string): NodeRequire };
  return mod.createRequire(import.meta.url);
}

const currentProcess = () => (globalThis as { process?: Proc }).process;

/**
 * The library file `loadOpenBlas()` would try first, found without loading anything: koffi must resolve and a
 * candidate file must exist (a bare name is looked up in the loader's usual directories and LD_LIBRARY_PATH /
 * DYLD_LIBRARY_PATH / PATH; a bare ADJOINT_OPENBLAS is taken on trust). Null, with the reason in loadError(), when
 * there is none. A file that exists may still fail to load; the blas backend then falls back at its first GEMM.
 */
export function findOpenBlas(): string | null {
  const proc = currentProcess();
  const req = nodeRequire(proc);
  if (!req || !proc) return null;
  try {
    req.resolve('koffi');
  } catch (e) {
    lastError = `koffi (the FFI used to reach OpenBLAS) is not installed (${firstLine((e as Error).message)}); install it with \`npm install koffi\``;
    return null;
  }
  const fs = proc.getBuiltinModule?.('node:fs') as { existsSync(p: string): boolean };
  const platform = proc.platform ?? 'linux';
  const env = proc.env ?? {};
  const pathVar = platform === 'win32' ? env.PATH : platform === 'darwin' ? env.DYLD_LIBRARY_PATH : env.LD_LIBRARY_PATH;
  const sep = platform === 'win32' ? ';' : ':';
  const dirs = [
    ...(pathVar ?? '').split(sep).filter(Boolean),
    ...(platform === 'win32' ? [] : ['/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib64', '/lib']),
  ];
  const tried: string[] = [];
  for (const c of candidates(platform, env.ADJOINT_OPENBLAS)) {
    const bare = !/[\\/]/.test(c);
    if (bare && c === env.ADJOINT_OPENBLAS) return c;
    for (const p of bare ? dirs.map((d) => `${d}/${c}`) : [c]) {
      if (fs.existsSync(p)) return p;
    }
    tried.push(c);
  }
  lastError =
    `OpenBLAS not found (looked for ${tried.length} library files, e.g. ${tried.slice(0, 2).join(', ')}); install it ` +
    '(Debian/Ubuntu: `apt-get install libopenblas0-pthread`, macOS: `brew install openblas`) or point ADJOINT_OPENBLAS ' +
    'at libopenblas';
  return null;
}

function tryLoad(): OpenBlas | null {
  const proc = currentProcess();
  const req = nodeRequire(proc);
  if (!req) return null;
  let koffi: Koffi;
  try {
    const loaded = req('koffi') as Koffi & { default?: Koffi };
    koffi = typeof loaded.load === 'function' ? loaded : loaded.default!;
  } catch (e) {
    lastError = `koffi (the FFI used to reach OpenBLAS) did not load: ${(e as Error).message}; install it with \`npm install koffi\``;
    return null;
  }
  // OpenBLAS's idle workers spin (sched_yield) for 2^28 cycles, about 0.1 s, after each call before they sleep:
  // between the GEMMs of a training step they hold the core the step's other kernels need (measured: a CNN step on
  // 2 threads slower than on 1, with 120 ms of system time a step). 2^4 cycles makes them sleep at once. It is read
  // when the library is mapped, so it is set just before; a value the user set is kept.
  if (proc!.env && proc!.env.OPENBLAS_THREAD_TIMEOUT === undefined) proc!.env.OPENBLAS_THREAD_TIMEOUT = '4';
  const tried: string[] = [];
  for (const path of candidates(proc!.platform ?? 'linux', proc!.env?.ADJOINT_OPENBLAS)) {
    let lib: KoffiLib;
    try {
      lib = koffi.load(path);
    } catch (e) {
      tried.push(`${path}: ${firstLine((e as Error).message)}`);
      continue;
    }
    try {
      return bind(lib, path);
    } catch (e) {
      // A libblas that is not OpenBLAS (missing openblas_* symbols) lands here; keep looking.
      tried.push(`${path}: ${firstLine((e as Error).message)}`);
    }
  }
  lastError =
    'OpenBLAS did not load (tried ' +
    tried.join('; ') +
    '); install it (Debian/Ubuntu: `apt-get install libopenblas0-pthread`, macOS: `brew install openblas`) ' +
    'or point ADJOINT_OPENBLAS at libopenblas';
  return null;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

type GemmFn = (
  order: number,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: unknown,
  lda: number,
  b: unknown,
  ldb: number,
  beta: number,
  c: unknown,
  ldc: number,
) => void;

/**
 * Products of fewer multiply-adds than this run on one OpenBLAS thread, whatever setNumThreads says. OpenBLAS
 * threads anything above 2¹⁸ and its workers sleep between calls (OPENBLAS_THREAD_TIMEOUT), so a training step of
 * small GEMMs (an RNN's [64×128]·[128×384] per time step) paid a wake-up per call: measured 2026-12-03 on this
 * 2-vCPU Xeon, such a product took 0.2–0.6 ms on 2 threads against 0.14–0.3 ms on 1, and the GRU step's matmuls
 * 123 ms against 37. Two threads start to pay off between 2²⁴ and 2²⁶ multiply-adds there.
 */
const SMALL_GEMM_MACS = 1 << 24;

function bind(lib: KoffiLib, path: string): OpenBlas {
  const sgemm = lib.func(
    'void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, ' +
      'int lda, const float *b, int ldb, float beta, float *c, int ldc)',
  ) as GemmFn;
  const dgemm = lib.func(
    'void cblas_dgemm(int order, int transA, int transB, int m, int n, int k, double alpha, const double *a, ' +
      'int lda, const double *b, int ldb, double beta, double *c, int ldc)',
  ) as GemmFn;
  const setNum = lib.func('void openblas_set_num_threads(int n)') as (n: number) => void;
  const getNum = lib.func('int openblas_get_num_threads()') as () => number;
  const getConfig = lib.func('const char *openblas_get_config()') as () => string;
  const config = String(getConfig());
  lastError = null;
  let threads = getNum();
  return {
    gemm: (g) => {
      const fn = g.dtype === 'float32' ? sgemm : dgemm;
      if (threads === 1 || g.batch * g.m * g.n * g.k >= SMALL_GEMM_MACS) return runGemm(g, fn);
      // A small product on one thread: waking OpenBLAS's sleeping workers costs more than they save.
      setNum(1);
      try {
        runGemm(g, fn);
      } finally {
        setNum(threads);
      }
    },
    setThreads(n: number) {
      if (!Number.isInteger(n) || n < 1)
        throw new ValueError(`OpenBLAS setThreads: expected a positive integer, got ${n}; pass 1 for one thread`);
      setNum(n);
      threads = n;
    },
    getThreads: () => getNum(),
    path,
    config,
  };
}

/**
 * How a rows×cols operand with strides (rs, cs) reads as a row-major BLAS matrix: NoTrans (ld = rs) when its rows
 * are contiguous, Trans (ld = cs) when its columns are; null when neither holds and it must be packed. A stride
 * along a dim of extent 1 is never used, so it is free, and BLAS's rule ld ≥ max(1, extent) is what decides.
 * Encoded as ld > 0 for NoTrans, -ld for Trans, 0 for "pack it" (extents are ≥ 1 here, so ld ≥ 1), so the
 * per-call path allocates nothing.
 */
function classify(rows: number, cols: number, rs: number, cs: number): number {
  if ((cols === 1 || cs === 1) && (rows === 1 || (rs >= cols && rs <= INT_MAX))) return rows === 1 ? cols : rs;
  if ((rows === 1 || rs === 1) && (cols === 1 || (cs >= rows && cs <= INT_MAX))) return -(cols === 1 ? rows : cs);
  return 0;
}

// Reused pack buffers (A, B, C) per dtype: tiny GEMMs in a training loop should not allocate per call. Buffers
// past SCRATCH_MAX elements are not kept, so one huge strided product does not pin its memory for good.
const SCRATCH_MAX = 1 << 22;
const scratch32: Float32Array[] = [new Float32Array(0), new Float32Array(0), new Float32Array(0)];
const scratch64: Float64Array[] = [new Float64Array(0), new Float64Array(0), new Float64Array(0)];

function scratch(f32: boolean, slot: number, size: number): Float32Array | Float64Array {
  const pool = f32 ? scratch32 : scratch64;
  if (pool[slot].length >= size) return pool[slot];
  const buf = f32 ? new Float32Array(size) : new Float64Array(size);
  if (size <= SCRATCH_MAX) (pool as (Float32Array | Float64Array)[])[slot] = buf;
  return buf;
}

/** rows×cols strided elements of src into dst, row-major and contiguous. */
function pack(
  src: ArrayLike<number>,
  off: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
  dst: Float32Array | Float64Array,
) {
  let d = 0;
  for (let i = 0; i < rows; i++) {
    let s = off + i * rs;
    for (let j = 0; j < cols; j++, s += cs) dst[d++] = src[s];
  }
}

function unpack(src: Float32Array | Float64Array, dst: Float32Array | Float64Array, g: GemmArgs, off: number) {
  let d = 0;
  for (let i = 0; i < g.m; i++) {
    let s = off + i * g.cRowStride;
    for (let j = 0; j < g.n; j++, s += g.cColStride) dst[s] = src[d++];
  }
}

/** The array from element `off` on, as a pointer koffi hands to C without copying (subarray keeps byteOffset). */
function at(x: Float32Array | Float64Array, off: number): Float32Array | Float64Array {
  return off === 0 ? x : x.subarray(off);
}

/** The common difference of offs (a batch laid out at a fixed step), or NaN when it is not one. */
function step(offs: ArrayLike<number>, batch: number): number {
  const d = offs[1] - offs[0];
  for (let b = 2; b < batch; b++) if (offs[b] - offs[b - 1] !== d) return Number.NaN;
  return d;
}

/**
 * One BLAS call instead of `batch` when one operand is shared and the others are stacked at a fixed step: a linear
 * layer on [B, m, k] input is one (B·m)×k GEMM. Strides of extent-1 dims become the batch step. Returns g itself
 * when the batch does not fold.
 */
function fold(g: GemmArgs): GemmArgs {
  if (g.batch < 2) return g;
  if (step(g.bOffsets, g.batch) === 0) {
    const da = step(g.aOffsets, g.batch);
    const dc = step(g.cOffsets, g.batch);
    if (g.m === 1 ? da >= 1 && dc >= 1 : da === g.m * g.aRowStride && dc === g.m * g.cRowStride)
      return {
        ...g,
        batch: 1,
        m: g.batch * g.m,
        aRowStride: g.m === 1 ? da : g.aRowStride,
        cRowStride: g.m === 1 ? dc : g.cRowStride,
        aOffsets: [g.aOffsets[0]],
        bOffsets: [g.bOffsets[0]],
        cOffsets: [g.cOffsets[0]],
      };
  }
  if (step(g.aOffsets, g.batch) === 0) {
    const db = step(g.bOffsets, g.batch);
    const dc = step(g.cOffsets, g.batch);
    if (g.n === 1 ? db >= 1 && dc >= 1 : db === g.n * g.bColStride && dc === g.n * g.cColStride)
      return {
        ...g,
        batch: 1,
        n: g.batch * g.n,
        bColStride: g.n === 1 ? db : g.bColStride,
        cColStride: g.n === 1 ? dc : g.cColStride,
        aOffsets: [g.aOffsets[0]],
        bOffsets: [g.bOffsets[0]],
        cOffsets: [g.cOffsets[0]],
      };
  }
  return g;
}

function runGemm(g: GemmArgs, fn: GemmFn): void {
  const f32 = g.dtype === 'float32';
  const Want = f32 ? Float32Array : Float64Array;
  if (!(g.a instanceof Want) || !(g.b instanceof Want) || !(g.c instanceof Want))
    throw new DTypeError(
      `OpenBLAS gemm: dtype ${g.dtype} needs ${Want.name} operands, got a: ${g.a.constructor.name}, ` +
        `b: ${g.b.constructor.name}, c: ${g.c.constructor.name}; convert them or pass the matching dtype`,
    );
  const { batch, m, n, k } = g;
  if (batch === 0 || m === 0 || n === 0) return;
  if (k === 0) {
    // An empty sum: C = 0, or C unchanged. Some BLAS builds return early on k = 0 without applying beta.
    if (!g.accumulate)
      for (let bi = 0; bi < batch; bi++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) g.c[g.cOffsets[bi] + i * g.cRowStride + j * g.cColStride] = 0;
    return;
  }
  g = fold(g);
  if (g.m > INT_MAX || g.n > INT_MAX || k > INT_MAX)
    throw new ValueError(
      `OpenBLAS gemm: ${g.m}×${k} · ${k}×${g.n} exceeds BLAS's 32-bit dims; split the product into smaller batches`,
    );
  const a = g.a as Float32Array | Float64Array;
  const b = g.b as Float32Array | Float64Array;
  const c = g.c as Float32Array | Float64Array;
  const M = g.m;
  const N = g.n;

  // C fixes the order: row-major when its rows are contiguous, column-major when its columns are, else packed.
  let order = ROW_MAJOR;
  let ldc = classify(M, N, g.cRowStride, g.cColStride);
  let packC = false;
  if (ldc <= 0) {
    ldc = classify(N, M, g.cColStride, g.cRowStride);
    if (ldc > 0) order = COL_MAJOR;
    else {
      packC = true;
      ldc = N;
    }
  }
  // In column-major an operand is read as its transpose in row-major terms, so classify sees the swapped view.
  const col = order === COL_MAJOR;
  let lda = col ? classify(k, M, g.aColStride, g.aRowStride) : classify(M, k, g.aRowStride, g.aColStride);
  let ldb = col ? classify(N, k, g.bColStride, g.bRowStride) : classify(k, N, g.bRowStride, g.bColStride);
  const packA = lda === 0;
  const packB = ldb === 0;
  // A packed operand is row-major contiguous: NoTrans with ld = cols in row-major, Trans with ld = cols in
  // column-major.
  if (packA) lda = col ? -k : k;
  if (packB) ldb = col ? -N : N;
  const ta = lda > 0 ? NO_TRANS : TRANS;
  const tb = ldb > 0 ? NO_TRANS : TRANS;
  lda = Math.abs(lda);
  ldb = Math.abs(ldb);
  const beta = g.accumulate ? 1 : 0;
  const bufA = packA ? scratch(f32, 0, M * k) : a;
  const bufB = packB ? scratch(f32, 1, k * N) : b;
  const bufC = packC ? scratch(f32, 2, M * N) : c;
  let lastA = -1;
  let lastB = -1;
  for (let bi = 0; bi < g.batch; bi++) {
    let pa: Float32Array | Float64Array;
    let pb: Float32Array | Float64Array;
    let pc: Float32Array | Float64Array;
    const ao = g.aOffsets[bi];
    const bo = g.bOffsets[bi];
    const co = g.cOffsets[bi];
    if (packA) {
      // A broadcast over the batch (equal offsets) is packed once.
      if (ao !== lastA) pack(a, ao, M, k, g.aRowStride, g.aColStride, bufA);
      lastA = ao;
      pa = bufA;
    } else pa = at(a, ao);
    if (packB) {
      if (bo !== lastB) pack(b, bo, k, N, g.bRowStride, g.bColStride, bufB);
      lastB = bo;
      pb = bufB;
    } else pb = at(b, bo);
    if (packC) {
      if (g.accumulate) pack(c, co, M, N, g.cRowStride, g.cColStride, bufC);
      pc = bufC;
    } else pc = at(c, co);
    fn(order, ta, tb, M, N, k, 1, pa, lda, pb, ldb, beta, pc, ldc);
    if (packC) unpack(bufC, c, g, co);
  }
}
