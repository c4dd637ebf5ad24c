/**
 * @file In-place ops: values against their out-of-place twins, dtype casting, the version counter, PyTorch's
 * autograd rules (leaves, views of leaves, detached aliases), gradients through in-place ops on intermediates
 * (gradcheck and gradgradcheck), and writes through views, whose bases are re-pointed at a CopySlices node.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const f64 = (shape: number[], grad = true) => {
  const t = ad.randn(shape, { dtype: 'float64' });
  return grad ? t.requiresGrad_() : t;
};
const data = (t: ad.Tensor) => Array.from(t.dataSync() as ArrayLike<number>);

describe('in-place values', () => {
  test('each op matches its out-of-place twin, returns x and bumps the version once', () => {
    ad.manualSeed(1);
    const y = f64([4], false);
    const mask = ad.tensor([true, false, true, false]);
    const cases: [string, (t: ad.Tensor) => ad.Tensor, (t: ad.Tensor) => ad.Tensor][] = [
      ['add_', (t) => t.add_(y), (t) => t.add(y)],
      ['add_ alpha', (t) => t.add_(y, { alpha: -2 }), (t) => t.add(y, { alpha: -2 })],
      ['sub_', (t) => t.sub_(y, { alpha: 0.5 }), (t) => t.sub(y, { alpha: 0.5 })],
      ['mul_', (t) => t.mul_(y), (t) => t.mul(y)],
      ['div_', (t) => t.div_(2), (t) => t.div(2)],
      ['clamp_', (t) => t.clamp_(-0.5, 0.5), (t) => t.clamp(-0.5, 0.5)],
      ['clamp_ min', (t) => t.clamp_(0), (t) => t.clamp(0)],
      ['fill_', (t) => t.fill_(1.25), (t) => ad.fullLike(t, 1.25)],
      ['zero_', (t) => t.zero_(), (t) => ad.zerosLike(t)],
      ['copy_', (t) => t.copy_(y), (t) => y.expand(t.shape as number[])],
      ['maskedFill_', (t) => t.maskedFill_(mask, -7), (t) => ad.where(mask, -7, t)],
    ];
    for (const [name, inplace, outOfPlace] of cases) {
      const x = f64([3, 4], false);
      const expected = data(outOfPlace(x));
      const v0 = x._storage.version;
      const r = inplace(x);
      assert.equal(r, x, `${name} returns x`);
      assert.equal(x._storage.version, v0 + 1, `${name} bumps the version once`);
      assert.deepEqual(data(x), expected, name);
      assert.deepEqual(x.shape, [3, 4]);
    }
    const z = ad.zeros([2]);
    assert.equal(ad.add_(z, 1), z, 'the function forms are exported too');
    ad.mul_(z, 3);
    ad.clamp_(z, null, 2);
    assert.deepEqual(z.toArray(), [2, 2]);
  });

  test('writes through a view land in its base, and every view sees the same version', () => {
    const b = ad.zeros([3, 4]);
    const col = b.slice(1, 1, 2);
    const row = b.slice(0, 2, 3);
    col.fill_(5);
    row.add_(1);
    assert.deepEqual(b.toArray(), [
      [0, 5, 0, 0],
      [0, 5, 0, 0],
      [1, 6, 1, 1],
    ]);
    assert.equal(b._storage.version, 2);
    assert.equal(col._storage.version, 2);
    b.T.mul_(2); // a transposed (non-contiguous) target
    assert.deepEqual(b.toArray(), [
      [0, 10, 0, 0],
      [0, 10, 0, 0],
      [2, 12, 2, 2],
    ]);
  });

  test('an operand overlapping x is read before x is written', () => {
    const x = ad.tensor([1, 2, 3, 4]);
    x.slice(0, 1).add_(x.slice(0, 0, 3)); // [1, 1+2, 2+3, 3+4] in PyTorch, as reads happen before writes here
    assert.deepEqual(x.toArray(), [1, 3, 5, 7]);
    const y = ad.tensor([1, 2, 3]);
    y.mul_(y);
    assert.deepEqual(y.toArray(), [1, 4, 9]);
  });

  test('dtypes: results cast to x (float64 into float32, floats into int by fill_/copy_), 0-d and empty tensors', () => {
    const x = ad.tensor([1, 2, 3]);
    x.add_(ad.tensor([0.5, 0.5, 0.5], { dtype: 'float64' }));
    assert.equal(x.dtype, 'float32');
    assert.deepEqual(x.toArray(), [1.5, 2.5, 3.5]);
    const i = ad.tensor([1, 2, 3], { dtype: 'int32' });
    i.add_(2).mul_(ad.tensor([1, 2, 3], { dtype: 'int32' }));
    assert.deepEqual(i.toArray(), [3, 8, 15]);
    i.fill_(1.7);
    assert.deepEqual(i.toArray(), [1, 1, 1]);
    i.copy_(ad.tensor([2.9, -2.9, 0.2]));
    assert.deepEqual(i.toArray(), [2, -2, 0]);
    assert.equal(i.dtype, 'int32');
    const b = ad.tensor([true, false]);
    b.fill_(true).maskedFill_(ad.tensor([false, true]), false);
    assert.deepEqual(b.toArray(), [true, false]);
    const s = ad.tensor(2);
    s.mul_(3);
    assert.equal(s.item(), 6);
    const e = ad.zeros([0, 3]);
    e.add_(1).fill_(2);
    assert.deepEqual(e.shape, [0, 3]);
  });

  test('without grad mode a leaf that requires grad can be updated (an optimizer step)', () => {
    const w = ad.tensor([1, 2, 3], { requiresGrad: true });
    w.mul(w).sum().backward();
    ad.noGrad(() => w.sub_(w.grad!, { alpha: 0.1 }));
    assertClose(w.dataSync(), [0.8, 1.6, 2.4], 1e-6);
    assert.ok(w.requiresGrad && w.isLeaf && w.gradFn === null);
    w.grad!.zero_();
    assert.deepEqual(w.grad!.toArray(), [0, 0, 0]);
  });
});

describe('in-place autograd', () => {
  test('gradcheck and gradgradcheck of functions that change intermediates in place', () => {
    ad.manualSeed(2);
    const x = f64([3, 4]);
    const w = f64([4]);
    const fns: [string, (x: ad.Tensor, w: ad.Tensor) => ad.Tensor][] = [
      [
        'mul/add_/mul_',
        (x) => {
          const y = x.mul(2);
          y.add_(x);
          y.mul_(3);
          return y;
        },
      ],
      [
        'operands that require grad',
        (x, w) => {
          const y = x.sin();
          y.mul_(w).sub_(w.exp(), { alpha: 0.5 }).div_(w.mul(w).add(1));
          return y;
        },
      ],
      [
        'x as its own operand',
        (x) => {
          const y = x.mul(1);
          y.mul_(y);
          return y;
        },
      ],
      [
        'clamp_, maskedFill_, copy_',
        (x, w) => {
          const y = x.mul(1.5);
          y.clamp_(-1, 1);
          y.maskedFill_(x.gt(1.2), w.sum());
          const z = ad.zeros([3, 4], { dtype: 'float64' });
          z.copy_(y.mul(w));
          return z.add(y);
        },
      ],
    ];
    for (const [name, f] of fns) {
      assert.ok(ad.gradcheck(f, [x, w]).ok, `${name}: gradcheck`);
      assert.ok(ad.gradgradcheck(f, [x, w]).ok, `${name}: gradgradcheck`);
    }
  });

  test('y = 2x; y += x; y *= 3 has gradient 9, and y takes the gradFn of the last op', () => {
    const x = ad.tensor([1, 2, 3], { requiresGrad: true, dtype: 'float64' });
    const y = x.mul(2);
    assert.equal(y.add_(x).gradFn!.name, 'AddBackward');
    assert.equal(y.mul_(3).gradFn!.name, 'MulBackward');
    assert.ok(!y.isLeaf && y.requiresGrad);
    y.sum().backward();
    assert.deepEqual(x.grad!.toArray(), [9, 9, 9]);
  });

  test('a leaf without grad takes the history of an operand that requires grad', () => {
    const w = ad.tensor([1, 2, 3], { requiresGrad: true });
    const acc = ad.zeros([3]);
    acc.add_(w).add_(w.mul(w));
    assert.ok(acc.requiresGrad && !acc.isLeaf);
    acc.sum().backward();
    assert.deepEqual(w.grad!.toArray(), [3, 5, 7]);
  });

  test('fill_ and zero_ keep requiresGrad and send zero gradient to the history; a 0-d value gets the sum', () => {
    const x = ad.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    y.fill_(4);
    assert.ok(y.requiresGrad);
    y.sum().backward();
    assert.deepEqual(x.grad!.toArray(), [0, 0, 0]);
    const v = ad.tensor(2, { requiresGrad: true });
    const z = x.mul(1);
    z.fill_(v);
    z.mul(ad.tensor([1, 2, 3]))
      .sum()
      .backward();
    assert.equal(v.grad!.item(), 6);
    const u = x.sin(); // not exp: ExpBackward needs its output, which zero_ overwrites (an error in PyTorch too)
    u.zero_();
    assertClose(ad.autograd.grad(u.sum(), x)[0]!.dataSync(), [0, 0, 0]);
  });

  test('copy_ sends the gradient to src (summed over broadcast dims, in its dtype) and none to x', () => {
    const x = ad.tensor([[1, 2, 3]], { requiresGrad: true });
    const src = ad.tensor([5, 6, 7], { requiresGrad: true, dtype: 'float64' });
    const y = x.expand(2, 3).mul(1);
    y.copy_(src);
    assert.equal(y.dtype, 'float32');
    y.mul(
      ad.tensor([
        [1, 1, 1],
        [2, 2, 2],
      ]),
    )
      .sum()
      .backward();
    assert.deepEqual(src.grad!.toArray(), [3, 3, 3]);
    assert.equal(src.grad!.dtype, 'float64');
    assert.deepEqual(x.grad!.toArray(), [[0, 0, 0]]);
  });

  test('forward mode pushes tangents through in-place ops', () => {
    const x = ad.tensor([1, 2, 3], { dtype: 'float64' });
    const u = ad.tensor([1, 0, -1], { dtype: 'float64' });
    const t = ad.forwardAD(() => {
      const xd = ad.makeDual(x, u);
      const y = xd.mul(2);
      y.add_(xd).mul_(xd);
      return ad.unpackDual(y).tangent!;
    });
    // y = 3x², dy = 6x·u
    assert.deepEqual(t.toArray(), [6, 0, -18]);
  });

  test('a detached alias can be written without touching the original history', () => {
    const x = ad.tensor([1, 2, 3], { requiresGrad: true });
    const h = x.mul(2);
    const d = h.detach();
    const w = ad.tensor([1, 1, 1], { requiresGrad: true });
    d.add_(w);
    assert.deepEqual(h.toArray(), [3, 5, 7]);
    assert.equal(h.gradFn!.name, 'MulBackward');
    assert.ok(d.requiresGrad);
    d.mul_(2); // a second write still leaves h's history alone
    assert.equal(h.gradFn!.name, 'MulBackward');
    h.sum().backward();
    assert.deepEqual(x.grad!.toArray(), [2, 2, 2]);
    assert.equal(w.grad, null);
  });
});

describe('the version counter', () => {
  test('a saved output changed in place makes backward throw, naming the tensor, the op and both versions', () => {
    const x = ad.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.exp();
    y.add_(1);
    assertThrowsMsg(
      () => y.sum().backward(),
      ad.AutogradError,
      'modified by an in-place op',
      'float32 tensor of shape [3]',
      'saved by exp (ExpBackward) as its output',
      'is at version 1; expected version 0',
      'clone()',
    );
  });

  test('a saved input changed in place, and a change made through a view of it, are both caught', () => {
    const x = ad.tensor([1, 2, 3], { requiresGrad: true });
    const w = ad.tensor([4, 5, 6], { requiresGrad: true });
    const a = x.mul(1);
    const z = a.mul(w);
    a.add_(1);
    assertThrowsMsg(() => z.sum().backward(), ad.AutogradError, 'saved by mul (MulBackward) as input 0', 'version 1');
    const s = x.sigmoid();
    const out = s.mul(2);
    s.slice(0, 0, 1).zero_();
    s.slice(0, 2).zero_();
    assertThrowsMsg(
      () => out.sum().backward(),
      ad.AutogradError,
      'saved by sigmoid (SigmoidBackward) as its output',
      'at version 2; expected version 0',
    );
  });

  test('changes under noGrad are counted too', () => {
    const x = ad.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.exp();
    ad.noGrad(() => y.mul_(2));
    assertThrowsMsg(() => y.sum().backward(), ad.AutogradError, 'ExpBackward', 'version 1');
  });
});

describe('in-place on views (CopySlices)', () => {
  test('writing a slice of an intermediate: gradients reach both the base history and the written values', () => {
    ad.manualSeed(3);
    const x = f64([3, 4]);
    const w = f64([3, 2]);
    const f = (x: ad.Tensor, w: ad.Tensor) => {
      const b = x.mul(x);
      b.slice(1, 1, 3).mul_(w);
      return b;
    };
    const b = f(x, w);
    assert.equal(b.gradFn!.name, 'CopySlices');
    assert.ok(ad.gradcheck(f, [x, w]).ok);
    assert.ok(ad.gradgradcheck(f, [x, w]).ok);
    // The same function written out of place.
    const g = ad.randn([3, 4], { dtype: 'float64' });
    b.backward(g);
    const sq = x.detach().mul(x.detach());
    const inRegion = ad.zeros([3, 4], { dtype: 'float64' });
    inRegion.slice(1, 1, 3).fill_(1);
    const scale = ad.ones([3, 4], { dtype: 'float64' });
    scale.slice(1, 1, 3).copy_(w.detach());
    assertClose(x.grad!.dataSync(), g.mul(scale).mul(x.detach()).mul(2).dataSync(), 1e-12, 1e-12, 'dx');
    assertClose(w.grad!.dataSync(), g.mul(sq).slice(1, 1, 3).dataSync(), 1e-12, 1e-12, 'dw');
  });

  test('views of views, transposed and strided, written twice; both base and view as outputs', () => {
    ad.manualSeed(4);
    const x = f64([4, 3]);
    const w = f64([2, 2]);
    const f = (x: ad.Tensor, w: ad.Tensor) => {
      const b = x.sin();
      const v = b.T.slice(0, 1, 3).slice(1, 0, null, 2); // [2, 2], strides [1, 6]
      v.add_(w);
      v.mul_(w.cos());
      return [b, v.mul(1)];
    };
    assert.ok(ad.gradcheck(f, [x, w]).ok);
    assert.ok(ad.gradgradcheck(f, [x, w]).ok);
  });

  test('filling slices of a zeros tensor with values that require grad (building a tensor piece by piece)', () => {
    const w = ad.tensor([1, 2, 3], { requiresGrad: true });
    const b = ad.zeros([2, 3]);
    b.slice(0, 0, 1).copy_(w.mul(2));
    b.slice(0, 1, 2).copy_(w.mul(w));
    assert.equal(b.gradFn!.name, 'CopySlices');
    assert.ok(b.requiresGrad && !b.isLeaf);
    assert.deepEqual(b.toArray(), [
      [2, 4, 6],
      [1, 4, 9],
    ]);
    b.sum().backward();
    assert.deepEqual(w.grad!.toArray(), [4, 6, 8]);
  });

  test('views made before their base was written: later writes through them still reach the base', () => {
    ad.manualSeed(5);
    const w = f64([2, 3]);
    const f = (w: ad.Tensor) => {
      const b = ad.zeros([3, 3], { dtype: 'float64' });
      const rows = [b.slice(0, 0, 2), b.slice(0, 1, 3), b.slice(1, 0, 1)];
      rows[0].copy_(w);
      rows[1].mul_(w.exp()); // overlaps row 1, which the first write filled
      rows[2].add_(w.slice(0, 0, 1).T.slice(0, 0, 3));
      return b;
    };
    assert.ok(ad.gradcheck(f, [w]).ok);
    assert.ok(ad.gradgradcheck(f, [w]).ok);
    const b = ad.zeros([2]);
    const v = b.slice(0, 0, 1);
    b.add_(ad.tensor([1, 1], { requiresGrad: true }));
    assert.equal(v.mul_(3).gradFn!.name, 'AsStridedBackward');
    assert.equal(b.gradFn!.name, 'CopySlices');
    assert.deepEqual(b.toArray(), [3, 1]);
  });

  test('a write through a view whose base requires grad via a detached alias leaves the base alone', () => {
    const x = ad.tensor([1, 2, 3, 4], { requiresGrad: true });
    const h = x.mul(1);
    h.detach().slice(0, 0, 2).fill_(0);
    assert.equal(h.gradFn!.name, 'MulBackward');
    assert.deepEqual(h.toArray(), [0, 0, 3, 4]);
  });

  test('a view made before an in-place op on its base sees the new history', () => {
    const x = ad.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(1);
    const v = y.slice(0, 0, 2);
    y.mul_(2);
    v.sum().backward();
    assert.deepEqual(x.grad!.toArray(), [2, 2, 0]);
  });
});
