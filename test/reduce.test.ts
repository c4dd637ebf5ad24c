/**
 * @file Values of the reductions and softmax against numbers computed with PyTorch 1.13 (hard-coded): forward
 * results, gradients at ties (amax splits, max(dim) picks), prod's gradient with zeros, logsumexp over −inf and
 * +inf, softmax on large inputs, and the errors for empty reductions and bad dims.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { _softmaxVjp } from '../src/ops/softmax.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const f64 = (v: ad.NestedArray) => ad.tensor(v, { dtype: 'float64', requiresGrad: true });
const flat = (t: ad.Tensor) => Array.from(t.dataSync() as ArrayLike<number>);

/** f(x) and the gradient of ⟨f(x), go⟩ (go = ones by default), as flat arrays. */
function valueAndGrad(f: (x: ad.Tensor) => ad.Tensor, v: ad.NestedArray, go?: ad.NestedArray) {
  const x = f64(v);
  const y = f(x);
  const [g] = ad.autograd.grad(y, x, { gradOutputs: go ? ad.tensor(go, { dtype: 'float64' }) : ad.onesLike(y) });
  return { y, value: flat(y), grad: flat(g!) };
}

function check(
  f: (x: ad.Tensor) => ad.Tensor,
  v: ad.NestedArray,
  value: number[],
  grad: number[],
  go?: ad.NestedArray,
) {
  const r = valueAndGrad(f, v, go);
  assertClose(r.value, value, 1e-12, 1e-12, 'value');
  assertClose(r.grad, grad, 1e-12, 1e-12, 'grad');
  return r;
}

const M = [
  [0.5, -1, 2, 3],
  [1, 1.5, -0.5, 4],
];
const TIES = [
  [1, 5, 5],
  [2, 2, 1],
];

describe('prod', () => {
  test('all elements and one dim', () => {
    const a = [
      [1.5, -2, 0.5],
      [3, 1, -1],
    ];
    check((x) => x.prod(), a, [4.5], [3, -2.25, 9, 1.5, 4.5, -4.5]);
    check((x) => x.prod(1), a, [-1.5, -3], [-1, 0.75, -3, -1, -3, 3]);
    assert.deepEqual(ad.tensor(a).prod(0, true).shape, [1, 3]);
  });
  test('gradient with one zero, two zeros, and per row', () => {
    check((x) => x.prod(), [1.5, 0, -2, 0.5], [-0], [-0, -1.5, 0, -0]);
    check((x) => x.prod(), [1.5, 0, -2, 0, 0.5], [-0], [0, 0, 0, 0, 0]);
    check(
      (x) => x.prod(1),
      [
        [2, 0, -1.5],
        [0.5, 1.25, -2],
        [0, 0, 1.5],
        [0, 0, 0],
      ],
      [-0, -1.25, 0, 0],
      [-0, -3, 0, -2.5, -1, 0.625, 0, 0, 0, 0, 0, 0],
    );
  });
  test('second derivatives with zeros (torch.autograd.functional.hessian)', () => {
    const hessian = (v: number[]) => {
      const x = f64(v);
      const [g] = ad.autograd.grad(x.prod(), x, { createGraph: true });
      return v.flatMap((_, i) =>
        flat(ad.autograd.grad(g!.slice(0, i, i + 1).sum(), x, { allowUnused: true, retainGraph: true })[0]!),
      );
    };
    assertClose(hessian([1.5, 0, -2, 0.5]), [0, -1, 0, 0, -1, 0, 0.75, -3, 0, 0.75, 0, 0, 0, -3, 0, 0]);
    // Two zeros: only the pair of zeros has a nonzero mixed derivative, the product of the rest (−3). PyTorch 1.13's
    // rule returns a constant 0 with two or more zeros, so its hessian is all 0 here; finite differences agree with us.
    assertClose(hessian([1.5, 0, -2, 0]), [0, 0, 0, 0, 0, 0, 0, -3, 0, 0, 0, 0, 0, -3, 0, 0]);
  });
  test('dtypes and empty inputs', () => {
    // Integers and bools multiply in int64, as in PyTorch.
    const i = ad.tensor([2, 3, 4], { dtype: 'int32' }).prod();
    assert.equal(i.dtype, 'int64');
    assert.equal(i.item(), 24);
    assert.equal(ad.tensor([true, false]).prod().dtype, 'int64');
    assert.deepEqual(flat(ad.zeros([0, 3]).prod(0)), [1, 1, 1]);
    assert.equal(ad.zeros([0, 3]).prod().item(), 1);
    assert.equal(ad.tensor([2, 3], { dtype: 'int32' }).prod(0, false, { dtype: 'float64' }).dtype, 'float64');
  });
});

