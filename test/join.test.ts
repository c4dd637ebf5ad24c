/**
 * @file Values and gradients of the joining ops (cat, stack, split, chunk, unbind, repeat, tile, flip, pad, tril,
 * triu) against numbers computed with PyTorch 1.13, and the message of every error they throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const f64 = (data: ad.NestedArray) => ad.tensor(data, { dtype: 'float64', requiresGrad: true });
/** Distinct weights 0, 1, 2, … in y's shape: the gradient of Σ y·w tells where each output element came from. */
const weights = (y: ad.Tensor) => ad.arange(y.numel(), undefined, 1, { dtype: 'float64' }).reshape(y.shape as number[]);
const gradOf = (x: ad.Tensor, y: ad.Tensor) => {
  y.mul(weights(y)).sum().backward();
  return x.grad!.toArray();
};
const range = (...shape: number[]) =>
  ad
    .arange(
      shape.reduce((a, b) => a * b, 1),
      undefined,
      1,
      { dtype: 'float64' },
    )
    .reshape(shape)
    .requiresGrad_(true);

describe('flip', () => {
  test('values match torch.flip over several dims', () => {
    const x = ad.arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);
    assert.deepEqual(ad.flip(x, [0, 2]).toArray(), [
      [
        [15, 14, 13, 12],
        [19, 18, 17, 16],
        [23, 22, 21, 20],
      ],
      [
        [3, 2, 1, 0],
        [7, 6, 5, 4],
        [11, 10, 9, 8],
      ],
    ]);
    assert.deepEqual(x.flip(-1, 0).toArray(), ad.flip(x, [0, 2]).toArray());
  });
  test('a transposed input, a copy that owns its storage, and the gradient is flip', () => {
    const x = range(3, 2);
    const y = x.T.flip(1);
    assert.deepEqual(y.toArray(), [
      [4, 2, 0],
      [5, 3, 1],
    ]);
    assert.notEqual(y._storage, x._storage);
    assert.deepEqual(gradOf(x, y), [
      [2, 5],
      [1, 4],
      [0, 3],
    ]);
  });
  test('errors', () => {
    const x = ad.zeros([2, 3]);
    assertThrowsMsg(() => ad.flip(x, [0, -2]), ad.ShapeError, 'flip', '[0, -2]', 'more than once', '[2, 3]');
    assertThrowsMsg(() => ad.flip(x, [2]), ad.IndexError, 'flip', 'dim 2', '[2, 3]');
  });
});

