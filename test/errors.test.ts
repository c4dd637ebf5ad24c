/**
 * @file Every bad input gets a typed error whose message names the op, the shapes, the rule and the fix, and is
 * thrown before anything changes: after each error, every tensor involved has the same data, version and .grad.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

interface Snapshot {
  t: ad.Tensor;
  data: number[];
  version: number;
  grad: number[] | null;
  gradFn: unknown;
  requiresGrad: boolean;
}

function snapshot(...ts: ad.Tensor[]): Snapshot[] {
  return ts.map((t) => ({
    t,
    data: Array.from(t.dataSync() as ArrayLike<number>),
    version: t._storage.version,
    grad: t.grad ? Array.from(t.grad.dataSync() as ArrayLike<number>) : null,
    gradFn: t.gradFn,
    requiresGrad: t.requiresGrad,
  }));
}

function assertUnchanged(snaps: Snapshot[]): void {
  snaps.forEach((s, i) => {
    assert.deepEqual(Array.from(s.t.dataSync() as ArrayLike<number>), s.data, `tensor ${i}: data changed`);
    assert.equal(s.t._storage.version, s.version, `tensor ${i}: version changed`);
    assert.deepEqual(
      s.t.grad ? Array.from(s.t.grad.dataSync() as ArrayLike<number>) : null,
      s.grad,
      `tensor ${i}: grad`,
    );
    assert.equal(s.t.gradFn, s.gradFn, `tensor ${i}: gradFn changed`);
    assert.equal(s.t.requiresGrad, s.requiresGrad, `tensor ${i}: requiresGrad changed`);
  });
}

/** assertThrowsMsg, then checks that none of `involved` changed. */
function fails(
  involved: ad.Tensor[],
  fn: () => unknown,
  cls: new (...a: any[]) => Error,
  ...fragments: string[]
): Error {
  const before = snapshot(...involved);
  const err = assertThrowsMsg(fn, cls, ...fragments);
  assertUnchanged(before);
  return err;
}

const x34 = () => ad.randn([3, 4], { requiresGrad: true });