describe('amax, amin, max, min', () => {
  test('amax splits the gradient between ties; max(dim) gives it to the first', () => {
    check((x) => x.amax(1), TIES, [5, 2], [0, 0.5, 0.5, 0.5, 0.5, 0]);
    check((x) => x.max(1).values, TIES, [5, 2], [0, 1, 0, 1, 0, 0]);
    check((x) => x.amin(0), TIES, [1, 2, 1], [1, 0, 0, 0, 1, 1]);
    check((x) => x.min(1).values, TIES, [1, 1], [1, 0, 0, 0, 0, 1]);
  });
  test('max() and min() over everything split ties, like amax over all dims', () => {
    check((x) => x.max(), TIES, [5], [0, 0.5, 0.5, 0, 0, 0]);
    check((x) => x.amax([0, 1]), TIES, [5], [0, 0.5, 0.5, 0, 0, 0]);
    check((x) => x.min(), TIES, [1], [0.5, 0, 0, 0, 0, 0.5]);
  });
  test('NaN: max() sends the gradient to the NaN, amax gives nan everywhere (as PyTorch 1.13)', () => {
    check((x) => x.max(), [1, Number.NaN, 2], [Number.NaN], [0, 1, 0]);
    check((x) => x.amax(), [1, Number.NaN, 2], [Number.NaN], [Number.NaN, Number.NaN, Number.NaN]);
    const [v, i] = ad.tensor([1, Number.NaN, 2]).max(0);
    assert.ok(Number.isNaN(v.item()));
    assert.equal(i.item(), 1);
  });
  test('the (values, indices) pair destructures and has named fields', () => {
    const x = ad.tensor(TIES);
    const [values, indices] = x.max(1);
    assert.deepEqual(flat(values), [5, 2]);
    assert.deepEqual(flat(indices), [1, 0]);
    assert.equal(indices.dtype, 'int32');
    const r = x.min(1, true);
    assert.deepEqual(r.values.shape, [2, 1]);
    assert.deepEqual(flat(r.indices), [0, 2]);
    assert.equal(r[0], r.values);
    const s = ad.tensor(3).max(0);
    assert.deepEqual([s.values.shape, s.values.item(), s.indices.item()], [[], 3, 0]);
    assert.deepEqual(ad.zeros([0, 3]).max(1).values.shape, [0]);
  });
  test('max(x, other) is maximum; int and bool keep their dtype', () => {
    assert.deepEqual(flat(ad.max(ad.tensor([1, 2]), ad.tensor([0, 3]))), [1, 3]);
    assert.deepEqual(flat(ad.tensor([1, 2]).min(ad.tensor([0, 3]))), [0, 2]);
    const m = ad.tensor([1, 2], { dtype: 'int32' }).max(0);
    assert.deepEqual([m.values.dtype, m.values.item(), m.indices.item()], ['int32', 2, 1]);
    assert.equal(ad.tensor([true, false]).max().dtype, 'bool');
    assert.equal(ad.tensor([true, false]).amax().item(), 1);
  });
  test('dims: several, negative, keepdim, size-0 non-reduced dims', () => {
    const x = ad.arange(24).reshape(2, 3, 4);
    assert.deepEqual(flat(x.amax([0, -1])), [15, 19, 23]);
    assert.deepEqual(x.amin([0, -1], true).shape, [1, 3, 1]);
    assert.deepEqual(ad.zeros([0, 3]).amax(1).shape, [0]);
  });
});

