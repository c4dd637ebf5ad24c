/**
 * @file Type promotion and casts against PyTorch 1.13 (torch.result_type and friends). Every expected dtype below is
 * what torch gives for the same operands, except where a JS number picks the integer dtype: our default integer is
 * int32 where torch's is int64 (bool + 2). Integer overflow, range errors and int64 itself: test/int64.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DType, promoteTypes, resultType } from '../src/core/dtype.js';
import * as ad from '../src/index.js';

const DTYPES: DType[] = ['float64', 'float32', 'int64', 'int32', 'bool'];
const t = (dtype: DType, shape: number[] = [3]) => ad.zeros(shape, { dtype });

// torch.result_type(a, b) for a = DTYPES[i], b = DTYPES[j]: [both with dims, a with dims and b 0-d, both 0-d].
const TORCH_RESULT: Record<DType, Record<DType, [DType, DType, DType]>> = {
  float64: {
    float64: ['float64', 'float64', 'float64'],
    float32: ['float64', 'float64', 'float64'],
    int64: ['float64', 'float64', 'float64'],
    int32: ['float64', 'float64', 'float64'],
    bool: ['float64', 'float64', 'float64'],
  },
  float32: {
    float64: ['float64', 'float32', 'float64'],
    float32: ['float32', 'float32', 'float32'],
    int64: ['float32', 'float32', 'float32'],
    int32: ['float32', 'float32', 'float32'],
    bool: ['float32', 'float32', 'float32'],
  },
  int64: {
    float64: ['float64', 'float64', 'float64'],
    float32: ['float32', 'float32', 'float32'],
    int64: ['int64', 'int64', 'int64'],
    int32: ['int64', 'int64', 'int64'],
    bool: ['int64', 'int64', 'int64'],
  },
  int32: {
    float64: ['float64', 'float64', 'float64'],
    float32: ['float32', 'float32', 'float32'],
    int64: ['int64', 'int32', 'int64'],
    int32: ['int32', 'int32', 'int32'],
    bool: ['int32', 'int32', 'int32'],
  },
  bool: {
    float64: ['float64', 'float64', 'float64'],
    float32: ['float32', 'float32', 'float32'],
    int64: ['int64', 'int64', 'int64'],
    int32: ['int32', 'int32', 'int32'],
    bool: ['bool', 'bool', 'bool'],
  },
};

// torch.result_type(tensor of dtype, python scalar) for the scalars 2, 2.5 and True; the same for 0-d tensors.
const TORCH_SCALAR: Record<DType, [DType, DType, DType]> = {
  float64: ['float64', 'float64', 'float64'],
  float32: ['float32', 'float32', 'float32'],
  int64: ['int64', 'float32', 'int64'],
  int32: ['int32', 'float32', 'int32'],
  bool: ['int32', 'float32', 'bool'], // bool + 2 is int64 in torch: a JS number's integer dtype is our default, int32
};

describe('promotion: tensor ⊕ tensor', () => {
  for (const a of DTYPES) {
    for (const b of DTYPES) {
      const [dims, zeroD, both0d] = TORCH_RESULT[a][b];
      test(`${a} ⊕ ${b}`, () => {
        assert.equal(t(a).add(t(b)).dtype, dims, 'both with dims');
        assert.equal(t(a).mul(t(b, [])).dtype, zeroD, 'second operand 0-d');
        assert.equal(t(a, []).add(t(b, [])).dtype, both0d, 'both 0-d');
        assert.equal(t(b, []).add(t(a)).dtype, zeroD, 'the 0-d operand first');
        assert.equal(promoteTypes(a, b), dims);
        assert.equal(
          resultType([
            { dtype: a, ndim: 1 },
            { dtype: b, ndim: 0 },
          ]),
          zeroD,
        );
      });
    }
  }

  test('a 0-d tensor of the same category never widens one with dims', () => {
    assert.equal(t('float32').add(t('float64', [])).dtype, 'float32');
    assert.equal(t('float32', [2, 2]).mul(ad.tensor(2.5, { dtype: 'float64' })).dtype, 'float32');
    // A 0-d tensor of a higher category brings its own dtype, not the default one.
    assert.equal(t('int32').add(t('float64', [])).dtype, 'float64');
    assert.equal(t('bool').add(t('int32', [])).dtype, 'int32');
  });

  test('broadcasting does not change the rule: a [1] tensor has dims', () => {
    assert.equal(t('float32').add(t('float64', [1])).dtype, 'float64');
  });

  test('three operands: dims, then 0-d, then wrapped numbers (torch.where)', () => {
    const cond = ad.tensor([true, false, true]);
    assert.equal(ad.where(cond, t('int32'), t('float64', [])).dtype, 'float64');
    assert.equal(ad.where(cond, t('int32'), 2.5).dtype, 'float32');
    assert.equal(ad.where(cond, t('float32'), t('float64', [])).dtype, 'float32');
    assert.equal(ad.where(cond, 1.5, 2.5).dtype, 'float32');
    assert.equal(
      resultType([
        { dtype: 'bool', ndim: 1 },
        { dtype: 'int32', ndim: 0 },
        { dtype: 'float32', ndim: 0, wrapped: true },
      ]),
      'float32',
    );
    assert.equal(
      resultType([
        { dtype: 'int32', ndim: 1 },
        { dtype: 'float64', ndim: 0 },
        { dtype: 'float32', ndim: 0, wrapped: true },
      ]),
      'float64',
    );
  });
});

describe('promotion: tensor ⊕ JS number (wrapped scalars)', () => {
  for (const a of DTYPES) {
    test(`${a} ⊕ 2, 2.5, true`, () => {
      const [int, float, bool] = TORCH_SCALAR[a];
      for (const shape of [[3], []]) {
        assert.equal(t(a, shape).add(2).dtype, int, `${a}${JSON.stringify(shape)} + 2`);
        assert.equal(t(a, shape).mul(2.5).dtype, float, `${a}${JSON.stringify(shape)} * 2.5`);
        assert.equal(t(a, shape).add(true).dtype, bool, `${a}${JSON.stringify(shape)} + true`);
      }
    });
  }

  test('the examples: float32·2.5 → float32, int32·2.5 → float32, int32·2 → int32, bool + 1 → int32', () => {
    assert.equal(t('float32').mul(2.5).dtype, 'float32');
    assert.equal(t('int32').mul(2.5).dtype, 'float32');
    assert.equal(t('int32').mul(2).dtype, 'int32');
    assert.equal(t('bool').add(1).dtype, 'int32');
    assert.equal(t('float64').mul(2.5).dtype, 'float64');
  });

  test('the value is computed in the result dtype', () => {
    assert.deepEqual(ad.tensor([1, 2], { dtype: 'int32' }).mul(2.5).toArray(), [2.5, 5]);
    assert.deepEqual(ad.tensor([true, false]).add(1).toArray(), [2, 1]);
    // float32 · 0.1 rounds 0.1 to float32 first, as torch does.
    assert.equal(ad.tensor([3]).mul(0.1).item(), Math.fround(Math.fround(3) * Math.fround(0.1)));
  });

  test('a number on the left (rsub, reflected div) follows the same rule', () => {
    assert.equal(ad.rsub(t('int32'), 1).dtype, 'int32');
    assert.equal(ad.rsub(t('int32'), 1.5).dtype, 'float32');
    assert.equal(ad.div(2, t('int32')).dtype, 'float32');
    assert.equal(ad.div(2, t('float64')).dtype, 'float64');
  });
});

describe('result dtypes of op families', () => {
  test('div of integers and bools is the default float (true division)', () => {
    for (const a of DTYPES) {
      for (const b of DTYPES) {
        const expected = a === 'float64' || b === 'float64' ? 'float64' : 'float32';
        assert.equal(t(a).div(t(b)).dtype, expected, `${a} / ${b}`);
      }
      assert.equal(t(a).div(2).dtype, a === 'float64' ? 'float64' : 'float32', `${a} / 2`);
    }
    assert.deepEqual(ad.tensor([7, -7], { dtype: 'int32' }).div(2).toArray(), [3.5, -3.5]);
  });

  test('comparisons give bool for every pair', () => {
    for (const a of DTYPES) {
      for (const b of DTYPES) {
        for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
          assert.equal(t(a)[op](t(b)).dtype, 'bool', `${a} ${op} ${b}`);
        }
      }
      assert.equal(t(a).lt(2.5).dtype, 'bool');
    }
  });

  test('float unary ops lift int32 and bool to float32, keep float dtypes', () => {
    for (const op of ['exp', 'log', 'sqrt', 'sin', 'tanh', 'sigmoid'] as const) {
      assert.equal(t('int32')[op]().dtype, 'float32', `${op} int32`);
      assert.equal(t('bool')[op]().dtype, 'float32', `${op} bool`);
      assert.equal(t('float64')[op]().dtype, 'float64', `${op} float64`);
      assert.equal(t('float32')[op]().dtype, 'float32', `${op} float32`);
    }
    assert.equal(ad.tensor([0, 1], { dtype: 'int32' }).exp().dataSync()[1], Math.fround(Math.E));
  });

  test('abs and neg keep int32', () => {
    assert.equal(t('int32').abs().dtype, 'int32');
    assert.equal(t('int32').neg().dtype, 'int32');
  });

  test('sum and prod of int32, int64 and bool are int64, as in torch; of floats their own dtype', () => {
    for (const d of ['int32', 'int64', 'bool'] as const) {
      assert.equal(t(d).sum().dtype, 'int64', `sum ${d}`);
      assert.equal(t(d).sum(0).dtype, 'int64', `sum ${d} over dim 0`);
      assert.equal(t(d).prod().dtype, 'int64', `prod ${d}`);
    }
    assert.equal(t('float32').sum().dtype, 'float32');
    assert.equal(t('float64').sum(0).dtype, 'float64');
    assert.equal(ad.tensor([true, true, false]).sum().item(), 2);
    assert.equal(t('int32').sum(null, false, { dtype: 'float64' }).dtype, 'float64');
  });
});

describe('dtype errors torch raises', () => {
  const todo = (what: string, _where: string, fn: () => unknown) =>
    test(what, () => {
      assert.throws(fn, { name: 'DTypeError' });
    });
  todo('mean of an int32 tensor (torch: "could not infer output dtype")', 'reduce.ts mean', () =>
    ad.tensor([1, 2], { dtype: 'int32' }).mean(),
  );
  todo('neg of a bool tensor (torch: use logicalNot)', 'elementwise.ts neg', () => ad.tensor([true]).neg());
  todo('abs of a bool tensor', 'elementwise.ts abs', () => ad.tensor([true]).abs());
  todo('sub of two bool tensors (torch: use logicalXor)', 'elementwise.ts sub', () =>
    ad.tensor([true]).sub(ad.tensor([false])),
  );
  todo('an int32 tensor to a negative integer power', 'elementwise.ts pow', () =>
    ad.tensor([3], { dtype: 'int32' }).pow(-1),
  );
});

describe('casts', () => {
  const x = () => ad.tensor([1.7, -1.7, 2.5, -0.5, 0], { dtype: 'float64' });

  test('.to / .float / .double / .int / .bool give the asked dtype', () => {
    for (const from of DTYPES) {
      const a = t(from);
      assert.equal(a.float().dtype, 'float32');
      assert.equal(a.double().dtype, 'float64');
      assert.equal(a.int().dtype, 'int32');
      assert.equal(a.long().dtype, 'int64');
      assert.equal(a.bool().dtype, 'bool');
      for (const to of DTYPES) assert.equal(a.to(to).dtype, to);
    }
  });

  test('a cast to the same dtype returns the tensor itself, as in torch', () => {
    const a = t('float32');
    assert.equal(a.float(), a);
    assert.equal(a.to('float32'), a);
  });

  test('float → int truncates toward zero', () => {
    assert.deepEqual(x().int().toArray(), [1, -1, 2, 0, 0]);
    assert.deepEqual(x().float().int().toArray(), [1, -1, 2, 0, 0]);
    assert.deepEqual(x().long().toArray(), [1, -1, 2, 0, 0]);
    assert.deepEqual(x().float().long().toArray(), [1, -1, 2, 0, 0]);
    assert.deepEqual(ad.tensor([1.7, -1.7], { dtype: 'int32' }).toArray(), [1, -1]);
  });

  test('float → bool is x != 0; bool → number is 0 / 1; int → bool likewise', () => {
    assert.deepEqual(x().bool().toArray(), [true, true, true, true, false]);
    assert.deepEqual(ad.tensor([-0, 0.1]).bool().toArray(), [false, true]);
    assert.deepEqual(ad.tensor([true, false]).float().toArray(), [1, 0]);
    assert.deepEqual(ad.tensor([true, false]).int().toArray(), [1, 0]);
    assert.deepEqual(ad.tensor([-7, 0, 5], { dtype: 'int32' }).bool().toArray(), [true, false, true]);
  });

  test('float64 → float32 rounds to nearest', () => {
    assert.equal(ad.tensor([0.1], { dtype: 'float64' }).float().item(), Math.fround(0.1));
    assert.equal(ad.tensor([1e300], { dtype: 'float64' }).float().item(), Infinity);
  });

  // Out-of-range and NaN float → int is undefined behaviour in C++; torch 1.13 on x86 gives INT_MIN
  // (-2147483648) for all of them. We give 0 for NaN and ±inf and wrap other out-of-range values modulo 2^32 (the
  // TypedArray store). Neither is a meaningful answer, so this pins our choice rather than torch's.
  test('non-finite float → int is 0 (torch: INT_MIN, undefined behaviour)', () => {
    assert.deepEqual(ad.tensor([Number.NaN, Infinity, -Infinity]).int().toArray(), [0, 0, 0]);
    assert.deepEqual(ad.tensor([Number.NaN, Infinity, -Infinity]).long().toArray(), [0, 0, 0]);
  });

  test('NaN → bool is True, as in torch (NaN != 0)', () => {
    assert.deepEqual(ad.tensor([Number.NaN]).bool().toArray(), [true]);
    assert.deepEqual(ad.tensor([Number.NaN], { dtype: 'bool' }).toArray(), [true]);
  });

  test('casts to int or bool cut the graph; float casts carry it', () => {
    const a = ad.tensor([1.5, 2.5], { requiresGrad: true });
    assert.equal(a.double().requiresGrad, true);
    assert.equal(a.double().gradFn?.name, 'ToCopyBackward');
    assert.equal(a.int().requiresGrad, false);
    assert.equal(a.bool().requiresGrad, false);
  });
});

describe('gradient dtypes', () => {
  test("a leaf's gradient has the leaf's dtype, whatever the graph computes in", () => {
    const a = ad.tensor([1, 2, 3], { requiresGrad: true });
    const b = ad.tensor([4, 5, 6], { dtype: 'float64' });
    const y = a.mul(b).sum();
    assert.equal(y.dtype, 'float64');
    y.backward();
    assert.equal(a.grad?.dtype, 'float32');
    assert.deepEqual(a.grad?.toArray(), [4, 5, 6]);
  });

  test('through an explicit upcast and back', () => {
    const a = ad.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    a.float().mul(3).sum().backward();
    assert.equal(a.grad?.dtype, 'float64');
    assert.deepEqual(a.grad?.toArray(), [3, 3]);
  });

  test('with a wrapped float scalar and an int operand', () => {
    const a = ad.tensor([1, 2], { requiresGrad: true });
    const y = a
      .mul(ad.tensor([2, 3], { dtype: 'int32' }))
      .mul(0.5)
      .sum();
    assert.equal(y.dtype, 'float32');
    y.backward();
    assert.equal(a.grad?.dtype, 'float32');
    assert.deepEqual(a.grad?.toArray(), [1, 1.5]);
  });

  test('only float tensors can require gradients', () => {
    assert.throws(() => t('int32').requiresGrad_(), { name: 'AutogradError', message: /int32.*float\(\)/ });
    assert.throws(() => ad.zeros([2], { dtype: 'bool', requiresGrad: true }), { name: 'AutogradError' });
  });
});
