/**
 * @file Integers never wrap silently (issue 9, §3): the int64 dtype (exact integers to ±(2^53 − 1) in a Float64Array),
 * integer and bool sums and products in int64 as PyTorch gives them, JS values entering int32/int64 tensors
 * range-checked and truncated as PyTorch converts a Python number, int64 results past the safe range refused, and
 * int64 indices, buffers and safetensors. Each error case checks the typed error, that its message names the
 * function, and that nothing changed. The values are PyTorch 1.13's for the same calls.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const { ValueError } = ad;
const i32 = (v: ad.NestedArray) => ad.tensor(v, { dtype: 'int32' });
const i64 = (v: ad.NestedArray) => ad.tensor(v, { dtype: 'int64' });
const MAX = Number.MAX_SAFE_INTEGER;

/** Asserts fn throws a ValueError naming op (its message starts `op:`) and containing the fragments. */
function refuses(fn: () => unknown, op: string, ...fragments: string[]) {
  const e = assertThrowsMsg(fn, ValueError, `${op}: `, ...fragments);
  assert.ok(e.message.startsWith(`${op}: `), `the message names ${op} first: ${e.message}`);
}

/** Runs fn, which must throw, and asserts t's values and storage version are what they were. */
function unchanged(t: ad.Tensor, fn: () => void) {
  const values = t.toArray();
  const version = t._storage.version;
  fn();
  assert.deepEqual(t.toArray(), values, 'values unchanged');
  assert.equal(t._storage.version, version, 'version unchanged');
}

describe('the int64 dtype', () => {
  test('created from data, by cast (long, to), printed, stored as whole numbers in a Float64Array', () => {
    const a = i64([1, -2, 3000000000]);
    assert.equal(a.dtype, 'int64');
    assert.ok(a.dataSync() instanceof Float64Array);
    assert.deepEqual(a.toArray(), [1, -2, 3000000000]);
    assert.equal(String(a), 'tensor([         1,         -2, 3000000000], dtype=int64)');
    assert.equal(ad.tensor([1.7, -1.7]).long().dtype, 'int64');
    assert.deepEqual(
      ad
        .tensor([1.7, -1.7, 2 ** 40 + 0.5])
        .long()
        .toArray(),
      [1, -1, 2 ** 40],
    );
    assert.deepEqual(i32([5, -6]).to('int64').toArray(), [5, -6]);
    assert.deepEqual(ad.tensor([true, false]).long().toArray(), [1, 0]);
    assert.deepEqual(ad.zeros([2], { dtype: 'int64' }).toArray(), [0, 0]);
    assert.deepEqual(ad.arange(3, undefined, 1, { dtype: 'int64' }).toArray(), [0, 1, 2]);
    assert.deepEqual(ad.full([2], MAX, { dtype: 'int64' }).toArray(), [MAX, MAX]);
    // int64 → int32 wraps as PyTorch's cast does (the documented cast convention).
    assert.deepEqual(
      i64([2 ** 31, -1])
        .int()
        .toArray(),
      [-(2 ** 31), -1],
    );
  });

  test("PyTorch's promotion: int32 + int64 → int64, int64 + float32 → float32, int64 + 2.5 → float32", () => {
    assert.equal(i32([1]).add(i64([2])).dtype, 'int64');
    assert.equal(i64([1]).add(ad.tensor([2.5])).dtype, 'float32');
    assert.equal(i64([1]).mul(2.5).dtype, 'float32');
    assert.equal(i64([1]).add(2).dtype, 'int64');
    assert.equal(ad.tensor([true]).add(i64([2])).dtype, 'int64');
    // A 0-d int64 tensor does not widen an int32 tensor with dims (same category).
    assert.equal(i32([1, 2]).add(ad.tensor(5, { dtype: 'int64' })).dtype, 'int32');
    assert.deepEqual(
      i64([2 ** 40])
        .add(i32([3]))
        .toArray(),
      [2 ** 40 + 3],
    );
    assert.deepEqual(i64([7, -7]).div(2).toArray(), [3.5, -3.5]);
  });

  test('integer arithmetic stays integer: 0 · −3 and −0 are 0, not −0; leakyRelu/clamp results truncate', () => {
    const z = i64([0, 4]).mul(-3);
    assert.ok(Object.is(z.dataSync()[0], 0));
    assert.ok(Object.is(i64([0]).neg().dataSync()[0], 0));
    assert.ok(Object.is(i64([0, -5]).prod().item(), 0));
    assert.deepEqual(ad.F.leakyRelu(i64([-300, 5]), 0.01).toArray(), [-3, 5]);
    assert.deepEqual(ad.F.leakyRelu(i64([-250]), 0.01).toArray(), [-2]);
    // where with a forced integer dtype truncates a float operand, as a cast would.
    assert.deepEqual(ad.where(ad.tensor([true, false]), ad.tensor([2.7, 1]), -1.5, 'int64').toArray(), [2, -1]);
  });

  test('every backend gives the same int64 results', () => {
    for (const b of ad.backendNames()) {
      ad.setBackend(b);
      const x = ad.arange(-6, 6, 1, { dtype: 'int64' }).reshape(3, 4);
      assert.deepEqual(x.mul(-1).sum(1).toArray(), [18, 2, -14], b);
      assert.deepEqual(x.abs().amax(0).toArray(), [6, 5, 4, 5], b);
      assert.deepEqual(x.matmul(x.transpose(0, 1)).toArray(), [
        [86, 14, -58],
        [14, 6, -2],
        [-58, -2, 54],
      ]);
      assert.deepEqual(ad.where(x.gt(0), x, 0).sum().item(), 15, b);
      assert.deepEqual(x.argmax(1).toArray(), [3, 3, 3], b);
      assert.deepEqual(ad.tensor([0.5, -2.5, Number.NaN], { dtype: 'float32' }).long().toArray(), [0, -2, 0], b);
      assert.equal(
        ad
          .full([20000], 2 ** 30, { dtype: 'int32' })
          .sum()
          .item(),
        20000 * 2 ** 30,
        b,
      );
    }
    ad.setBackend('js');
  });
});

