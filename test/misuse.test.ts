/**
 * @file The misuses a porting PyTorch user hit (issue 9 §1 and §4), each a typed error naming the function, what it
 * got and the fix, with nothing changed — or, where PyTorch accepts the call, PyTorch's result.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

describe('creation', () => {
  test('full with a string fill value, and a dtype that does not exist', () => {
    assertThrowsMsg(() => ad.full([2], 'x' as never), ad.ArgumentError, 'full: fillValue', '"x" (a string)');
    assertThrowsMsg(
      () => ad.randn([2], { dtype: 'float16' as ad.DType }),
      ad.DTypeError,
      "randn: unknown dtype 'float16'",
    );
    assertThrowsMsg(() => ad.zeros([2]).to('float16' as ad.DType), ad.DTypeError, "unknown dtype 'float16'", 'float64');
  });

  test('sizes past what a tensor can hold are named before anything is allocated', () => {
    for (const f of [() => ad.zeros([2 ** 27, 2 ** 27]), () => ad.zeros([2 ** 33]), () => ad.arange(1e10)])
      assertThrowsMsg(f, ad.ShapeError, 'at most 2^32');
    assertThrowsMsg(() => ad.ones([2 ** 17, 1]).add(ad.ones([1, 2 ** 17])), ad.ShapeError, 'add', 'at most 2^32');
  });

  test('tensor() refuses a DataView and BigInts, and reads a BigInt64Array as int64', () => {
    assertThrowsMsg(
      () => ad.tensor(new DataView(new ArrayBuffer(8)) as never),
      ad.ArgumentError,
      'tensor: data',
      'a DataView',
    );
    assertThrowsMsg(() => ad.tensor(10n as never), ad.ArgumentError, 'tensor: data', 'BigInt');
    assertThrowsMsg(() => ad.tensor([1n, 2n] as never), ad.ShapeError, 'tensor: the element at [0]', 'BigInt');
    const t = ad.tensor(new BigInt64Array([1n, -2n, 3n]) as never);
    assert.equal(t.dtype, 'int64');
    assert.deepEqual(t.toArray(), [1, -2, 3]);
    assertThrowsMsg(() => ad.tensor(new BigInt64Array([2n ** 60n]) as never), ad.ValueError, 'tensor', '2^53');
  });

  test('a tensor where a number belongs names the parameter, never [object Object]', () => {
    const t = ad.tensor(5);
    const e = assertThrowsMsg(
      () => ad.arange(t as never, { dtype: 'int32' }),
      ad.ArgumentError,
      'arange: start',
      'a float32 tensor of shape []',
    );
    assert.ok(!e.message.includes('[object Object]'));
  });

  test('sizes as separate arguments, as torch.zeros(2, 3)', () => {
    assert.deepEqual(ad.zeros(2, 3).shape, [2, 3]);
    assert.deepEqual(ad.ones(4).shape, [4]);
    assert.equal(ad.zeros(2, 2, { dtype: 'float64' }).dtype, 'float64');
    assert.deepEqual(ad.randn(3, 1).shape, [3, 1]);
    assertThrowsMsg(() => ad.zeros(2, -1), ad.ArgumentError, 'zeros', 'got -1');
  });
});

describe('options and positional arguments on Tensor methods', () => {
  const x = () =>
    ad.tensor(
      [
        [1, 2, 3],
        [4, 6, 8],
      ],
      { dtype: 'float64' },
    );

  test('keepdim by name keeps or drops the dim as asked (an object is no longer read as true)', () => {
    assert.deepEqual(x().sum(1, { keepdim: false }).shape, [2]);
    assert.deepEqual(x().sum(1, { keepdim: true }).shape, [2, 1]);
    assert.deepEqual(x().mean({ dim: 0, keepdim: true }).shape, [1, 3]);
    assertThrowsMsg(
      () => x().sum(1, { keep_dim: true } as never),
      ad.ArgumentError,
      "sum: unknown option 'keep_dim'; use keepdim",
    );
  });

  test("var and std take unbiased with PyTorch's meaning, positionally or by name", () => {
    // torch.tensor([[1., 2, 3], [4, 6, 8]]).var(0, unbiased=False) → [2.25, 4, 6.25]; .std(0, False) → [1.5, 2, 2.5]
    assert.deepEqual(Array.from(x().var(0, { unbiased: false }).dataSync()), [2.25, 4, 6.25]);
    assert.deepEqual(Array.from(x().std(0, false).dataSync()), [1.5, 2, 2.5]);
    assert.deepEqual(Array.from(x().var(0, true).dataSync()), [4.5, 8, 12.5]);
    assert.deepEqual(
      Array.from(x().var(false).dataSync()).map((v) => +v.toFixed(12)),
      [5.666666666667],
    );
    assertThrowsMsg(() => x().var(0, { unbiased: false, correction: 0 }), ad.ValueError, 'var', 'not both');
  });

  test('clamp checks its bounds: by name as in PyTorch, a string is an error, tensor bounds work', () => {
    // torch's x.clamp(min=0, max=1): bounds by name (this gave NaN before the binder).
    assert.deepEqual(
      x()
        .clamp({ min: 2, max: 4 } as never)
        .toArray(),
      [
        [2, 2, 3],
        [4, 4, 4],
      ],
    );
    assertThrowsMsg(
      () => x().clamp({ min: 0, maxx: 1 } as never),
      ad.ArgumentError,
      "clamp: unknown option 'maxx' (did you mean max?)",
    );
    assertThrowsMsg(() => x().clamp('0' as never), ad.ArgumentError, 'clamp: min', '"0" (a string)');
    assert.deepEqual(
      x()
        .clamp(ad.tensor([2, 3, 4], { dtype: 'float64' }), 5)
        .toArray(),
      [
        [2, 3, 4],
        [4, 5, 5],
      ],
    );
  });

  test('backward takes its options by name, and a wrong gradient is a typed error', () => {
    const p = ad.ones([2], { requiresGrad: true });
    const y = p.mul(2).sum();
    y.backward({ retainGraph: true } as never);
    y.backward();
    assert.deepEqual(Array.from(p.grad!.dataSync()), [4, 4]);
    assertThrowsMsg(() => p.mul(2).backward([1, 1] as never), ad.ArgumentError, 'backward', 'gradient', '[1, 1]');
  });
});