describe('dims and sizes', () => {
  test('dim out of range', () => {
    ad.manualSeed(1);
    const x = x34();
    fails([x], () => x.sum(2), ad.IndexError, 'sum', 'dim 2', 'out of range', '[3, 4]', '[-2, 1]');
    fails([x], () => x.sum([0, -3]), ad.IndexError, 'sum', 'dim -3', '[3, 4]');
    fails([x], () => x.transpose(0, 5), ad.IndexError, 'transpose', 'dim 5', '[3, 4]');
    fails([x], () => x.unsqueeze(3), ad.IndexError, 'unsqueeze', 'dim 3', '[3, 4]', '[-3, 2]');
    fails([x], () => x.sum(0.5), ad.ArgumentError, 'sum', 'whole number', 'got 0.5');
    const softmax = (ad as unknown as Record<string, unknown>).softmax as
      | ((t: ad.Tensor, dim: number) => ad.Tensor)
      | undefined;
    if (softmax) fails([x], () => softmax(x, 2), ad.IndexError, 'softmax', 'dim 2', '[3, 4]');
  });

  test('non-integer or negative sizes', () => {
    const x = x34();
    fails([], () => ad.zeros([2, -1]), ad.ValueError, 'zeros', '[2, -1]', '≥ 0');
    fails([], () => ad.ones([2.5, 3]), ad.ValueError, 'ones', '[2.5, 3]', 'whole numbers');
    fails([x], () => x.reshape(2.5, 4), ad.ArgumentError, 'reshape', 'shape must be a whole number', 'got 2.5');
    fails([x], () => x.reshape(-2, 6), ad.ValueError, 'reshape', '[-2, 6]');
    fails([x], () => x.expand(3, -2), ad.ValueError, 'expand', '[3, -2]');
    fails([x], () => x.expand(2, 3, 4.5), ad.ArgumentError, 'expand', 'must be a whole number', 'got 4.5');
  });

  test('reshape to an incompatible size, and view() where a copy is needed', () => {
    const x = x34();
    fails([x], () => x.reshape(5, 2), ad.ShapeError, 'reshape', '[3, 4] (12 elements)', '[5, 2] (10 elements)');
    fails([x], () => x.reshape(-1, 5), ad.ShapeError, 'reshape', '[3, 4]', '[-1, 5]', 'does not divide 12');
    fails([x], () => x.reshape(-1, -1), ad.ShapeError, 'only one dimension can be -1');
    fails([x], () => x.T.view(12), ad.ShapeError, 'view', '[4, 3]', 'strides [1, 4]', '[12]', 'reshape()');
    fails([x], () => x.expand(3, 5), ad.ShapeError, 'expand', '[3, 4]', '[3, 5]', 'size-1');
  });

  test('matmul inner dimensions', () => {
    const X = ad.zeros([256, 1024]);
    const W = ad.zeros([512, 10], { requiresGrad: true });
    fails(
      [X, W],
      () => X.matmul(W),
      ad.ShapeError,
      'matmul: X is [256, 1024] but W is [512, 10]; inner dimensions must match (1024 ≠ 512)',
    );
    const A = ad.zeros([2, 3, 4]);
    const B = ad.zeros([2, 5, 6]);
    fails([A, B], () => A.matmul(B), ad.ShapeError, 'matmul', '[2, 3, 4]', '[2, 5, 6]', '(4 ≠ 5)');
    fails([A], () => A.matmul(ad.zeros([7, 4, 2])), ad.ShapeError, 'matmul', '[2]', '[7]', 'broadcast');
    fails([A], () => A.matmul(ad.tensor(2)), ad.ShapeError, 'matmul', '[]', 'at least 1 dim');
  });

  test('broadcasting mismatch', () => {
    const x = x34();
    const y = ad.zeros([5], { requiresGrad: true });
    fails([x, y], () => x.add(y), ad.ShapeError, 'add', '[3, 4]', '[5]', 'cannot be broadcast', 'dim -1');
    fails([x, y], () => x.mul(y), ad.ShapeError, 'mul', '[3, 4] and [5]');
    fails([x], () => ad.where(x.gt(0), x, ad.zeros([2, 4])), ad.ShapeError, 'where', '[3, 4]', '[2, 4]');
  });
});

describe('dtypes', () => {
  test('requiresGrad on an integer or bool tensor', () => {
    const i = ad.tensor([1, 2], { dtype: 'int32' });
    fails([i], () => i.requiresGrad_(), ad.AutogradError, 'requiresGrad', 'int32', '.float()');
    fails([], () => ad.tensor([1, 2], { dtype: 'int32', requiresGrad: true }), ad.AutogradError, 'int32');
    const b = ad.tensor([true]);
    fails(
      [b],
      () => {
        b.requiresGrad = true;
      },
      ad.AutogradError,
      'bool',
    );
  });

  test('matmul on bool, where with a non-bool condition, unknown dtypes', () => {
    const a = ad.tensor([[true, false]]);
    const x = x34();
    fails([a], () => a.matmul(a.T), ad.DTypeError, 'matmul', 'bool', '.float()');
    fails([x], () => ad.where(x, x, 0), ad.DTypeError, 'where', 'condition', 'float32', 'x.gt(0)');
    fails(
      [],
      () => ad.tensor([1], { dtype: 'float16' as ad.DType }),
      ad.DTypeError,
      "unknown dtype 'float16'",
      'float32',
    );
  });

  test('zeros with an unknown dtype', () => {
    fails([], () => ad.zeros([2], { dtype: 'float16' as ad.DType }), ad.DTypeError, "unknown dtype 'float16'");
  });
});

