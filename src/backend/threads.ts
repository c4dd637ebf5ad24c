/**
 * @file The one process-wide thread count the CPU backends share (PyTorch's torch.set_num_threads): the wasm
 * backend's worker pool and OpenBLAS both read it. Default, and most: every core the platform reports (more threads
 * than cores only make them take turns). Backends hear about a change, so a smaller count stops surplus workers.
 */
import { checked, custom } from '../core/args.js';

function cores(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  const os = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process?.getBuiltinModule?.(
    'node:os',
  ) as { availableParallelism?: () => number; cpus: () => unknown[] } | undefined;
  return os ? (os.availableParallelism?.() ?? os.cpus().length) : 1;
}

const CORES = Math.max(1, cores());
let threads = CORES;
let warnedCap = false;
const listeners: ((n: number) => void)[] = [];

/** The number of threads CPU kernels may use. */
export const getNumThreads = checked('getNumThreads', {}, function getNumThreads(): number {
  return threads;
});

/**
 * Sets the number of threads CPU kernels may use (1 = run on the calling thread only), at most the core count: a
 * larger n uses every core, with a one-time warning naming the cap.
 */
export const setNumThreads = checked(
  'setNumThreads',
  {
    args: {
      n: custom(
        'a whole number ≥ 1 (pass 1 to run single-threaded)',
        (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1,
        'number',
        1,
      ),
    },
  },
  function setNumThreads(n: number): void {
    if (n > CORES) {
      if (!warnedCap) {
        warnedCap = true;
        console.warn(
          `adjoint: setNumThreads(${n}): this machine has ${CORES} core(s), so ${CORES} thread(s) are used; more ` +
            'threads than cores only make them take turns',
        );
      }
      n = CORES;
    }
    threads = n;
    for (const f of listeners) f(n);
  },
);

/** Backends that cache a thread count (OpenBLAS) or keep workers (wasm) hear about changes here. */
export function onNumThreads(f: (n: number) => void): void {
  listeners.push(f);
  f(threads);
}
