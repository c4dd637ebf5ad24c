/**
 * @file The one process-wide thread count the CPU backends share (PyTorch's torch.set_num_threads): the wasm
 * backend's worker pool and OpenBLAS both read it. Default: every core the platform reports.
 */
import { ValueError } from '../core/errors.js';

function cores(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  const os = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process?.getBuiltinModule?.(
    'node:os',
  ) as { availableParallelism?: () => number; cpus: () => unknown[] } | undefined;
  return os ? (os.availableParallelism?.() ?? os.cpus().length) : 1;
}

let threads = Math.max(1, cores());
const listeners: ((n: number) => void)[] = [];

/** The number of threads CPU kernels may use. */
export function getNumThreads(): number {
  return threads;
}

/** Sets the number of threads CPU kernels may use (1 = run on the calling thread only). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new ValueError(`setNumThreads: expected a positive integer, got ${n}; pass 1 to run single-threaded`);
  threads = n;
  for (const f of listeners) f(n);
}

/** Backends that cache a thread count (OpenBLAS) hear about changes here. */
export function onNumThreads(f: (n: number) => void): void {
  listeners.push(f);
  f(threads);
}
