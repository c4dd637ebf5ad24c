/**
 * @file The wasm backend's GEMM engine: tensors stay in ordinary TypedArrays (so the reference kernels read them and the garbage
 * collector frees them), and the GEMM-shaped kernels run generated WebAssembly SIMD (gemm-kernels.ts) over a shared
 * WebAssembly.Memory that operands are staged into, split across a worker pool (pool.ts). Relaxed-SIMD fused
 * multiply-add is used when the engine offers it (in Node 20 it is switched on at run time, before any module is
 * compiled; ADJOINT_WASM_RELAXED=0 keeps plain SIMD). cpu-backends.ts puts the backend together.
 */
import type { TypedArray } from '../../core/dtype.js';
import { type Gemm, type GemmArgs, referenceGemm } from '../gemm.js';
import { getNumThreads, onNumThreads } from '../threads.js';
import { type Code, ModuleBuilder } from './asm.js';
import { addGemm, defaultFlavor, type GemmFlavor, scratchBytes } from './gemm-kernels.js';
import { CTRL_BYTES, JOBS_BYTES, Pool } from './pool.js';

type Proc = { getBuiltinModule?: (m: string) => unknown; env?: Record<string, string | undefined> };
const proc = (globalThis as { process?: Proc }).process;

/** A module with one function whose body is `body`, for feature detection. */
function probe(body: (c: Code) => void): boolean {
  const m = new ModuleBuilder(false);
  m.fn('f', ['v128', 'v128', 'v128'], ['v128'], body);
  try {
    return WebAssembly.validate(m.encode() as BufferSource);
  } catch {
    return false;
  }
}

const hasSimd = () => probe((c) => c.get(c.param(0)).get(c.param(1)).simd('f32x4.add'));
const hasRelaxed = () => probe((c) => c.get(c.param(0)).get(c.param(1)).get(c.param(2)).simd('f32x4.relaxed_madd'));

function detectRelaxed(): boolean {
  if (proc?.env?.ADJOINT_WASM_RELAXED === '0') return false;
  if (hasRelaxed()) return true;
  // Node 20's V8 has relaxed SIMD behind a flag; flags set before the first compile take effect process-wide.
  const v8 = proc?.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (f: string) => void } | undefined;
  if (!v8?.setFlagsFromString) return false;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return hasRelaxed();
}

/** The engine's wasm features and the kernels built for them; null when WebAssembly SIMD is missing. */
export interface WasmInfo {
  simd: boolean;
  relaxedSimd: boolean;
  shared: boolean;
  flavors: Record<'float32' | 'float64', GemmFlavor>;
}

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB: room for large staged operands, and reservable on 64-bit engines
/** Below this many multiply-adds a product is done in plain JS: staging would cost more than it saves. */
const SMALL = 512;
/** Below this many multiply-adds the product runs on one thread: waking workers costs ~10–30 µs. */
const THREADED = 1 << 20;

class WasmGemm {
  readonly info: WasmInfo;
  private readonly memory: WebAssembly.Memory;
  private readonly fns: Record<'float32' | 'float64', (...a: number[]) => void>;
  private readonly fnIndex: Record<'float32' | 'float64', number>;
  private readonly names: string[];
  private readonly pool: Pool;
  private readonly perThread: number;

