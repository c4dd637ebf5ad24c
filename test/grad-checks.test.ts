/**
 * @file Gradients are checked where they enter: assigning .grad, a hook's return value, and the warning for reading
 * .grad on a non-leaf — PyTorch's checks, each with a typed error and nothing changed when it throws.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

describe('assigning .grad', () => {
  test('a gradient of another shape is refused, never broadcast later', () => {
    const p = ad.zeros([3], { requiresGrad: true });
    assertThrowsMsg(() => (p.grad = ad.zeros([5])), ad.ShapeError, 'Tensor.grad', '[5]', '[3]');
    assertThrowsMsg(() => (p.grad = ad.zeros([1])), ad.ShapeError, 'Tensor.grad', '[1]', 'never broadcast');
    assert.equal(p.grad, null, 'a refused gradient is not stored');
  });

  test('a gradient of another dtype, or a non-tensor, is refused', () => {
    const p = ad.zeros([3], { requiresGrad: true });
    p.grad = ad.ones([3]);
    const before = p.grad;
    assertThrowsMsg(
      () => (p.grad = ad.zeros([3], { dtype: 'float64' })),
      ad.DTypeError,
      'float64',
      'float32',
      ".to('float32')",
    );
    assertThrowsMsg(() => ((p as unknown as { grad: unknown }).grad = 5), ad.ValueError, 'Tensor.grad', 'got 5');
    assertThrowsMsg(() => ((p as unknown as { grad: unknown }).grad = [1, 2, 3]), ad.ValueError, 'must be a Tensor');
    assert.equal(p.grad, before, 'the old gradient stays');
  });

  test('null clears; a matching tensor is kept as given', () => {
    const p = ad.zeros([2, 2], { requiresGrad: true });
    const g = ad.ones([2, 2]);
    p.grad = g;
    assert.equal(p.grad, g);
    p.grad = null;
    assert.equal(p.grad, null);
  });

  test('an optimizer never sees a gradient that would broadcast', () => {
    const p = ad.zeros([3], { requiresGrad: true });
    const opt = new ad.optim.SGD([p], { lr: 0.1 });
    assert.throws(() => {
      p.grad = ad.ones([1]);
    }, ad.ShapeError);
    opt.step();
    assert.deepEqual(Array.from(p.dataSync()), [0, 0, 0]);
  });
});

describe('gradient hooks', () => {
  test('a hook returning a number, a wrong-shaped tensor or a Promise is a typed error naming registerHook', () => {
    for (const [ret, frag] of [
      [3, 'returned 3'],
      [ad.ones([2]), 'shape [2]'],
      [ad.ones([3], { dtype: 'float64' }), 'float64'],
      [Promise.resolve(ad.ones([3])), 'async hook'],
    ] as const) {
      const p = ad.zeros([3], { requiresGrad: true });
      p.registerHook(() => ret as unknown as ad.Tensor);
      assertThrowsMsg(() => p.sum().backward(), ad.AutogradError, 'registerHook', frag, 'shape [3]');
      assert.equal(p.grad, null, 'no gradient was accumulated');
    }
  });

  test('on a non-leaf too', () => {
    const p = ad.zeros([3], { requiresGrad: true });
    const y = p.mul(2);
    y.registerHook(() => 'x' as unknown as ad.Tensor);
    assertThrowsMsg(() => y.sum().backward(), ad.AutogradError, 'registerHook', '"x" (a string)');
  });

  test('a hook returning nothing keeps the gradient; a matching tensor replaces it', () => {
    const p = ad.zeros([3], { requiresGrad: true });
    p.registerHook(() => undefined);
    p.registerHook((g) => g.mul(2));
    p.sum().backward();
    assert.deepEqual(Array.from(p.grad!.dataSync()), [2, 2, 2]);
  });

  test('registerHook takes a function', () => {
    const p = ad.zeros([3], { requiresGrad: true });
    assertThrowsMsg(() => p.registerHook(5 as never), ad.ArgumentError, 'registerHook', 'a function', 'got 5');
  });
});

describe('.grad on a non-leaf', () => {
  test('warns once, as PyTorch does, and returns null', () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    try {
      const p = ad.zeros([3], { requiresGrad: true });
      const y = p.mul(2);
      y.sum().backward();
      assert.equal(y.grad, null);
      assert.equal(y.grad, null);
      const z = p.add(1);
      z.retainGrad();
      z.sum().backward();
      assert.ok(z.grad, 'a retained gradient is there');
      assert.equal(p.grad !== null, true, 'leaves never warn');
    } finally {
      console.warn = warn;
    }
    // node --test runs each file in its own process, so this is the process's first read.
    assert.equal(warnings.length, 1, `warned ${warnings.length} times`);
    assert.match(warnings[0], /non-leaf.*retainGrad/);
  });
});

describe('autograd.backward, the list form', () => {
  test('several outputs with their gradients in one pass equal the sum of separate passes', () => {
    ad.manualSeed(3);
    const x = ad.randn([3], { dtype: 'float64', requiresGrad: true });
    const y1 = x.mul(x);
    const y2 = x.exp();
    const g1 = ad.tensor([1, 2, 3], { dtype: 'float64' });
    const g2 = ad.tensor([0.5, -1, 2], { dtype: 'float64' });
    ad.autograd.backward([y1, y2], [g1, g2]);
    const want = x.detach().mul(2).mul(g1).add(x.detach().exp().mul(g2));
    assert.deepEqual(Array.from(x.grad!.dataSync()), Array.from(want.dataSync()));
  });

  test('a one-element output takes null for its implicit 1; options by name', () => {
    const x = ad.ones([2], { requiresGrad: true });
    const y = x.sum();
    ad.autograd.backward([y], [null], { retainGraph: true });
    ad.autograd.backward(y);
    assert.deepEqual(Array.from(x.grad!.dataSync()), [2, 2]);
  });

  test('inputs limits accumulation to those tensors', () => {
    const a = ad.ones([2], { requiresGrad: true });
    const b = ad.ones([2], { requiresGrad: true });
    ad.autograd.backward(a.mul(b).sum(), null, { inputs: [a] });
    assert.deepEqual(Array.from(a.grad!.dataSync()), [1, 1]);
    assert.equal(b.grad, null);
  });

  test('mismatched counts and wrong types are typed errors naming autograd.backward', () => {
    const x = ad.ones([2], { requiresGrad: true });
    assertThrowsMsg(
      () => ad.autograd.backward([x.sum(), x.sum()], [null]),
      ad.AutogradError,
      'autograd.backward',
      '2 tensors but 1 gradient',
    );
    assertThrowsMsg(() => ad.autograd.backward([1, 2] as never), ad.ArgumentError, 'autograd.backward', 'tensors');
    assertThrowsMsg(
      () => ad.autograd.backward(x.sum(), null, { retain_graph: true } as never),
      ad.ArgumentError,
      'use retainGraph',
    );
    assert.equal(x.grad, null);
  });
});