describe('autograd misuse', () => {
  test('backward on a non-scalar without a gradient, or with one of the wrong shape', () => {
    const x = x34();
    const y = x.mul(2);
    fails([x, y], () => y.backward(), ad.AutogradError, 'backward', '[3, 4] (12 elements)', 'onesLike', 'sum()');
    fails([x, y], () => y.backward(ad.ones([4, 3])), ad.AutogradError, 'backward', '[4, 3]', '[3, 4]', 'must match');
    const c = ad.tensor([1, 2]);
    fails([c], () => c.sum().backward(), ad.AutogradError, 'does not require grad and has no gradFn', 'requiresGrad');
  });

  test('backward twice through a freed graph', () => {
    const x = x34();
    const loss = x.exp().sum();
    loss.backward();
    fails([x], () => loss.backward(), ad.AutogradError, 'second time', 'SumBackward', 'retainGraph: true');
    const [g] = ad.autograd.grad(x.mul(x).sum(), x, { retainGraph: false });
    assert.ok(g);
  });

  test('a second-order gradient where the graph was not kept', () => {
    const x = ad.tensor([1.5, 2], { requiresGrad: true });
    x.pow(3).sum().backward();
    fails([x, x.grad!], () => x.grad!.sum().backward(), ad.AutogradError, 'backward', 'does not require grad');
  });

  test('the second-order error says to use createGraph', () => {
    const x = ad.tensor([1.5, 2], { requiresGrad: true });
    x.pow(3).sum().backward();
    fails([x], () => x.grad!.sum().backward(), ad.AutogradError, 'createGraph');
  });

  test('autograd.grad on an input that was not used, or does not require grad', () => {
    const x = x34();
    const u = ad.zeros([2], { requiresGrad: true });
    const c = ad.zeros([2]);
    const y = x.sum();
    fails(
      [x, u],
      () => ad.autograd.grad(y, [x, u], { retainGraph: true }),
      ad.AutogradError,
      'input 1',
      '[2]',
      'allowUnused',
    );
    fails([x, c], () => ad.autograd.grad(y, [x, c]), ad.AutogradError, 'input 1', '[2]', 'does not require grad');
  });
});

describe('in-place faults', () => {
  test('a leaf that requires grad, and a view of one, under grad mode', () => {
    const w = x34();
    const y = ad.ones([3, 4]);
    fails([w, y], () => w.add_(y), ad.AutogradError, 'add_', 'leaf', '[3, 4]', 'requires grad', 'ad.noGrad', 'x.add(');
    fails([w], () => w.zero_(), ad.AutogradError, 'zero_', 'leaf', 'ad.noGrad');
    fails(
      [w],
      () => w.slice(0, 0, 2).mul_(2),
      ad.AutogradError,
      'mul_',
      'a view of shape [2, 4]',
      'leaf tensor of shape [3, 4]',
      'clone()',
    );
    fails([w], () => w.T.fill_(0), ad.AutogradError, 'fill_', 'view', '[4, 3]');
  });

  test('a result that would change x’s shape, or does not broadcast', () => {
    const x = ad.zeros([3, 1]);
    const y = ad.ones([3, 4], { requiresGrad: true });
    fails([x, y], () => x.add_(y), ad.ShapeError, 'add_', 'shape [3, 4]', "x's shape [3, 1]", 'x.add(');
    fails([x, y], () => x.copy_(y), ad.ShapeError, 'copy_', '[3, 4]', '[3, 1]');
    fails([x], () => x.mul_(ad.ones([2, 1])), ad.ShapeError, 'mul_', '[3, 1] and [2, 1]', 'cannot be broadcast');
    const m = ad.tensor([true, false, true]);
    fails([x, m], () => x.maskedFill_(m, 1), ad.ShapeError, 'maskedFill_', '[3, 1]', '[3]');
  });

  test('a result dtype that cannot be cast to x’s', () => {
    const i = ad.tensor([1, 2], { dtype: 'int32' });
    fails([i], () => i.add_(1.5), ad.DTypeError, 'add_', 'float32', 'int32', 'x.add(');
    fails([i], () => i.div_(2), ad.DTypeError, 'div_', 'float32', 'int32');
    fails([i], () => i.clamp_(0.5), ad.DTypeError, 'clamp_', 'float32', 'int32');
    fails([i], () => i.mul_(ad.tensor([2, 2])), ad.DTypeError, 'mul_', 'float32');
    fails([i], () => i.add_(1, { alpha: 0.5 }), ad.DTypeError, 'add_', 'float32');
    const b = ad.tensor([true, false]);
    fails([b], () => b.add_(1), ad.DTypeError, 'add_', 'int32', 'bool');
  });

  test('an expanded target, a non-bool mask, a value that is not 0-d', () => {
    const base = ad.zeros([3, 1]);
    const e = base.expand(3, 4);
    fails([base], () => e.add_(1), ad.ShapeError, 'add_', '[3, 4]', 'stride 0', 'clone()');
    const x = ad.zeros([2, 3]);
    fails(
      [x],
      () => x.maskedFill_(ad.tensor([1, 0, 1], { dtype: 'int32' }), 1),
      ad.DTypeError,
      'maskedFill_',
      'bool',
      'int32',
    );
    fails([x], () => x.fill_(ad.ones([3])), ad.ShapeError, 'fill_', '0-d', '[3]', 'copy_');
    fails([x], () => x.maskedFill_(ad.tensor([true, false, true]), ad.ones([2])), ad.ShapeError, 'maskedFill_', '[2]');
  });

  test('backward after a saved tensor was changed in place names it, its op and both versions', () => {
    const x = ad.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.tanh();
    y.mul_(2);
    const loss = y.sum();
    fails(
      [x],
      () => loss.backward(),
      ad.AutogradError,
      'modified by an in-place op',
      'float32 tensor of shape [3]',
      'tanh (TanhBackward) as its output',
      'version 1; expected version 0',
      'out-of-place',
    );
  });
});