  constructor(relaxedSimd: boolean) {
    const shared =
      typeof SharedArrayBuffer !== 'undefined' &&
      (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
    let memory: WebAssembly.Memory;
    let isShared = shared;
    try {
      memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
    } catch {
      memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES });
      isShared = false;
    }
    this.memory = memory;
    const flavors = { float32: defaultFlavor('f32', relaxedSimd), float64: defaultFlavor('f64', relaxedSimd) };
    const mod = new ModuleBuilder(isShared);
    const names = [addGemm(mod, flavors.float32), addGemm(mod, flavors.float64)];
    const module = new WebAssembly.Module(mod.encode() as BufferSource);
    const inst = new WebAssembly.Instance(module, { env: { memory } });
    const ex = inst.exports as Record<string, (...a: number[]) => void>;
    this.fns = { float32: ex[names[0]], float64: ex[names[1]] };
    this.fnIndex = { float32: 0, float64: 1 };
    this.names = names;
    this.pool = new Pool(memory, module, names);
    onNumThreads((n) => this.pool.shrink(n));
    this.info = { simd: true, relaxedSimd, shared: isShared, flavors };
    const need = (f: GemmFlavor) => {
      const s = scratchBytes(f);
      return align(s.packA) + align(s.packB) + align(s.tile);
    };
    this.perThread = Math.max(need(flavors.float32), need(flavors.float64));
  }

  private ensure(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return true;
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) return false;
    try {
      this.memory.grow(pages);
      return true;
    } catch {
      return false;
    }
  }

  readonly gemm: Gemm = (g) => {
    const { m, n, k, batch } = g;
    if (batch === 0 || m === 0 || n === 0) return;
    if (k === 0 || m * n * k < SMALL) return referenceGemm(g);
    const dtype = g.dtype;
    const size = dtype === 'float32' ? 4 : 8;
    const flavor = this.info.flavors[dtype];
    const work = m * n * k * batch;
    let T = work >= THREADED ? this.pool.threads(getNumThreads()) : 1;
    // How the work splits: whole products per thread, or column / row panels of every product.
    const split = batch >= T && batch > 1 ? 'batch' : n / flavor.nr >= m / flavor.mr ? 'cols' : 'rows';
    if (split === 'cols') T = Math.max(1, Math.min(T, Math.ceil(n / flavor.nr)));
    if (split === 'rows') T = Math.max(1, Math.min(T, Math.ceil(m / flavor.mr)));
    const aSpan = span(g.aOffsets, batch, m, k, g.aRowStride, g.aColStride);
    const bSpan = span(g.bOffsets, batch, k, n, g.bRowStride, g.bColStride);
    const scratch = CTRL_BYTES + JOBS_BYTES;
    const tables = scratch + T * this.perThread;
    const tablesBytes = align(T * batch * 12);
    const aBase = tables + tablesBytes;
    const bBase = aBase + align((aSpan.hi - aSpan.lo) * size);
    const cBase = bBase + align((bSpan.hi - bSpan.lo) * size);
    const end = cBase + batch * m * n * size;
    if (!this.ensure(end)) return referenceGemm(g);
    const heap = this.memory.buffer;
    const view = (base: number, len: number) =>
      dtype === 'float32' ? new Float32Array(heap, base, len) : new Float64Array(heap, base, len);
    view(aBase, aSpan.hi - aSpan.lo).set((g.a as TypedArray).subarray(aSpan.lo, aSpan.hi));
    view(bBase, bSpan.hi - bSpan.lo).set((g.b as TypedArray).subarray(bSpan.lo, bSpan.hi));
    const cw = view(cBase, batch * m * n);
    if (g.accumulate) copyC(g, cw, 'in');
    const ldc = n * size;
    const t32 = new Int32Array(heap, tables, T * batch * 3);
    const addrA = (b: number) => aBase + (g.aOffsets[b] - aSpan.lo) * size;
    const addrB = (b: number) => bBase + (g.bOffsets[b] - bSpan.lo) * size;
    const addrC = (b: number) => cBase + b * m * n * size;
    const jobs: Int32Array[] = [];
    const strides = [g.aRowStride * size, g.aColStride * size, g.bRowStride * size, g.bColStride * size, ldc];
    const beta = g.accumulate ? 1 : 0;
    for (let t = 0; t < T; t++) {
      const s = scratch + t * this.perThread;
      const sc = scratchBytes(flavor);
      const pa = s;
      const pb = s + align(sc.packA);
      const tile = pb + align(sc.packB);
      let table = tables;
      let count = batch;
      let mt = m;
      let nt = n;
      if (split === 'batch') {
        const b0 = Math.floor((t * batch) / T);
        const b1 = Math.floor(((t + 1) * batch) / T);
        if (t === 0) for (let b = 0; b < batch; b++) t32.set([addrA(b), addrB(b), addrC(b)], b * 3);
        table = tables + b0 * 12;
        count = b1 - b0;
      } else {
        const unit = split === 'cols' ? flavor.nr : flavor.mr;
        const total = split === 'cols' ? n : m;
        const per = Math.ceil(Math.ceil(total / unit) / T) * unit;
        const lo = t * per;
        const len = Math.max(0, Math.min(per, total - lo));
        if (split === 'cols') nt = len;
        else mt = len;
        table = tables + t * batch * 12;
        for (let b = 0; b < batch; b++) {
          const o = (t * batch + b) * 3;
          if (split === 'cols') t32.set([addrA(b), addrB(b) + lo * g.bColStride * size, addrC(b) + lo * size], o);
          else t32.set([addrA(b) + lo * g.aRowStride * size, addrB(b), addrC(b) + lo * ldc], o);
        }
        if (len === 0) count = 0;
      }
      jobs.push(Int32Array.from([this.fnIndex[dtype], table, count, mt, nt, k, ...strides, beta, pa, pb, tile]));
    }
    const fn = this.fns[dtype];
    const j0 = jobs[0];
    this.pool.run(
      jobs,
      () => fn(j0[1], j0[2], j0[3], j0[4], j0[5], j0[6], j0[7], j0[8], j0[9], j0[10], j0[11], j0[12], j0[13], j0[14]),
      `the GEMM kernel ${this.names[this.fnIndex[dtype]]} (${dtype} ${m}×${k}·${k}×${n}, batch ${batch}, ` +
        `${T} thread(s))`,
    );
    copyC(g, view(cBase, batch * m * n), 'out');
  };

  /** Starts the worker pool for `getNumThreads()` threads; resolves to the threads ready (the caller included). */
  ready(): Promise<number> {
    return this.pool.ready(getNumThreads());
  }

  /** Worker threads running beside the caller (0 until a product large enough to thread has run). */
  workers(): number {
    return this.pool.running();
  }

  /** Worker threads that exist now, stopped ones included until they have exited (tests). */
  liveThreads(): number {
    return this.pool.liveThreads();
  }

  /** Resolves once the stopped workers' threads are gone (tests). */
  settled(): Promise<void> {
    return this.pool.settled();
  }

  /**
   * @internal Test-only: the next GEMM with a share for `thread` (0 = the caller) gets that share's table address
   * pointed past the end of the memory, so its first load traps ("memory access out of bounds"), as a kernel bug
   * would. test/threads.test.ts checks that the trap surfaces as a KernelError and the pool stays usable.
   */
  injectTrap(thread: number): void {
    this.pool.injectFault(thread, (job) => {
      job[1] = this.memory.buffer.byteLength;
    });
  }

  close(): void {
    this.pool.close();
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** The half-open range of elements a batch of strided matrices touches (strides may be 0 or negative). */
function span(offsets: ArrayLike<number>, batch: number, rows: number, cols: number, rs: number, cs: number) {
  let lo = Infinity;
  let hi = -Infinity;
  const ext = (rows - 1) * rs;
  const ext2 = (cols - 1) * cs;
  for (let b = 0; b < batch; b++) {
    const o = offsets[b];
    lo = Math.min(lo, o + Math.min(0, ext) + Math.min(0, ext2));
    hi = Math.max(hi, o + Math.max(0, ext) + Math.max(0, ext2));
  }
  return { lo, hi: hi + 1 };
}

/** Moves C between the caller's strided matrices and the staged contiguous [batch, m, n] block. */
function copyC(g: GemmArgs, staged: Float32Array | Float64Array, dir: 'in' | 'out'): void {
  const { m, n, batch } = g;
  const c = g.c as TypedArray;
  const mn = m * n;
  if (g.cColStride === 1 && g.cRowStride === n) {
    let consecutive = true;
    for (let b = 1; b < batch && consecutive; b++) consecutive = g.cOffsets[b] === g.cOffsets[0] + b * mn;
    if (consecutive) {
      const o = g.cOffsets[0];
      if (dir === 'out') c.set(staged, o);
      else staged.set(c.subarray(o, o + batch * mn));
      return;
    }
  }
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < m; i++) {
      const row = g.cOffsets[b] + i * g.cRowStride;
      const s = b * mn + i * n;
      if (g.cColStride === 1) {
        if (dir === 'out') c.set(staged.subarray(s, s + n), row);
        else staged.set(c.subarray(row, row + n), s);
      } else
        for (let j = 0; j < n; j++) {
          if (dir === 'out') c[row + j * g.cColStride] = staged[s + j];
          else staged[s + j] = c[row + j * g.cColStride];
        }
    }
}

let instance: WasmGemm | null | undefined;

/** Whether this engine can run the wasm backend (WebAssembly with 128-bit SIMD); cheap, compiles nothing big. */
export function wasmAvailable(): boolean {
  return typeof WebAssembly !== 'undefined' && hasSimd();
}

/** The wasm GEMM, built on first use; null when the engine has no WebAssembly SIMD. */
export function wasmGemm(): WasmGemm | null {
  if (instance !== undefined) return instance;
  if (typeof WebAssembly === 'undefined' || !hasSimd()) return (instance = null);
  instance = new WasmGemm(detectRelaxed());
  return instance;
}

/** What the wasm backend runs on this engine (for the demo, the CLI and benchmarks). */
export function wasmInfo(): (WasmInfo & { workers: number }) | null {
  const w = wasmGemm();
  return w ? { ...w.info, workers: w.workers() } : null;
}
