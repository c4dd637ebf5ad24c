/**
 * @file Values and gradients of the indexing ops (gather, scatterAdd, indexSelect, maskedFill, oneHot) against
 * numbers computed with PyTorch 1.13 — duplicate indices included — and the message of every error they throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const f64 = (data: ad.NestedArray) => ad.tensor(data, { dtype: 'float64', requiresGrad: true });
const i32 = (data: ad.NestedArray) => ad.tensor(data, { dtype: 'int32' });
const seq = (n: number, shape: number[], start = 0) =>
  ad.arange(start, start + n, 1, { dtype: 'float64' }).reshape(shape);

describe('gather', () => {
  const x = () =>
    f64([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
    ]);
  test('values along both dims match torch.gather', () => {
    assert.deepEqual(
      ad
        .gather(
          x(),
          0,
          i32([
            [2, 0, 1, 0],
            [2, 2, 0, 1],
          ]),
        )
        .toArray(),
      [
        [9, 2, 7, 4],
        [9, 10, 3, 8],
      ],
    );
    assert.deepEqual(
      x()
        .gather(
          -1,
          i32([
            [0, 0, 3],
            [2, 2, 2],
          ]),
        )
        .toArray(),
      [
        [1, 1, 4],
        [7, 7, 7],
      ],
    );
  });
  test('duplicate indices accumulate in the gradient (scatterAdd into zeros)', () => {
    const a = x();
    const y = ad.gather(
      a,
      1,
      i32([
        [0, 0, 3],
        [2, 2, 2],
      ]),
    );
    y.mul(
      ad.tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { dtype: 'float64' },
      ),
    )
      .sum()
      .backward();
    assert.deepEqual(a.grad!.toArray(), [
      [3, 0, 0, 3],
      [0, 0, 15, 0],
      [0, 0, 0, 0],
    ]);
  });
  test('0-d operands act as 1-D of size 1, as in PyTorch', () => {
    assert.equal(ad.gather(ad.tensor(5), 0, i32(0)).item(), 5);
    assert.deepEqual(ad.gather(ad.tensor(5), 0, i32([0, 0])).toArray(), [5, 5]);
    assert.deepEqual(ad.gather(ad.tensor([5, 6]), 0, i32(1)).shape, []);
    assert.deepEqual(ad.gather(ad.zeros([2, 3]), 0, ad.zeros([0, 5], { dtype: 'int32' })).shape, [0, 5]);
  });
  test('an out-of-range index throws before any kernel runs or any output is allocated', () => {
    const a = ad.zeros([2, 3], { requiresGrad: true });
    const idx = i32([[0], [3]]);
    ad.trackMemory(true);
    try {
      const before = ad.memoryStats().allocations;
      assert.throws(() => ad.gather(a, 1, idx), ad.IndexError);
      assert.throws(() => ad.scatterAdd(a, 1, idx, ad.ones([2, 1]).detach()), ad.IndexError);
      assert.equal(ad.memoryStats().allocations, before + 1, 'only the ones() above allocates');
    } finally {
      ad.trackMemory(false);
    }
  });
  test('errors', () => {
    const a = ad.zeros([2, 3]);
    assertThrowsMsg(
      () => ad.gather(a, 1, i32([[0], [3]])),
      ad.IndexError,
      'gather',
      'index 3',
      'position [1, 0]',
      'dim 1',
      '[0, 2] (size 3)',
      '[2, 3]',
      '[2, 1]',
    );
    assertThrowsMsg(() => ad.gather(a, 1, i32([[0], [-1]])), ad.IndexError, 'index -1', 'negative indices');
    assertThrowsMsg(
      () => ad.gather(a, 1, ad.tensor([[0], [1]])),
      ad.DTypeError,
      'gather',
      'int32',
      'float32',
      '.int()',
    );
    assertThrowsMsg(() => ad.gather(a, 1, i32([0, 1])), ad.ShapeError, 'gather', '1 dim but x has 2', '[2, 3]', '[2]');
    assertThrowsMsg(
      () => ad.gather(a, 0, ad.zeros([1, 5], { dtype: 'int32' })),
      ad.ShapeError,
      'gather',
      'larger than x at dim 1',
      '5 > 3',
      '[1, 5]',
    );
    assertThrowsMsg(() => ad.gather(a, 2, i32([[0]])), ad.IndexError, 'gather', 'dim 2', '[2, 3]');
    assertThrowsMsg(() => ad.gather(ad.zeros([2, 0]), 1, i32([[0]])), ad.IndexError, 'dim 1 has size 0');
  });
});

describe('scatterAdd', () => {
  test('values with duplicate indices, src larger than the index; gradients of x and src', () => {
    const x = ad.zeros([3, 4], { dtype: 'float64', requiresGrad: true });
    const src = seq(10, [2, 5], 1).requiresGrad_(true);
    const y = x.scatterAdd(
      1,
      i32([
        [0, 0, 3],
        [1, 1, 1],
      ]),
      src,
    );
    assert.deepEqual(y.toArray(), [
      [3, 0, 0, 3],
      [0, 21, 0, 0],
      [0, 0, 0, 0],
    ]);
    y.mul(seq(12, [3, 4]))
      .sum()
      .backward();
    assert.deepEqual(x.grad!.toArray(), seq(12, [3, 4]).toArray());
    // The src elements no index reaches get no gradient (PyTorch 1.13 rejects this case in backward).
    assert.deepEqual(src.grad!.toArray(), [
      [0, 0, 3, 0, 0],
      [5, 5, 5, 0, 0],
    ]);
  });
  test('0-d operands act as 1-D of size 1; a 0-d index picks src[0]', () => {
    assert.equal(ad.scatterAdd(ad.tensor(1), 0, i32(0), ad.tensor(2)).item(), 3);
    const x = ad.zeros([3], { dtype: 'float64', requiresGrad: true });
    const src = f64([5, 6]);
    const y = ad.scatterAdd(x, 0, i32(2), src);
    assert.deepEqual(y.toArray(), [0, 0, 5]);
    y.mul(seq(3, [3], 1))
      .sum()
      .backward();
    assert.deepEqual(src.grad!.toArray(), [3, 0]);
  });
  test('x is not modified', () => {
    const x = ad.zeros([3]);
    ad.scatterAdd(x, 0, i32([1]), ad.ones([1]));
    assert.deepEqual(x.toArray(), [0, 0, 0]);
  });
  test('errors', () => {
    const x = ad.zeros([2, 3]);
    const idx = ad.zeros([2, 2], { dtype: 'int32' });
    assertThrowsMsg(
      () => ad.scatterAdd(x, 1, idx, ad.zeros([2, 2], { dtype: 'float64' })),
      ad.DTypeError,
      'scatterAdd',
      'src is float64 but x is float32',
      "to('float32')",
    );
    assertThrowsMsg(
      () => ad.scatterAdd(x, 1, idx, ad.zeros([2, 1])),
      ad.ShapeError,
      'scatterAdd',
      'larger than src at dim 1',
      '[2, 3]',
      '[2, 2]',
      '[2, 1]',
    );
    assertThrowsMsg(
      () => ad.scatterAdd(x, 1, ad.zeros([3, 2], { dtype: 'int32' }), ad.zeros([3, 3])),
      ad.ShapeError,
      'scatterAdd',
      'larger than x at dim 0',
    );
    assertThrowsMsg(
      () => ad.scatterAdd(x, 1, i32([[0, 3]]), ad.zeros([1, 2])),
      ad.IndexError,
      'scatterAdd',
      'index 3',
      'position [0, 1]',
      'size 3',
    );
    assertThrowsMsg(
      () => ad.scatterAdd(x, 0, i32([[0, 1]]), ad.zeros([2])),
      ad.ShapeError,
      'scatterAdd',
      'src has 1 dim but the index has 2',
    );
    assertThrowsMsg(() => ad.scatterAdd(x, 0, ad.zeros([1, 2]), ad.zeros([1, 2])), ad.DTypeError, 'int32');
    assertThrowsMsg(() => ad.scatterAdd(x, 0, idx, 1 as never), ad.ValueError, 'scatterAdd', 'src must be a Tensor');
  });
});

describe('indexSelect', () => {
  test('values and the index_add gradient with repeated indices', () => {
    const x = seq(12, [4, 3]).requiresGrad_(true);
    const y = ad.indexSelect(x, 0, i32([3, 0, 3]));
    assert.deepEqual(y.toArray(), [
      [9, 10, 11],
      [0, 1, 2],
      [9, 10, 11],
    ]);
    y.mul(seq(9, [3, 3]))
      .sum()
      .backward();
    assert.deepEqual(x.grad!.toArray(), [
      [3, 4, 5],
      [0, 0, 0],
      [0, 0, 0],
      [6, 8, 10],
    ]);
  });
  test('negative dims, 0-d index and 0-d x, empty index', () => {
    const x = seq(6, [2, 3]);
    assert.deepEqual(x.indexSelect(-1, i32([2, 0])).toArray(), [
      [2, 0],
      [5, 3],
    ]);
    assert.deepEqual(ad.indexSelect(ad.tensor([5, 6]), 0, i32(1)).toArray(), [6]);
    assert.equal(ad.indexSelect(ad.tensor(5), 0, i32([0])).item(), 5);
    assert.deepEqual(ad.indexSelect(x, 0, i32([])).shape, [0, 3]);
  });
  test('errors', () => {
    const x = ad.zeros([2, 3]);
    assertThrowsMsg(() => ad.indexSelect(x, 1, i32([[1]])), ad.ShapeError, 'indexSelect', '1-D or 0-d', '[1, 1]');
    assertThrowsMsg(
      () => ad.indexSelect(x, 1, i32([0, 5])),
      ad.IndexError,
      'indexSelect',
      'index 5',
      'position [1]',
      'size 3',
    );
    assertThrowsMsg(() => ad.indexSelect(x, 1, ad.tensor([1])), ad.DTypeError, 'indexSelect', 'int32');
    assertThrowsMsg(() => ad.indexSelect(ad.tensor(5), 0, i32([0, 0])), ad.ShapeError, '0-d x', 'one index');
  });
});

describe('maskedFill', () => {
  test('values, and the gradient goes to x where kept and to a 0-d value where filled', () => {
    const x = seq(6, [2, 3]).requiresGrad_(true);
    const v = ad.tensor(2.5, { dtype: 'float64', requiresGrad: true });
    const y = x.maskedFill(ad.tensor([true, false, true]), v);
    assert.deepEqual(y.toArray(), [
      [2.5, 1, 2.5],
      [2.5, 4, 2.5],
    ]);
    y.mul(seq(6, [2, 3], 1))
      .sum()
      .backward();
    assert.deepEqual(x.grad!.toArray(), [
      [0, 2, 0],
      [0, 5, 0],
    ]);
    assert.equal(v.grad!.item(), 14);
  });
  test("the result keeps x's dtype, as PyTorch", () => {
    const y = ad.maskedFill(i32([0, 0, 0]), ad.tensor([true, true, false]), 2.5);
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(y.toArray(), [2, 2, 0]);
    const z = ad.maskedFill(ad.zeros([2]), ad.tensor([true, false]), ad.tensor(1.5, { dtype: 'float64' }));
    assert.equal(z.dtype, 'float32');
  });
  test('errors', () => {
    const x = ad.zeros([3]);
    assertThrowsMsg(() => ad.maskedFill(x, ad.zeros([3]), 1), ad.DTypeError, 'maskedFill', 'bool', 'float32');
    assertThrowsMsg(
      () => ad.maskedFill(x, ad.ones([2, 3], { dtype: 'bool' }), 1),
      ad.ShapeError,
      'maskedFill',
      'broadcast x to [2, 3]',
      "keeps x's shape",
      '[3]',
    );
    assertThrowsMsg(
      () => ad.maskedFill(x, ad.ones([2], { dtype: 'bool' }), 1),
      ad.ShapeError,
      'maskedFill',
      '[3] and [2]',
    );
    assertThrowsMsg(
      () => ad.maskedFill(x, ad.ones([3], { dtype: 'bool' }), ad.zeros([1])),
      ad.ShapeError,
      'maskedFill',
      'must be 0-d',
      '[1]',
    );
  });
});

describe('oneHot', () => {
  test('values, inferred and explicit class counts, 0-d and empty indices', () => {
    const y = ad.oneHot(i32([0, 2, 1]));
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(y.toArray(), [
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ]);
    assert.deepEqual(
      ad
        .oneHot(
          i32([
            [1, 0],
            [3, 3],
          ]),
          5,
        )
        .toArray(),
      [
        [
          [0, 1, 0, 0, 0],
          [1, 0, 0, 0, 0],
        ],
        [
          [0, 0, 0, 1, 0],
          [0, 0, 0, 1, 0],
        ],
      ],
    );
    assert.deepEqual(ad.oneHot(i32(2)).toArray(), [0, 0, 1]);
    assert.deepEqual(ad.oneHot(i32([]), 3).shape, [0, 3]);
    assert.equal(ad.oneHot(i32([1])).requiresGrad, false);
  });
  test('errors', () => {
    assertThrowsMsg(
      () => ad.oneHot(i32([0, 2, 1]), 2),
      ad.IndexError,
      'oneHot',
      'class 2',
      'position [1]',
      'numClasses 2',
      '[3]',
    );
    assertThrowsMsg(() => ad.oneHot(i32([0, -2, 1]), 5), ad.IndexError, 'oneHot', 'class -2', 'negative');
    assertThrowsMsg(() => ad.oneHot(i32([])), ad.ValueError, 'oneHot', 'empty', 'pass numClasses');
    assertThrowsMsg(() => ad.oneHot(i32([0]), 0), ad.ValueError, 'oneHot', '-1 (infer)', 'got 0');
    assertThrowsMsg(() => ad.oneHot(ad.tensor([1])), ad.DTypeError, 'oneHot', 'int32', 'float32');
  });
});