describe('sum and prod of integers and bools accumulate in int64', () => {
  test("full([4], 2**30, int32).sum() is 4294967296 (int64), as PyTorch's; it was 0", () => {
    const s = ad.full([4], 2 ** 30, { dtype: 'int32' }).sum();
    assert.equal(s.dtype, 'int64');
    assert.equal(s.item(), 4294967296);
    assert.deepEqual(
      ad
        .full([2, 3], 2 ** 30, { dtype: 'int32' })
        .sum(1)
        .toArray(),
      [3 * 2 ** 30, 3 * 2 ** 30],
    );
    assert.equal(
      ad
        .full([3], 2 ** 31 - 1, { dtype: 'int32' })
        .sum()
        .item(),
      3 * (2 ** 31 - 1),
    );
  });

  test('bool sums count in int64 (a mask of 70000 trues is 70000, whatever the dtype would overflow at)', () => {
    const mask = ad.ones([70000], { dtype: 'bool' });
    assert.equal(mask.sum().dtype, 'int64');
    assert.equal(mask.sum().item(), 70000);
    // A sum over a broadcast view counts every element.
    assert.equal(ad.tensor(true).expand([1000, 1000]).sum().item(), 1e6);
  });

  test('prod of int32 in int64; an explicit int32 dtype wraps as PyTorch int32 arithmetic does', () => {
    assert.equal(ad.full([4], 1024, { dtype: 'int32' }).prod().item(), 2 ** 40);
    assert.equal(ad.full([4], 1024, { dtype: 'int32' }).prod(null, false, { dtype: 'int32' }).item(), 0);
  });

  test('a float reduced into an integer dtype is cast first (torch: [0.5, 0.7].sum(dtype=int64) is 0)', () => {
    assert.equal(ad.tensor([0.5, 0.7]).sum(null, false, { dtype: 'int64' }).item(), 0);
    assert.equal(ad.tensor([1.5, 2.5]).prod(null, false, { dtype: 'int64' }).item(), 2);
    assert.equal(
      ad
        .full([4], 2 ** 30, { dtype: 'int32' })
        .sum(null, false, { dtype: 'int32' })
        .item(),
      0,
    );
  });

  test('a result past ±(2^53 − 1) throws, naming the op and the float64 fix; the input is untouched', () => {
    const x = ad.full([2], 2 ** 52, { dtype: 'int64' });
    unchanged(x, () =>
      refuses(() => x.sum(), 'sum', '9007199254740992', '2^53 − 1', "x.sum(dim, keepdim, {dtype: 'float64'})"),
    );
    assert.equal(x.sum(null, false, { dtype: 'float64' }).item(), 2 ** 53);
    const y = ad.full([3], 2 ** 20, { dtype: 'int32' });
    unchanged(y, () => refuses(() => y.prod(), 'prod', '2^53 − 1', "{dtype: 'float64'}"));
    refuses(() => ad.full([2, 2], -(2 ** 52), { dtype: 'int64' }).sum(0), 'sum', '-9007199254740992', 'at [0]');
  });
});

