/**
 * @file Tensor basics against PyTorch 1.13: creation (tensor(), fills, ranges, eye, seeded random draws), strided views
 * that share one storage (shapes, strides and offsets as torch reports them), and reading values back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TypedArray } from '../src/core/dtype.js';
import * as ad from '../src/index.js';

/** The elements a strided view reads from a flat buffer, in row-major order: the definition of a view. */
function gather(
  buf: ArrayLike<number>,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): number[] {
  const out: number[] = [];
  const walk = (d: number, off: number) => {
    if (d === shape.length) {
      out.push(buf[off]);
      return;
    }
    for (let i = 0; i < shape[d]; i++) walk(d + 1, off + i * strides[d]);
  };
  walk(0, offset);
  return out;
}

/** A tensor's buffer on the js backend: the TypedArray its storage owns, written directly to test aliasing. */
function bufferOf(t: ad.Tensor): TypedArray {
  return t._storage.buf as TypedArray;
}

describe('tensor()', () => {
  test('nested arrays: shape from the nesting, numbers default to float32', () => {
    const t = ad.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(t.shape, [2, 3]);
    // JS has no integer literals ([1, 2] is [1.0, 2.0]), so unlike torch.tensor([1, 2]) this is float32.
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.toArray(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(ad.tensor([[[1], [2]]]).shape, [1, 2, 1]);
  });

  test('a number gives a 0-d tensor', () => {
    const t = ad.tensor(3.5);
    assert.deepEqual(t.shape, []);
    assert.equal(t.ndim, 0);
    assert.equal(t.item(), 3.5);
  });

  test('values are stored in the dtype: float32 rounds, int32 truncates toward zero', () => {
    assert.equal(ad.tensor([0.1]).item(), Math.fround(0.1));
    assert.equal(ad.tensor([0.1], { dtype: 'float64' }).item(), 0.1);
    assert.deepEqual(ad.tensor([1.7, -1.7, 3], { dtype: 'int32' }).toArray(), [1, -1, 3]);
    assert.deepEqual(ad.tensor([0, 2, -1], { dtype: 'bool' }).toArray(), [false, true, true]);
  });

  test('booleans give a bool tensor; mixed booleans and numbers give float32', () => {
    const b = ad.tensor([true, false]);
    assert.equal(b.dtype, 'bool');
    assert.deepEqual(b.toArray(), [true, false]);
    assert.equal(ad.tensor(true).dtype, 'bool');
    const mixed = ad.tensor([true, 2]);
    assert.equal(mixed.dtype, 'float32');
    assert.deepEqual(mixed.toArray(), [1, 2]);
  });

  test('empty arrays', () => {
    const e = ad.tensor([]);
    assert.deepEqual(e.shape, [0]);
    assert.equal(e.dtype, 'float32');
    assert.deepEqual(ad.tensor([[]]).shape, [1, 0]);
    assert.deepEqual(ad.tensor([[], []]).shape, [2, 0]);
  });

  test('{shape} reshapes the data; a wrong size is an error', () => {
    assert.deepEqual(ad.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] }).toArray(), [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.throws(() => ad.tensor([1, 2, 3], { shape: [2, 2] }), {
      name: 'ValueError',
      message: /3 elements.*\[2, 2\]/,
    });
  });

  test('requiresGrad makes a leaf', () => {
    const t = ad.tensor([1, 2], { requiresGrad: true });
    assert.equal(t.requiresGrad, true);
    assert.equal(t.isLeaf, true);
    assert.equal(ad.tensor([1]).requiresGrad, false);
  });

  test('ragged arrays are errors naming where they break', () => {
    assert.throws(() => ad.tensor([[1, 2], [3]]), { name: 'ShapeError', message: /ragged.*\[1\].*length 1.*length 2/ });
    assert.throws(() => ad.tensor([[1, 2], 3] as ad.NestedArray), { name: 'ShapeError', message: /ragged/ });
    assert.throws(() => ad.tensor([1, [2]]), { name: 'ShapeError', message: /\[1\]/ });
    assert.throws(() => ad.tensor([[], [1]]), { name: 'ShapeError', message: /ragged/ });
    assert.throws(() => ad.tensor(['a'] as unknown as ad.NestedArray), { name: 'ShapeError', message: /"a"/ });
  });

  describe('from TypedArrays', () => {
    const cases: [string, TypedArray | Int16Array, ad.DType][] = [
      ['Float64Array', new Float64Array([1.5, 2]), 'float64'],
      ['Float32Array', new Float32Array([1.5, 2]), 'float32'],
      ['Int32Array', new Int32Array([1, -2]), 'int32'],
      ['Int16Array', new Int16Array([1, -2]), 'int32'],
      ['Uint8Array (bool storage)', new Uint8Array([1, 0]), 'bool'],
    ];
    for (const [name, arr, dtype] of cases) {
      test(`${name} → ${dtype}`, () => {
        const t = ad.tensor(arr as TypedArray);
        assert.equal(t.dtype, dtype);
        assert.deepEqual(t.shape, [2]);
        assert.deepEqual(Array.from(t.dataSync()), Array.from(arr));
      });
    }

    test('{shape} and {dtype}', () => {
      const t = ad.tensor(new Float64Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
      assert.deepEqual(t.shape, [2, 3]);
      assert.deepEqual(t.toArray(), [
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const i = ad.tensor(new Float64Array([1.9, -1.9]), { dtype: 'int32' });
      assert.deepEqual(i.toArray(), [1, -1]);
      assert.throws(() => ad.tensor(new Float32Array(5), { shape: [2, 3] }), { name: 'ValueError' });
    });

    test('the data is copied: changing the array afterwards does not change the tensor', () => {
      const arr = new Float32Array([1, 2, 3]);
      const t = ad.tensor(arr);
      arr[0] = 100;
      assert.deepEqual(t.toArray(), [1, 2, 3]);
    });
  });
});

describe('fills', () => {
  test('zeros, ones, empty: float32 by default, any dtype on request', () => {
    assert.deepEqual(ad.zeros([2, 2]).toArray(), [
      [0, 0],
      [0, 0],
    ]);
    assert.deepEqual(ad.ones([3]).toArray(), [1, 1, 1]);
    assert.equal(ad.zeros([2]).dtype, 'float32');
    assert.equal(ad.ones([2], { dtype: 'int32' }).dtype, 'int32');
    assert.deepEqual(ad.ones([2], { dtype: 'bool' }).toArray(), [true, true]);
    const e = ad.empty([2, 3], { dtype: 'float64' });
    assert.deepEqual(e.shape, [2, 3]);
    assert.equal(e.dtype, 'float64');
    assert.deepEqual(ad.zeros([]).shape, []);
    assert.equal(ad.ones([]).item(), 1);
    assert.deepEqual(ad.zeros([0, 4]).shape, [0, 4]);
  });

  test('full: a number gives float32 (as tensor() does), a boolean gives bool', () => {
    assert.deepEqual(ad.full([2], 2.5).toArray(), [2.5, 2.5]);
    // torch.full((2,), 2) is int64, but JS cannot tell 2 from 2.0.
    assert.equal(ad.full([2], 2).dtype, 'float32');
    assert.equal(ad.full([2], true).dtype, 'bool');
    assert.deepEqual(ad.full([2], 7.9, { dtype: 'int32' }).toArray(), [7, 7]);
    assert.deepEqual(ad.full([1], -Infinity).toArray(), [-Infinity]);
  });

  test('the *Like variants take shape and dtype from their argument, dtype overridable', () => {
    const x = ad.zeros([2, 3], { dtype: 'float64' });
    for (const [name, t] of [
      ['zerosLike', ad.zerosLike(x)],
      ['onesLike', ad.onesLike(x)],
      ['emptyLike', ad.emptyLike(x)],
      ['fullLike', ad.fullLike(x, 4)],
      ['randLike', ad.randLike(x)],
      ['randnLike', ad.randnLike(x)],
      ['randintLike', ad.randintLike(x, 5)],
      ['randintLike (low, high)', ad.randintLike(x, 2, 5)],
    ] as const) {
      assert.deepEqual(t.shape, [2, 3], name);
      assert.equal(t.dtype, 'float64', name);
    }
    assert.deepEqual(ad.onesLike(x).toArray(), [
      [1, 1, 1],
      [1, 1, 1],
    ]);
    assert.deepEqual(ad.fullLike(x, 4).toArray(), [
      [4, 4, 4],
      [4, 4, 4],
    ]);
    assert.equal(ad.zerosLike(x, { dtype: 'int32' }).dtype, 'int32');
    assert.equal(ad.zerosLike(x, { dtype: undefined }).dtype, 'float64');
    assert.equal(ad.onesLike(x, { requiresGrad: true }).requiresGrad, true);
    const r = Array.from(ad.randintLike(x, 2, 5).dataSync());
    assert.ok(r.every((v) => Number.isInteger(v) && v >= 2 && v < 5));
  });

  test('bad sizes are errors', () => {
    assert.throws(() => ad.zeros([2, -1]), { name: 'ArgumentError', message: /zeros.*≥ 0.*got \[2, -1\]/ });
    assert.throws(() => ad.ones([1.5]), { name: 'ArgumentError', message: /ones.*whole/ });
    assert.throws(() => ad.full([2], 1, { dtype: 'int8' as ad.DType }), { name: 'DTypeError', message: /int8/ });
  });
});

describe('arange', () => {
  // torch 1.13's values for the same arguments (its int64 results are our int32).
  const cases: [string, () => ad.Tensor, ad.DType, number[]][] = [
    ['arange(5)', () => ad.arange(5), 'int32', [0, 1, 2, 3, 4]],
    ['arange(2, 7)', () => ad.arange(2, 7), 'int32', [2, 3, 4, 5, 6]],
    ['arange(-3, 3, 2)', () => ad.arange(-3, 3, 2), 'int32', [-3, -1, 1]],
    ['arange(0, 10, 3)', () => ad.arange(0, 10, 3), 'int32', [0, 3, 6, 9]],
    ['arange(5, 0, -1)', () => ad.arange(5, 0, -1), 'int32', [5, 4, 3, 2, 1]],
    [
      'arange(0, 1, 0.1)',
      () => ad.arange(0, 1, 0.1),
      'float32',
      [
        0.0, 0.10000000149011612, 0.20000000298023224, 0.30000001192092896, 0.4000000059604645, 0.5, 0.6000000238418579,
        0.699999988079071, 0.800000011920929, 0.8999999761581421,
      ],
    ],
    ['arange(1, 2.5, 0.5)', () => ad.arange(1, 2.5, 0.5), 'float32', [1.0, 1.5, 2.0]],
    ['arange(5, 0, -1.5)', () => ad.arange(5, 0, -1.5), 'float32', [5.0, 3.5, 2.0, 0.5]],
    [
      'arange(1, -1, -0.4)',
      () => ad.arange(1, -1, -0.4),
      'float32',
      [1.0, 0.6000000238418579, 0.20000000298023224, -0.20000000298023224, -0.6000000238418579],
    ],
    ['arange(0.5, 3)', () => ad.arange(0.5, 3), 'float32', [0.5, 1.5, 2.5]],
    // ceil((0.3 - 0) / 0.1) = ceil(2.9999999999999996) = 3: the length rule works on float64 quotients, as torch's.
    ['arange(0, 0.3, 0.1)', () => ad.arange(0, 0.3, 0.1), 'float32', [0.0, 0.10000000149011612, 0.20000000298023224]],
    [
      "arange(0, 1, 0.1, { dtype: 'float64' })",
      () => ad.arange(0, 1, 0.1, { dtype: 'float64' }),
      'float64',
      [0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6000000000000001, 0.7000000000000001, 0.8, 0.9],
    ],
    ['arange(3, 3)', () => ad.arange(3, 3), 'int32', []],
    ['arange(0)', () => ad.arange(0), 'int32', []],
    ['arange(3, 3, -1)', () => ad.arange(3, 3, -1), 'int32', []],
  ];
  for (const [what, make, dtype, values] of cases) {
    test(what, () => {
      const t = make();
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [values.length]);
      assert.deepEqual(Array.from(t.dataSync()), values);
    });
  }

  test("PyTorch's length rule: ceil((end − start) / step)", () => {
    for (const [s, e, st] of [
      [0, 10, 3],
      [0, 9, 3],
      [1, 2, 0.3],
      [-1, 1, 0.25],
      [10, -10, -3],
    ]) {
      assert.equal(ad.arange(s, e, st).numel(), Math.ceil((e - s) / st), `arange(${s}, ${e}, ${st})`);
    }
  });

  test('errors: zero step, a step walking away from end, non-finite bounds', () => {
    assert.throws(() => ad.arange(0, 5, 0), { name: 'ValueError', message: /step must be nonzero/ });
    assert.throws(() => ad.arange(5, 0), { name: 'ValueError', message: /flip the step's sign/ });
    assert.throws(() => ad.arange(0, 5, -1), { name: 'ValueError', message: /flip/ });
    assert.throws(() => ad.arange(0, Infinity), {
      name: 'ArgumentError',
      message: /arange: end must be a finite number, got Infinity/,
    });
    assert.throws(() => ad.arange(Number.NaN), {
      name: 'ArgumentError',
      message: /arange: start must be a finite number, got NaN/,
    });
  });
});

describe('linspace', () => {
  // torch 1.13's values: the first half counted from start, the second from end, in the output's float type.
  const cases: [string, () => ad.Tensor, ad.DType, number[]][] = [
    ['linspace(0, 1, 5)', () => ad.linspace(0, 1, 5), 'float32', [0.0, 0.25, 0.5, 0.75, 1.0]],
    [
      'linspace(0, 1, 7)',
      () => ad.linspace(0, 1, 7),
      'float32',
      [0.0, 0.1666666716337204, 0.3333333432674408, 0.5, 0.6666666269302368, 0.8333333134651184, 1.0],
    ],
    [
      'linspace(-3.3, 7.1, 11)',
      () => ad.linspace(-3.3, 7.1, 11),
      'float32',
      [
        -3.299999952316284, -2.259999990463257, -1.2200000286102295, -0.18000006675720215, 0.8599998950958252,
        1.9000000953674316, 2.940000057220459, 3.9800000190734863, 5.019999980926514, 6.059999942779541,
        7.099999904632568,
      ],
    ],
    ['linspace(3, -1, 4)', () => ad.linspace(3, -1, 4), 'float32', [3.0, 1.6666666269302368, 0.3333333730697632, -1.0]],
    ['linspace(-1, 1, 1)', () => ad.linspace(-1, 1, 1), 'float32', [-1.0]],
    ['linspace(-1, 1, 0)', () => ad.linspace(-1, 1, 0), 'float32', []],
    ["linspace(0, 10, 4, { dtype: 'int32' })", () => ad.linspace(0, 10, 4, { dtype: 'int32' }), 'int32', [0, 3, 6, 10]],
    [
      "linspace(-10, 10, 6, { dtype: 'int32' })",
      () => ad.linspace(-10, 10, 6, { dtype: 'int32' }),
      'int32',
      [-10, -6, -2, 2, 6, 10],
    ],
    [
      "linspace(0.1, 0.7, 13, { dtype: 'float64' })",
      () => ad.linspace(0.1, 0.7, 13, { dtype: 'float64' }),
      'float64',
      [
        0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.39999999999999997, 0.44999999999999996, 0.5, 0.5499999999999999, 0.6,
        0.6499999999999999, 0.7,
      ],
    ],
  ];
  for (const [what, make, dtype, values] of cases) {
    test(what, () => {
      const t = make();
      assert.equal(t.dtype, dtype);
      assert.deepEqual(Array.from(t.dataSync()), values);
    });
  }

  test('both endpoints are exact for any range and step count', () => {
    ad.manualSeed(3);
    const r = Array.from(ad.randn([60], { dtype: 'float64' }).mul(100).dataSync());
    for (let i = 0; i < 60; i += 3) {
      const [a, b, n] = [r[i], r[i + 1], 2 + Math.abs(Math.round(r[i + 2]))];
      for (const dtype of ['float32', 'float64'] as const) {
        const v = ad.linspace(a, b, n, { dtype }).dataSync();
        const round = dtype === 'float32' ? Math.fround : (x: number) => x;
        assert.equal(v[0], round(a), `linspace(${a}, ${b}, ${n}) ${dtype} start`);
        assert.equal(v[n - 1], round(b), `linspace(${a}, ${b}, ${n}) ${dtype} end`);
      }
    }
  });

  test('bad step counts are errors', () => {
    assert.throws(() => ad.linspace(0, 1, -1), {
      name: 'ArgumentError',
      message: /linspace: steps must be a whole number ≥ 0, got -1/,
    });
    assert.throws(() => ad.linspace(0, 1, 2.5), { name: 'ArgumentError', message: /got 2.5/ });
  });
});

describe('eye', () => {
  test('square, rectangular, empty, with a dtype', () => {
    assert.deepEqual(ad.eye(2).toArray(), [
      [1, 0],
      [0, 1],
    ]);
    assert.deepEqual(ad.eye(2, 3).toArray(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    assert.deepEqual(ad.eye(3, 2).toArray(), [
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    assert.deepEqual(ad.eye(0).shape, [0, 0]);
    assert.equal(ad.eye(2).dtype, 'float32');
    assert.equal(ad.eye(2, 2, { dtype: 'int32' }).dtype, 'int32');
    const b = ad.eye(3, { dtype: 'bool' });
    assert.deepEqual(b.shape, [3, 3]);
    assert.deepEqual((b.toArray() as boolean[][])[1], [false, true, false]);
  });
});

describe('random', () => {
  test('shapes and dtypes', () => {
    assert.deepEqual(ad.rand([2, 3]).shape, [2, 3]);
    assert.equal(ad.rand([2]).dtype, 'float32');
    assert.equal(ad.randn([2], { dtype: 'float64' }).dtype, 'float64');
    assert.equal(ad.randint(0, 5, [2]).dtype, 'int32');
    assert.equal(ad.randint(0, 5, [2], { dtype: 'float32' }).dtype, 'float32');
    assert.deepEqual(ad.rand([]).shape, []);
    assert.deepEqual(ad.randn([0, 3]).shape, [0, 3]);
  });

  test('rand is in [0, 1), for float32 (never rounding up to 1) and float64', () => {
    ad.manualSeed(1);
    for (const dtype of ['float32', 'float64'] as const) {
      const v = ad.rand([100000], { dtype }).dataSync();
      let mn = 1;
      let mx = 0;
      let sum = 0;
      for (const x of v) {
        mn = Math.min(mn, x);
        mx = Math.max(mx, x);
        sum += x;
      }
      assert.ok(mn >= 0 && mx < 1, `${dtype}: range [${mn}, ${mx}]`);
      assert.ok(mn < 1e-3 && mx > 1 - 1e-3, `${dtype}: covers the interval`);
      assert.ok(Math.abs(sum / v.length - 0.5) < 0.01, `${dtype}: mean ${sum / v.length}`);
    }
  });

  test('randn has mean ≈ 0 and std ≈ 1 over 100k samples', () => {
    ad.manualSeed(2);
    const v = ad.randn([100000], { dtype: 'float64' }).dataSync();
    let sum = 0;
    let sq = 0;
    for (const x of v) {
      sum += x;
      sq += x * x;
    }
    const mean = sum / v.length;
    const std = Math.sqrt(sq / v.length - mean * mean);
    // The standard error of the mean is 1/√100000 ≈ 0.003.
    assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 0.015, `std ${std}`);
    assert.ok(v.every(Number.isFinite));
  });

  test('randint covers [low, high) uniformly; randint(high, shape) means low = 0', () => {
    ad.manualSeed(4);
    const v = ad.randint(-2, 3, [10000]).dataSync();
    const counts = new Map<number, number>();
    for (const x of v) counts.set(x, (counts.get(x) ?? 0) + 1);
    assert.deepEqual(
      [...counts.keys()].sort((a, b) => a - b),
      [-2, -1, 0, 1, 2],
    );
    for (const c of counts.values()) assert.ok(Math.abs(c - 2000) < 200, `count ${c}`);
    const w = ad.randint(3, [1000]);
    assert.deepEqual(w.shape, [1000]);
    assert.ok(Array.from(w.dataSync()).every((x) => x >= 0 && x < 3));
  });

  test('errors: empty randint range, non-float rand/randn (torch has no int uniform or normal)', () => {
    assert.throws(() => ad.randint(5, 5, [2]), {
      name: 'ValueError',
      message: /high \(5\) must be greater than low \(5\)/,
    });
    assert.throws(() => ad.randint(0, 2.5, [2]), {
      name: 'ArgumentError',
      message: /randint: high must be a whole number.*got 2.5/,
    });
    assert.throws(() => ad.rand([2], { dtype: 'int32' }), { name: 'DTypeError', message: /rand.*int32/ });
    assert.throws(() => ad.randn([2], { dtype: 'bool' }), { name: 'DTypeError', message: /randn.*bool/ });
    assert.throws(() => ad.randLike(ad.zeros([2], { dtype: 'int32' })), { name: 'DTypeError' });
  });

  test('manualSeed makes every draw deterministic: same seed, same values across rand, randn and randint', () => {
    const draw = () => [
      Array.from(ad.rand([5]).dataSync()),
      Array.from(ad.randn([3]).dataSync()), // odd: leaves a Box–Muller spare behind
      Array.from(ad.randint(0, 100, [5]).dataSync()),
      Array.from(ad.randn([4], { dtype: 'float64' }).dataSync()),
      Array.from(ad.rand([2], { dtype: 'float64' }).dataSync()),
    ];
    ad.manualSeed(42);
    const a = draw();
    ad.manualSeed(42);
    const b = draw();
    assert.deepEqual(a, b);
    ad.manualSeed(43);
    const c = draw();
    for (let i = 0; i < a.length; i++) assert.notDeepEqual(a[i], c[i], `draw ${i} must differ across seeds`);
    // Successive draws differ from each other.
    ad.manualSeed(42);
    assert.notDeepEqual(Array.from(ad.rand([5]).dataSync()), Array.from(ad.rand([5]).dataSync()));
  });

  test('a pending normal spare does not leak across manualSeed', () => {
    ad.manualSeed(7);
    const first = ad.randn([1]).item();
    ad.randn([1]); // consumes the spare
    ad.manualSeed(7);
    ad.randn([1]);
    ad.manualSeed(7);
    assert.equal(ad.randn([1]).item(), first);
  });

  test('getRngState / setRngState resume the stream exactly', () => {
    ad.manualSeed(9);
    ad.randn([3]);
    const state = ad.getRngState();
    const a = [Array.from(ad.randn([5]).dataSync()), Array.from(ad.rand([5]).dataSync())];
    ad.setRngState(state);
    const b = [Array.from(ad.randn([5]).dataSync()), Array.from(ad.rand([5]).dataSync())];
    assert.deepEqual(a, b);
  });
});

interface Bases {
  x: ad.Tensor;
  m: ad.Tensor;
  v: ad.Tensor;
}
const bases = (): Bases => ({
  x: ad.arange(24).float().reshape(2, 3, 4),
  m: ad.arange(12).float().reshape(3, 4),
  v: ad.arange(20).float().reshape(5, 4),
});

describe('strided views', () => {
  // [TS, make, shape, strides, storage offset, isContiguous, shares the base's storage]: torch 1.13's answers for the
  // same view of x = arange(24).reshape(2, 3, 4), m = arange(12).reshape(3, 4), v = arange(20).reshape(5, 4).
  const cases: [string, (b: Bases) => ad.Tensor, number[], number[], number, boolean, boolean][] = [
    ['x.permute(2, 0, 1)', (b) => b.x.permute(2, 0, 1), [4, 2, 3], [1, 12, 4], 0, false, true],
    ['x.permute([2, 0, 1])', (b) => b.x.permute([2, 0, 1]), [4, 2, 3], [1, 12, 4], 0, false, true],
    ['x.transpose(0, 2)', (b) => b.x.transpose(0, 2), [4, 3, 2], [1, 4, 12], 0, false, true],
    ['x.transpose(-1, -2)', (b) => b.x.transpose(-1, -2), [2, 4, 3], [12, 1, 4], 0, false, true],
    ['x.mT', (b) => b.x.mT, [2, 4, 3], [12, 1, 4], 0, false, true],
    ['m.T', (b) => b.m.T, [4, 3], [1, 4], 0, false, true],
    ['x.T', (b) => b.x.T, [4, 3, 2], [1, 4, 12], 0, false, true],
    ['x.reshape(6, 4)', (b) => b.x.reshape(6, 4), [6, 4], [4, 1], 0, true, true],
    ['x.reshape([6, 4])', (b) => b.x.reshape([6, 4]), [6, 4], [4, 1], 0, true, true],
    ['x.view(4, -1)', (b) => b.x.view(4, -1), [4, 6], [6, 1], 0, true, true],
    ['x.flatten()', (b) => b.x.flatten(), [24], [1], 0, true, true],
    ['x.flatten(1)', (b) => b.x.flatten(1), [2, 12], [12, 1], 0, true, true],
    ['x.flatten(0, 1)', (b) => b.x.flatten(0, 1), [6, 4], [4, 1], 0, true, true],
    ['m.unsqueeze(0)', (b) => b.m.unsqueeze(0), [1, 3, 4], [12, 4, 1], 0, true, true],
    ['m.unsqueeze(1)', (b) => b.m.unsqueeze(1), [3, 1, 4], [4, 4, 1], 0, true, true],
    ['m.unsqueeze(-1)', (b) => b.m.unsqueeze(-1), [3, 4, 1], [4, 1, 1], 0, true, true],
    ['m.reshape(3, 1, 4).squeeze()', (b) => b.m.reshape(3, 1, 4).squeeze(), [3, 4], [4, 1], 0, true, true],
    ['m.reshape(3, 1, 4).squeeze(1)', (b) => b.m.reshape(3, 1, 4).squeeze(1), [3, 4], [4, 1], 0, true, true],
    ['m.reshape(3, 1, 4).squeeze(0)', (b) => b.m.reshape(3, 1, 4).squeeze(0), [3, 1, 4], [4, 4, 1], 0, true, true],
    ['m.slice(1, 0, 1).expand(3, 5)', (b) => b.m.slice(1, 0, 1).expand(3, 5), [3, 5], [4, 0], 0, false, true],
    [
      'm.slice(0, 0, 1).expand(2, 3, 4)',
      (b) => b.m.slice(0, 0, 1).expand(2, 3, 4),
      [2, 3, 4],
      [0, 0, 1],
      0,
      false,
      true,
    ],
    [
      'm.slice(1, 0, 1).expand(2, 3, 4)',
      (b) => b.m.slice(1, 0, 1).expand(2, 3, 4),
      [2, 3, 4],
      [0, 4, 0],
      0,
      false,
      true,
    ],
    ['m.expand(-1, 4)', (b) => b.m.expand(-1, 4), [3, 4], [4, 1], 0, true, true],
    ['v.slice(0, 1, 4)', (b) => b.v.slice(0, 1, 4), [3, 4], [4, 1], 4, true, true],
    ['v.slice(1, 1, 3)', (b) => b.v.slice(1, 1, 3), [5, 2], [4, 1], 1, false, true],
    ['v.slice(0, 0, null, 2)', (b) => b.v.slice(0, 0, null, 2), [3, 4], [8, 1], 0, false, true],
    ['v.slice(1, 1, null, 2)', (b) => b.v.slice(1, 1, null, 2), [5, 2], [4, 2], 1, false, true],
    ['v.slice(0, -2)', (b) => b.v.slice(0, -2), [2, 4], [4, 1], 12, true, true],
    [
      'v.slice(0, 1, 4).slice(1, 0, null, 3)',
      (b) => b.v.slice(0, 1, 4).slice(1, 0, null, 3),
      [3, 2],
      [4, 3],
      4,
      false,
      true,
    ],
    ['v.slice(0, 3, 100)', (b) => b.v.slice(0, 3, 100), [2, 4], [4, 1], 12, true, true],
    ['v.slice(0, 4, 2)', (b) => b.v.slice(0, 4, 2), [0, 4], [4, 1], 16, true, true],
    ['v.narrow(1, 1, 2)', (b) => b.v.narrow(1, 1, 2), [5, 2], [4, 1], 1, false, true],
    ['v.narrow(0, -2, 2)', (b) => b.v.narrow(0, -2, 2), [2, 4], [4, 1], 12, true, true],
    ['m.T.contiguous()', (b) => b.m.T.contiguous(), [4, 3], [3, 1], 0, true, false],
    ['m.T.reshape(12)', (b) => b.m.T.reshape(12), [12], [1], 0, true, false],
    ['m.T.reshape(2, 2, 3)', (b) => b.m.T.reshape(2, 2, 3), [2, 2, 3], [2, 1, 4], 0, false, true],
    ['v.slice(1, 1, 3).reshape(10)', (b) => b.v.slice(1, 1, 3).reshape(10), [10], [1], 0, true, false],
    ['v.slice(0, 1, 4).reshape(12)', (b) => b.v.slice(0, 1, 4).reshape(12), [12], [1], 4, true, true],
    ['v.slice(0, 1, 4).T.flatten()', (b) => b.v.slice(0, 1, 4).T.flatten(), [12], [1], 0, true, false],
    ['x.permute(1, 0, 2).flatten(1)', (b) => b.x.permute(1, 0, 2).flatten(1), [3, 8], [8, 1], 0, true, false],
  ];

  for (const [what, make, shape, strides, offset, contiguous, shares] of cases) {
    test(what, () => {
      const b = bases();
      const t = make(b);
      assert.deepEqual(t.shape, shape, 'shape');
      assert.deepEqual(t.stride(), strides, 'strides');
      assert.equal(t._offset, offset, 'storage offset');
      assert.equal(t.isContiguous(), contiguous, 'isContiguous');
      const base = [b.x, b.m, b.v].find((s) => s._storage === t._storage);
      assert.equal(base !== undefined, shares, 'shares storage with its base');
      // Reading back walks the strides.
      const buf = bufferOf(base ?? t);
      assert.deepEqual(Array.from(t.dataSync()), gather(buf, shape, strides, offset), 'values');
      if (!base) return;
      // A write to the base's buffer is seen by the view (no copy was made).
      for (let i = 0; i < buf.length; i++) buf[i] = 1000 + 7 * i;
      assert.deepEqual(Array.from(t.dataSync()), gather(buf, shape, strides, offset), 'values after a write');
    });
  }

  test('a copy does not see writes to its source', () => {
    const { m } = bases();
    const c = m.T.contiguous();
    const before = Array.from(c.dataSync());
    bufferOf(m).fill(-1);
    assert.deepEqual(Array.from(c.dataSync()), before);
  });

  test('contiguous() of a contiguous tensor is the same object; of a strided one, a contiguous copy', () => {
    const { m, v } = bases();
    assert.equal(m.contiguous(), m);
    assert.equal(v.slice(0, 1, 4).contiguous().isContiguous(), true);
    const t = m.T;
    const c = t.contiguous();
    assert.notEqual(c, t);
    assert.notEqual(c._storage, m._storage);
    assert.deepEqual(c.stride(), [3, 1]);
    assert.deepEqual(c.toArray(), t.toArray());
  });

  test('reshape of a non-contiguous tensor copies when it must; view() refuses and says why', () => {
    const { m } = bases();
    const t = m.T;
    const r = t.reshape(12);
    assert.notEqual(r._storage, m._storage);
    assert.deepEqual(Array.from(r.dataSync()), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    assert.throws(() => t.view(12), {
      name: 'ShapeError',
      message: /view: a tensor of shape \[4, 3\] with strides \[1, 4\] cannot be viewed as \[12\].*reshape\(\)/,
    });
  });

  test('expand repeats with stride 0: one element read many times', () => {
    const { m } = bases();
    const e = m.slice(1, 0, 1).expand(3, 5);
    assert.deepEqual(e.toArray(), [
      [0, 0, 0, 0, 0],
      [4, 4, 4, 4, 4],
      [8, 8, 8, 8, 8],
    ]);
    bufferOf(m)[4] = -3;
    assert.deepEqual((e.toArray() as number[][])[1], [-3, -3, -3, -3, -3]);
  });

  test('views of views compose their strides and offsets', () => {
    const { x } = bases();
    const t = x.slice(2, 1, 3).transpose(0, 1).slice(0, 1).unsqueeze(0);
    assert.deepEqual(t.shape, [1, 2, 2, 2]);
    assert.deepEqual(t.stride().slice(1), [4, 12, 1]);
    assert.equal(t._offset, 5);
    assert.equal(t._storage, x._storage);
    assert.deepEqual(t.toArray(), [
      [
        [
          [5, 6],
          [17, 18],
        ],
        [
          [9, 10],
          [21, 22],
        ],
      ],
    ]);
  });

  test('view/reshape infer -1 and reject bad sizes', () => {
    const { x } = bases();
    assert.deepEqual(x.view(-1).shape, [24]);
    assert.deepEqual(x.reshape(2, -1).shape, [2, 12]);
    assert.throws(() => x.reshape(5, -1), { name: 'ShapeError' });
    assert.throws(() => x.view(-1, -1), { name: 'ShapeError' });
  });

  test('shape errors name the op and the shapes', () => {
    const { m } = bases();
    assert.throws(() => m.permute(0), { name: 'ShapeError', message: /permute.*\[3, 4\]/ });
    assert.throws(() => m.expand(3, 5), { name: 'ShapeError', message: /expand.*\[3, 4\].*\[3, 5\]/ });
    assert.throws(() => m.transpose(0, 2), { name: 'IndexError', message: /transpose/ });
    assert.throws(() => m.narrow(0, 2, 2), { name: 'ShapeError', message: /narrow.*\[3, 4\]/ });
    assert.throws(() => m.slice(0, 0, 2, 0), { name: 'ArgumentError', message: /slice: step.*flip\(\)/ });
    assert.throws(() => ad.zeros([3]).mT, { name: 'ShapeError', message: /mT/ });
  });

  test('unsqueeze at the end gives the new size-1 dim stride 1, as torch does', () => {
    const { m } = bases();
    assert.deepEqual(m.T.unsqueeze(2).stride(), [1, 4, 1]);
  });
});

describe('readback', () => {
  test('toArray: nested arrays, bools as booleans, 0-d as a number', () => {
    assert.deepEqual(ad.arange(6).reshape(2, 3).toArray(), [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.deepEqual(ad.tensor([true, false]).toArray(), [true, false]);
    assert.equal(ad.tensor(2.5).toArray(), 2.5);
    assert.equal(ad.tensor(true).toArray(), true);
    assert.deepEqual(ad.zeros([2, 0]).toArray(), [[], []]);
    assert.deepEqual(ad.arange(6).reshape(2, 3).T.toArray(), [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
  });

  test('dataSync: a row-major copy in the dtype’s TypedArray', () => {
    const t = ad.tensor([1, 2, 3]);
    const d = t.dataSync();
    assert.ok(d instanceof Float32Array);
    d[0] = 100;
    assert.deepEqual(t.toArray(), [1, 2, 3]);
    assert.ok(ad.tensor([1], { dtype: 'float64' }).dataSync() instanceof Float64Array);
    assert.ok(ad.tensor([1], { dtype: 'int32' }).dataSync() instanceof Int32Array);
    assert.ok(ad.tensor([true]).dataSync() instanceof Uint8Array);
    // A view's copy holds just its own elements.
    const s = ad.arange(10).slice(0, 2, 5);
    const sd = s.dataSync();
    assert.deepEqual(Array.from(sd), [2, 3, 4]);
    sd[0] = -1;
    assert.deepEqual(s.toArray(), [2, 3, 4]);
  });

  test('await data() gives the same values', async () => {
    const t = ad.arange(6).reshape(2, 3).T;
    const d = await t.data();
    assert.deepEqual(Array.from(d), Array.from(t.dataSync()));
  });

  test('item(): the one value, of any one-element shape; an error otherwise', () => {
    assert.equal(ad.tensor(4.5).item(), 4.5);
    assert.equal(ad.tensor([[7]], { dtype: 'int32' }).item(), 7);
    assert.equal(ad.tensor([true]).item(), 1);
    assert.throws(() => ad.zeros([3]).item(), {
      name: 'ValueError',
      message: /item: only one-element tensors.*shape \[3\] \(3 elements\)/,
    });
    assert.throws(() => ad.zeros([0]).item(), { name: 'ValueError', message: /0 elements/ });
  });

  test('size(), size(d) with negative d, numel, ndim, dim()', () => {
    const t = ad.zeros([2, 3, 4]);
    assert.deepEqual(t.size(), [2, 3, 4]);
    assert.equal(t.size(0), 2);
    assert.equal(t.size(-1), 4);
    assert.equal(t.size(-3), 2);
    assert.throws(() => t.size(3), { name: 'ValueError', message: /dim 3 is out of range for shape \[2, 3, 4\]/ });
    assert.throws(() => t.size(-4), { name: 'ValueError' });
    assert.equal(t.numel(), 24);
    assert.equal(t.ndim, 3);
    assert.equal(t.dim(), 3);
    const s = t.size();
    s[0] = 99;
    assert.deepEqual(t.shape, [2, 3, 4], 'size() returns a copy');
    const z = ad.tensor(1);
    assert.deepEqual(z.size(), []);
    assert.equal(z.numel(), 1);
    assert.equal(ad.zeros([3, 0]).numel(), 0);
  });

  test('stride() of contiguous, 0-d and empty tensors', () => {
    assert.deepEqual(ad.zeros([2, 3]).stride(), [3, 1]);
    assert.deepEqual(ad.zeros([]).stride(), []);
    assert.deepEqual(ad.zeros([0, 3]).stride(), [3, 1]);
    assert.equal(ad.zeros([0, 3]).isContiguous(), true);
  });
});