describe('creation and conversion', () => {
  test('tensor() data of the wrong length, ragged nested arrays', () => {
    fails(
      [],
      () => ad.tensor([1, 2, 3], { shape: [2, 2] }),
      ad.ValueError,
      'tensor',
      '3 elements',
      '[2, 2]',
      'needs 4',
    );
    fails([], () => ad.tensor(new Float32Array(5), { shape: [2, 3] }), ad.ValueError, 'tensor', '5 elements', '[2, 3]');
    fails([], () => ad.tensor([[1, 2], [3]]), ad.ShapeError, 'tensor', 'ragged', 'at [1]', 'length 1', 'length 2');
    fails(
      [],
      () =>
        ad.tensor([
          [[1], [2]],
          [[3], [4, 5]],
        ]),
      ad.ShapeError,
      'ragged',
      'at [1, 1]',
      'length 2',
    );
    fails([], () => ad.tensor([[1, 2], 3] as ad.NestedArray), ad.ShapeError, 'ragged', 'at [1]');
    fails(
      [],
      () => ad.tensor([1, 'a'] as unknown as ad.NestedArray),
      ad.ShapeError,
      'tensor',
      '"a"',
      'numbers or booleans',
    );
  });

  test('item() on a multi-element tensor', () => {
    const x = ad.zeros([2, 3]);
    fails([x], () => x.item(), ad.ValueError, 'item', '[2, 3] (6 elements)', 'reduce');
    assert.equal(ad.zeros([1, 1]).item(), 0);
  });

  test('setBackend with an unknown name', () => {
    const before = ad.getBackend();
    fails([], () => ad.setBackend('webgpu-typo'), ad.ValueError, 'setBackend', "'webgpu-typo'", 'available', 'js');
    assert.equal(ad.getBackend(), before);
  });
});