describe('int64 arithmetic past ±(2^53 − 1) throws instead of losing digits', () => {
  test('add, mul, pow, a float cast; in place, nothing is written', () => {
    const big = ad.full([2], MAX, { dtype: 'int64' });
    refuses(() => big.add(1), 'add', '9007199254740992', 'x.double()');
    refuses(() => big.mul(i64([2, 1])), 'mul', 'at [0]');
    refuses(() => i64([3]).pow(40), 'pow', '2^53 − 1');
    refuses(() => ad.tensor([1e20], { dtype: 'float64' }).long(), 'to', '100000000000000000000', 'float dtype');
    unchanged(big, () => refuses(() => big.add_(1), 'add', '2^53 − 1'));
    unchanged(big, () => refuses(() => big.mul_(2), 'mul'));
    // Within range all is exact.
    assert.deepEqual(big.sub(1).toArray(), [MAX - 1, MAX - 1]);
  });

  test('int32 arithmetic between tensors wraps, as PyTorch int32 arithmetic does', () => {
    assert.deepEqual(
      ad
        .full([1], 2 ** 31 - 1, { dtype: 'int32' })
        .add(i32([1]))
        .toArray(),
      [-(2 ** 31)],
    );
    assert.deepEqual(
      ad
        .full([1], 2 ** 31 - 1, { dtype: 'int32' })
        .add(1)
        .toArray(),
      [-(2 ** 31)],
    );
    assert.deepEqual(
      i32([65536])
        .mul(i32([65536]))
        .toArray(),
      [0],
    );
  });
});

