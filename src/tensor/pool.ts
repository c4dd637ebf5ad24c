/**
 * @file The caching allocator: one pool per backend keeps the buffers that explicit releases (dispose, scopes, the
 * engine) hand back, in free lists keyed by dtype and a rounded size bucket, and gives them out again instead of
 * asking the backend (V8 zero-fills every new TypedArray and frees it only at a collection). A buffer handed out is
 * exactly n elements long, as the backend's own would be: a larger pooled block is handed out as a subarray view of
 * it. Nothing reaches the pool that was not released explicitly, so code that never releases allocates as before.
 */
import type { Backend, Buffer } from '../backend/backend.js';
import { DTYPES, type DType, type TypedArray } from '../core/dtype.js';

/** Buckets: sizes rounded up to 4 steps per power of two (at most 25% over), counted in elements. */
function bucketOf(n: number): number {
  if (n <= 8) return n;
  const e = 31 - Math.clz32(n - 1); // 2^e < n ≤ 2^(e+1)
  const step = 2 ** (e - 2);
  const k = Math.ceil((n - 2 ** e) / step); // 1..4
  return 4 * (e - 2) + k + 8 + 4; // unique, increasing in the rounded size
}

/** Bytes cached in all pools before a release frees the block instead of caching it. */
let cacheLimit = 1 << 30;
/** Debug: fill every uninitialised allocation with NaN (floats) or a garbage integer, to catch reads of it. */
let poison = false;

const POISON_INT = -0x5a5a5a5;

/** The pools' counters, over all backends. */
export const poolStats = {
  hits: 0,
  misses: 0,
  /** Bytes of blocks held by unreleased storages allocated since the process began (minus collected ones). */
  inUse: 0,
  peakInUse: 0,
  cached: 0,
  /** Releases that freed the block because the cache was full (or the backend's buffers cannot be pooled). */
  evictions: 0,
};

export class BufferPool {
  /** free[dtype][bucket]: cached blocks, the most recently released last. */
  private readonly free = new Map<DType, TypedArray[][]>();
  /** Whether this backend's buffers are TypedArrays (subarray views work); decided at its first allocation. */
  private typed: boolean | null = null;
  constructor(readonly backend: Backend) {}

  /** The block behind the buffer the last alloc returned (the buffer itself unless a larger block was reused). */
  lastBlock: Buffer = null;
  /** That block's bytes. */
  lastBytes = 0;

  /**
   * A buffer of n elements (its block in lastBlock / lastBytes). `overwrite` says the caller writes every element
   * before reading any: a reused block is then not zero-filled (and is poisoned in debug mode).
   */
  alloc(dtype: DType, n: number, overwrite: boolean): Buffer {
    if (poolStats.cached !== 0 && this.typed) {
      const block = this.take(dtype, n);
      if (block !== null) {
        poolStats.hits++;
        const buf = block.length === n ? block : block.subarray(0, n);
        if (!overwrite) buf.fill(0);
        else if (poison) poisonFill(dtype, buf);
        this.lastBlock = block;
        this.lastBytes = block.byteLength;
        return buf;
      }
    }
    poolStats.misses++;
    const buf = this.backend.alloc(dtype, n);
    if (this.typed === null) this.typed = ArrayBuffer.isView(buf);
    if (overwrite && poison && this.typed) poisonFill(dtype, buf as TypedArray);
    this.lastBlock = buf;
    this.lastBytes = n * DTYPES[dtype].bytes;
    return buf;
  }

  /** Takes back a block no storage uses any more: cached if there is room, else freed. */
  release(dtype: DType, block: Buffer, bytes: number): void {
    if (this.typed === null) this.typed = ArrayBuffer.isView(block);
    if (!this.typed || poolStats.cached + bytes > cacheLimit) {
      poolStats.evictions++;
      this.backend.release(block);
      return;
    }
    const arr = block as TypedArray;
    let lists = this.free.get(dtype);
    if (!lists) this.free.set(dtype, (lists = []));
    const b = bucketOf(arr.length);
    (lists[b] ??= []).push(arr);
    poolStats.cached += bytes;
  }

  /** A cached block of at least n elements: from n's bucket (a few tries), else the next bucket up. */
  private take(dtype: DType, n: number): TypedArray | null {
    const lists = this.free.get(dtype);
    if (!lists) return null;
    const b = bucketOf(n);
    const here = lists[b];
    if (here !== undefined)
      for (let i = here.length - 1, tries = 0; i >= 0 && tries < 4; i--, tries++) {
        const blk = here[i];
        if (blk.length >= n) {
          here[i] = here[here.length - 1];
          here.pop();
          poolStats.cached -= blk.byteLength;
          return blk;
        }
      }
    const up = lists[b + 1];
    if (up !== undefined && up.length > 0) {
      const blk = up.pop()!;
      poolStats.cached -= blk.byteLength;
      return blk;
    }
    return null;
  }

  /** Frees every cached block (emptyCache). */
  clear(): void {
    for (const lists of this.free.values())
      for (const list of lists)
        if (list)
          for (const blk of list) {
            poolStats.cached -= blk.byteLength;
            this.backend.release(blk);
          }
    this.free.clear();
  }
}

function poisonFill(dtype: DType, buf: TypedArray): void {
  if (dtype === 'float32' || dtype === 'float64') buf.fill(Number.NaN);
  else if (dtype === 'bool') buf.fill(0x5a);
  else buf.fill(POISON_INT);
}

const pools = new Map<Backend, BufferPool>();
let lastBackend: Backend | null = null;
let lastPool: BufferPool | null = null;

/** The pool of a backend, made on first use. */
export function poolOf(b: Backend): BufferPool {
  if (b === lastBackend) return lastPool!;
  let p = pools.get(b);
  if (!p) pools.set(b, (p = new BufferPool(b)));
  lastBackend = b;
  lastPool = p;
  return p;
}

/** Frees every pool's cached blocks. */
export function _emptyPools(): void {
  for (const p of pools.values()) p.clear();
}

export function _setCacheLimit(bytes: number): void {
  cacheLimit = bytes;
  if (poolStats.cached > bytes) _emptyPools();
}
export function _cacheLimit(): number {
  return cacheLimit;
}

/** Whether a new storage must go through a pool: something is cached, or poisoning is on. */
export function _poolActive(): boolean {
  return poolStats.cached !== 0 || poison;
}

/** Debug switch: poison uninitialised allocations (NaN / garbage integers) so a read of one shows. */
export function _setPoison(on: boolean): boolean {
  const prev = poison;
  poison = on;
  return prev;
}
