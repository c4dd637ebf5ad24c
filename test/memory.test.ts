/**
 * @file Memory accounting reports only what it knows: bytes allocated (exact), bytes the garbage collector has
 * reported freed (exact, and only between turns of the event loop), and their difference named as the upper bound
 * it is. In a synchronous training loop nothing is reported freed, so the bound grows with every step — which is why
 * it is not called live memory — and after gc() and an await it comes back down to what is held.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as ad from '../src/index.js';

after(() => ad.trackMemory(false));

/** The collector, switched on at run time as the demo does (no --expose-gc needed). */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Collects and lets the FinalizationRegistry report, until the reports stop growing (a few turns at most). */
async function collect(gc: () => void): Promise<void> {
  let last = -1;
  for (let i = 0; i < 20 && ad.memoryStats().confirmedFreedBytes !== last; i++) {
    last = ad.memoryStats().confirmedFreedBytes;
    gc();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 0));
  }
}

const bytesOf = (ts: (ad.Tensor | null | undefined)[]) =>
  ts.reduce((n, t) => n + (t ? t.numel() * (t.dtype === 'float64' ? 8 : t.dtype === 'bool' ? 1 : 4) : 0), 0);

test('allocations are counted exactly, by storage and byte', () => {
  ad.trackMemory(true);
  const before = ad.memoryStats();
  const a = ad.zeros([1000]);
  const b = ad.zeros([10], { dtype: 'float64' });
  const view = a.reshape([10, 100]); // a view allocates nothing
  const after = ad.memoryStats();
  assert.equal(after.allocations - before.allocations, 2);
  assert.equal(after.allocatedBytes - before.allocatedBytes, 1000 * 4 + 10 * 8);
  assert.equal(after.liveBytesUpperBound, after.allocatedBytes - after.confirmedFreedBytes);
  assert.ok(after.peakBytesUpperBound >= after.liveBytesUpperBound);
  assert.ok(view.shape.length === 2 && b.numel() === 10);
});

test('in a synchronous loop the bound only grows; after gc() and an await it is down to what is held', async () => {
  const gc = gcFunction();
  ad.manualSeed(0);
  const model = new ad.nn.Sequential(new ad.nn.Linear(64, 64), new ad.nn.ReLU(), new ad.nn.Linear(64, 10));
  const opt = new ad.optim.SGD(model.parameters(), { lr: 0.01 });
  const x = ad.randn([32, 64]);
  const y = ad.randint(0, 10, [32]);
  ad.trackMemory(true);
  await collect(gc);
  const start = ad.memoryStats();
  const bounds: number[] = [];
  for (let step = 0; step < 50; step++) {
    opt.zeroGrad();
    ad.F.crossEntropy(model.forward(x), y).backward();
    opt.step();
    if (step % 10 === 0) gc(); // the collector runs, but cannot report inside the loop
    bounds.push(ad.memoryStats().liveBytesUpperBound);
  }
  const end = ad.memoryStats();
  assert.equal(end.confirmedFrees, start.confirmedFrees, 'no free is reported inside a synchronous loop');
  for (let i = 1; i < bounds.length; i++) assert.ok(bounds[i] > bounds[i - 1], 'so the bound grows every step');
  assert.equal(end.liveBytesUpperBound - start.liveBytesUpperBound, end.allocatedBytes - start.allocatedBytes);
  assert.ok(end.peakBytesUpperBound >= end.liveBytesUpperBound);

  await collect(gc);
  const settled = ad.memoryStats();
  const held = bytesOf(model.parameters().flatMap((p) => [p, p.grad]));
  assert.ok(settled.confirmedFreedBytes > end.confirmedFreedBytes, 'the frees are reported once the loop yields');
  assert.ok(settled.liveBytesUpperBound >= held - 1, 'it is an upper bound: at least what is still held');
  assert.ok(
    settled.liveBytesUpperBound < start.liveBytesUpperBound + 4 * held,
    `after collection it is near what is held (${settled.liveBytesUpperBound} vs ${held} held)`,
  );
  assert.ok(settled.liveBytesUpperBound < end.liveBytesUpperBound / 4);
  // resetPeakMemory starts a new peak at the current bound.
  ad.resetPeakMemory();
  assert.equal(ad.memoryStats().peakBytesUpperBound, settled.liveBytesUpperBound);
});

test('the old names, which read as live memory, throw naming the new ones; arguments are checked', () => {
  const s = ad.memoryStats() as unknown as Record<string, unknown>;
  assert.throws(
    () => s.liveBytes,
    (e: Error) =>
      e instanceof ad.AdjointError &&
      /^memoryStats: 'liveBytes' is now 'liveBytesUpperBound'/.test(e.message) &&
      e.message.includes('gc()'),
  );
  assert.throws(() => s.peakBytes, /'peakBytes' is now 'peakBytesUpperBound'/);
  assert.deepEqual(Object.keys(s).sort(), [
    'allocatedBytes',
    'allocations',
    'cachedBytes',
    'confirmedFreedBytes',
    'confirmedFrees',
    'inUseBytes',
    'liveBytesUpperBound',
    'peakBytesUpperBound',
    'peakInUseBytes',
    'poolHits',
    'poolMisses',
    'reservedBytes',
  ]);
  assert.throws(() => ad.trackMemory('yes' as never), ad.ArgumentError);
});