describe('JS values into int32/int64 tensors: range-checked, truncated toward zero', () => {
  test('tensor(): out of range, NaN and ±Infinity throw, naming the element', () => {
    refuses(
      () => i32([1, 3e9]),
      'tensor',
      'element at [1]',
      '3000000000',
      'cannot be converted to int32 without overflow',
    );
    refuses(() => i32([[1], [Number.NaN]]), 'tensor', 'element at [1, 0]', 'NaN', 'float dtype');
    refuses(() => i32([Infinity]), 'tensor', 'Infinity');
    refuses(() => i32([2147483647.5]), 'tensor', '2147483647.5');
    refuses(() => i32([-2147483648.5]), 'tensor', '-2147483648.5');
    refuses(() => ad.tensor(new Float64Array([3e9]), { dtype: 'int32' }), 'tensor', "{dtype: 'int64'}");
    refuses(() => i64([2 ** 53]), 'tensor', 'int64', '2^53 − 1', "{dtype: 'float64'}");
    assert.deepEqual(i64([3e9, -(2 ** 53 - 1)]).toArray(), [3e9, -(2 ** 53 - 1)]);
    assert.deepEqual(i32([2147483647, -2147483648]).toArray(), [2147483647, -2147483648]);
  });

  test('a non-integral value truncates toward zero, as PyTorch: 2.7 → 2, −2.7 → −2, −0.5 → 0', () => {
    for (const dtype of ['int32', 'int64'] as const) {
      const t = ad.tensor([2.7, -2.7, -0.5, true], { dtype });
      assert.deepEqual(t.toArray(), [2, -2, 0, 1], dtype);
      assert.ok(Object.is(t.dataSync()[2], 0), `${dtype}: −0.5 is 0, not −0`);
      assert.deepEqual(ad.full([2], -2.7, { dtype }).toArray(), [-2, -2]);
      assert.deepEqual(ad.zeros([2], { dtype }).fill_(2.7).toArray(), [2, 2]);
    }
  });

  test('full, fullLike, ones-like fills and fill_ check the value; a failed fill_ writes nothing', () => {
    refuses(() => ad.full([2], 3e9, { dtype: 'int32' }), 'full', 'fill value', '3000000000');
    refuses(() => ad.full([2], Number.NaN, { dtype: 'int64' }), 'full', 'NaN');
    refuses(() => ad.fullLike(i32([1]), 2 ** 31), 'fullLike', '2147483648');
    const x = i32([1, 2]);
    unchanged(x, () => refuses(() => x.fill_(3e9), 'fill_', '3000000000'));
    unchanged(x, () => refuses(() => x.fill_(Number.NaN), 'fill_', 'NaN'));
    const y = i64([1, 2]);
    unchanged(y, () => refuses(() => y.fill_(2 ** 60), 'fill_', 'int64'));
    unchanged(x, () => refuses(() => x.maskedFill_(ad.tensor([true, false]), 3e9), 'maskedFill_', '3000000000'));
    refuses(() => x.maskedFill(ad.tensor([true, false]), Number.NaN), 'maskedFill', 'NaN');
    assert.deepEqual(x.maskedFill(ad.tensor([true, false]), 2.7).toArray(), [2, 2]);
    assert.equal(x.maskedFill(ad.tensor([true, false]), 2.7).dtype, 'int32');
  });

  test('arange and linspace with an integer dtype: the values must fit; arguments truncate first, as PyTorch', () => {
    refuses(() => ad.arange(0, 1e10, 3e9, { dtype: 'int32' }), 'arange', 'last value', '9000000000');
    refuses(() => ad.arange(3e9, 3e9 + 2, 1, { dtype: 'int32' }), 'arange', 'start', '3000000000');
    assert.deepEqual(ad.arange(0, 1e10, 3e9, { dtype: 'int64' }).toArray(), [0, 3e9, 6e9, 9e9]);
    assert.deepEqual(ad.arange(0, 2 ** 31, 2 ** 30, { dtype: 'int32' }).toArray(), [0, 2 ** 30]);
    // torch.arange(-2.5, 2, 1.5, dtype=int64) is [-2, -1, 0, 1]; (0.9, 3, 1.7) is [0, 1, 2]; (5.5) is [0 … 4].
    assert.deepEqual(ad.arange(-2.5, 2, 1.5, { dtype: 'int64' }).toArray(), [-2, -1, 0, 1]);
    assert.deepEqual(ad.arange(0.9, 3, 1.7, { dtype: 'int32' }).toArray(), [0, 1, 2]);
    assert.deepEqual(ad.arange(5.5, undefined, 1, { dtype: 'int32' }).toArray(), [0, 1, 2, 3, 4]);
    assertThrowsMsg(() => ad.arange(0, 2, 0.5, { dtype: 'int32' }), ValueError, 'arange', 'step must be nonzero');
    refuses(() => ad.linspace(0, 3e9, 3, { dtype: 'int32' }), 'linspace', 'end', '3000000000');
    refuses(() => ad.linspace(Number.NaN, 1, 3, { dtype: 'int64' }), 'linspace', 'start');
    assert.deepEqual(ad.linspace(-10, 10, 4, { dtype: 'int64' }).toArray(), [-10, -3, 3, 10]);
    assert.deepEqual(ad.linspace(0.5, 10.5, 3, { dtype: 'int32' }).toArray(), [0, 5, 10]);
  });

  test('randint: low and high − 1 must fit the dtype', () => {
    refuses(() => ad.randint(0, 3e9, [2]), 'randint', 'high − 1', '2999999999');
    refuses(() => ad.randint(-3e9, 0, [2], { dtype: 'int32' }), 'randint', 'low');
    const r = ad.randint(0, 3e9, [50], { dtype: 'int64' });
    assert.ok(r.dataSync().every((v) => Number.isInteger(v) && v >= 0 && v < 3e9));
  });

  test('a number lifted into an integer op must fit: int32 + 3e9 throws (PyTorch wraps it), int64 + 3e9 does not', () => {
    const x = i32([1, 5]);
    refuses(() => x.add(3e9), 'add', 'argument 1', '3000000000', 'int64');
    refuses(() => x.lt(3e9), 'lt', '3000000000');
    refuses(() => x.mul(-3e9), 'mul', '-3000000000');
    refuses(() => ad.tensor([true]).add(3e9), 'add', '3000000000');
    refuses(() => ad.where(ad.tensor([true, false]), x, 3e9), 'where', '3000000000');
    refuses(() => x.pow(3e9), 'pow', '3000000000');
    refuses(() => x.add(1, { alpha: 3e9 }), 'add', 'alpha', '3000000000');
    refuses(() => x.sub(x, { alpha: -3e9 }), 'sub', 'alpha');
    unchanged(x, () => refuses(() => x.add_(3e9), 'add_', '3000000000'));
    assert.deepEqual(i64([1, 5]).add(3e9).toArray(), [3000000001, 3000000005]);
    assert.deepEqual(x.long().lt(3e9).toArray(), [true, true]);
    // Non-integral and non-finite numbers promote to float, as in PyTorch.
    assert.deepEqual(x.add(2.5).toArray(), [3.5, 7.5]);
    assert.deepEqual(x.lt(Infinity).toArray(), [true, true]);
  });

  test("clamp: bounds must fit an integer result; a float bound gives PyTorch's float result", () => {
    const x = i32([1, 5]);
    refuses(() => x.clamp(0, 3e9), 'clamp', 'max', '3000000000');
    refuses(() => x.clamp(-3e9), 'clamp', 'min');
    assert.deepEqual(x.clamp(2, 4).toArray(), [2, 4]);
    assert.equal(x.clamp(2, 4).dtype, 'int32');
    const f = x.clamp(0.5, 4.5);
    assert.deepEqual([f.dtype, f.toArray()], ['float32', [1, 4.5]]);
    assertThrowsMsg(() => x.clone().clamp_(0.5), ad.DTypeError, 'clamp_', 'float32');
  });

  test("pad's constant value must fit an integer tensor", () => {
    refuses(() => ad.F.pad(i32([1, 2]), [1, 1], { value: 3e9 }), 'pad', 'value', '3000000000');
    assert.deepEqual(ad.F.pad(i32([1, 2]), [1, 1], { value: 2.7 }).toArray(), [2, 1, 2, 2]);
  });
});