describe('pad', () => {
  const x3 = () => range(1, 3, 4);
  test('constant: positive and negative widths, fill value, and the adjoint is the crop', () => {
    const x = x3();
    const y = ad.pad(x, [1, -2, -1, 1], { value: 0.5 });
    assert.deepEqual(y.toArray(), [
      [
        [0.5, 4, 5],
        [0.5, 8, 9],
        [0.5, 0.5, 0.5],
      ],
    ]);
    assert.deepEqual(gradOf(x, y), [
      [
        [0, 0, 0, 0],
        [1, 2, 0, 0],
        [4, 5, 0, 0],
      ],
    ]);
  });
  test('constant: dtypes keep their type (the fill is cast like PyTorch)', () => {
    const xi = ad.tensor([0, 1, 2], { dtype: 'int32' });
    const yi = ad.pad(xi, [1, 1], { value: 2.5 });
    assert.equal(yi.dtype, 'int32');
    assert.deepEqual(yi.toArray(), [2, 0, 1, 2, 2]);
    const yb = ad.pad(ad.tensor([[true, true]]), [1, 1]);
    assert.deepEqual(yb.toArray(), [[false, true, true, false]]);
    assert.deepEqual(ad.pad(ad.zeros([2, 0]), [1, 2]).shape, [2, 3]);
    assert.deepEqual(ad.pad(ad.arange(5), [-2, -3]).shape, [0]);
  });
  test('reflect matches torch, values and gradient', () => {
    const x = x3();
    const y = ad.pad(x, [2, 1, 1, 2], { mode: 'reflect' });
    assert.deepEqual(y.toArray(), [
      [
        [6, 5, 4, 5, 6, 7, 6],
        [2, 1, 0, 1, 2, 3, 2],
        [6, 5, 4, 5, 6, 7, 6],
        [10, 9, 8, 9, 10, 11, 10],
        [6, 5, 4, 5, 6, 7, 6],
        [2, 1, 0, 1, 2, 3, 2],
      ],
    ]);
    assert.deepEqual(gradOf(x, y), [
      [
        [46, 92, 146, 52],
        [48, 96, 156, 57],
        [23, 46, 73, 26],
      ],
    ]);
  });
  test('reflect with a negative width pads, then crops (as torch)', () => {
    const x = x3();
    const y = ad.pad(x, [-1, 3], { mode: 'reflect' });
    assert.deepEqual(y.toArray(), [
      [
        [1, 2, 3, 2, 1, 0],
        [5, 6, 7, 6, 5, 4],
        [9, 10, 11, 10, 9, 8],
      ],
    ]);
    assert.deepEqual(gradOf(x, y), [
      [
        [5, 4, 4, 2],
        [11, 16, 16, 8],
        [17, 28, 28, 14],
      ],
    ]);
  });
  test('replicate matches torch, values and gradient', () => {
    const x = x3();
    const y = ad.pad(x, [1, 2, 2, -1], { mode: 'replicate' });
    assert.deepEqual(y.toArray(), [
      [
        [0, 0, 1, 2, 3, 3, 3],
        [0, 0, 1, 2, 3, 3, 3],
        [0, 0, 1, 2, 3, 3, 3],
        [4, 4, 5, 6, 7, 7, 7],
      ],
    ]);
    assert.deepEqual(gradOf(x, y), [
      [
        [45, 27, 30, 108],
        [43, 23, 24, 78],
        [0, 0, 0, 0],
      ],
    ]);
  });
  test('circular crops first, then wraps (as torch), values and gradient', () => {
    const x = range(1, 1, 3, 4);
    const y = ad.pad(x, [3, -1, -1, 2], { mode: 'circular' });
    assert.deepEqual(y.toArray(), [
      [
        [
          [4, 5, 6, 4, 5, 6],
          [8, 9, 10, 8, 9, 10],
          [4, 5, 6, 4, 5, 6],
          [8, 9, 10, 8, 9, 10],
        ],
      ],
    ]);
    assert.deepEqual(gradOf(x, y), [
      [
        [
          [0, 0, 0, 0],
          [30, 34, 38, 0],
          [54, 58, 62, 0],
        ],
      ],
    ]);
  });
  test('errors', () => {
    const x = ad.zeros([1, 3, 4]);
    assertThrowsMsg(() => ad.pad(x, [1]), ad.ValueError, 'pad', '[1, 3, 4]', '[1]', 'even');
    assertThrowsMsg(() => ad.pad(x, [1.5, 2]), ad.ValueError, 'pad', 'whole numbers');
    assertThrowsMsg(() => ad.pad(x, [1, 1, 1, 1, 1, 1, 1, 1]), ad.ShapeError, 'pad', 'pads 4 dims', 'only 3');
    assertThrowsMsg(() => ad.pad(x, [-3, -2]), ad.ShapeError, 'pad', 'dim 2 (size 4)', 'size -1', 'crop less');
    assertThrowsMsg(
      () => ad.pad(x, [1, 1], { mode: 'wrap' as never }),
      ad.ArgumentError,
      'pad: mode must be one of',
      "'circular'",
      '"wrap"',
    );
    assertThrowsMsg(
      () => ad.pad(x, [1, 1], { mode: 'reflect', value: 2 }),
      ad.ValueError,
      "mode 'reflect' takes no value",
    );
    assertThrowsMsg(() => ad.pad(x, [4, 0], { mode: 'reflect' }), ad.ShapeError, 'pad (reflect)', 'smaller than');
    assertThrowsMsg(() => ad.pad(x, [-2, -2], { mode: 'reflect' }), ad.ShapeError, 'size 0', 'size ≥ 1');
    assertThrowsMsg(() => ad.pad(x, [5, 0], { mode: 'circular' }), ad.ShapeError, 'wraps at most once', '(4)');
    assertThrowsMsg(() => ad.pad(x, [-5, 0], { mode: 'circular' }), ad.ShapeError, 'crops more than');
    assertThrowsMsg(
      () => ad.pad(ad.zeros([4]), [1, 1], { mode: 'replicate' }),
      ad.ShapeError,
      "mode 'replicate'",
      'at least 2',
      'unsqueeze(0)',
    );
    assertThrowsMsg(
      () => ad.pad(ad.zeros([2, 0]), [1, 0], { mode: 'replicate' }),
      ad.ShapeError,
      'no edge value to replicate',
    );
  });
});

