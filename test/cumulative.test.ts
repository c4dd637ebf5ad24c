/**
 * @file cumsum and cumprod beyond the op table: the dtype rule (integers and bools accumulate in accumulateDtype's
 * type, {dtype} casts the input first), cumprod's gradient at zeros against PyTorch's values and to second order,
 * forward mode there, and the typed errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { accumulateDtype } from '../src/ops/reduce.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const vals = (t: ad.Tensor) => Array.from(t.dataSync());
const f64 = (v: number[], requiresGrad = false) => ad.tensor(v, { dtype: 'float64', requiresGrad });

describe('cumsum and cumprod: values and dtypes', () => {
  test('running sums and products along a dim', () => {
    const x = ad.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(vals(x.cumsum(1)), [1, 3, 6, 4, 9, 15]);
    assert.deepEqual(vals(x.cumsum(0)), [1, 2, 3, 5, 7, 9]);
    assert.deepEqual(vals(ad.cumprod(x, -1)), [1, 2, 6, 4, 20, 120]);
    assert.equal(x.cumsum(0).dtype, 'float32');
    assert.deepEqual(ad.cumsum(ad.tensor(2.5), 0).shape, []);
    assert.deepEqual(ad.cumprod(ad.zeros([3, 0]), 1).shape, [3, 0]);
  });

  test('integers and bools accumulate in the integer accumulator type; {dtype} casts the input first', () => {
    const i = ad.tensor([1, 2, 3], { dtype: 'int32' });
    assert.equal(i.cumsum(0).dtype, accumulateDtype('int32'));
    assert.deepEqual(vals(i.cumprod(0)), [1, 2, 6]);
    const b = ad.tensor([true, false, true]);
    assert.equal(b.cumsum(0).dtype, accumulateDtype('bool'));
    assert.deepEqual(vals(b.cumsum(0)), [1, 1, 2]);
    assert.equal(i.cumsum(0, { dtype: 'float64' }).dtype, 'float64');
    // PyTorch casts before summing: 0.5 + 0.5 in int32 is 0 + 0, not trunc(1).
    assert.deepEqual(vals(ad.tensor([0.5, 0.5, 1.5]).cumsum(0, { dtype: 'int32' })), [0, 0, 1]);
    const y = ad.tensor([1, 2], { requiresGrad: true }).cumsum(0, { dtype: 'float64' });
    assert.equal(y.dtype, 'float64');
    y.sum().backward();
  });

  test('bad arguments are typed errors naming the op', () => {
    const x = ad.ones([2, 3]);
    assertThrowsMsg(() => x.cumsum(2), ad.IndexError, 'cumsum: dim 2 is out of range', '[2, 3]');
    assertThrowsMsg(
      () => (ad.cumsum as (x: ad.Tensor) => ad.Tensor)(x),
      ad.ArgumentError,
      "cumsum: missing argument 'dim'",
    );
    assertThrowsMsg(
      () => x.cumprod(0, { dtype: 'float16' as never }),
      ad.DTypeError,
      "cumprod: unknown dtype 'float16'",
    );
    assertThrowsMsg(
      () => x.cumprod(0, { dype: 'float64' } as never),
      ad.ArgumentError,
      "cumprod: unknown option 'dype'",
    );
  });
});

describe("cumprod's gradient at zeros", () => {
  test("matches PyTorch's cumprod_backward (one zero, two zeros, three zeros, leading zeros)", () => {
    // torch.cumprod(x, 0).backward(g) in PyTorch 1.13 gives these gradients.
    const cases: [number[], number[], number[]][] = [
      [
        [2, 0, 3, 0, 4],
        [1, 2, 3, 4, 5],
        [1, 22, 0, 0, 0],
      ],
      [
        [1.5, -2, 0, 0.5],
        [1, -1, 2, 0.5],
        [3, -1.5, -6.75, 0],
      ],
      [
        [0, 0, 3, 2],
        [1, 2, 3, 4],
        [1, 0, 0, 0],
      ],
      [
        [0, 0, 0],
        [1, 1, 1],
        [1, 0, 0],
      ],
    ];
    for (const [xs, gs, want] of cases) {
      const x = f64(xs, true);
      ad.cumprod(x, 0).backward(f64(gs));
      assertClose(vals(x.grad!), want, 1e-14, 1e-14, `cumprod grad at ${xs}`);
    }
  });

  test('second derivatives and forward mode are exact at zeros', () => {
    for (const xs of [
      [2, 0, 3, 0.5],
      [0, 1.5, 0, -2],
      [1.25, 0, 0, 0, 2],
    ]) {
      const x = f64(xs, true);
      const f = (t: ad.Tensor) => ad.cumprod(t, 0);
      ad.assertGradcheck(f, [x]);
      ad.assertGradgradcheck(f, [x]);
      const jvp = ad.checkGrads(f, [x], { order: 1, modes: ['fwd'] });
      assert.ok(jvp.ok, jvp.failures.map((e) => e.message).join('; '));
      const adj = ad.adjointCheck(f, [x]);
      assert.ok(adj.identityOk, `adjoint identity at ${xs}: ${adj.relError}`);
    }
  });
});
