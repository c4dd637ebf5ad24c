/**
 * @file What every system in the side-by-side benchmark shares: the case names, the result record a child process
 * prints, the timing loop (warm up, then repeat to a time budget, take the median) and a seeded generator for peers'
 * input data. Kept free of any one library so each system's file imports only its own.
 */

/** One timed call: returns when the result is computed (a promise where the system is asynchronous). */
export type Bench = () => unknown;

/** A measurement in milliseconds per call, a memory figure (the `memory` section), or why there is none. */
export type Result = { ms: number; best: number; reps: number } | MemoryResult | { err: string } | { skip: string };

/**
 * Resident memory of MODEL_MEMORY_STEPS MLP training steps, in MiB: after setup (imports, model, data and one step of
 * the same kind as the measured ones, so libraries are loaded), the process's peak after the steps (getrusage's
 * maxRSS), and peak − setup.
 */
export interface MemoryResult {
  setupMiB: number;
  peakMiB: number;
  growthMiB: number;
  steps: number;
}

/** What one child process (one system at one thread count) prints as its last stdout line. */
export interface RunRecord {
  system: string;
  threads: number;
  version: string;
  /** Which build ran (e.g. tfjs-wasm's 'simd'), where the system has several. */
  variant?: string;
  notes: string[];
  results: Record<string, Result>;
}

export interface Options {
  quick: boolean;
  sections: Set<Section>;
  /**
   * The `memory` section runs its steps through ad.trainStep (MEMORY_SCOPED_ID) instead of plainly (MEMORY_ID):
   * `bench/child.ts --scoped`. One variant per process, because maxRSS is the process's high-water mark.
   */
  scoped?: boolean;
}

export const SECTIONS = ['gemm', 'linear', 'mlp', 'chain', 'conv', 'models', 'memory'] as const;
export type Section = (typeof SECTIONS)[number];

export const GEMM_SIZES = [128, 256, 512, 1024, 2048];
export const GEMM_SIZES_QUICK = [128, 256, 512];
export type GemmDType = 'float32' | 'float64';
/** Case id of a GEMM: `gemm.f32.n512`, or `gemm.f32T.n512` with A transposed (A.mT of a contiguous tensor). */
export const gemmId = (dtype: GemmDType, transA: boolean, n: number) =>
  `gemm.${dtype === 'float32' ? 'f32' : 'f64'}${transA ? 'T' : ''}.n${n}`;

/** The linear layer X[N×D]·W[D×M] + b. */
export const LIN = { N: 256, D: 1024, M: 1024 };
/** The MLP 784-512-512-10 (ReLU), batch 128, cross-entropy, SGD. */
export const MLP = { sizes: [784, 512, 512, 10], batch: 128, lr: 0.01 };
/** The per-op chain: LINKS × (x·1.0001 + 0.0001) on a 4-element tensor = 2·LINKS ops, then a sum. */
export const CHAIN = { links: 500, len: 4 };
/** conv2d batch 32, 3→64 channels, 32×32, kernel 3, padding 1. */
export const CONV = { N: 32, C: 3, O: 64, H: 32, W: 32, K: 3, pad: 1 };

/** Case ids of a model's training step and of its forward alone (bench/lib/models.ts: `models.mlp.step`, …). */
/** A model case's id: its plain step, its forward, or (adjoint only) its step inside ad.trainStep's scope. */
export const modelId = (model: string, part: 'step' | 'fwd' | 'scoped') => `models.${model}.${part}`;
/** The model names, as bench/lib/models.ts and scripts/bench_torch.py define them (kept here library-free). */
export const MODEL_NAMES = ['mlp', 'cnn', 'transformer', 'lstm'] as const;
/** The case id and the step count of the memory section: MLP training steps in one fresh process. */
export const MEMORY_ID = 'memory.mlp';
/** The same steps, each in ad.trainStep's scope so its buffers go back to the pool: adjoint only, its own process. */
export const MEMORY_SCOPED_ID = 'memory.mlp.scoped';
export const MODEL_MEMORY_STEPS = 200;

/**
 * How the model steps are repeated (step and forward alternately, measurePair): a step takes 2–1500 ms, so a larger
 * budget than the other cases', with at least 5 samples (3 with quick) unless one call alone passes the heavy limit.
 * scripts/bench_torch.py uses the same numbers.
 */
export const modelTiming = (quick: boolean): MeasureOptions =>
  quick
    ? { warm: 1, minReps: 3, budgetMs: 600, heavyMs: 5000 }
    : { warm: 2, minReps: 5, budgetMs: 2000, heavyMs: 10000 };