describe('argmax, argmin', () => {
  test('flattened, along a dim, keepdim, first of ties', () => {
    const x = ad.tensor(TIES);
    assert.equal(x.argmax().item(), 1);
    assert.equal(x.argmin().item(), 0);
    assert.deepEqual(flat(x.argmax(1)), [1, 0]);
    const k = x.argmin(0, true);
    assert.deepEqual([k.shape, flat(k), k.dtype], [[1, 3], [0, 1, 1], 'int32']);
    assert.deepEqual(x.argmax(null, true).shape, [1, 1]);
    assert.deepEqual(ad.tensor(3).argmax(0, true).shape, []);
    assert.deepEqual(ad.zeros([0, 3]).argmax(1).shape, [0]);
    assert.equal(f64(TIES).argmax().requiresGrad, false);
  });
});

describe('var, std', () => {
  test('values and gradients (correction, keepdim)', () => {
    check(
      (x) => x.var(),
      M,
      [2.8526785714285716],
      [
        -0.23214285714285712, -0.6607142857142857, 0.19642857142857142, 0.4821428571428571, -0.08928571428571427,
        0.05357142857142857, -0.5178571428571428, 0.7678571428571428,
      ],
    );
    const r = check(
      (x) => x.var(1, { correction: 0, keepdim: true }),
      M,
      [2.296875, 2.625],
      [-0.3125, -1.0625, 0.4375, 0.9375, -0.25, 0, -1, 1.25],
    );
    assert.deepEqual(r.y.shape, [2, 1]);
    const s = Math.SQRT1_2;
    check(
      (x) => x.std(0),
      M,
      [0.3535533905932738, 1.7677669529663689, 1.7677669529663689, s],
      [-s, -s, s, -s, s, s, -s, s],
    );
  });
  test('the free functions', () => {
    assertClose(flat(ad.var(ad.tensor(M), 1)), [3.0625, 3.5], 1e-7, 0);
    assertClose(flat(ad.std(ad.tensor(M), null, { correction: 0 })), [1.5799030824705673], 1e-6, 0);
  });
  test('too few elements for the correction: nan or inf, as PyTorch', () => {
    assert.ok(Number.isNaN(ad.tensor([1]).var().item()));
    assert.equal(ad.tensor([1, 2]).var(null, { correction: 3 }).item(), Infinity);
    assert.ok(flat(ad.zeros([0, 3]).var(0)).every(Number.isNaN));
  });
});

describe('logsumexp', () => {
  test('large values are stable; the gradient is softmax', () => {
    check(
      (x) => x.logsumexp(1),
      [
        [1000, 1001, 999],
        [-1000, -1002, -1001],
      ],
      [1001.4076059644444, -999.5923940355556],
      [
        0.24472847105478585, 0.6652409557747898, 0.09003057317037612, 0.6652409557747898, 0.09003057317037612,
        0.24472847105478585,
      ],
    );
  });
  test('rows of −inf give −inf, +inf gives +inf, −inf entries get no gradient', () => {
    const y = ad
      .tensor([
        [-Infinity, -Infinity],
        [1, 2],
        [Infinity, 1],
        [Infinity, -Infinity],
      ])
      .logsumexp(1);
    assertClose(flat(y), [-Infinity, 2.3132617474, Infinity, Infinity], 1e-7, 0);
    check(
      (x) => x.logsumexp(0),
      [0.5, -Infinity, 1.5],
      [1.8132616875182228],
      [0.2689414213699951, 0, 0.7310585786300049],
    );
    // PyTorch's gradient on an all −inf row is nan too.
    const r = valueAndGrad((x) => x.logsumexp(1), [[-Infinity, -Infinity]]);
    assert.ok(r.grad.every(Number.isNaN));
  });
  test('empty, 0-d, int and several dims', () => {
    assert.deepEqual(flat(ad.zeros([0, 3]).logsumexp(0)), [-Infinity, -Infinity, -Infinity]);
    assert.equal(ad.tensor(3).logsumexp(0).item(), 3);
    const i = ad.tensor([1, 2], { dtype: 'int32' }).logsumexp(0);
    assert.equal(i.dtype, 'float32');
    assertClose([i.item()], [2.3132617474], 1e-6, 0);
    assert.deepEqual(ad.zeros([2, 3, 4]).logsumexp([0, -1], true).shape, [1, 3, 1]);
  });
});