describe('index-taking ops accept int64 indices', () => {
  const x = ad.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  test('gather, indexSelect, scatterAdd, embedding, oneHot, nllLoss and crossEntropy: int64 gives int32’s result', () => {
    for (const dtype of ['int32', 'int64'] as const) {
      const idx = ad.tensor([[2, 0]], { dtype });
      assert.deepEqual(x.gather(1, idx).toArray(), [[3, 1]], dtype);
      assert.deepEqual(x.indexSelect(1, ad.tensor([2, 2], { dtype })).toArray(), [
        [3, 3],
        [6, 6],
      ]);
      assert.deepEqual(
        ad
          .zeros([1, 3])
          .scatterAdd(1, idx, ad.tensor([[5, 7]]))
          .toArray(),
        [[7, 0, 5]],
      );
      assert.deepEqual(ad.F.embedding(ad.tensor([1, 0], { dtype }), x).toArray(), [
        [4, 5, 6],
        [1, 2, 3],
      ]);
      const hot = ad.F.oneHot(ad.tensor([2, 0], { dtype }), 3);
      assert.deepEqual(
        [hot.dtype, hot.toArray()],
        [
          dtype,
          [
            [0, 0, 1],
            [1, 0, 0],
          ],
        ],
      );
      const logits = ad.tensor([
        [0.5, 1.5, -1],
        [2, 0, 1],
      ]);
      const t = ad.tensor([1, -100], { dtype });
      assert.equal(ad.F.nllLoss(logits, t).item(), -1.5);
      assert.equal(
        ad.F.crossEntropy(logits, ad.tensor([1, 0], { dtype })).item(),
        ad.F.crossEntropy(logits, ad.tensor([1, 0], { dtype: 'int32' })).item(),
      );
    }
  });

  test('a float index is still refused, and the message offers both integer dtypes', () => {
    assertThrowsMsg(() => x.gather(1, ad.tensor([[0, 1]])), ad.DTypeError, 'gather', 'int32 or int64', '.long()');
    assertThrowsMsg(() => ad.F.crossEntropy(x, ad.tensor([0, 1])), ad.DTypeError, 'crossEntropy', 'int32 or int64');
    assertThrowsMsg(() => ad.F.oneHot(ad.tensor([0, 1]), 2), ad.DTypeError, 'oneHot', 'int32 or int64');
  });
});