/** What starts the line a child process prints its RunRecord on. */
export const RESULT_PREFIX = 'RESULT ';

/** Per-call time budget of one case: repeat until this much time is spent (and at least MIN_REPS calls). */
const TARGET_MS = 300;
const TARGET_MS_QUICK = 100;
const MIN_REPS = 3;
const MAX_REPS = 200;
/** A call this slow is timed fewer times: past this total, one sample is enough. */
const HEAVY_TOTAL_MS = 1500;

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/** How measure repeats: the defaults are the side-by-side cases' budget; the model steps take more time per call. */
export interface MeasureOptions {
  warm?: number;
  maxReps?: number;
  /** Fewest timed calls, whatever the budget (default 3). */
  minReps?: number;
  /** Stop once this much time is spent and minReps are done (default 300 ms, 100 with quick). */
  budgetMs?: number;
  /** Past this total, stop even before minReps (default 1500 ms: one sample of a slow call is enough). */
  heavyMs?: number;
}

/**
 * Times fn: `warm` untimed calls, then timed calls until the budget is spent; the median and the best. An async fn is
 * awaited inside the timed region, so its readback counts; a sync one is not awaited (no extra tick is timed).
 */
export async function measure(fn: Bench, quick: boolean, opts: MeasureOptions = {}) {
  const warm = opts.warm ?? 1;
  const maxReps = opts.maxReps ?? MAX_REPS;
  const target = opts.budgetMs ?? (quick ? TARGET_MS_QUICK : TARGET_MS);
  const minReps = opts.minReps ?? MIN_REPS;
  const heavy = opts.heavyMs ?? HEAVY_TOTAL_MS;
  for (let i = 0; i < warm; i++) {
    const r = fn();
    if (isThenable(r)) await r;
  }
  const ts: number[] = [];
  let total = 0;
  while (ts.length < maxReps) {
    const t0 = performance.now();
    const r = fn();
    if (isThenable(r)) await r;
    const dt = performance.now() - t0;
    ts.push(dt);
    total += dt;
    if (total >= target && ts.length >= minReps) break;
    if (total >= heavy) break;
  }
  return { ms: median(ts), best: Math.min(...ts), reps: ts.length };
}

/**
 * Times two synchronous calls alternately (a, b, a, b, …) to one budget, so load that comes and goes hits both alike
 * and their ratio (a model's step ÷ its forward) is steadier than from two runs one after the other. The budget and
 * the rep counts apply to each call's own samples, as in measure.
 */
export function measurePair(a: () => unknown, b: () => unknown, quick: boolean, opts: MeasureOptions = {}) {
  const warm = opts.warm ?? 1;
  const maxReps = opts.maxReps ?? MAX_REPS;
  const target = opts.budgetMs ?? (quick ? TARGET_MS_QUICK : TARGET_MS);
  const minReps = opts.minReps ?? MIN_REPS;
  const heavy = opts.heavyMs ?? HEAVY_TOTAL_MS;
  for (let i = 0; i < warm; i++) {
    a();
    b();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  let total = 0;
  while (ta.length < maxReps) {
    let t0 = performance.now();
    a();
    const da = performance.now() - t0;
    t0 = performance.now();
    b();
    const db = performance.now() - t0;
    ta.push(da);
    tb.push(db);
    total += Math.max(da, db);
    if (total >= target && ta.length >= minReps) break;
    if (total >= heavy) break;
  }
  const res = (ts: number[]) => ({ ms: median(ts), best: Math.min(...ts), reps: ts.length });
  return [res(ta), res(tb)] as const;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A seeded stream of standard normals (mulberry32 + Box–Muller) for the peers' inputs, so every run of a peer times
 * the same data. Values do not change the timings much; what matters is that they are finite and not denormal.
 */
export function seededNormals(seed: number): (n: number, scale?: number) => Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n, scale = 1) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u()));
      const th = 2 * Math.PI * u();
      out[i] = r * Math.cos(th) * scale;
      if (i + 1 < n) out[i + 1] = r * Math.sin(th) * scale;
    }
    return out;
  };
}

/** Class labels 0..classes-1 for the MLP's cross-entropy, seeded. */
export function seededLabels(seed: number, n: number, classes: number): Int32Array {
  const normals = seededNormals(seed)(n);
  return Int32Array.from(normals, (v) => Math.floor((Math.abs(v) * 7919) % classes));
}

/** The message of whatever was thrown, on one line and short enough for a footnote. */
export function errMessage(e: unknown): string {
  const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const line = m.split('\n').find((l) => l.trim() !== '') ?? m;
  return line.length > 200 ? `${line.slice(0, 197)}…` : line;
}