describe('norm', () => {
  test('p = 2 (default, fro), 1, 3, 0.5, ±Infinity, 0', () => {
    check(
      (x) => x.norm(),
      M,
      [5.809475019311125],
      [
        0.08606629658238704, -0.17213259316477408, 0.34426518632954817, 0.5163977794943223, 0.17213259316477408,
        0.25819888974716115, -0.08606629658238704, 0.6885303726590963,
      ],
    );
    assertClose(flat(ad.tensor(M).norm('fro', [0, 1])), [5.8094749451], 1e-7, 0);
    check((x) => x.norm(1, 0), M, [1.5, 2.5, 2.5, 7], [1, -1, 1, 1, 1, 1, -1, 1]);
    check(
      (x) => x.norm(3, 1, true),
      M,
      [3.305744509228972, 4.091634738467075],
      [
        0.022877124631342373, -0.09150849852536949, 0.36603399410147797, 0.8235764867283254, 0.05973189399222008,
        0.1343967614824952, -0.01493297349805502, 0.9557103038755212,
      ],
    );
    check(
      (x) => x.norm(0.5),
      [0.25, -1, 2],
      [8.492640687119284],
      [5.82842712474619, -2.914213562373095, 2.060660171779821],
    );
    const tie = [
      [3, -3, 1],
      [1, -2, 0.5],
    ];
    check((x) => x.norm(Infinity, 1), tie, [3, 2], [0.5, -0.5, 0, 0, -1, 0]);
    check((x) => x.norm(-Infinity), tie, [0.5], [0, 0, 0, 0, 0, 1]);
    assert.equal(ad.tensor([0, -1, 2, 0]).norm(0).item(), 2);
  });
  test('the gradient at a zero vector is 0, not nan', () => {
    check(
      (x) => x.norm(2, 1),
      [
        [0, 0, 0],
        [1, -2, 0.5],
      ],
      [0, 2.29128784747792],
      [0, 0, 0, 0.4364357804719848, -0.8728715609439696, 0.2182178902359924],
    );
    check((x) => x.norm(3), [0, 0], [0], [0, 0]);
    assert.deepEqual(flat(ad.zeros([0, 3]).norm(2, 0)), [0, 0, 0]);
  });
});

