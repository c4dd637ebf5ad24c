/**
 * @file The thread count and the wasm worker pool: setNumThreads checks its argument, caps at the core count with a
 * one-time warning and stops surplus workers when it shrinks; a trap in a worker's (or the caller's) share of a
 * GEMM is a KernelError on the call that hit it, never a silent unwritten share or a blocked event loop, and the
 * pool goes on working. The traps are real ones, made with the documented test-only hook `injectTrap`.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, describe, test } from 'node:test';
import { wasmGemm } from '../src/backend/wasm/index.js';
import * as ad from '../src/index.js';

const cores = Math.max(1, os.availableParallelism());
const before = ad.getNumThreads();
const backendBefore = ad.getBackend();
after(() => {
  ad.setNumThreads(before);
  ad.setBackend(backendBefore);
});

/** Collects console.warn calls while fn runs. */
function warnings(fn: () => void): string[] {
  const seen: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void seen.push(a.join(' '));
  try {
    fn();
  } finally {
    console.warn = warn;
  }
  return seen;
}

/** A product big enough to run threaded (2M multiply-adds), and its value from the js reference backend. */
function product(): { a: ad.Tensor; b: ad.Tensor; want: Float32Array } {
  ad.manualSeed(11);
  const a = ad.randn([128, 128]);
  const b = ad.randn([128, 128]);
  ad.setBackend('js');
  const want = a.matmul(b).dataSync() as Float32Array;
  ad.setBackend('wasm');
  return { a, b, want };
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>): void {
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  assert.ok(err < 1e-3, `max difference ${err}`);
}

describe('setNumThreads', () => {
  test('an invalid count is an ArgumentError naming the function and the fix; the count is unchanged', () => {
    ad.setNumThreads(1);
    for (const bad of [0, -2, 1.5, Number.NaN, Infinity, '2', null, true]) {
      assert.throws(
        () => ad.setNumThreads(bad as number),
        (e: Error) =>
          e instanceof ad.ArgumentError &&
          e instanceof ad.ValueError &&
          /^setNumThreads: n must be a whole number ≥ 1 \(pass 1 to run single-threaded\), got /.test(e.message),
        String(bad),
      );
      assert.equal(ad.getNumThreads(), 1);
    }
    assert.throws(() => (ad.setNumThreads as () => void)(), ad.ArgumentError);
  });

  test('more threads than cores uses every core, with one warning naming the cap', () => {
    const first = warnings(() => ad.setNumThreads(1000));
    assert.equal(ad.getNumThreads(), cores);
    assert.equal(first.length, 1);
    assert.match(first[0], new RegExp(`setNumThreads\\(1000\\): this machine has ${cores} core\\(s\\), so ${cores} `));
    const again = warnings(() => ad.setNumThreads(cores + 1));
    assert.deepEqual(again, [], 'the warning is given once');
    assert.equal(ad.getNumThreads(), cores);
  });
});

const w = wasmGemm();
const pooled = w?.info.shared === true;

describe('the wasm worker pool', { skip: pooled ? false : 'no shared wasm memory here' }, () => {
  test('setNumThreads(1000) starts one worker per core beside the caller, and shrinking stops the surplus', async () => {
    const { a, b, want } = product();
    ad.setNumThreads(1000);
    assertClose(a.matmul(b).dataSync(), want);
    const most = Math.min(cores, 64) - 1;
    assert.equal(w!.workers(), most);
    assert.equal(w!.liveThreads(), most);

    const half = Math.max(1, Math.ceil(cores / 2));
    ad.setNumThreads(half);
    assert.equal(w!.workers(), half - 1, 'surplus workers are no longer used');
    await w!.settled();
    assert.equal(w!.liveThreads(), half - 1, 'and their threads are gone');
    assertClose(a.matmul(b).dataSync(), want);

    ad.setNumThreads(1);
    await w!.settled();
    assert.equal(w!.workers(), 0);
    assert.equal(w!.liveThreads(), 0);
    assertClose(a.matmul(b).dataSync(), want);

    // Growing again starts new workers in the freed slots; results do not depend on the count.
    ad.setNumThreads(cores);
    assertClose(a.matmul(b).dataSync(), want);
    assert.equal(w!.workers(), most);
    assert.equal(w!.liveThreads(), most);
  });

  const twoThreads = cores >= 2 ? false : 'needs 2 cores';
  for (const [thread, where] of [
    [1, 'worker thread 1'],
    [0, 'the calling thread'],
  ] as const)
    test(`a trap on ${where} is a KernelError on that call; the pool keeps working`, {
      skip: twoThreads,
      timeout: 30_000, // a lost share used to block the next call for 60 s
    }, () => {
      const { a, b, want } = product();
      ad.setNumThreads(2);
      assertClose(a.matmul(b).dataSync(), want);
      const aBefore = Array.from(a.dataSync());
      w!.injectTrap(thread);
      assert.throws(
        () => a.matmul(b),
        (e: Error) =>
          e instanceof ad.KernelError &&
          e.message.startsWith('wasm backend: the GEMM kernel ') &&
          e.message.includes(`failed on ${where}: RuntimeError: memory access out of bounds`) &&
          e.message.includes('the worker pool is intact'),
      );
      assert.deepEqual(Array.from(a.dataSync()), aBefore, 'the inputs are unchanged');
      // The next calls run threaded as before and are right.
      for (let i = 0; i < 3; i++) assertClose(a.matmul(b).dataSync(), want);
      assert.equal(w!.workers(), 1);
      assert.equal(w!.liveThreads(), 1);
    });
});
