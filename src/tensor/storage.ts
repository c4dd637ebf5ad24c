/**
 * @file Storage: one backend buffer shared by a tensor and all its views, with the version counter that in-place
 * ops bump and backward checks, and its lifetime: a count of the tensor handles over it and of the graph's saved
 * references, which explicit releases (dispose, scopes, the engine) decrement; at zero its buffer goes back to the
 * backend's pool (src/tensor/pool.ts). Storages nobody releases are left to the garbage collector, as before. Also
 * the accounting of storage memory (trackMemory, memoryStats).
 */

import type { Backend, Buffer } from '../backend/backend.js';
import { activeBackend } from '../backend/index.js';
import { bool, checked, optional } from '../core/args.js';
import { DTYPES, type DType, type TypedArray } from '../core/dtype.js';
import { AdjointError } from '../core/errors.js';
import { _life } from './lifetime.js';
import { _emptyPools, _poolActive, poolOf, poolStats } from './pool.js';

/**
 * What trackMemory counts, all exact: storages allocated (and their bytes), and of those the ones the garbage
 * collector has reported collected. The collector reports through a FinalizationRegistry, whose callbacks run only
 * between turns of the event loop — never inside a synchronous loop, however much it frees — so "allocated minus
 * reported freed" is an upper bound on the bytes storages hold, not the bytes they hold, and is named so.
 */
const stats = { allocations: 0, allocatedBytes: 0, confirmedFrees: 0, confirmedFreedBytes: 0, peak: 0 };
/**
 * What the registry holds per tracked storage: its bytes, and whether it was released explicitly (its bytes then
 * left the pool's in-use figure already; a collection of one never released takes them out).
 */
interface Tracked {
  bytes: number;
  /** The block's bytes, which the pool's in-use figure counts (bytes rounded up to the reused block). */
  block: number;
  released: boolean;
}
const finalizer =
  typeof FinalizationRegistry !== 'undefined'
    ? new FinalizationRegistry<Tracked>((t) => {
        stats.confirmedFrees++;
        stats.confirmedFreedBytes += t.bytes;
        if (!t.released) poolStats.inUse -= t.block;
      })
    : null;

let tracking = false;

/** Whether trackMemory is on: storages are registered with the collector and tensors record where they were made. */
export function _tracking(): boolean {
  return tracking;
}

/**
 * Turns on memory accounting (off by default: registering every storage with the GC costs ~2 µs per op), and the
 * recording of each tensor's creation site, which use-after-release errors and memoryReport() name.
 */
export const trackMemory = checked(
  'trackMemory',
  { args: { on: optional(bool) } },
  function trackMemory(on = true): void {
    tracking = on;
    _life.tracking = on;
  },
);