describe('softmax, logSoftmax', () => {
  const big = [
    [1000, 1001, 1002],
    [-1000, -1000.5, -999],
  ];
  const go = [
    [1, 0, 0],
    [0, 2, -1],
  ];
  test('large inputs are stable; VJPs', () => {
    check(
      (x) => x.softmax(1),
      big,
      [
        0.09003057317038045, 0.2447284710547976, 0.6652409557748218, 0.23122389762214907, 0.14024438316608848,
        0.6285317192117624,
      ],
      [
        0.08192506906499322, -0.02203304452017429, -0.059892024544818914, 0.08047584810473972, 0.3292998355740784,
        -0.40977568367881817,
      ],
      go,
    );
    check(
      (x) => x.logSoftmax(-1),
      big,
      [
        -2.4076059644443806, -1.4076059644443804, -0.4076059644443804, -1.464368784107945, -1.964368784107945,
        -0.4643687841079449,
      ],
      [
        0.9099694268296196, -0.24472847105479764, -0.6652409557748218, -0.23122389762214904, 1.8597556168339116,
        -1.6285317192117623,
      ],
      go,
    );
    const f32 = ad.tensor([[1000, 1001, 1002]]).softmax(1);
    assert.equal(f32.dtype, 'float32');
    assertClose(flat(f32), [0.09003057330846786, 0.2447284758090973, 0.6652409434318542], 1e-6, 0);
  });
  test('along dim 0', () => {
    check(
      (x) => ad.softmax(x, 0),
      M,
      [
        0.37754066879814546, 0.07585818002124356, 0.9241418199787566, 0.2689414213699951, 0.6224593312018546,
        0.9241418199787566, 0.07585818002124356, 0.7310585786300049,
      ],
      [
        0.23500371220159447, -0.14020743309021635, 0.07010371654510818, -0.2949178998622228, -0.23500371220159452,
        0.14020743309021613, -0.07010371654510816, 0.2949178998622228,
      ],
      [
        [1, 0, 0, -1],
        [0, 2, -1, 0.5],
      ],
    );
  });
  test("softmax's fused VJP equals y ⊙ (g − Σ g ⊙ y) composed, bit for bit, on every backend; grad of grad", () => {
    const prev = ad.getBackend();
    try {
      for (const backend of ad.backendNames())
        for (const dtype of ['float32', 'float64'] as const)
          for (const [shape, dim] of [
            [[3, 5, 17], -1],
            [[4, 6, 3], 1],
            [[2, 9], 0],
          ] as const) {
            ad.setBackend(backend);
            ad.manualSeed(7);
            const x = ad
              .randn([...shape], { dtype })
              .mul(3)
              .requiresGrad_();
            const g = ad.randn([...shape], { dtype });
            const y = x.softmax(dim);
            const [dx] = ad.autograd.grad(y, [x], { gradOutputs: g });
            const yd = y.detach();
            const want = yd.mul(g.sub(g.mul(yd).sum(dim, true)));
            assert.deepEqual(dx!.dataSync(), want.dataSync(), `${backend} ${dtype} [${shape}] dim ${dim}`);
          }
      // Second derivatives through the fused rule: against the composed formula's, differentiated by the engine.
      ad.setBackend('js');
      ad.manualSeed(8);
      const x = ad.randn([3, 4], { dtype: 'float64' }).requiresGrad_();
      const g = ad.randn([3, 4], { dtype: 'float64' }).requiresGrad_();
      const u = ad.randn([3, 4], { dtype: 'float64' });
      const [dx] = ad.autograd.grad(x.softmax(1), [x], { gradOutputs: g, createGraph: true });
      const fused = ad.autograd.grad(dx!, [x, g], { gradOutputs: u });
      const y = x.softmax(1);
      const composed = y.mul(g.sub(g.mul(y).sum(1, true)));
      const want = ad.autograd.grad(composed, [x, g], { gradOutputs: u });
      for (let i = 0; i < 2; i++) assertClose(flat(fused[i]!), flat(want[i]!), 1e-12, 1e-12);
      // Its JVP, in g's and y's tangents together and each alone, against the composed formula's.
      const [tg, ty] = [ad.randn([3, 4], { dtype: 'float64' }), ad.randn([3, 4], { dtype: 'float64' })];
      const yd = y.detach();
      const gd = g.detach();
      for (const [a, b] of [
        [tg, ty],
        [tg, null],
        [null, ty],
      ] as const) {
        const [got, exp] = ad.forwardAD(() => {
          const gg = a ? ad.makeDual(gd, a) : gd;
          const yy = b ? ad.makeDual(yd, b) : yd;
          return [_softmaxVjp(gg, yy, 1), yy.mul(gg.sub(gg.mul(yy).sum(1, true)))].map(
            (t) => ad.unpackDual(t).tangent!,
          );
        });
        assertClose(flat(got), flat(exp), 1e-12, 1e-12);
      }
    } finally {
      ad.setBackend(prev);
    }
  });
  test('all −inf rows give nan, 0-d gives 1, {dtype} casts first', () => {
    assert.ok(flat(ad.tensor([-Infinity, -Infinity]).softmax(0)).every(Number.isNaN));
    assert.ok(flat(ad.tensor([-Infinity, -Infinity]).logSoftmax(0)).every(Number.isNaN));
    assert.equal(ad.tensor(2).softmax(0).item(), 1);
    const d = ad.tensor([1, 2], { dtype: 'int32' }).softmax(0, { dtype: 'float64' });
    assert.equal(d.dtype, 'float64');
    assertClose(flat(d), [0.2689414213699951, 0.7310585786300049], 1e-15, 0);
  });
});

