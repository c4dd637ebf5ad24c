/**
 * @file Tensor lifetimes: dispose and `using`, use after release (a typed error naming the op and the creation
 * site), views and the graph keeping storages alive, ad.scope (sync, async and interleaved, nested, what it keeps),
 * trainStep, the pool's exact statistics, every op sample run forward and backward on poisoned recycled buffers, and
 * a soak test of 10k training steps with flat memory.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { type Arg, OP_TESTS } from '../src/ops/registry.js';
import { _setPoison } from '../src/tensor/pool.js';
import { spec } from './helpers.js';
import { build, call, VARIANTS } from './op-variants.js';

after(() => {
  ad.trackMemory(false);
  _setPoison(false);
});

const tick = () => new Promise<void>((r) => setImmediate(r));
const stats = () => ad.memoryStats();

describe('dispose and use after release', () => {
  test('use after release throws a ReleasedTensorError naming the op, and the creation site when tracking', () => {
    const x = ad.ones([2, 3]);
    const y = x.mul(2);
    y.dispose();
    assert.throws(
      () => y.add(1),
      (e: Error) =>
        e instanceof ad.ReleasedTensorError &&
        e instanceof ad.AdjointError &&
        /^add: the float32 tensor of shape \[2, 3\] \(made by mul\) was released by dispose\(\)/.test(e.message) &&
        e.message.includes('ad.trackMemory(true)'),
    );
    assert.throws(() => y.dataSync(), /ReleasedTensorError: dataSync: .*released/);
    assert.throws(() => y.reshape([6]), ad.ReleasedTensorError, 'a view of it too');
    assert.deepEqual(y.shape, [2, 3], 'metadata stays readable');
    assert.equal(y.isDisposed, true);
    ad.trackMemory(true);
    try {
      const z = x.add(1); // this line is the site
      z.dispose();
      assert.throws(
        () => z.sum(),
        (e: Error) => e instanceof ad.ReleasedTensorError && /created at .*lifetime\.test\.ts:\d+/.test(e.message),
      );
    } finally {
      ad.trackMemory(false);
    }
  });

  test('dispose is idempotent, and a view keeps its base storage alive', () => {
    ad.emptyCache();
    const base = ad.arange(6).float();
    const v = base.reshape([2, 3]);
    const before = stats();
    base.dispose();
    base.dispose();
    base[Symbol.dispose]();
    assert.deepEqual(v.toArray(), [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.equal(stats().inUseBytes, before.inUseBytes, 'the view still holds the storage');
    v.dispose();
    assert.equal(stats().inUseBytes, before.inUseBytes - 24, 'the last handle returns it to the pool');
    assert.equal(stats().cachedBytes, before.cachedBytes + 24);
  });

  test('`using` disposes at the end of the block', () => {
    let seen: ad.Tensor;
    {
      using t = ad.ones([3]);
      seen = t;
      assert.equal(t.sum().item(), 3);
    }
    assert.equal(seen.isDisposed, true);
    assert.throws(() => seen.sum(), ad.ReleasedTensorError);
  });

  test('disposing tensors the graph saved before backward still gives the right gradients', () => {
    const grads = (dispose: boolean) => {
      ad.manualSeed(3);
      const x = ad.randn([4, 5]).requiresGrad_();
      const w = ad.randn([5, 3]).requiresGrad_();
      const h = x.matmul(w); // saves x and w
      const e = h.exp(); // saves its output
      const loss = e.mul(h).sum(); // saves e and h
      if (dispose) for (const t of [h, e]) t.dispose();
      loss.backward();
      return [x.grad!.dataSync(), w.grad!.dataSync(), h, e] as const;
    };
    const [gx, gw] = grads(false);
    const [dx, dw, h, e] = grads(true);
    assert.deepEqual(dx, gx);
    assert.deepEqual(dw, gw);
    assert.equal(h._storage.released && e._storage.released, true, 'backward freed the graph: the storages are pooled');
  });
});

describe('ad.scope', () => {
  test('releases everything made inside except what it returns; pool statistics show it', () => {
    ad.emptyCache();
    const x = ad.ones([100]);
    const s0 = stats();
    let inner: ad.Tensor | null = null;
    let dropped: ad.Tensor | null = null;
    // Constants no other test uses, so each wrapped scalar (4 B, cached for reuse) is made here.
    const out = ad.scope(() => {
      inner = x.mul(2.125);
      dropped = inner.add(0.375);
      const m = new Map([['k', inner.add(1.625)]]);
      return { a: [inner, inner.sum()], m };
    });
    assert.equal(inner!.isDisposed, false, 'returned inside an array');
    assert.equal(dropped!.isDisposed, true);
    assert.equal(out.m.get('k')!.isDisposed, false, 'returned as a Map value');
    const s1 = stats();
    // Kept: inner (400 B), the map's value (400 B), the sum (4 B), and the three wrapped constants (4 B each).
    assert.equal(s1.inUseBytes - s0.inUseBytes, 400 + 400 + 4 + 3 * 4);
    assert.equal(s1.cachedBytes - s0.cachedBytes, 400, 'dropped went to the pool');
    const value = ad.scope(() => x.mul(3.125).add(4.375).sum().item());
    assert.equal(value, 750);
    const s2 = stats();
    assert.equal(s2.inUseBytes, s1.inUseBytes + 8, 'only the two new wrapped constants survive');
    ad.scope(() => x.mul(3.125).add(4.375).sum().item());
    const s3 = stats();
    assert.equal(s3.poolHits - s2.poolHits, 3, 'the same shapes are served from the pool');
    assert.equal(s3.poolMisses, s2.poolMisses);
    assert.equal(s3.inUseBytes, s2.inUseBytes);
    assert.equal(s3.cachedBytes, s2.cachedBytes);
    assert.equal(s3.reservedBytes, s3.inUseBytes + s3.cachedBytes);
    ad.emptyCache();
    assert.equal(stats().cachedBytes, 0);
  });

  test('a pooled buffer is handed out at exactly the size asked for, zero-filled', () => {
    ad.emptyCache();
    ad.scope(() => {
      ad.full([1000], 7);
    });
    const h = stats().poolHits;
    const t = ad.scope(() => ad.zeros([900]));
    assert.equal(stats().poolHits, h + 1, 'the 1000-element block is reused');
    assert.equal((t._storage.buf as Float32Array).length, 900);
    assert.equal(t.sum().item(), 0);
  });

  test('nested scopes: a returned tensor moves to the enclosing scope', () => {
    let kept: ad.Tensor | null = null;
    let tmp: ad.Tensor | null = null;
    ad.scope(() => {
      kept = ad.scope(() => {
        tmp = ad.ones([2]).mul(2);
        return tmp.add(1);
      });
      assert.equal(tmp!.isDisposed, true);
      assert.equal(kept.isDisposed, false);
    });
    assert.equal(kept!.isDisposed, true, 'the outer scope did not return it');
  });

  test('async scopes hold across await, and interleaved ones release only their own tensors', async () => {
    const made: Record<string, ad.Tensor[]> = { a: [], b: [] };
    const run = (k: 'a' | 'b', ticks: number) =>
      ad.scope(async () => {
        let t = ad.ones([3]);
        for (let i = 0; i < ticks; i++) {
          made[k].push(t);
          await tick();
          t = t.add(1);
        }
        return t;
      });
    const pa = run('a', 2);
    const pb = run('b', 5);
    const ra = await pa;
    assert.ok(
      made.a.every((t) => t.isDisposed),
      "a's tensors, made before and after its awaits, are released",
    );
    assert.ok(!made.b.some((t) => t.isDisposed), "b's are untouched while b runs");
    assert.deepEqual(ra.toArray(), [3, 3, 3]);
    const rb = await pb;
    assert.ok(made.b.every((t) => t.isDisposed));
    assert.deepEqual(rb.toArray(), [6, 6, 6]);
    await assert.rejects(
      ad.scope(async () => {
        await tick();
        throw new Error('boom');
      }),
      /boom/,
    );
  });

  test('keeps long-lived state: .grad, optimizer state, module parameters and buffers, ad.keep', () => {
    ad.manualSeed(0);
    const model = ad.scope(
      () => new ad.nn.Sequential(new ad.nn.Linear(4, 8), new ad.nn.BatchNorm1d(8), new ad.nn.ReLU()),
    );
    const opt = new ad.optim.Adam(model.parameters(), { lr: 0.01 });
    const x = ad.randn([6, 4]);
    let kept: ad.Tensor | null = null;
    for (let i = 0; i < 3; i++)
      ad.scope(() => {
        opt.zeroGrad();
        const loss = model.forward(x).pow(2).mean();
        kept = ad.keep(loss.detach());
        loss.backward();
        opt.step();
      });
    const bn = model.children()[1] as ad.nn.BatchNorm1d;
    for (const p of model.parameters()) {
      assert.equal(p.isDisposed, false);
      assert.equal(p.grad!.isDisposed, false);
      const s = opt.state.get(p)!;
      assert.equal((s.expAvg as ad.Tensor).isDisposed, false);
      assert.equal((s.expAvgSq as ad.Tensor).isDisposed, false);
    }
    assert.equal(bn.running_mean!.isDisposed, false);
    assert.ok(Number.isFinite(bn.running_var!.sum().item()));
    assert.equal(kept!.isDisposed, false);
    // zeroGrad releases the gradients a scope handed to the parameters.
    const g = model.parameters()[0].grad!;
    opt.zeroGrad();
    assert.equal(g.isDisposed, true);
  });

  test('trainStep zeroes, runs the closure in a scope, steps and returns the loss as a number', async () => {
    ad.manualSeed(1);
    const lin = new ad.nn.Linear(3, 1);
    const opt = new ad.optim.SGD(lin.parameters(), { lr: 0.1, momentum: 0.9 });
    const x = ad.randn([16, 3]);
    const y = x.sum(1, true);
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) losses.push(ad.trainStep(opt, () => ad.F.mseLoss(lin.forward(x), y)));
    assert.ok(typeof losses[0] === 'number' && losses[29] < losses[0] / 10);
    const l = await ad.trainStep(opt, async () => {
      await tick();
      return ad.F.mseLoss(lin.forward(x), y);
    });
    assert.ok(l < losses[0]);
    assert.throws(() => ad.trainStep(opt, 3 as never), ad.ArgumentError);
    assert.throws(() => ad.scope('f' as never), ad.ArgumentError);
    assert.throws(() => ad.keep(3 as never), ad.ArgumentError);
    assert.throws(() => ad.trainStep(opt, () => lin.forward(x)), /one-element Tensor/);
  });

  test('memoryReport lists live tensors by creation site', () => {
    ad.trackMemory(true);
    try {
      const leak: ad.Tensor[] = [];
      for (let i = 0; i < 5; i++) leak.push(ad.zeros([256])); // the leaking line
      const done = ad.zeros([256]);
      done.dispose();
      const site = ad.memoryReport().find((s) => /lifetime\.test\.ts/.test(s.site) && s.count === 5);
      assert.ok(site, JSON.stringify(ad.memoryReport().slice(0, 3)));
      assert.equal(site.bytes, 5 * 1024);
      assert.equal(leak.length, 5);
    } finally {
      ad.trackMemory(false);
    }
  });
});

describe('recycled buffers are never read uninitialised', () => {
  /** Output and input gradients of one sample, as plain arrays (NaN compares equal to NaN with deepEqual). */
  const runSample = (op: (typeof OP_TESTS)[number], si: number, v: (typeof VARIANTS)[number], seed: number) => {
    ad.manualSeed(seed);
    const built = build(op.samples[si], v);
    if (!built) return null;
    const { leaves, toInputs } = built;
    return ad.scope(() => {
      const out = call(op, op.samples[si], toInputs(leaves));
      const res: unknown[] = [Array.from(out.dataSync())];
      if (op.differentiable !== false && out.requiresGrad) {
        ad.manualSeed(seed + 1);
        out.backward(ad.randn(out.shape, { dtype: out.dtype }));
        for (const l of leaves) res.push(l.grad ? Array.from(l.grad.dataSync()) : null);
      }
      for (const l of leaves) l.grad = null;
      return res;
    });
  };
  for (const backend of ad.backendNames())
    test(`every op sample forward and backward on poisoned recycled buffers matches a clean run (${backend})`, () => {
      const prev = ad.getBackend();
      ad.setBackend(backend);
      let seed = 1;
      let checked = 0;
      try {
        for (const op of OP_TESTS)
          op.samples.forEach((s, si) => {
            for (const v of s.noVariants ? VARIANTS.slice(0, 1) : VARIANTS) {
              const mySeed = seed++;
              _setPoison(false);
              ad.emptyCache();
              const clean = runSample(op, si, v, mySeed);
              if (clean === null) continue;
              _setPoison(true);
              // Twice: the second run is served from the buffers the first released.
              runSample(op, si, v, mySeed);
              const dirty = runSample(op, si, v, mySeed);
              _setPoison(false);
              const shapes = s.args.map((a: Arg) => JSON.stringify(spec(a).shape)).join(' ');
              assert.deepEqual(dirty, clean, `${op.name} sample ${si} ${shapes} ${v}`);
              checked++;
            }
          });
      } finally {
        _setPoison(false);
        ad.setBackend(prev);
      }
      assert.ok(checked > 300, `${checked} sample variants checked`);
    });
});

test('soak: 10k training steps in scopes keep the pool flat and RSS bounded', () => {
  ad.manualSeed(0);
  const model = new ad.nn.Sequential(new ad.nn.Linear(8, 16), new ad.nn.ReLU(), new ad.nn.Linear(16, 4));
  const opt = new ad.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = ad.randn([8, 8]);
  const y = ad.randint(0, 4, [8]);
  const step = () => ad.trainStep(opt, () => ad.F.crossEntropy(model.forward(x), y));
  for (let i = 0; i < 3; i++) step();
  const s0 = stats();
  const rss0 = process.memoryUsage().rss;
  let loss = 0;
  for (let i = 0; i < 10_000; i++) {
    loss = step();
    if (i % 1000 === 0) assert.equal(stats().inUseBytes, s0.inUseBytes, `in-use bytes flat at step ${i}`);
  }
  const s1 = stats();
  assert.equal(s1.inUseBytes, s0.inUseBytes);
  assert.equal(s1.poolMisses, s0.poolMisses, 'every buffer after warm-up comes from the pool');
  assert.equal(s1.cachedBytes, s0.cachedBytes);
  const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB over 10k steps`);
  assert.ok(Number.isFinite(loss));
});
