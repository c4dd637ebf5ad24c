/**
 * @file sort, argsort and topk beyond the op table: the indices themselves (the table checks the values and their
 * gradients), PyTorch's NaN and tie rules, integer and bool inputs, 0-d and empty inputs, the call forms, where the
 * gradient goes, and the typed errors (with nothing computed when they throw).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const ints = (t: ad.Tensor) => Array.from(t.dataSync());

describe('sort', () => {
  test('values and indices, ascending and descending, along any dim', () => {
    const x = ad.tensor([
      [3, 1, 2],
      [0.5, -1, 4],
    ]);
    const { values, indices } = x.sort();
    assert.deepEqual(ints(values), [1, 2, 3, -1, 0.5, 4]);
    assert.deepEqual(ints(indices), [1, 2, 0, 1, 0, 2]);
    assert.equal(indices.dtype, 'int32');
    const [v0, i0] = ad.sort(x, 0, true);
    assert.deepEqual(ints(v0), [3, 1, 4, 0.5, -1, 2]);
    assert.deepEqual(ints(i0), [0, 0, 1, 1, 1, 0]);
  });

  test("NaN sorts as the largest value and ties keep their order (PyTorch's stable sort)", () => {
    const x = ad.tensor([3, 1, 3, Number.NaN, 1, 2, Number.NaN]);
    // The orders PyTorch 1.13 gives for torch.sort(x, stable=True) and with descending=True.
    assert.deepEqual(ints(x.sort().indices), [1, 4, 5, 0, 2, 3, 6]);
    assert.deepEqual(ints(x.sort(-1, true).indices), [3, 6, 0, 2, 5, 1, 4]);
    assert.deepEqual(ints(x.argsort({ descending: true, stable: true })), [3, 6, 0, 2, 5, 1, 4]);
    const v = ints(x.sort().values);
    assert.deepEqual(v.slice(0, 5), [1, 1, 2, 3, 3]);
    assert.ok(Number.isNaN(v[5]) && Number.isNaN(v[6]));
  });

  test('integer and bool inputs keep their dtype; 0-d and empty inputs', () => {
    const i = ad.tensor([5, -2, 7, 0], { dtype: 'int32' }).sort(0, true);
    assert.equal(i.values.dtype, 'int32');
    assert.deepEqual(ints(i.values), [7, 5, 0, -2]);
    const b = ad.tensor([true, false, true]).sort();
    assert.equal(b.values.dtype, 'bool');
    assert.deepEqual(ints(b.indices), [1, 0, 2]);
    const s = ad.tensor(2.5).sort();
    assert.deepEqual(s.values.shape, []);
    assert.deepEqual(s.indices.shape, []);
    assert.equal(s.indices.item(), 0);
    const e = ad.zeros([0, 3]).sort(0);
    assert.deepEqual(e.values.shape, [0, 3]);
  });

  test('the values’ gradient goes to the element each value came from, ties by the stable order', () => {
    const x = ad.tensor([2, 1, 2, 0], { dtype: 'float64', requiresGrad: true });
    const { values } = x.sort(-1, true, { stable: true });
    values
      .mul(ad.tensor([1, 10, 100, 1000], { dtype: 'float64' }))
      .sum()
      .backward();
    // Descending: 2 (index 0), 2 (index 2), 1, 0.
    assert.deepEqual(ints(x.grad!), [1, 100, 10, 1000]);
  });

  test('positional and named forms agree; bad arguments are typed errors naming sort', () => {
    const x = ad.randn([3, 4]);
    assert.deepEqual(ints(ad.sort(x, { dim: 0, descending: true }).indices), ints(ad.sort(x, 0, true).indices));
    assert.deepEqual(ints(x.sort(0, { descending: true }).values), ints(x.sort(0, true).values));
    assertThrowsMsg(() => x.sort(2), ad.IndexError, 'sort: dim 2 is out of range', '[3, 4]');
    assertThrowsMsg(
      () => ad.sort(x, -1, false, { stabel: true } as never),
      ad.ArgumentError,
      "sort: unknown option 'stabel'",
      'stable',
    );
    assertThrowsMsg(() => ad.sort([1, 2] as never), ad.ArgumentError, 'sort: input must be a Tensor');
    assertThrowsMsg(() => ad.argsort(x, 'last' as never), ad.ArgumentError, 'argsort: dim must be');
  });
});

describe('topk', () => {
  test('the k largest or smallest, with their indices, NaN counting as the largest', () => {
    const x = ad.tensor([3, 1, 3, Number.NaN, 1, 2, Number.NaN]);
    const top = ad.topk(x, 3);
    assert.deepEqual(ints(top.indices), [3, 6, 0]);
    const low = x.topk(3, -1, false);
    assert.deepEqual(ints(low.values), [1, 1, 2]);
    assert.deepEqual(ints(low.indices), [1, 4, 5]);
    const m = ad.tensor([
      [1, 5],
      [4, 2],
      [3, 0],
    ]);
    const [v, i] = m.topk(2, 0);
    assert.deepEqual(v.shape, [2, 2]);
    assert.deepEqual(ints(v), [4, 5, 3, 2]);
    assert.deepEqual(ints(i), [1, 0, 2, 1]);
    assert.deepEqual(ad.topk(ad.tensor(2), 1).values.shape, []);
    assert.deepEqual(ad.topk(m, 0).indices.shape, [3, 0]);
  });

  test('k out of range and bad arguments are typed errors naming topk', () => {
    const x = ad.ones([2, 3]);
    assertThrowsMsg(() => x.topk(4), ad.ValueError, 'topk: k = 4 is out of range for dim -1 of size 3', '[2, 3]');
    assertThrowsMsg(() => x.topk(-1), ad.ArgumentError, 'topk: k must be a whole number ≥ 0');
    assertThrowsMsg(() => x.topk(1.5), ad.ArgumentError, 'topk: k must be a whole number ≥ 0');
    assertThrowsMsg(() => x.topk(1, 2), ad.IndexError, 'topk: dim 2 is out of range');
    assertThrowsMsg(
      () => (ad.topk as (...a: unknown[]) => unknown)(x, 1, -1, true, true, 'extra'),
      ad.ArgumentError,
      'topk: takes at most 5',
    );
  });
});
