/**
 * @file Storage: one backend buffer shared by a tensor and all its views, with the version counter that in-place
 * ops bump and backward checks; and the opt-in accounting of storage memory (trackMemory, memoryStats).
 */

import type { Backend, Buffer } from '../backend/backend.js';
import { activeBackend } from '../backend/index.js';
import { bool, checked, optional } from '../core/args.js';
import { DTYPES, type DType, type TypedArray } from '../core/dtype.js';
import { AdjointError } from '../core/errors.js';

/**
 * What trackMemory counts, all exact: storages allocated (and their bytes), and of those the ones the garbage
 * collector has reported collected. The collector reports through a FinalizationRegistry, whose callbacks run only
 * between turns of the event loop — never inside a synchronous loop, however much it frees — so "allocated minus
 * reported freed" is an upper bound on the bytes storages hold, not the bytes they hold, and is named so.
 */
const stats = { allocations: 0, allocatedBytes: 0, confirmedFrees: 0, confirmedFreedBytes: 0, peak: 0 };
const finalizer =
  typeof FinalizationRegistry !== 'undefined'
    ? new FinalizationRegistry<number>((bytes) => {
        stats.confirmedFrees++;
        stats.confirmedFreedBytes += bytes;
      })
    : null;

let tracking = false;

/** Turns on memory accounting (off by default: registering every storage with the GC costs ~2 µs per op). */
export const trackMemory = checked(
  'trackMemory',
  { args: { on: optional(bool) } },
  function trackMemory(on = true): void {
    tracking = on;
  },
);

function track(owner: object, bytes: number): void {
  stats.allocations++;
  stats.allocatedBytes += bytes;
  const bound = stats.allocatedBytes - stats.confirmedFreedBytes;
  if (bound > stats.peak) stats.peak = bound;
  finalizer?.register(owner, bytes);
}

/** Tensor storage memory since trackMemory(true); every figure exact, and the bounds say what they bound. */
export interface MemoryStats {
  /** Storages allocated while tracking was on, and their bytes. */
  allocations: number;
  allocatedBytes: number;
  /**
   * Of those, the storages the garbage collector has reported collected, and their bytes. Reports arrive only
   * between turns of the event loop (after an await), so inside a synchronous loop these do not move.
   */
  confirmedFrees: number;
  confirmedFreedBytes: number;
  /**
   * allocatedBytes − confirmedFreedBytes: storages hold at most this much. It is the bytes held once the collector
   * has run and reported — after gc() (node --expose-gc) and an await — and above it until then.
   */
  liveBytesUpperBound: number;
  /** The largest liveBytesUpperBound since resetPeakMemory() (or since tracking began): at least the true peak. */
  peakBytesUpperBound: number;
}

const RENAMED: Record<string, string> = { liveBytes: 'liveBytesUpperBound', peakBytes: 'peakBytesUpperBound' };

/**
 * Memory held by tensor storages, as far as it is known exactly (MemoryStats). For the bytes held now, run gc()
 * (node --expose-gc) and await a turn of the event loop first; in a synchronous loop liveBytesUpperBound only grows.
 */
export const memoryStats = checked('memoryStats', {}, function memoryStats(): MemoryStats {
  const out: MemoryStats = {
    allocations: stats.allocations,
    allocatedBytes: stats.allocatedBytes,
    confirmedFrees: stats.confirmedFrees,
    confirmedFreedBytes: stats.confirmedFreedBytes,
    liveBytesUpperBound: stats.allocatedBytes - stats.confirmedFreedBytes,
    peakBytesUpperBound: stats.peak,
  };
  // The old names read as live memory, which these figures are not: a read says so instead of giving undefined.
  for (const [old, now] of Object.entries(RENAMED))
    Object.defineProperty(out, old, {
      enumerable: false,
      get() {
        throw new AdjointError(
          `memoryStats: '${old}' is now '${now}': the collector reports frees only between turns of the event loop, ` +
            `so the figure is allocated minus reported freed, an upper bound on what is held (in a synchronous loop ` +
            `it only grows). Read ${now}; for the bytes held now, run gc() (node --expose-gc) and await a turn first`,
        );
      },
    });
  return out;
});

/** Starts a new peak: peakBytesUpperBound becomes the current liveBytesUpperBound. */
export const resetPeakMemory = checked('resetPeakMemory', {}, function resetPeakMemory(): void {
  stats.peak = stats.allocatedBytes - stats.confirmedFreedBytes;
});

let nextId = 0;
/** The id the next storage will get: storages with a higher id were allocated after this call. */
export function nextStorageId(): number {
  return nextId;
}

export class Storage {
  /** Bumped by every in-place write; saved tensors remember it to detect changes before backward. */
  version = 0;
  /** Allocation order, so the engine can tell a gradient made during this backward from an older tensor. */
  readonly id = nextId++;
  /**
   * The engine's record of which gradient tensor (of which backward run) was handed over with this storage, so a
   * leaf takes over a buffer only when no other gradient shares it, view or not.
   */
  gradEpoch = -1;
  gradBy: unknown = null;
  gradShared = false;
  constructor(
    readonly backend: Backend,
    readonly buf: Buffer,
    readonly dtype: DType,
    readonly size: number,
  ) {}

  static alloc(dtype: DType, n: number): Storage {
    const b = activeBackend();
    const s = new Storage(b, b.alloc(dtype, n), dtype, n);
    if (tracking) track(s, n * DTYPES[dtype].bytes);
    return s;
  }

  static from(dtype: DType, data: TypedArray): Storage {
    const s = Storage.alloc(dtype, data.length);
    s.backend.upload(s.buf, dtype, data);
    return s;
  }
}