describe('int64 buffers and files', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'adjoint-int64-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("BatchNorm's num_batches_tracked is int64, written as I64 as PyTorch writes it, and round-trips", () => {
    const bn = new ad.nn.BatchNorm1d(3);
    bn.forward(ad.randn([4, 3]));
    const sd = bn.stateDict();
    assert.equal(sd.num_batches_tracked.dtype, 'int64');
    assert.equal(sd.num_batches_tracked.item(), 1);
    const bytes = ad.io.save(sd);
    const header = ad.io.readHeader(bytes).tensors.find(([k]) => k === 'num_batches_tracked')!;
    assert.equal(header[1].dtype, 'I64');
    const back = ad.io.load(bytes);
    assert.equal(back.num_batches_tracked.dtype, 'int64');
    const other = new ad.nn.BatchNorm1d(3);
    other.loadStateDict(back);
    assert.equal(other.num_batches_tracked!.item(), 1);
    // An int32 counter (from an older file) loads into the int64 buffer.
    other.loadStateDict({ ...back, num_batches_tracked: i32(7).reshape([]) });
    assert.deepEqual([other.num_batches_tracked!.dtype, other.num_batches_tracked!.item()], ['int64', 7]);
  });

  test('a checkpoint that holds num_batches_tracked as int32 (written before int64) still loads', () => {
    const old = new ad.nn.BatchNorm1d(2);
    old.registerBuffer('num_batches_tracked', i32(4).reshape([]));
    const file = join(tmp, 'old.ckpt');
    ad.io.saveCheckpoint(file, { model: old, step: 1 });
    const bn = new ad.nn.BatchNorm1d(2);
    ad.io.loadCheckpoint(file, { model: bn });
    assert.deepEqual([bn.num_batches_tracked!.dtype, bn.num_batches_tracked!.item()], ['int64', 4]);
  });
});
