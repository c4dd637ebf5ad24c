/**
 * @file Storage: one backend buffer shared by a tensor and all its views, with the version counter that in-place
 * ops bump and backward checks.
 */

import type { Backend, Buffer } from '../backend/backend.js';
import { activeBackend } from '../backend/index.js';
import { DTYPES, type DType, type TypedArray } from '../core/dtype.js';

/** Bytes held by storages not yet garbage-collected (or released), and the peak since the last reset. */
const stats = { liveBytes: 0, peakBytes: 0, allocations: 0 };
const finalizer =
  typeof FinalizationRegistry !== 'undefined'
    ? new FinalizationRegistry<number>((bytes) => {
        stats.liveBytes -= bytes;
      })
    : null;

let tracking = false;

/** Turns on memory accounting (off by default: registering every storage with the GC costs ~2 µs per op). */
export function trackMemory(on = true): void {
  tracking = on;
}

function track(owner: object, bytes: number): void {
  stats.liveBytes += bytes;
  stats.allocations++;
  if (stats.liveBytes > stats.peakBytes) stats.peakBytes = stats.liveBytes;
  finalizer?.register(owner, bytes);
}

/**
 * Memory held by tensor storages: live bytes (freed when the garbage collector reclaims a storage, so run with
 * --expose-gc and call gc() for exact figures), the peak since resetPeakMemory(), and the allocation count.
 */
export function memoryStats(): { liveBytes: number; peakBytes: number; allocations: number };
export function memoryStats(): { liveBytes: number; peakBytes: number; allocations: number } {
  return { ...stats };
}
export function resetPeakMemory(): void {
  stats.peakBytes = stats.liveBytes;
}

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
