/**
 * @file Printing against torch 1.13's repr: every expected string below was produced by torch for the same values,
 * changed only where we differ on purpose (dtype=... is always printed; grad_fn names have no version digit).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import * as ad from '../src/index.js';

const cases: [string, () => ad.Tensor, string][] = [
  [
    'fixed 4 decimals, negatives aligned',
    () => ad.tensor([1.5, -2.25, 3]),
    'tensor([ 1.5000, -2.2500,  3.0000], dtype=float32)',
  ],
  ['integer-valued floats print as 1.', () => ad.tensor([1, 2, 3]), 'tensor([1., 2., 3.], dtype=float32)'],
  ['integer-valued with negatives and zero', () => ad.tensor([-1, 0, 10]), 'tensor([-1.,  0., 10.], dtype=float32)'],
  [
    'wide range goes scientific',
    () => ad.tensor([1e-5, 1, 100]),
    'tensor([1.0000e-05, 1.0000e+00, 1.0000e+02], dtype=float32)',
  ],
  ['tiny values go scientific', () => ad.tensor([1e-5, -2e-5]), 'tensor([ 1.0000e-05, -2.0000e-05], dtype=float32)'],
  ['huge integers go scientific', () => ad.tensor([1e9, 1]), 'tensor([1.0000e+09, 1.0000e+00], dtype=float32)'],
  ['huge non-integers go scientific', () => ad.tensor([1.5e9, 2.5]), 'tensor([1.5000e+09, 2.5000e+00], dtype=float32)'],
  [
    'integer-valued range over 1000 goes scientific',
    () => ad.tensor([1, 123465]),
    'tensor([1.0000e+00, 1.2346e+05], dtype=float32)',
  ],
  ['ties round to even like Python', () => ad.tensor([0.03125, 1.5]), 'tensor([0.0312, 1.5000], dtype=float32)'],
  [
    'nan and inf in fixed mode',
    () => ad.tensor([NaN, Infinity, -Infinity, 1.5]),
    'tensor([   nan,    inf,   -inf, 1.5000], dtype=float32)',
  ],
  [
    'nan in scientific mode',
    () => ad.tensor([NaN, 1e-5, 1]),
    'tensor([       nan, 1.0000e-05, 1.0000e+00], dtype=float32)',
  ],
  ['nonfinite values do not set the width', () => ad.tensor([-Infinity, 1]), 'tensor([-inf, 1.], dtype=float32)'],
  ['all nan', () => ad.tensor([NaN, NaN]), 'tensor([nan, nan], dtype=float32)'],
  ['zeros', () => ad.zeros([3]), 'tensor([0., 0., 0.], dtype=float32)'],
  ['zeros do not set the width', () => ad.tensor([0, 100]), 'tensor([  0., 100.], dtype=float32)'],
  ['negative zero keeps its sign', () => ad.tensor([-0, 1]), 'tensor([-0., 1.], dtype=float32)'],
  [
    'tiny negatives go scientific with their sign',
    () => ad.tensor([-0.00001, 1, 0.5]),
    'tensor([-1.0000e-05,  1.0000e+00,  5.0000e-01], dtype=float32)',
  ],
  ['float64', () => ad.tensor([0.1, 0.2], { dtype: 'float64' }), 'tensor([0.1000, 0.2000], dtype=float64)'],
  [
    'float64 near-integers are not integers',
    () => ad.tensor([1 + 1e-12, 2], { dtype: 'float64' }),
    'tensor([1.0000, 2.0000], dtype=float64)',
  ],
  ['int32', () => ad.tensor([1, -20, 300], { dtype: 'int32' }), 'tensor([  1, -20, 300], dtype=int32)'],
  ['bool', () => ad.tensor([true, false, true]), 'tensor([ True, False,  True], dtype=bool)'],
  ['bool, all True', () => ad.tensor([true, true]), 'tensor([True, True], dtype=bool)'],
  ['0-d float', () => ad.tensor(3.5), 'tensor(3.5000, dtype=float32)'],
  ['0-d integer-valued float', () => ad.tensor(3), 'tensor(3., dtype=float32)'],
  ['0-d zero', () => ad.tensor(0), 'tensor(0., dtype=float32)'],
  ['0-d nan', () => ad.tensor(NaN), 'tensor(nan, dtype=float32)'],
  ['0-d tiny', () => ad.tensor(-0.0001), 'tensor(-1.0000e-04, dtype=float32)'],
  ['0-d int32', () => ad.tensor(7, { dtype: 'int32' }), 'tensor(7, dtype=int32)'],
  ['0-d bool', () => ad.tensor(false), 'tensor(False, dtype=bool)'],
  ['empty 1-d', () => ad.zeros([0]), 'tensor([], dtype=float32)'],
  ['empty 2-d shows its size', () => ad.zeros([0, 3]), 'tensor([], size=(0, 3), dtype=float32)'],
  ['empty 3-d int32', () => ad.zeros([2, 0, 4], { dtype: 'int32' }), 'tensor([], size=(2, 0, 4), dtype=int32)'],
  ['empty bool', () => ad.zeros([3, 0], { dtype: 'bool' }), 'tensor([], size=(3, 0), dtype=bool)'],
  [
    '2-d',
    () => ad.arange(12).reshape(3, 4).float().div(3),
    'tensor([[0.0000, 0.3333, 0.6667, 1.0000],\n        [1.3333, 1.6667, 2.0000, 2.3333],\n        [2.6667, 3.0000, 3.3333, 3.6667]], dtype=float32)',
  ],
  [
    '2-d int32',
    () => ad.arange(-6, 6).reshape(3, 4),
    'tensor([[-6, -5, -4, -3],\n        [-2, -1,  0,  1],\n        [ 2,  3,  4,  5]], dtype=int32)',
  ],
  [
    '3-d blank lines between blocks',
    () => ad.arange(24).reshape(2, 3, 4).sub(12).float().mul(0.5),
    'tensor([[[-6.0000, -5.5000, -5.0000, -4.5000],\n         [-4.0000, -3.5000, -3.0000, -2.5000],\n         [-2.0000, -1.5000, -1.0000, -0.5000]],\n\n        [[ 0.0000,  0.5000,  1.0000,  1.5000],\n         [ 2.0000,  2.5000,  3.0000,  3.5000],\n         [ 4.0000,  4.5000,  5.0000,  5.5000]]], dtype=float32)',
  ],
  [
    '4-d',
    () => ad.arange(16).reshape(2, 2, 2, 2),
    'tensor([[[[ 0,  1],\n          [ 2,  3]],\n\n         [[ 4,  5],\n          [ 6,  7]]],\n\n\n        [[[ 8,  9],\n          [10, 11]],\n\n         [[12, 13],\n          [14, 15]]]], dtype=int32)',
  ],
  [
    'strided view prints its own elements',
    () => ad.arange(12).reshape(3, 4).T,
    'tensor([[ 0,  4,  8],\n        [ 1,  5,  9],\n        [ 2,  6, 10],\n        [ 3,  7, 11]], dtype=int32)',
  ],
  [
    'long rows wrap at 80 columns',
    () => ad.arange(30).float(),
    'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        28., 29.], dtype=float32)',
  ],
  [
    'long rows wrap, fixed',
    () => ad.arange(30).float().div(7),
    'tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n        3.8571, 4.0000, 4.1429], dtype=float32)',
  ],
  [
    'long int rows wrap',
    () => ad.arange(100),
    'tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n        36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,\n        54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,\n        72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,\n        90, 91, 92, 93, 94, 95, 96, 97, 98, 99], dtype=int32)',
  ],
  [
    'wrapped rows inside a matrix',
    () => ad.arange(60).reshape(2, 30).float().div(7),
    'tensor([[0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n         1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n         2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n         3.8571, 4.0000, 4.1429],\n        [4.2857, 4.4286, 4.5714, 4.7143, 4.8571, 5.0000, 5.1429, 5.2857, 5.4286,\n         5.5714, 5.7143, 5.8571, 6.0000, 6.1429, 6.2857, 6.4286, 6.5714, 6.7143,\n         6.8571, 7.0000, 7.1429, 7.2857, 7.4286, 7.5714, 7.7143, 7.8571, 8.0000,\n         8.1429, 8.2857, 8.4286]], dtype=float32)',
  ],
  [
    'long bool rows wrap',
    () => ad.arange(20).reshape(20).gt(9),
    'tensor([False, False, False, False, False, False, False, False, False, False,\n         True,  True,  True,  True,  True,  True,  True,  True,  True,  True],\n       dtype=bool)',
  ],
  [
    'suffix moves to a new line past 80 columns',
    () => ad.tensor([1e5, 2e-3, 3, 4, 5, 6]),
    'tensor([1.0000e+05, 2.0000e-03, 3.0000e+00, 4.0000e+00, 5.0000e+00, 6.0000e+00],\n       dtype=float32)',
  ],
  [
    'summarised 1-d',
    () => ad.arange(1001).float(),
    'tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.], dtype=float32)',
  ],
  [
    'summarised 1-d width from the edges only',
    () => ad.arange(2000).float().div(1000),
    'tensor([0.0000e+00, 1.0000e-03, 2.0000e-03,  ..., 1.9970e+00, 1.9980e+00,\n        1.9990e+00], dtype=float32)',
  ],
  [
    'summarised 2-d, short dims kept whole',
    () => ad.arange(2000).reshape(2, 1000),
    'tensor([[   0,    1,    2,  ...,  997,  998,  999],\n        [1000, 1001, 1002,  ..., 1997, 1998, 1999]], dtype=int32)',
  ],
  [
    'summarised 2-d, both dims cut',
    () => ad.arange(1200, 0, -1).reshape(40, 30).double().div(7),
    'tensor([[1.7143e+02, 1.7129e+02, 1.7114e+02,  ..., 1.6757e+02, 1.6743e+02,\n         1.6729e+02],\n        [1.6714e+02, 1.6700e+02, 1.6686e+02,  ..., 1.6329e+02, 1.6314e+02,\n         1.6300e+02],\n        [1.6286e+02, 1.6271e+02, 1.6257e+02,  ..., 1.5900e+02, 1.5886e+02,\n         1.5871e+02],\n        ...,\n        [1.2857e+01, 1.2714e+01, 1.2571e+01,  ..., 9.0000e+00, 8.8571e+00,\n         8.7143e+00],\n        [8.5714e+00, 8.4286e+00, 8.2857e+00,  ..., 4.7143e+00, 4.5714e+00,\n         4.4286e+00],\n        [4.2857e+00, 4.1429e+00, 4.0000e+00,  ..., 4.2857e-01, 2.8571e-01,\n         1.4286e-01]], dtype=float64)',
  ],
  [
    'summarised 3-d',
    () => ad.zeros([10, 10, 20]),
    'tensor([[[0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         ...,\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.]],\n\n        [[0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         ...,\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.]],\n\n        [[0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         ...,\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.]],\n\n        ...,\n\n        [[0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         ...,\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.]],\n\n        [[0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         ...,\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.]],\n\n        [[0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         ...,\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.],\n         [0., 0., 0.,  ..., 0., 0., 0.]]], dtype=float32)',
  ],
  [
    'summarised bool',
    () => ad.arange(2000).gt(1000),
    'tensor([False, False, False,  ...,  True,  True,  True], dtype=bool)',
  ],
  [
    'requires_grad=True on leaves',
    () => ad.tensor([1, 2], { requiresGrad: true }),
    'tensor([1., 2.], dtype=float32, requires_grad=True)',
  ],
  [
    'grad_fn on results',
    () => ad.tensor([1.5, -2], { requiresGrad: true }).mul(2),
    'tensor([ 3., -4.], dtype=float32, grad_fn=<MulBackward>)',
  ],
  [
    'grad_fn of a reduction',
    () => ad.tensor([1.5, -2], { requiresGrad: true }).sum(),
    'tensor(-0.5000, dtype=float32, grad_fn=<SumBackward>)',
  ],
  [
    'grad_fn of matmul',
    () =>
      ad
        .tensor(
          [
            [1, 2],
            [3, 4],
          ],
          { requiresGrad: true },
        )
        .matmul(ad.eye(2)),
    'tensor([[1., 2.],\n        [3., 4.]], dtype=float32, grad_fn=<MmBackward>)',
  ],
  [
    'grad_fn of a cast',
    () => ad.tensor([1, 2], { requiresGrad: true }).double(),
    'tensor([1., 2.], dtype=float64, grad_fn=<ToCopyBackward>)',
  ],
  [
    'grad_fn after a wrapped suffix',
    () => ad.tensor([1e5, 2e-3, 3, 4, 5, 6], { requiresGrad: true }).mul(3),
    'tensor([3.0000e+05, 6.0000e-03, 9.0000e+00, 1.2000e+01, 1.5000e+01, 1.8000e+01],\n       dtype=float32, grad_fn=<MulBackward>)',
  ],
];

describe('printing matches torch', () => {
  for (const [what, make, expected] of cases) {
    test(what, () => {
      assert.equal(String(make()), expected);
    });
  }
});

describe('printing entry points', () => {
  test('toString, template literals and util.inspect agree', () => {
    const x = ad.tensor([1.5, 2]);
    const s = 'tensor([1.5000, 2.0000], dtype=float32)';
    assert.equal(x.toString(), s);
    assert.equal(`${x}`, s);
    assert.equal(inspect(x), s);
  });

  test('printing a tensor does not change it or record a graph', () => {
    const x = ad.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(3);
    String(y);
    assert.deepEqual(y.toArray(), [3, 6]);
    assert.equal(y.gradFn?.name, 'MulBackward');
  });

  test('a dual tensor shows its tangent, as torch does inside forward AD', () => {
    ad.forwardAD(() => {
      const x = ad.makeDual(ad.tensor([1, 2]), ad.tensor([0.5, 0]));
      // torch moves a suffix that would pass 80 columns onto its own line.
      assert.equal(
        String(x),
        'tensor([1., 2.], dtype=float32,\n       tangent=tensor([0.5000, 0.0000], dtype=float32))',
      );
    });
  });
});
