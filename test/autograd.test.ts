/**
 * @file The reverse-mode engine's semantics, PyTorch's: accumulation into .grad, backward with a gradient,
 * retainGraph and createGraph, gradFn names and leaves, detach, grad modes, retainGrad, hooks, autograd.grad,
 * shared subexpressions, deep chains, gradient dtypes, and the Rosetta stone Y = X·W + b checked exactly against
 * the matmuls that define its gradients.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const f64 = (values: ad.NestedArray) => ad.tensor(values, { dtype: 'float64', requiresGrad: true });
const arr = (t: ad.Tensor | null) => Array.from(t!.dataSync() as ArrayLike<number>);

describe('accumulation and backward', () => {
  test('leaves accumulate: k backward calls add up to k times the gradient', () => {
    const x = f64([1, -2, 3]);
    const loss = () => x.mul(x).sum();
    loss().backward();
    assert.deepEqual(x.grad!.toArray(), [2, -4, 6]);
    const first = x.grad;
    for (let k = 0; k < 3; k++) loss().backward();
    assert.deepEqual(x.grad!.toArray(), [8, -16, 24]);
    assert.equal(x.grad, first, 'accumulates into the same .grad tensor');
    assert.equal(x.grad!.requiresGrad, false);
    // One graph, backward several times with retainGraph: the same sum.
    const y = f64([0.5, 1.5]);
    const l = y.exp().sum();
    for (let k = 0; k < 3; k++) l.backward(null, { retainGraph: true });
    assertClose(y.grad!.dataSync(), [3 * Math.exp(0.5), 3 * Math.exp(1.5)], 1e-15);
  });

  test('backward(gradient) of a non-scalar output is the vector-Jacobian product', () => {
    const x = f64([
      [1, 2],
      [3, 4],
    ]);
    const y = x.mul(x);
    y.backward(
      ad.tensor(
        [
          [1, 0],
          [0.5, -1],
        ],
        { dtype: 'float64' },
      ),
    );
    assert.deepEqual(x.grad!.toArray(), [
      [2, 0],
      [3, -8],
    ]);
  });

  test('a freed graph cannot be walked again; retainGraph keeps it', () => {
    const x = f64([1, 2]);
    const y = x.exp().sum();
    y.backward(null, { retainGraph: true });
    y.backward(null, { retainGraph: true });
    y.backward();
    assertClose(x.grad!.dataSync(), [3 * Math.E, 3 * Math.exp(2)], 1e-15);
    assertThrowsMsg(
      () => y.backward(),
      ad.AutogradError,
      'backward through the graph a second time',
      'SumBackward',
      '{retainGraph: true}',
    );
    assertClose(x.grad!.dataSync(), [3 * Math.E, 3 * Math.exp(2)], 1e-15, 0, 'the failed backward changed nothing');
  });

  test('createGraph gives second and third derivatives', () => {
    const x = f64([0.3, -1.2, 2]);
    const xs = arr(x);
    // y = Σ x³ sin x
    const y = x.pow(3).mul(x.sin()).sum();
    const [g] = ad.autograd.grad(y, x, { createGraph: true });
    assert.ok(g!.requiresGrad, 'the gradient is itself differentiable');
    assertClose(
      arr(g),
      xs.map((v) => 3 * v * v * Math.sin(v) + v ** 3 * Math.cos(v)),
      1e-14,
      1e-14,
      'dy',
    );
    const [h] = ad.autograd.grad(g!.sum(), x, { createGraph: true });
    const d2 = (v: number) => 6 * v * Math.sin(v) + 6 * v * v * Math.cos(v) - v ** 3 * Math.sin(v);
    assertClose(arr(h), xs.map(d2), 1e-13, 1e-13, 'd2y');
    const [t] = ad.autograd.grad(h!.sum(), x);
    const d3 = (v: number) => 6 * Math.sin(v) + 18 * v * Math.cos(v) - 9 * v * v * Math.sin(v) - v ** 3 * Math.cos(v);
    assertClose(arr(t), xs.map(d3), 1e-12, 1e-12, 'd3y');
    // backward with createGraph: .grad has a graph, and differentiating it gives the second derivative.
    const z = f64([1.5]);
    z.pow(4).sum().backward(null, { createGraph: true });
    assert.ok(z.grad!.requiresGrad);
    assertClose(arr(z.grad), [4 * 1.5 ** 3], 1e-15);
    const [zz] = ad.autograd.grad(z.grad!.sum(), z);
    assertClose(arr(zz), [12 * 1.5 ** 2], 1e-15);
  });
});

describe('graph structure', () => {
  test('gradFn names', () => {
    const x = f64([
      [1, 2],
      [3, 4],
    ]);
    const w = f64([[1], [2]]);
    assert.equal(x.gradFn, null);
    const names: [ad.Tensor, string][] = [
      [x.matmul(w), 'MmBackward'],
      [x.add(1), 'AddBackward'],
      [x.sub(w.T), 'SubBackward'],
      [x.mul(w.T), 'MulBackward'],
      [x.div(2), 'DivBackward'],
      [x.exp(), 'ExpBackward'],
      [x.sum(), 'SumBackward'],
      [x.reshape(4), 'ViewBackward'],
      [x.T, 'PermuteBackward'],
      [x.float(), 'ToCopyBackward'],
      [x.neg(), 'NegBackward'],
    ];
    for (const [t, name] of names) assert.equal(t.gradFn!.name, name);
  });

  test('isLeaf: created tensors and results that need no grad are leaves; recorded results are not', () => {
    const x = f64([1, 2]);
    const c = ad.tensor([3, 4]);
    assert.ok(x.isLeaf && x.requiresGrad);
    assert.ok(c.isLeaf && !c.requiresGrad);
    assert.ok(c.mul(2).isLeaf, 'no input requires grad: a leaf, as in PyTorch');
    const y = x.mul(c);
    assert.ok(!y.isLeaf && y.requiresGrad);
    const n = ad.noGrad(() => x.mul(2));
    assert.ok(n.isLeaf && !n.requiresGrad);
    assertThrowsMsg(() => y.requiresGrad_(false), ad.AutogradError, 'non-leaf', 'detach()');
  });

  test('detach shares storage and versions but cuts the graph', () => {
    const x = f64([1, 2, 3]);
    const d = x.detach();
    assert.ok(d.isLeaf && !d.requiresGrad && d.gradFn === null);
    assert.equal(d._storage, x._storage);
    d.add_(1);
    assert.deepEqual(x.toArray(), [2, 3, 4], 'a write through the detached alias shows in x');
    assert.equal(x._storage.version, 1);
    // x · detach(x): only the first factor is differentiated.
    x.mul(x.detach()).sum().backward();
    assert.deepEqual(x.grad!.toArray(), [2, 3, 4]);
  });

  test('a diamond: a tensor used on several paths gets the sum of their gradients', () => {
    const x = f64([1, 2, 3]);
    const a = x.mul(2);
    const b = x.mul(3);
    a.mul(b).sum().backward(); // 6x² → 12x
    assert.deepEqual(x.grad!.toArray(), [12, 24, 36]);
    const y = f64([2, -1]);
    const s = y.exp();
    s.mul(s).add(s).sum().backward(); // e^{2y} + e^y → 2e^{2y} + e^y
    assertClose(arr(y.grad), [2 * Math.exp(4) + Math.exp(2), 2 * Math.exp(-2) + Math.exp(-1)], 1e-14);
  });

  test('a chain of 10,000 ops backpropagates without overflowing the stack', () => {
    const x = f64([1]);
    let y = x;
    for (let i = 0; i < 10_000; i++) y = y.mul(1.0001);
    y.sum().backward();
    assertClose(arr(x.grad), [1.0001 ** 10_000], 1e-10);
  });
});

describe('grad modes', () => {
  test('noGrad and enableGrad nest, restore the mode on exit and on a throw', () => {
    const x = f64([1, 2]);
    assert.ok(ad.isGradEnabled());
    ad.noGrad(() => {
      assert.ok(!ad.isGradEnabled());
      assert.ok(!x.mul(2).requiresGrad);
      ad.enableGrad(() => {
        assert.ok(ad.isGradEnabled());
        assert.equal(x.mul(2).gradFn!.name, 'MulBackward');
        ad.noGrad(() => assert.ok(!ad.isGradEnabled()));
        assert.ok(ad.isGradEnabled());
      });
      assert.ok(!ad.isGradEnabled());
    });
    assert.ok(ad.isGradEnabled());
    assert.throws(() =>
      ad.noGrad(() => {
        throw new Error('boom');
      }),
    );
    assert.ok(ad.isGradEnabled(), 'restored after a throw');
    assert.equal(
      ad.noGrad(() => 42),
      42,
    );
  });
});

describe('retainGrad and hooks', () => {
  test('retainGrad keeps the gradient of a non-leaf; others stay null', () => {
    const x = f64([1, 2]);
    const y = x.mul(3);
    const z = y.mul(y);
    y.retainGrad();
    assert.ok(y.retainsGrad && !z.retainsGrad);
    z.sum().backward();
    assert.deepEqual(y.grad!.toArray(), [6, 12]);
    assert.equal(z.grad, null);
    assert.deepEqual(x.grad!.toArray(), [18, 36]);
  });

  test('hooks on leaves and non-leaves see and may replace the gradient; remove() unregisters', () => {
    const x = f64([1, 2]);
    const seen: number[][] = [];
    const hx = x.registerHook((g) => {
      seen.push(arr(g));
    });
    const y = x.mul(2);
    const hy = y.registerHook((g) => g.mul(10));
    y.sum().backward();
    assert.deepEqual(x.grad!.toArray(), [20, 20], 'the non-leaf hook scaled the gradient flowing on');
    assert.deepEqual(seen, [[20, 20]], 'the leaf hook saw the gradient before accumulation');
    hy.remove();
    const hx2 = x.registerHook((g) => g.neg());
    x.grad = null;
    x.mul(2).sum().backward();
    assert.deepEqual(x.grad!.toArray(), [-2, -2], 'a leaf hook replaced the gradient');
    hx.remove();
    hx2.remove();
    x.grad = null;
    x.mul(2).sum().backward();
    assert.deepEqual(x.grad!.toArray(), [2, 2]);
    assert.equal(seen.length, 2);
  });
});

describe('autograd.grad', () => {
  test('returns gradients without touching .grad; allowUnused gives null for unused inputs', () => {
    const x = f64([1, 2]);
    const u = f64([5]);
    const y = x.pow(2).sum();
    const [gx, gu] = ad.autograd.grad(y, [x, u], { allowUnused: true, retainGraph: true });
    assert.deepEqual(gx!.toArray(), [2, 4]);
    assert.equal(gu, null);
    assert.equal(x.grad, null);
    assertThrowsMsg(() => ad.autograd.grad(y, [x, u]), ad.AutogradError, 'input 1', '[1]', 'allowUnused');
  });

  test('gradOutputs for non-scalar outputs and several outputs at once', () => {
    const x = f64([1, 2]);
    const [g] = ad.autograd.grad([x.mul(2), x.mul(x)], x, {
      gradOutputs: [ad.tensor([1, 1], { dtype: 'float64' }), ad.tensor([1, -1], { dtype: 'float64' })],
    });
    assert.deepEqual(g!.toArray(), [4, -2]);
  });
});

describe('dtypes of gradients', () => {
  test('each leaf gets its gradient in its own dtype', () => {
    const a = ad.tensor([1, 2], { requiresGrad: true });
    const b = ad.tensor([3, 4], { requiresGrad: true, dtype: 'float64' });
    const y = a.mul(b);
    assert.equal(y.dtype, 'float64');
    y.sum().backward();
    assert.equal(a.grad!.dtype, 'float32');
    assert.equal(b.grad!.dtype, 'float64');
    assert.deepEqual(a.grad!.toArray(), [3, 4]);
    const c = ad.tensor([0.5], { requiresGrad: true });
    c.exp().sum().backward();
    assert.equal(c.grad!.dtype, 'float32');
  });
});

describe('the Rosetta stone: Y = X·W + b', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    test(`dX = dY·Wᵀ, dW = Xᵀ·dY, db = Σ_rows dY exactly (${dtype})`, () => {
      ad.manualSeed(7);
      const X = ad.randn([5, 4], { dtype, requiresGrad: true });
      const W = ad.randn([4, 3], { dtype, requiresGrad: true });
      const b = ad.randn([3], { dtype, requiresGrad: true });
      const Y = X.matmul(W).add(b);
      assert.deepEqual(Y.shape, [5, 3]);
      const dY = ad.randn([5, 3], { dtype });
      Y.backward(dY);
      const dX = dY.matmul(W.detach().T);
      const dW = X.detach().T.matmul(dY);
      const db = dY.sum(0);
      assert.deepEqual(arr(X.grad), arr(dX));
      assert.deepEqual(arr(W.grad), arr(dW));
      assert.deepEqual(arr(b.grad), arr(db));
      for (const g of [X.grad!, W.grad!, b.grad!]) assert.equal(g.dtype, dtype);
      assert.deepEqual(X.grad!.shape, [5, 4]);
      assert.deepEqual(W.grad!.shape, [4, 3]);
      assert.deepEqual(b.grad!.shape, [3]);
    });
  }
});

describe('leaf gradients own their buffers', () => {
  // The engine lets a leaf take over a gradient buffer only when nothing else can see it; every aliasing route
  // below must still give each .grad its own storage.
  const changeAll = (ts: ad.Tensor[]) => ad.noGrad(() => ts.forEach((t) => t.grad!.fill_(123)));

  test('two leaves fed the same gradient by add', () => {
    const a = ad.tensor([1, 2], { requiresGrad: true });
    const b = ad.tensor([3, 4], { requiresGrad: true });
    a.add(b).backward(ad.tensor([5, 6]));
    ad.noGrad(() => a.grad!.zero_());
    assert.deepEqual(b.grad!.toArray(), [5, 6]);
  });

  test('a user-supplied gradient passed straight to a leaf is not adopted', () => {
    const a = ad.tensor([1, 2], { requiresGrad: true });
    const g = ad.tensor([7, 8]);
    a.mul(1).backward(g);
    changeAll([a]);
    assert.deepEqual(g.toArray(), [7, 8]);
  });

  test('a retained non-leaf gradient and a leaf gradient do not alias', () => {
    const x = ad.tensor([1, 2], { requiresGrad: true });
    const h = x.reshape(2, 1);
    h.retainGrad();
    h.sum().backward();
    changeAll([x]);
    assert.deepEqual(h.grad!.toArray(), [[1], [1]]);
  });

  test('matmul gradients are adopted and stay correct across accumulation', () => {
    const X = ad.tensor([[1, 2]], { requiresGrad: true });
    const W = ad.tensor([[3], [4]], { requiresGrad: true });
    X.matmul(W).sum().backward();
    X.matmul(W).sum().backward();
    assert.deepEqual(X.grad!.toArray(), [[6, 8]]);
    assert.deepEqual(W.grad!.toArray(), [[2], [4]]);
  });
});

describe('autograd.grad runs only the part of the graph that reaches its inputs', () => {
  test('no retained gradient or hook fires upstream of the inputs', () => {
    const c = ad.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    let fired = 0;
    c.registerHook(() => {
      fired++;
    });
    const m = c.mul(2);
    m.retainGrad();
    const n = m.mul(3);
    const [g] = ad.autograd.grad(n.sum(), [n]);
    assert.deepEqual(g!.toArray(), [1, 1]);
    assert.equal(m.grad, null);
    assert.equal(fired, 0);
    assert.equal(c.grad, null);
  });

  test('a graph freed upstream of the inputs does not matter', () => {
    const b = ad.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const h = b.mul(2);
    const k = h.mul(3);
    h.add(1).sum().backward();
    const [g] = ad.autograd.grad(k.pow(2).sum(), [k]);
    assert.deepEqual(g!.toArray(), [12, 24, 36]);
  });
});