describe('arguments: one signature per public function', () => {
  test('a non-tensor operand is an ArgumentError naming the op and what it got', () => {
    ad.manualSeed(2);
    const x = x34();
    const i = ad.tensor([0, 2], { dtype: 'int32' });
    fails(
      [x],
      () => ad.matmul(x, [[1], [2]] as never),
      ad.ArgumentError,
      'matmul: other must be a Tensor',
      'got [[1], [2]]',
    );
    fails([x], () => x.matmul(3 as never), ad.ArgumentError, 'matmul: other must be a Tensor', 'got 3');
    fails(
      [x],
      () => ad.gather(x, 0, [0, 1] as never),
      ad.ArgumentError,
      'gather: index must be a Tensor',
      'got [0, 1]',
    );
    fails([x], () => ad.gather(x, '0' as never, i), ad.ArgumentError, 'gather: dim must be a whole number', '"0"');
    fails([x], () => ad.indexSelect(x, 0, 1 as never), ad.ArgumentError, 'indexSelect: index must be a Tensor');
    fails(
      [x],
      () => (ad.indexSelect as (...a: unknown[]) => ad.Tensor)(x, 0),
      ad.ArgumentError,
      'indexSelect: missing argument',
      "'index'",
    );
    fails([x], () => ad.cat([x, 1] as never), ad.ArgumentError, 'cat: tensors must be an array of Tensors');
    fails([x], () => ad.cat(x as never), ad.ArgumentError, 'cat: tensors must be an array of Tensors', 'got a float32');
    fails([x], () => ad.stack([x, null] as never), ad.ArgumentError, 'stack: tensors must be an array of Tensors');
  });

  test("sum('1') and other wrong-typed dims, a string where a number goes", () => {
    const x = x34();
    fails([x], () => x.sum('1' as never), ad.ArgumentError, 'sum: dim must be', 'got "1" (a string)');
    fails([x], () => x.amax([0, '1'] as never), ad.ArgumentError, 'amax: dim must be');
    fails([x], () => x.softmax(0.5), ad.ArgumentError, 'softmax: dim must be a whole number', 'got 0.5');
    fails([x], () => x.mul('2' as never), ad.ArgumentError, 'mul: other must be a Tensor, a number or a boolean');
    fails(
      [x],
      () => ad.leakyRelu(x, '0.1' as never),
      ad.ArgumentError,
      'leakyRelu: negativeSlope must be a finite number',
    );
  });

  test('a surplus argument is refused, not dropped', () => {
    const x = x34();
    fails(
      [x],
      () => (x.exp as (a: unknown) => ad.Tensor)(1),
      ad.ArgumentError,
      'exp: takes at most 1 positional argument',
    );
    fails(
      [x],
      () => (x.transpose as (...a: number[]) => ad.Tensor)(0, 1, 0),
      ad.ArgumentError,
      'transpose',
      'one too many',
    );
    fails([x], () => (x.float as (a: unknown) => ad.Tensor)('float64'), ad.ArgumentError, 'float: takes at most 1');
    fails([x], () => (ad.relu as (...a: unknown[]) => ad.Tensor)(x, true), ad.ArgumentError, 'relu', 'one too many');
  });

  test('an unknown or snake_case option names the one to use', () => {
    const x = x34();
    const y = x34();
    fails(
      [x, y],
      () => x.add(y, { alhpa: 2 } as never),
      ad.ArgumentError,
      "add: unknown option 'alhpa'",
      'did you mean alpha?',
    );
    fails(
      [x],
      () => x.sum(0, { keep_dim: true } as never),
      ad.ArgumentError,
      "sum: unknown option 'keep_dim'",
      'use keepdim',
    );
    fails(
      [x],
      () => ad.gelu(x, { approximate: 'fast' } as never),
      ad.ArgumentError,
      'gelu: approximate must be one of',
    );
  });

  test("x.to('float16') names the dtypes there are", () => {
    const x = x34();
    // The message randn gives for an unknown dtype: one descriptor (core/args.ts) says it everywhere.
    fails([x], () => x.to('float16' as never), ad.DTypeError, "to: unknown dtype 'float16'", 'float32', 'int64');
    fails([x], () => ad.toDtype(x, 'complex64' as never), ad.DTypeError, "toDtype: unknown dtype 'complex64'");
    fails(
      [],
      () => ad.randn([2], { dtype: 'float16' as never }),
      ad.DTypeError,
      "randn: unknown dtype 'float16'",
      'int64',
    );
    assert.equal(x.to('int64').dtype, 'int64');
  });

  test('backward: its flags by name as PyTorch keywords, a gradient that is not a tensor refused', () => {
    const x = ad.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward({ retainGraph: true });
    y.backward(); // the graph was kept
    assert.deepEqual(Array.from(x.grad!.dataSync()), [4, 8]);
    const z = x.mul(3);
    fails(
      [x],
      () => z.backward([1, 1] as never),
      ad.ArgumentError,
      'backward: gradient must be a Tensor or null',
      'got [1, 1]',
    );
    fails([x], () => z.backward(null, { retain_graph: true } as never), ad.ArgumentError, 'use retainGraph');
    fails([x], () => ad.autograd.grad(y, [x, 2] as never), ad.ArgumentError, 'autograd.grad: inputs must be');
  });
});
