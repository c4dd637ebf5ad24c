/**
 * @file The interface each benchmarked system implements, and the driver that runs its cases in a child process:
 * one system at one thread count per process, because tfjs-wasm and jax-js fix their thread pools when they start,
 * and because a backend that crashes mid-edit should cost its own column, not the whole run.
 */
import {
  type Bench,
  errMessage,
  GEMM_SIZES,
  GEMM_SIZES_QUICK,
  type GemmDType,
  gemmId,
  MEMORY_ID,
  MEMORY_SCOPED_ID,
  type MemoryResult,
  MODEL_MEMORY_STEPS,
  MODEL_NAMES,
  measure,
  measurePair,
  modelId,
  modelTiming,
  type Options,
  type Result,
  type RunRecord,
} from './measure.js';

/** A prepared case: the timed call and what frees its inputs afterwards (jax-js and tfjs count references). */
export type Prepared = Bench | { fn: Bench; dispose?: () => void };

/** A system at one thread count. A missing method means the case is not run (printed as '—', with the reason). */
export interface System {
  version: string;
  variant?: string;
  notes: string[];
  /** Why the cases a system leaves out are left out (one footnote). */
  skipReason?: string;
  /** The largest GEMM size worth timing; larger ones are skipped (the js reference backend). */
  gemmMaxN?: number;
  /** The linear forward is timed once, without warm-up (the js reference backend: it takes seconds). */
  linearOnce?: boolean;
  /** Calls to warm up with (jit compiles on the first call; a second settles caches). */
  warm?: number;
  /** A string says why this dtype or layout is not supported. */
  gemm?(n: number, dtype: GemmDType, transA: boolean): Prepared | string;
  linearFwd?(): Prepared;
  linearFwdBwd?(): Prepared;
  mlpStep?(): Prepared;
  chainFwd?(): Prepared;
  chainFwdBwd?(): Prepared;
  convFwdBwd?(): Prepared;
  /**
   * One of the `models` section's models (MODEL_NAMES): its training step and its forward alone, both synchronous,
   * and (adjoint) the step inside ad.trainStep, whose scope returns the step's buffers to the pool.
   */
  model?(name: string): { step: () => void; forward: () => void; scopedStep?: () => unknown };
  /**
   * The `memory` section: RSS of `steps` MLP steps, measured in this process (compare.ts starts a fresh one per
   * variant); with `scoped`, each step runs through ad.trainStep.
   */
  mlpMemory?(steps: number, scoped: boolean): MemoryResult;
}

/** A GEMM whose predicted time (the last size's × 8) passes this is skipped: it would not change the picture. */
const GEMM_PREDICTED_LIMIT_MS = 2500;
const GEMM_PREDICTED_LIMIT_MS_QUICK = 800;

async function timeCase(
  make: (() => Prepared) | undefined,
  opts: Options,
  sys: System,
  extra: { warm?: number; maxReps?: number } = {},
): Promise<Result> {
  if (!make) return { skip: sys.skipReason ?? 'not available' };
  let prepared: Prepared;
  try {
    prepared = make();
  } catch (e) {
    return { err: errMessage(e) };
  }
  const fn = typeof prepared === 'function' ? prepared : prepared.fn;
  try {
    return await measure(fn, opts.quick, { warm: sys.warm, ...extra });
  } catch (e) {
    return { err: errMessage(e) };
  } finally {
    if (typeof prepared !== 'function')
      try {
        prepared.dispose?.();
      } catch {
        // A failed free after the timing does not change the timing.
      }
  }
}

/** Runs every selected case of sys, in order, catching each failure as that case's 'err'. */
export async function runSystem(name: string, threads: number, sys: System, opts: Options): Promise<RunRecord> {
  const results: Record<string, Result> = {};
  const has = (s: Parameters<typeof opts.sections.has>[0]) => opts.sections.has(s);
  if (has('gemm')) {
    const sizes = opts.quick ? GEMM_SIZES_QUICK : GEMM_SIZES;
    const limit = opts.quick ? GEMM_PREDICTED_LIMIT_MS_QUICK : GEMM_PREDICTED_LIMIT_MS;
    for (const dtype of ['float32', 'float64'] as const)
      for (const transA of [false, true]) {
        let last: number | null = null;
        for (const n of sizes) {
          const id = gemmId(dtype, transA, n);
          if (!sys.gemm) results[id] = { skip: sys.skipReason ?? 'not available' };
          else if (sys.gemmMaxN !== undefined && n > sys.gemmMaxN) results[id] = { skip: sys.skipReason ?? 'too slow' };
          else if (last !== null && last * 8 > limit)
            results[id] = { skip: `too slow (n=${n / 2} took ${last.toFixed(0)} ms)` };
          else {
            const made = (() => {
              try {
                return sys.gemm!(n, dtype, transA);
              } catch (e) {
                return { err: errMessage(e) } as const;
              }
            })();
            if (typeof made === 'string') results[id] = { skip: made };
            else if (typeof made === 'object' && 'err' in made) results[id] = made;
            else results[id] = await timeCase(() => made, opts, sys);
            const r = results[id];
            last = 'ms' in r ? r.ms : 'err' in r ? null : last;
          }
        }
      }
  }
  if (has('linear')) {
    const once = sys.linearOnce ? { warm: 0, maxReps: 1 } : {};
    results['linear.fwd'] = await timeCase(sys.linearFwd?.bind(sys), opts, sys, once);
    results['linear.fwdbwd'] = await timeCase(sys.linearFwdBwd?.bind(sys), opts, sys);
  }
  if (has('mlp')) results['mlp.step'] = await timeCase(sys.mlpStep?.bind(sys), opts, sys);
  if (has('chain')) {
    // Enough chains for a steady median even when one chain takes well under a millisecond.
    const chainOpts = { maxReps: opts.quick ? 100 : 400, warm: Math.max(sys.warm ?? 1, 10) };
    results['chain.fwd'] = await timeCase(sys.chainFwd?.bind(sys), opts, sys, chainOpts);
    results['chain.fwdbwd'] = await timeCase(sys.chainFwdBwd?.bind(sys), opts, sys, chainOpts);
  }
  if (has('conv')) results['conv.fwdbwd'] = await timeCase(sys.convFwdBwd?.bind(sys), opts, sys);
  if (has('models'))
    for (const m of MODEL_NAMES) {
      const [step, fwd] = [modelId(m, 'step'), modelId(m, 'fwd')];
      if (!sys.model) {
        results[step] = results[fwd] = { skip: sys.skipReason ?? 'not available' };
        continue;
      }
      try {
        const c = sys.model(m);
        [results[step], results[fwd]] = measurePair(c.step, c.forward, opts.quick, modelTiming(opts.quick));
        // The scoped step timed in a loop of its own (paired with a no-op): between unscoped calls its pool would
        // compete with their garbage, which a training loop of trainStep calls does not have.
        if (c.scopedStep)
          [results[modelId(m, 'scoped')]] = measurePair(c.scopedStep, () => {}, opts.quick, modelTiming(opts.quick));
      } catch (e) {
        results[step] = results[fwd] = { err: errMessage(e) };
      }
    }
  if (has('memory')) {
    const scoped = opts.scoped === true;
    const id = scoped ? MEMORY_SCOPED_ID : MEMORY_ID;
    try {
      results[id] = sys.mlpMemory
        ? sys.mlpMemory(MODEL_MEMORY_STEPS, scoped)
        : { skip: sys.skipReason ?? 'not available' };
    } catch (e) {
      results[id] = { err: errMessage(e) };
    }
  }
  return { system: name, threads, version: sys.version, variant: sys.variant, notes: sys.notes, results };
}