describe('errors', () => {
  test('empty reductions without a value are refused before computing', () => {
    const e = ad.zeros([0, 3]);
    assertThrowsMsg(() => e.max(), ad.ShapeError, 'max', '[0, 3]', 'is empty', 'dim 1');
    assertThrowsMsg(() => e.amax(), ad.ShapeError, 'amax', '[0, 3]');
    assertThrowsMsg(() => e.argmin(), ad.ShapeError, 'argmin', '[0, 3]', 'numel()');
    assertThrowsMsg(() => e.amax(0), ad.IndexError, 'amax', 'dim 0', '[0, 3]', 'size 0', 'nonzero size');
    assertThrowsMsg(() => e.max(0), ad.IndexError, 'max', 'dim 0', '[0, 3]');
    assertThrowsMsg(() => e.argmax(-2), ad.IndexError, 'argmax', 'dim 0', '[0, 3]');
    assertThrowsMsg(() => e.amin([1, 0]), ad.IndexError, 'amin', 'dim 0', '[0, 3]');
    assertThrowsMsg(() => e.norm(Infinity), ad.ShapeError, 'norm', '[0, 3]');
  });
  test('dims out of range and repeated', () => {
    const x = ad.zeros([2, 3]);
    assertThrowsMsg(() => x.amax(2), ad.IndexError, 'amax', 'dim 2', '[2, 3]', '[-2, 1]');
    assertThrowsMsg(() => x.max(-3), ad.IndexError, 'max', 'dim -3', '[2, 3]');
    assertThrowsMsg(() => x.argmin(5), ad.IndexError, 'argmin', 'dim 5');
    assertThrowsMsg(() => x.prod(2), ad.IndexError, 'prod', 'dim 2');
    assertThrowsMsg(() => x.var(2), ad.IndexError, 'var', 'dim 2');
    assertThrowsMsg(() => x.logsumexp(-3), ad.IndexError, 'logsumexp', 'dim -3');
    assertThrowsMsg(() => x.norm(2, 4), ad.IndexError, 'norm', 'dim 4');
    assertThrowsMsg(() => x.softmax(2), ad.IndexError, 'softmax', 'dim 2', '[2, 3]');
    assertThrowsMsg(() => x.logSoftmax(-3), ad.IndexError, 'logSoftmax', 'dim -3');
    assertThrowsMsg(() => x.amax([0, 0]), ad.ShapeError, 'amax', 'repeats');
  });
  test('dtypes', () => {
    const i = ad.tensor([1, 2], { dtype: 'int32' });
    assertThrowsMsg(() => i.var(), ad.DTypeError, 'var', 'int32', '[2]', '.float()');
    assertThrowsMsg(() => i.std(), ad.DTypeError, 'std', 'int32');
    assertThrowsMsg(() => i.norm(), ad.DTypeError, 'norm', 'int32');
    assertThrowsMsg(() => i.softmax(0), ad.DTypeError, 'softmax', 'int32', '[2]', "{dtype: 'float32'}");
    assertThrowsMsg(() => i.logSoftmax(0, { dtype: 'int32' }), ad.DTypeError, 'logSoftmax', 'int32');
  });
  test("norm 'fro' over more than two dims", () => {
    assertThrowsMsg(
      () => ad.zeros([2, 3, 4]).norm('fro', [0, 1, 2]),
      ad.ShapeError,
      'norm',
      "'fro'",
      '[2, 3, 4]',
      'p = 2',
    );
  });
});