function track(owner: Storage, bytes: number): Tracked {
  stats.allocations++;
  stats.allocatedBytes += bytes;
  const bound = stats.allocatedBytes - stats.confirmedFreedBytes;
  if (bound > stats.peak) stats.peak = bound;
  const t = { bytes, block: owner._bytes, released: false };
  finalizer?.register(owner, t);
  return t;
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
  /**
   * Counted always, not only while tracking (torch.cuda.memory_stats' allocated / reserved bytes): the bytes of the
   * buffers storages hold and have not released. Exact where every storage is released (dispose, scope, the engine)
   * or, with trackMemory on, reported collected; a storage dropped without release counts until the collector
   * reports it (with tracking on) or forever (off).
   */
  inUseBytes: number;
  /** The largest inUseBytes since resetPeakMemory(). */
  peakInUseBytes: number;
  /** Released buffers the pools keep for reuse (emptyCache() frees them). */
  cachedBytes: number;
  /** inUseBytes + cachedBytes: what the pools hold from the backends. */
  reservedBytes: number;
  /** Allocations served from a pool, and those that asked the backend for a new buffer. */
  poolHits: number;
  poolMisses: number;
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
    inUseBytes: poolStats.inUse,
    peakInUseBytes: poolStats.peakInUse,
    cachedBytes: poolStats.cached,
    reservedBytes: poolStats.inUse + poolStats.cached,
    poolHits: poolStats.hits,
    poolMisses: poolStats.misses,
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

/** Starts a new peak: peakBytesUpperBound becomes the current liveBytesUpperBound, peakInUseBytes inUseBytes. */
export const resetPeakMemory = checked('resetPeakMemory', {}, function resetPeakMemory(): void {
  stats.peak = stats.allocatedBytes - stats.confirmedFreedBytes;
  poolStats.peakInUse = poolStats.inUse;
});

/**
 * The profiler's memory counter (src/debug/profiler.ts): told each block a storage takes (+bytes) and gives back
 * (−bytes), as inUseBytes counts them. Null keeps allocation to one branch.
 */
export type MemoryObserver = (bytes: number, s: Storage) => void;
let memoryObserver: MemoryObserver | null = null;
/** @internal installs (or, with null, removes) the profiler's memory observer; returns the previous one. */
export function _setMemoryObserver(o: MemoryObserver | null): MemoryObserver | null {
  const prev = memoryObserver;
  memoryObserver = o;
  return prev;
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
  /**
   * @internal live references: tensor handles over this storage that are not disposed, plus the graph's saved
   * references. Explicit releases decrement it; at zero the block goes back to the pool. A handle the collector
   * takes never decrements, so a storage any handle of which was dropped without release is left to the collector.
   */
  _refs = 0;
  /** @internal the pooled block behind buf (buf itself, or a larger block buf is a view of). */
  _block: Buffer;
  /** @internal the block's bytes, as the pool counts them. */
  readonly _bytes: number;
  /** @internal the collector registration while trackMemory is on (null otherwise). */
  _tracked: Tracked | null = null;
  constructor(
    readonly backend: Backend,
    readonly buf: Buffer,
    readonly dtype: DType,
    readonly size: number,
    block: Buffer = buf,
    bytes: number = size * DTYPES[dtype].bytes,
  ) {
    this._block = block;
    this._bytes = bytes;
    poolStats.inUse += bytes;
    if (poolStats.inUse > poolStats.peakInUse) poolStats.peakInUse = poolStats.inUse;
    if (memoryObserver !== null) memoryObserver(bytes, this);
  }

  /** Whether the buffer went back to the pool: nothing may read or write it through this storage any more. */
  get released(): boolean {
    return this._block === null;
  }

  /**
   * A zero-filled storage of n elements; with `overwrite`, its contents are unspecified (recycled, or poisoned in
   * debug mode) and the caller must write every element before anything reads one.
   */
  static alloc(dtype: DType, n: number, overwrite = false): Storage {
    const b = activeBackend();
    let s: Storage;
    if (_poolActive()) {
      const pool = poolOf(b);
      const buf = pool.alloc(dtype, n, overwrite);
      s = new Storage(b, buf, dtype, n, pool.lastBlock, pool.lastBytes);
    } else {
      // Nothing cached: straight to the backend (the common case where nothing is released).
      poolStats.misses++;
      s = new Storage(b, b.alloc(dtype, n), dtype, n);
    }
    if (tracking) s._tracked = track(s, n * DTYPES[dtype].bytes);
    return s;
  }

  static from(dtype: DType, data: TypedArray): Storage {
    const s = Storage.alloc(dtype, data.length, true);
    s.backend.upload(s.buf, dtype, data);
    return s;
  }

  /** @internal drops one reference; the last one hands the block back to the pool. */
  _unref(): void {
    if (--this._refs === 0 && this._block !== null) this._free();
  }

  /** @internal hands the block back to the pool now (every reference is gone). */
  _free(): void {
    const block = this._block;
    if (block === null) return;
    this._block = null;
    (this as { buf: Buffer }).buf = null;
    poolStats.inUse -= this._bytes;
    if (memoryObserver !== null) memoryObserver(-this._bytes, this);
    if (this._tracked !== null) this._tracked.released = true;
    poolOf(this.backend).release(this.dtype, block, this._bytes);
  }
}

/**
 * Frees the buffers the pools keep for reuse (torch.cuda.empty_cache): cachedBytes drops to 0; the buffers of live
 * tensors are untouched. The pools also stop caching past 1 GiB on their own.
 */
export const emptyCache = checked('emptyCache', {}, function emptyCache(): void {
  _emptyPools();
});
