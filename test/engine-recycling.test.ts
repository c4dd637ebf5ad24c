/**
 * @file The engine's recycling of cotangents (issue 10): backward returns to the pool the cotangents it made and
 * consumed, and never a tensor the user can hold — every intermediate, retained gradient, hook-seen gradient, seed,
 * captured gradient and .grad keeps its values after backward, on every backend.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';

const BACKENDS = ad.backendNames();

/** A small network with broadcasting, reuse and views, every intermediate kept by the caller. */
function forward(x: ad.Tensor, w1: ad.Tensor, b1: ad.Tensor, w2: ad.Tensor) {
  const h0 = x.matmul(w1.transpose(0, 1));
  const h1 = h0.add(b1); // broadcast over rows: its cotangent is summed down
  const h2 = h1.tanh();
  const [p, q] = h2.chunk(2, -1); // views whose gradients meet in one buffer
  const h3 = p.mul(q).add(h2.narrow(1, 0, 2)); // h2 used three times
  const h4 = h3.matmul(w2);
  const loss = h4.mul(h4).mean();
  return { h0, h1, h2, p, q, h3, h4, loss };
}

function snapshot(ts: Record<string, ad.Tensor>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, Array.from(t.dataSync())]));
}

for (const backend of BACKENDS) {
  describe(`engine recycling on ${backend}`, () => {
    test('every intermediate, retained and hook-seen gradient the user holds keeps its values after backward', () => {
      ad.setBackend(backend);
      ad.manualSeed(3);
      const x = ad.randn([5, 3], { dtype: 'float64' });
      const w1 = ad.randn([4, 3], { dtype: 'float64', requiresGrad: true });
      const b1 = ad.randn([4], { dtype: 'float64', requiresGrad: true });
      const w2 = ad.randn([2, 2], { dtype: 'float64', requiresGrad: true });
      const f = forward(x, w1, b1, w2);
      f.h2.retainGrad();
      f.h3.retainGrad();
      const seen: ad.Tensor[] = [];
      f.h1.registerHook((g) => {
        seen.push(g);
      });
      f.h4.registerHook((g) => {
        seen.push(g);
      });
      const before = snapshot(f);
      // The reference gradients, from a backward that records its graph (nothing is recycled then).
      const [r1, rb, r2] = ad.autograd.grad(f.loss, [w1, b1, w2], { retainGraph: true, createGraph: true });
      const seenBefore = seen.length;
      f.loss.backward();
      assert.deepEqual(snapshot(f), before, 'intermediates unchanged');
      for (const t of Object.values(f)) assert.equal(t.isDisposed, false);
      assert.equal(seen.length, seenBefore * 2);
      for (let i = 0; i < seenBefore; i++)
        assert.deepEqual(Array.from(seen[seenBefore + i].dataSync()), Array.from(seen[i].dataSync()));
      for (const t of [...seen, f.h2.grad!, f.h3.grad!]) assert.equal(t.isDisposed, false);
      assert.deepEqual(Array.from(w1.grad!.dataSync()), Array.from(r1!.dataSync()));
      assert.deepEqual(Array.from(b1.grad!.dataSync()), Array.from(rb!.dataSync()));
      assert.deepEqual(Array.from(w2.grad!.dataSync()), Array.from(r2!.dataSync()));
      // A second backward accumulates into the .grad the first left, which must still be live.
      forward(x, w1, b1, w2).loss.backward();
      assert.deepEqual(
        Array.from(w1.grad!.dataSync()),
        Array.from(r1!.mul(2).dataSync()),
        'accumulated .grad is twice the first',
      );
    });

    test('a seed gradient passed to backward and gradients from autograd.grad stay live', () => {
      ad.setBackend(backend);
      const w = ad.randn([3, 3], { requiresGrad: true });
      const y = w.mul(2).exp();
      const seed = ad.onesLike(y);
      const seedValues = Array.from(seed.dataSync());
      const [gw] = ad.autograd.grad(y, [w], { gradOutputs: [seed], retainGraph: true });
      y.backward(seed);
      assert.deepEqual(Array.from(seed.dataSync()), seedValues);
      assert.equal(gw!.isDisposed, false);
      assert.deepEqual(Array.from(w.grad!.dataSync()), Array.from(gw!.dataSync()));
    });

    test('backward returns its consumed cotangents to the pool: a second step reuses them', () => {
      ad.setBackend(backend);
      ad.manualSeed(1);
      const model = new ad.nn.Sequential(new ad.nn.Linear(16, 32), new ad.nn.ReLU(), new ad.nn.Linear(32, 4));
      const x = ad.randn([8, 16]);
      const step = () =>
        ad.scope(() => {
          model.zeroGrad();
          const loss = model.forward(x).pow(2).mean();
          loss.backward();
          return loss.item();
        });
      step();
      step();
      const a = ad.memoryStats();
      for (let i = 0; i < 5; i++) step();
      const b = ad.memoryStats();
      assert.equal(b.inUseBytes, a.inUseBytes, 'a scoped step leaves nothing behind');
      assert.ok(b.poolHits - a.poolHits > 0, 'steps are served from the pool');
      assert.equal(b.poolMisses, a.poolMisses, 'a steady-state step allocates nothing new');
    });
  });
}