describe('cat and stack', () => {
  test('dtype promotion across inputs, as torch.cat', () => {
    const i = ad.tensor([[1, 2]], { dtype: 'int32' });
    const b = ad.tensor([[true, false]]);
    const f = ad.tensor([[0.5, 1.5]]);
    const d = ad.tensor([[2.5, 3.5]], { dtype: 'float64' });
    assert.equal(ad.cat([b, i]).dtype, 'int32');
    assert.deepEqual(ad.cat([b, i]).toArray(), [
      [1, 0],
      [1, 2],
    ]);
    assert.equal(ad.cat([i, f]).dtype, 'float32');
    assert.deepEqual(ad.cat([i, f]).toArray(), [
      [1, 2],
      [0.5, 1.5],
    ]);
    assert.equal(ad.cat([f, d]).dtype, 'float64');
    assert.equal(ad.stack([i, f]).dtype, 'float32');
  });
  test('the gradient of each input is its slice of g, in the input dtype', () => {
    const a = ad.tensor([[1, 2]], { requiresGrad: true });
    const b = f64([
      [3, 4],
      [5, 6],
    ]);
    const y = ad.cat([a, b], 0);
    assert.equal(y.dtype, 'float64');
    y.mul(weights(y)).sum().backward();
    assert.equal(a.grad!.dtype, 'float32');
    assert.deepEqual(a.grad!.toArray(), [[0, 1]]);
    assert.deepEqual(b.grad!.toArray(), [
      [2, 3],
      [4, 5],
    ]);
  });
  test("PyTorch's legacy rule: 1-D empty tensors are skipped, but still promote", () => {
    const e = ad.zeros([0], { dtype: 'float64', requiresGrad: true });
    const x = ad.ones([2, 3], { requiresGrad: true });
    const y = ad.cat([e, x], 1);
    assert.deepEqual(y.shape, [2, 3]);
    assert.equal(y.dtype, 'float64');
    y.sum().backward();
    assert.deepEqual(e.grad!.shape, [0]);
    assert.deepEqual(x.grad!.toArray(), [
      [1, 1, 1],
      [1, 1, 1],
    ]);
    assert.deepEqual(ad.cat([ad.zeros([0]), ad.zeros([0])]).shape, [0]);
    assert.deepEqual(ad.cat([ad.zeros([0, 3]), ad.zeros([2, 3])]).shape, [2, 3]);
  });
  test('stack values, negative dim, 0-d inputs', () => {
    const a = ad.tensor([1, 2]);
    const b = ad.tensor([3, 4]);
    assert.deepEqual(ad.stack([a, b], -1).toArray(), [
      [1, 3],
      [2, 4],
    ]);
    assert.deepEqual(ad.stack([ad.tensor(1), ad.tensor(2)]).toArray(), [1, 2]);
  });
  test('errors', () => {
    const x = ad.zeros([2, 3]);
    assertThrowsMsg(() => ad.cat([]), ad.ValueError, 'cat', 'non-empty');
    assertThrowsMsg(() => ad.cat([ad.tensor(1), x]), ad.ShapeError, 'cat', 'tensor 0 is 0-d', '[], [2, 3]', 'stack');
    assertThrowsMsg(
      () => ad.cat([x, ad.zeros([2, 4, 5])]),
      ad.ShapeError,
      'cat',
      'tensor 1 has 3 dims',
      '[2, 3], [2, 4, 5]',
    );
    assertThrowsMsg(
      () => ad.cat([x, ad.zeros([2, 4])]),
      ad.ShapeError,
      'cat',
      '[2, 3], [2, 4]',
      'except in the cat dim 0',
      '3 ≠ 4',
    );
    assertThrowsMsg(() => ad.cat([x], 2), ad.IndexError, 'cat', 'dim 2', '[2, 3]');
    assertThrowsMsg(() => ad.stack([]), ad.ValueError, 'stack', 'non-empty');
    assertThrowsMsg(
      () => ad.stack([x, ad.zeros([2, 4])]),
      ad.ShapeError,
      'stack',
      'same shape',
      'tensor 1 has [2, 4]',
      'cat',
    );
    assertThrowsMsg(() => ad.stack([x, x], 3), ad.IndexError, 'stack', 'dim 3', '[-3, 2]');
  });
});

