/**
 * @file The engine's in-place accumulation: the gradients of the pieces of one tensor (unbind, chunk, split) land
 * in one buffer the engine owns, and that gives exactly what the recorded (createGraph) path gives, while no tensor
 * the user can hold (a retained grad, a hook's argument, a captured grad) is ever written.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';

const arr = (t: ad.Tensor | null) => t!.toArray();

/** d loss / d x without a graph (the in-place path) and with one (the differentiable path). */
function both(x: ad.Tensor, loss: (x: ad.Tensor) => ad.Tensor): [unknown, unknown] {
  const [fast] = ad.autograd.grad(loss(x), [x]);
  const [slow] = ad.autograd.grad(loss(x), [x], { createGraph: true });
  return [arr(fast), arr(slow)];
}

describe('pieces of one tensor accumulate exactly', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const x = ad.randn([5, 3, 4], { dtype, requiresGrad: true });
    const w = ad.randn([5, 3, 4], { dtype });
    test(`unbind, each piece weighted (${dtype})`, () => {
      const f = (t: ad.Tensor) =>
        ad
          .stack(
            ad.unbind(t, 0).map((p, i) => p.mul(i + 1)),
            0,
          )
          .mul(w)
          .sum();
      const [a, b] = both(x, f);
      assert.deepEqual(a, b);
    });
    test(`chunk along the last dim, a piece used twice and the whole tensor besides (${dtype})`, () => {
      const f = (t: ad.Tensor) => {
        const [p, q] = ad.chunk(t, 2, -1);
        return p.sigmoid().add(p.mul(3)).add(q.tanh()).sum().add(t.mul(w).sum());
      };
      const [a, b] = both(x, f);
      assert.deepEqual(a, b);
    });
    test(`split with a broadcast piece and a strided slice (${dtype})`, () => {
      const f = (t: ad.Tensor) => {
        const [p, q] = ad.split(t, [1, 4], 0);
        return p
          .add(q)
          .mul(w.slice(0, 1))
          .sum()
          .add(t.slice(2, 0, null, 2).exp().sum());
      };
      const [a, b] = both(x, f);
      assert.deepEqual(a, b);
    });
  }

  test('backward into a leaf matches finite differences', () => {
    const x = ad.randn([4, 3], { dtype: 'float64', requiresGrad: true });
    const f = (t: ad.Tensor) =>
      ad
        .unbind(t, 1)
        .map((p, i) => p.pow(i + 2).sum())
        .reduce((s, v) => s.add(v));
    f(x).backward();
    f(x).backward(); // accumulates into the adopted .grad
    const base = x.detach();
    const h = 1e-6;
    const num = base.toArray() as number[][];
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 3; j++) {
        const e = ad.zeros([4, 3], { dtype: 'float64' });
        ad.noGrad(() =>
          e
            .slice(0, i, i + 1)
            .slice(1, j, j + 1)
            .fill_(h),
        );
        num[i][j] = (2 * ((f(base.add(e)).item() as number) - (f(base.sub(e)).item() as number))) / (2 * h);
      }
    const got = x.grad!.toArray() as number[][];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) assert.ok(Math.abs(got[i][j] - num[i][j]) < 1e-5);
  });

  test('double backward through unbind', () => {
    const x = ad.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const y = ad.unbind(x, 0).reduce((s, p, i) => s.add(p.pow(i + 2)), ad.tensor(0, { dtype: 'float64' }));
    const [g] = ad.autograd.grad(y, [x], { createGraph: true });
    assert.deepEqual(arr(g), [2, 12, 108]);
    const [gg] = ad.autograd.grad(g!.sum(), [x]);
    assert.deepEqual(arr(gg), [2, 12, 108]);
  });
});

describe('in-place accumulation never writes what the user holds', () => {
  test('a retained gradient of the whole tensor', () => {
    const x = ad.randn([3, 2], { requiresGrad: true });
    const h = x.mul(2);
    h.retainGrad();
    const [a, b, c] = ad.unbind(h, 0);
    a.sum().add(b.sum()).add(c.sum()).add(h.sum()).backward();
    assert.deepEqual(arr(h.grad), [
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    assert.deepEqual(arr(x.grad), [
      [4, 4],
      [4, 4],
      [4, 4],
    ]);
  });

  test('a gradient a hook saw, on a piece and on a leaf', () => {
    const x = ad.zeros([2, 2], { requiresGrad: true });
    const seen: ad.Tensor[] = [];
    x.registerHook((g) => {
      seen.push(g);
    });
    const [p, q] = ad.unbind(x, 0);
    p.registerHook((g) => {
      seen.push(g);
    });
    const y = p.sum().add(q.sum());
    y.backward({ retainGraph: true });
    y.backward();
    assert.deepEqual(arr(x.grad), [
      [2, 2],
      [2, 2],
    ]);
    for (const g of seen.slice(0, 2))
      assert.ok(
        g
          .toArray()
          .toString()
          .split(',')
          .every((v) => v === '1'),
      );
  });

  test('gradients captured by autograd.grad stay as returned', () => {
    const x = ad.randn([3, 4], { requiresGrad: true });
    const h = x.mul(1);
    const pieces = ad.unbind(h, 0);
    const y = pieces.reduce((s, p) => s.add(p.sum()), h.sum());
    const [gh, gx] = ad.autograd.grad(y, [h, x], { retainGraph: true });
    const before = [arr(gh), arr(gx)];
    y.backward();
    assert.deepEqual([arr(gh), arr(gx)], before);
    assert.deepEqual(before[0], before[1]);
  });
});
