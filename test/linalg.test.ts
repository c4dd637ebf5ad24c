/**
 * @file The matmul family's rules beyond the op table: bmm's and baddbmm's strict shape checks and beta/alpha
 * rules, and PyTorch's dtype rule for matmul, bmm, baddbmm, dot, F.linear, F.bilinear and convolution — operands of
 * different dtypes are a DTypeError naming the op, both dtypes and the fix, so a float64 input to a float32 nn.Linear
 * or nn.Conv2d raises (as PyTorch's does) instead of silently computing in float64.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const f32 = (...shape: number[]) => ad.randn(shape);
const f64 = (...shape: number[]) => ad.randn(shape, { dtype: 'float64' });

describe('bmm and baddbmm', () => {
  test('bmm is matmul on 3-D operands with equal batches; baddbmm adds beta·input', () => {
    ad.manualSeed(1);
    const a = f64(2, 3, 4);
    const b = f64(2, 4, 5);
    assertClose(ad.bmm(a, b).dataSync(), a.matmul(b).dataSync());
    const x = f64(5);
    const y = ad.baddbmm(x, a, b, { beta: 0.5, alpha: 2 });
    assertClose(y.dataSync(), x.mul(0.5).add(a.matmul(b).mul(2)).dataSync(), 1e-12, 1e-12);
    const c = f64(2, 3, 5);
    assertClose(c.baddbmm(a, b).dataSync(), c.add(a.matmul(b)).dataSync(), 1e-12, 1e-12);
    assertClose(a.bmm(b).dataSync(), ad.bmm(a, b).dataSync());
  });

  test('baddbmm with beta = 0 ignores input: its NaN and inf do not propagate (as in PyTorch)', () => {
    const a = f32(1, 2, 2);
    const out = ad.baddbmm(ad.full([1, 2, 2], Number.NaN), a, a, { beta: 0 });
    assert.ok(Array.from(out.dataSync()).every(Number.isFinite));
  });

  test("PyTorch's strict checks, as typed errors naming the op", () => {
    assertThrowsMsg(() => ad.bmm(f32(2, 3), f32(3, 4)), ad.ShapeError, 'bmm: input must be a 3-D tensor', 'use matmul');
    assertThrowsMsg(
      () => ad.bmm(f32(2, 2, 3), f32(3, 3, 4)),
      ad.ShapeError,
      'bmm: expected the first two dims of mat2 to be [2, 3]',
      'got [3, 3]',
    );
    assertThrowsMsg(() => ad.bmm(f32(2, 2, 3), f32(2, 4, 2)), ad.ShapeError, 'bmm:', 'got [2, 4]');
    assertThrowsMsg(
      () => ad.baddbmm(f32(3, 4), f32(2, 2, 3), f32(2, 3, 4)),
      ad.ShapeError,
      'baddbmm: input must broadcast',
      '[2, 2, 4]',
    );
    assertThrowsMsg(
      () => ad.baddbmm(f32(4), f32(2, 3), f32(2, 3, 4)),
      ad.ShapeError,
      'baddbmm: batch1 must be a 3-D tensor',
    );
    const i = ad.ones([1, 2, 2], { dtype: 'int32' });
    assertThrowsMsg(
      () => ad.baddbmm(i, i, i, { alpha: 0.5 }),
      ad.ValueError,
      'baddbmm: for int32 tensors alpha must be a whole number',
    );
    assert.deepEqual(Array.from(ad.baddbmm(i, i, i, { beta: 2, alpha: 3 }).dataSync()), [8, 8, 8, 8]);
    assertThrowsMsg(
      () => ad.baddbmm(f32(4), f32(2, 3, 4), f32(2, 4, 4), { gamma: 1 } as never),
      ad.ArgumentError,
      "baddbmm: unknown option 'gamma'",
    );
    assertThrowsMsg(() => ad.bmm(f32(2, 3, 4), 3 as never), ad.ArgumentError, 'bmm: mat2 must be a Tensor');
  });
});

describe('the matmul family and convolution refuse mixed dtypes', () => {
  test('matmul, 1-D and batched, names both dtypes, both shapes as given, and the fix', () => {
    const e = assertThrowsMsg(
      () => ad.matmul(f32(2, 3), f64(3, 4)),
      ad.DTypeError,
      'matmul: A is float32 [2, 3] but B is float64 [3, 4]',
    );
    assert.match(e.message, /expected scalar type Float but found Double/);
    assert.match(e.message, /\.float\(\)|\.double\(\)/);
    assertThrowsMsg(() => ad.matmul(f32(3), f64(3, 4)), ad.DTypeError, 'A is float32 [3] but B is float64 [3, 4]');
    assertThrowsMsg(
      () => ad.matmul(f64(2, 5, 3), f32(3, 4)),
      ad.DTypeError,
      'A is float64 [2, 5, 3] but B is float32 [3, 4]',
    );
    assertThrowsMsg(
      () => f32(3, 4).matmul(ad.ones([4], { dtype: 'int32' })),
      ad.DTypeError,
      'expected scalar type Float but found Int',
    );
    assertThrowsMsg(
      () => ad.bmm(f32(2, 3, 4), f64(2, 4, 5)),
      ad.DTypeError,
      'bmm: input is float32 [2, 3, 4] but mat2 is float64',
    );
    assertThrowsMsg(
      () => ad.baddbmm(f64(5), f32(2, 3, 4), f32(2, 4, 5)),
      ad.DTypeError,
      'baddbmm: input is float64 [5] but batch1 is float32',
    );
    assertThrowsMsg(() => ad.dot(f32(3), f64(3)), ad.DTypeError, 'dot: input is float32 [3] but other is float64 [3]');
    // The 1-D rules still hold for one dtype.
    assert.deepEqual(ad.matmul(f32(3), f32(3, 4)).shape, [4]);
    assert.deepEqual(ad.matmul(f64(3), f64(3)).shape, []);
  });

  test('F.linear and F.bilinear name the layer operands; bilinear’s bias may promote, as in PyTorch', () => {
    const e = assertThrowsMsg(
      () => ad.F.linear(f64(2, 3), f32(4, 3)),
      ad.DTypeError,
      'linear: input is float64 [2, 3] but weight is float32 [4, 3]',
    );
    assert.match(e.message, /input\.float\(\), or the module with model\.double\(\)/);
    assertThrowsMsg(
      () => ad.F.linear(f32(2, 3), f32(4, 3), f64(4)),
      ad.DTypeError,
      'linear: input is float32 [2, 3] but bias is float64 [4]',
      'bias.float()',
    );
    assertThrowsMsg(
      () => ad.F.bilinear(f32(2, 3), f32(2, 3), f64(5, 3, 3)),
      ad.DTypeError,
      'bilinear: input1 is float32 [2, 3] but weight is float64',
    );
    assertThrowsMsg(
      () => ad.F.bilinear(f32(2, 3), f64(2, 3), f32(5, 3, 3)),
      ad.DTypeError,
      'bilinear: input1 is float32 [2, 3] but input2 is float64',
    );
    assert.equal(ad.F.bilinear(f32(2, 3), f32(2, 3), f32(5, 3, 3), f64(5)).dtype, 'float64');
  });

  test('conv and its transpose name the op, the operands as the caller passed them, and the fix', () => {
    assertThrowsMsg(
      () => ad.conv2d(f32(1, 2, 5, 5), f64(3, 2, 3, 3)),
      ad.DTypeError,
      'conv2d: input is float32 [1, 2, 5, 5] but weight is float64 [3, 2, 3, 3]',
      'expected scalar type Float but found Double',
    );
    assertThrowsMsg(
      () => ad.conv2d(f32(1, 2, 5, 5), f32(3, 2, 3, 3), f64(3)),
      ad.DTypeError,
      'conv2d: input is float32',
      'but bias is float64 [3]',
    );
    assertThrowsMsg(
      () => ad.conv1d(f64(2, 5), f32(3, 2, 3)),
      ad.DTypeError,
      'conv1d: input is float64 [2, 5] but weight is float32 [3, 2, 3]',
    );
    assertThrowsMsg(
      () => ad.convTranspose2d(f32(1, 2, 3, 3), f64(2, 3, 2, 2)),
      ad.DTypeError,
      'convTranspose2d: input is float32 [1, 2, 3, 3] but weight is float64',
    );
    assertThrowsMsg(
      () => ad.convTranspose1d(f32(1, 2, 3), f32(2, 3, 2), f64(3)),
      ad.DTypeError,
      'convTranspose1d:',
      'bias is float64',
    );
  });

  test('a float64 input to a float32 nn.Linear or nn.Conv2d raises, and changes nothing', () => {
    ad.manualSeed(2);
    const lin = new ad.nn.Linear(3, 4);
    const before = Array.from(lin.weight.dataSync());
    const e = assertThrowsMsg(
      () => lin.forward(f64(2, 3)),
      ad.DTypeError,
      'linear: input is float64 [2, 3] but weight is float32 [4, 3]',
    );
    assert.match(e.message, /model\.double\(\)/);
    assert.deepEqual(Array.from(lin.weight.dataSync()), before);
    assert.equal(lin.weight.grad, null);
    const conv = new ad.nn.Conv2d(2, 3, 3);
    assertThrowsMsg(
      () => conv.forward(f64(1, 2, 5, 5)),
      ad.DTypeError,
      'conv2d: input is float64 [1, 2, 5, 5] but weight is float32',
      'model.double()',
    );
    // One dtype works, and a float64 cotangent on a float32 output is cast to it (as PyTorch's engine does).
    const y = lin.forward(f32(2, 3));
    y.backward(ad.ones([2, 4], { dtype: 'float64' }));
    assert.equal((lin.weight.grad as ad.Tensor | null)?.dtype, 'float32');
    const x = f32(2, 3).requiresGrad_(true);
    const [g] = ad.autograd.grad(x.matmul(f32(3, 4)), [x], { gradOutputs: ad.ones([2, 4], { dtype: 'float64' }) });
    assert.equal(g?.dtype, 'float32');
  });
});