describe('split, chunk, unbind', () => {
  test('split by size: uneven last piece, views of x', () => {
    const x = ad.arange(7, undefined, 1, { dtype: 'float32' });
    const parts = ad.split(x, 3);
    assert.deepEqual(
      parts.map((p) => p.toArray()),
      [[0, 1, 2], [3, 4, 5], [6]],
    );
    assert.ok(parts.every((p) => p._storage === x._storage));
    assert.deepEqual(
      ad.split(ad.zeros([5, 2]), 7).map((p) => p.shape),
      [[5, 2]],
    );
    assert.deepEqual(
      ad.split(ad.zeros([0, 2]), 0).map((p) => p.shape),
      [[0, 2]],
    );
  });
  test('split by sections, including empty ones, on a negative dim', () => {
    const x = ad.zeros([2, 5]);
    assert.deepEqual(
      x.split([1, 0, 4], -1).map((p) => p.shape),
      [
        [2, 1],
        [2, 0],
        [2, 4],
      ],
    );
  });
  test('the gradient of the pieces lands in place', () => {
    const x = range(5);
    const [a, b] = ad.split(x, [2, 3]);
    a.mul(10)
      .sum()
      .add(b.mul(ad.tensor([1, 2, 3], { dtype: 'float64' })).sum())
      .backward();
    assert.deepEqual(x.grad!.toArray(), [10, 10, 1, 2, 3]);
  });
  test('chunk sizes match torch.chunk', () => {
    const sizes = (n: number, c: number) => ad.chunk(ad.zeros([n]), c).map((p) => p.shape[0]);
    assert.deepEqual(sizes(10, 4), [3, 3, 3, 1]);
    assert.deepEqual(sizes(6, 4), [2, 2, 2]);
    assert.deepEqual(sizes(5, 7), [1, 1, 1, 1, 1]);
    assert.deepEqual(sizes(0, 3), [0, 0, 0]);
    assert.deepEqual(
      ad
        .zeros([2, 6])
        .chunk(4, -1)
        .map((p) => p.shape),
      [
        [2, 2],
        [2, 2],
        [2, 2],
      ],
    );
  });
  test('unbind', () => {
    const x = ad.tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.deepEqual(
      x.unbind(1).map((p) => p.toArray()),
      [
        [1, 3, 5],
        [2, 4, 6],
      ],
    );
    assert.deepEqual(ad.unbind(ad.zeros([0, 2])), []);
    assert.deepEqual(ad.unbind(ad.tensor([7, 8]))[1].shape, []);
  });
  test('errors', () => {
    const x = ad.zeros([5, 2]);
    assertThrowsMsg(() => ad.split(x, [1, 3]), ad.ShapeError, 'split', '[1, 3]', 'add up to 4', '[5, 2]', 'size 5');
    assertThrowsMsg(() => ad.split(x, [6, -1]), ad.ValueError, 'split', '[6, -1]', '≥ 0');
    assertThrowsMsg(() => ad.split(x, 0), ad.ValueError, 'split', 'size of 0', '[5, 2]', 'size 5');
    assertThrowsMsg(() => ad.split(x, -1), ad.ValueError, 'split', 'whole number ≥ 0', '-1');
    assertThrowsMsg(() => ad.split(ad.tensor(1), 1), ad.ShapeError, 'split', '0-d', 'at least 1 dim');
    assertThrowsMsg(() => ad.split(x, 2, 2), ad.IndexError, 'split', 'dim 2', '[5, 2]');
    assertThrowsMsg(() => ad.chunk(x, 0), ad.ArgumentError, 'chunk', 'chunks', '≥ 1', 'got 0');
    assertThrowsMsg(() => ad.chunk(ad.tensor(1), 2), ad.ShapeError, 'chunk', '0-d');
    assertThrowsMsg(() => ad.unbind(ad.tensor(1)), ad.ShapeError, 'unbind', '0-d');
  });
});