describe("dim and keepdim by name, as PyTorch's keywords", () => {
  ad.manualSeed(4);
  const x = ad.randn([3, 4], { dtype: 'float64' });
  // Each reduction called positionally and with its dim/keepdim in a trailing object; all must agree, and
  // {keepdim: false} must drop the dim (an object is truthy, so it once kept it).
  const call =
    (name: string) =>
    (...a: unknown[]): ad.Tensor => {
      const r = (x as unknown as Record<string, (...b: unknown[]) => ad.Tensor | ad.ValuesIndices>)[name](...a);
      return Array.isArray(r) ? r.values : (r as ad.Tensor);
    };
  const names = ['sum', 'mean', 'prod', 'amax', 'amin', 'argmax', 'argmin', 'logsumexp', 'var', 'std', 'max', 'min'];
  const cases = names.map((n): [string, (...a: unknown[]) => ad.Tensor] => [n, call(n)]);
  for (const [name, f] of cases)
    test(name, () => {
      assert.deepEqual(f(1, { keepdim: false }).shape, [3], `${name}(1, {keepdim: false})`);
      // var and std take unbiased before keepdim, as PyTorch.
      const positional = (keepdim: boolean) => (name === 'var' || name === 'std' ? f(1, true, keepdim) : f(1, keepdim));
      assert.deepEqual(positional(false).shape, [3]);
      const kept = positional(true);
      assert.deepEqual(kept.shape, [3, 1]);
      assert.deepEqual(flat(f(1, { keepdim: true })), flat(kept), `${name}(1, {keepdim: true})`);
      assert.deepEqual(flat(f({ dim: 1, keepdim: true })), flat(kept), `${name}({dim: 1, keepdim: true})`);
      assertThrowsMsg(() => f(1, { keepdim: 1 }), ad.ArgumentError, `${name}: keepdim must be a boolean`, 'got 1');
    });
  test('norm: p, dim and keepdim by name', () => {
    const kept = x.norm(2, 1, true);
    assert.deepEqual(kept.shape, [3, 1]);
    assert.deepEqual(flat(x.norm(2, 1, { keepdim: true })), flat(kept));
    assert.deepEqual(flat(x.norm({ p: 2, dim: 1, keepdim: true })), flat(kept));
    assert.deepEqual(x.norm(2, 1, { keepdim: false }).shape, [3]);
    assertThrowsMsg(() => x.norm('nuc' as never), ad.ArgumentError, 'norm: p must be', "'fro'", '"nuc"');
  });
  test('max(x, other) takes no keepdim; max(x) no keepdim without a dim', () => {
    const max = ad.max as (...a: unknown[]) => ad.Tensor;
    assertThrowsMsg(() => max(x, x, true), ad.ValueError, 'max: keepdim is for max(x, dim)');
    assertThrowsMsg(() => ad.min(x, { keepdim: true } as never), ad.ValueError, 'min: keepdim needs a dim');
  });
  test('prod: its dtype keyword-only, as PyTorch', () => {
    const i = ad.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'int32' },
    );
    assert.equal(i.prod(1, { dtype: 'float64' }).dtype, 'float64');
    assert.deepEqual(flat(i.prod({ dim: 1, keepdim: true, dtype: 'float64' })), [2, 12]);
    assertThrowsMsg(
      () => (i.prod as (...a: unknown[]) => ad.Tensor)(1, true, 'float64'),
      ad.ArgumentError,
      'prod',
      'one too many',
      'give dtype as options',
    );
  });
});