describe('repeat and tile', () => {
  test('repeat values and the gradient sums the copies', () => {
    const x = f64([
      [1, 2],
      [3, 4],
    ]);
    const y = x.repeat(2, 1, 3);
    assert.deepEqual(y.shape, [2, 2, 6]);
    assert.deepEqual(y.toArray(), [
      [
        [1, 2, 1, 2, 1, 2],
        [3, 4, 3, 4, 3, 4],
      ],
      [
        [1, 2, 1, 2, 1, 2],
        [3, 4, 3, 4, 3, 4],
      ],
    ]);
    assert.deepEqual(gradOf(x, y), [
      [48, 54],
      [84, 90],
    ]);
  });
  test('repeat copies even when every count is 1; zero counts give empty dims', () => {
    const x = ad.zeros([2, 3]);
    assert.notEqual(x.repeat(1, 1)._storage, x._storage);
    assert.deepEqual(x.repeat(0, 2).shape, [0, 6]);
    assert.deepEqual(ad.tensor(1).repeat(2, 3).shape, [2, 3]);
  });
  test('tile pads the counts with leading 1s', () => {
    assert.deepEqual(ad.tensor([1, 2, 3]).tile([2, 2]).toArray(), [
      [1, 2, 3, 1, 2, 3],
      [1, 2, 3, 1, 2, 3],
    ]);
    assert.deepEqual(ad.zeros([2, 3]).tile(2).shape, [2, 6]);
    assert.deepEqual(ad.zeros([2, 3]).tile([]).shape, [2, 3]);
  });
  test('errors', () => {
    const x = ad.zeros([2, 3]);
    assertThrowsMsg(() => x.repeat(2), ad.ShapeError, 'repeat', '[2]', '[2, 3]', 'at least one per dim', 'tile');
    assertThrowsMsg(() => x.repeat(-1, 2), ad.ValueError, 'repeat', '[-1, 2]', '≥ 0', '[2, 3]');
    assertThrowsMsg(() => x.tile(-1, 2), ad.ValueError, 'repeat', '[-1, 2]');
  });
});

describe('tril and triu', () => {
  const m = () => ad.arange(1, 13, 1, { dtype: 'float32' }).reshape(3, 4);
  test('values match torch for positive and negative diagonals', () => {
    assert.deepEqual(ad.tril(m(), -1).toArray(), [
      [0, 0, 0, 0],
      [5, 0, 0, 0],
      [9, 10, 0, 0],
    ]);
    assert.deepEqual(m().triu(1).toArray(), [
      [0, 2, 3, 4],
      [0, 0, 7, 8],
      [0, 0, 0, 12],
    ]);
    assert.deepEqual(m().reshape(4, 3).tril(1).toArray(), [
      [1, 2, 0],
      [4, 5, 6],
      [7, 8, 9],
      [10, 11, 12],
    ]);
    assert.deepEqual(m().reshape(2, 2, 3).triu(-1).toArray(), m().reshape(2, 2, 3).toArray());
  });
  test('dtypes are kept and the gradient is masked', () => {
    const b = ad.tril(ad.ones([3, 4], { dtype: 'bool' }), -1);
    assert.equal(b.dtype, 'bool');
    assert.deepEqual(b.toArray(), [
      [false, false, false, false],
      [true, false, false, false],
      [true, true, false, false],
    ]);
    const x = range(2, 2);
    x.triu().sum().backward();
    assert.deepEqual(x.grad!.toArray(), [
      [1, 1],
      [0, 1],
    ]);
  });
  test('errors', () => {
    assertThrowsMsg(() => ad.tril(ad.zeros([3])), ad.ShapeError, 'tril', '[3]', 'at least 2 dims');
    assertThrowsMsg(() => ad.triu(ad.zeros([3, 3]), 0.5), ad.ValueError, 'triu', 'whole number', '0.5');
  });
});
