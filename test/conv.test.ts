/**
 * @file Convolution and pooling beyond the op table: output shapes over many geometries against PyTorch's formulas,
 * the kernels against a naive reference loop (float64 and float32, strided inputs), the adjoint structure the issue
 * asks for (backward's dX is convTranspose2d(dY, W), convTranspose2d's forward is conv2d's input-VJP, dW is the
 * correlation of X with dY, ⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩), the errors, and the layers' initialisation and options.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const dtype = 'float64';
const randn = (shape: readonly number[]) => ad.randn(shape, { dtype });
const inner = (a: ad.Tensor, b: ad.Tensor) => a.mul(b).sum().item();

interface Geometry {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/** conv2d by the definition, one output element at a time: the specification the kernels are checked against. */
function naiveConv2d(x: ad.Tensor, w: ad.Tensor, g: Geometry): number[] {
  const [N, C, H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const xs = x.contiguous().dataSync();
  const ws = w.contiguous().dataSync();
  const oh = Math.floor((H + 2 * g.padding[0] - g.dilation[0] * (KH - 1) - 1) / g.stride[0]) + 1;
  const ow = Math.floor((W + 2 * g.padding[1] - g.dilation[1] * (KW - 1) - 1) / g.stride[1]) + 1;
  const out: number[] = [];
  const Og = O / g.groups;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = 0;
          for (let c = 0; c < Cg; c++)
            for (let a = 0; a < KH; a++)
              for (let b = 0; b < KW; b++) {
                const h = i * g.stride[0] - g.padding[0] + a * g.dilation[0];
                const v = j * g.stride[1] - g.padding[1] + b * g.dilation[1];
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const ci = Math.floor(o / Og) * Cg + c;
                s += ws[((o * Cg + c) * KH + a) * KW + b] * xs[((n * C + ci) * H + h) * W + v];
              }
          out.push(s);
        }
  return out;
}

const GEOMETRIES: [string, number[], number[], Geometry][] = [
  ['plain', [2, 3, 5, 6], [4, 3, 3, 2], { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }],
  ['strided, padded', [1, 2, 7, 6], [3, 2, 3, 3], { stride: [2, 3], padding: [1, 2], dilation: [1, 1], groups: 1 }],
  ['dilated', [2, 2, 8, 7], [2, 2, 3, 2], { stride: [1, 2], padding: [2, 0], dilation: [2, 3], groups: 1 }],
  ['grouped', [2, 6, 5, 5], [4, 3, 2, 2], { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2 }],
  ['depthwise', [1, 4, 6, 6], [8, 1, 3, 3], { stride: [2, 2], padding: [1, 1], dilation: [2, 1], groups: 4 }],
  [
    'kernel wider than the padding',
    [1, 1, 3, 3],
    [1, 1, 5, 5],
    { stride: [1, 1], padding: [2, 2], dilation: [1, 1], groups: 1 },
  ],
];

describe('conv2d: kernels', () => {
  for (const [label, xs, ws, g] of GEOMETRIES)
    test(`${label}: conv2d equals the definition, in float64 and float32, and on strided inputs`, () => {
      ad.manualSeed(1);
      const x = randn(xs);
      const w = randn(ws);
      const want = naiveConv2d(x, w, g);
      assertClose(ad.conv2d(x, w, null, g).dataSync(), want, 1e-12, 1e-12, label);
      assertClose(ad.conv2d(x.float(), w.float(), null, g).dataSync(), want, 1e-5, 1e-5, `${label} float32`);
      // Non-contiguous operands: a transposed input and a flipped weight, read through their strides.
      const xt = x.transpose(2, 3).contiguous().transpose(2, 3);
      const wf = w.flip(0).contiguous().flip(0);
      assertClose(ad.conv2d(xt, wf, null, g).dataSync(), want, 1e-12, 1e-12, `${label} strided`);
    });
});

describe('conv2d: its backward is its adjoint', () => {
  for (const [label, xs, ws, g] of GEOMETRIES)
    test(`${label}: dX = convTranspose2d(dY, W), convTranspose2d = the input-VJP, dW = correlate(X, dY)`, () => {
      ad.manualSeed(2);
      const x = randn(xs).requiresGrad_(true);
      const w = randn(ws).requiresGrad_(true);
      const y = ad.conv2d(x, w, null, g);
      const dy = randn(y.shape);
      y.backward(dy);
      // convTranspose2d's weight is conv2d's, read [in, out/groups, …] from its side; outputPadding picks x's size.
      const outputPadding = [2, 3].map(
        (d, i) => xs[d] - ((y.shape[d] - 1) * g.stride[i] - 2 * g.padding[i] + g.dilation[i] * (ws[d] - 1) + 1),
      );
      const direct = ad.convTranspose2d(dy, w.detach(), null, { ...g, outputPadding });
      assert.deepEqual(direct.shape, xs);
      assertClose(x.grad!.dataSync(), direct.dataSync(), 1e-12, 1e-12, 'dX vs convTranspose2d(dY, W)');
      // The input-VJP of conv2d, taken by autograd.grad, is convTranspose2d's forward.
      const [vjp] = ad.autograd.grad(ad.conv2d(x, w.detach(), null, g), [x], { gradOutputs: [dy] }) as ad.Tensor[];
      assertClose(vjp.dataSync(), direct.dataSync(), 1e-12, 1e-12, 'input-VJP vs convTranspose2d');
      // dW[o, c, a, b] = Σ dY[n, o, i, j] · X[n, c, i·s − p + a·d, j·s − p + b·d]: the correlation of X with dY.
      const [O, Cg, KH, KW] = ws;
      const want: number[] = [];
      for (let o = 0; o < O; o++)
        for (let c = 0; c < Cg; c++)
          for (let a = 0; a < KH; a++)
            for (let b = 0; b < KW; b++) {
              const t = new Float64Array(O * Cg * KH * KW);
              t[((o * Cg + c) * KH + a) * KW + b] = 1;
              const tap = ad.tensor(t, { shape: ws });
              want.push(inner(ad.conv2d(x.detach(), tap, null, g), dy));
            }
      assertClose(w.grad!.dataSync(), want, 1e-12, 1e-12, 'dW vs the correlation');
    });

  test('⟨conv2d(x), y⟩ = ⟨x, convTranspose2d(y)⟩ for conv1d/2d and their transposes', () => {
    ad.manualSeed(3);
    const g = { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 };
    const x = randn([2, 4, 7, 6]);
    const w = randn([6, 2, 3, 2]);
    const y = randn(ad.conv2d(x, w, null, g).shape);
    // The output size 7×6 is one of two that stride 2 maps to 4 rows; outputPadding picks it.
    const xt = ad.convTranspose2d(y, w, null, { ...g, outputPadding: [0, 0] });
    assert.deepEqual(xt.shape, x.shape);
    const lhs = inner(ad.conv2d(x, w, null, g), y);
    assert.ok(Math.abs(lhs - inner(x, xt)) <= 1e-10 * Math.abs(lhs), `${lhs} vs ${inner(x, xt)}`);

    const x1 = randn([3, 4, 11]);
    const w1 = randn([2, 2, 3]);
    const g1 = { stride: 3, padding: 2, dilation: 2, groups: 2 };
    const y1 = randn(ad.conv1d(x1, w1, null, g1).shape);
    const xt1 = ad.convTranspose1d(y1, w1, null, { ...g1, outputPadding: 1 });
    assert.deepEqual(xt1.shape, x1.shape);
    const l1 = inner(ad.conv1d(x1, w1, null, g1), y1);
    assert.ok(Math.abs(l1 - inner(x1, xt1)) <= 1e-10 * Math.abs(l1));
  });

  test('convTranspose2d backward: dY is conv2d(dX, W); its JVP is linear in each argument', () => {
    ad.manualSeed(4);
    const g = { stride: [2, 2] as [number, number], padding: [1, 0] as [number, number], groups: 1 };
    const y = randn([1, 3, 3, 4]).requiresGrad_(true);
    const w = randn([3, 2, 3, 3]).requiresGrad_(true);
    const x = ad.convTranspose2d(y, w, null, { ...g, outputPadding: 1 });
    const dx = randn(x.shape);
    x.backward(dx);
    assertClose(y.grad!.dataSync(), ad.conv2d(dx, w.detach(), null, g).dataSync(), 1e-12, 1e-12, 'dY');
    const ty = randn(y.shape);
    const tw = randn(w.shape);
    const f = (a: ad.Tensor, b: ad.Tensor) => ad.convTranspose2d(a, b, null, { ...g, outputPadding: 1 });
    const [, jv] = ad.jvp(f, [y.detach(), w.detach()], [ty, tw]);
    const want = f(ty, w.detach()).add(f(y.detach(), tw));
    assertClose((jv as ad.Tensor).dataSync(), want.dataSync(), 1e-12, 1e-12, 'bilinear JVP');
  });
});

/** PyTorch's output-size formulas, written independently of the ops. */
const convOut = (n: number, k: number, s: number, p: number, d: number) =>
  Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
const convTOut = (n: number, k: number, s: number, p: number, d: number, op: number) =>
  (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
function poolOut(n: number, k: number, s: number, p: number, d: number, ceil: boolean) {
  let o = Math.floor((n + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

describe('output shapes follow PyTorch over many geometries', () => {
  test('conv1d, conv2d, convTranspose1d, convTranspose2d', () => {
    ad.manualSeed(5);
    let checked = 0;
    for (const n of [5, 8])
      for (const k of [1, 2, 3])
        for (const s of [1, 2, 3])
          for (const p of [0, 1, 2])
            for (const d of [1, 2]) {
              if (d * (k - 1) + 1 > n + 2 * p) continue;
              const x = randn([1, 2, n, n + 1]);
              const w = randn([2, 2, k, k]);
              const y = ad.conv2d(x, w, null, { stride: s, padding: p, dilation: d });
              assert.deepEqual(y.shape, [1, 2, convOut(n, k, s, p, d), convOut(n + 1, k, s, p, d)]);
              const y1 = ad.conv1d(randn([2, 2, n]), randn([3, 2, k]), null, { stride: s, padding: p, dilation: d });
              assert.deepEqual(y1.shape, [2, 3, convOut(n, k, s, p, d)]);
              for (const op of [0, 1]) {
                if (op >= s && op >= d) continue;
                if (convTOut(n, k, s, p, d, op) < 1) continue;
                const t = ad.convTranspose2d(x, w, null, { stride: s, padding: p, dilation: d, outputPadding: op });
                assert.deepEqual(t.shape, [1, 2, convTOut(n, k, s, p, d, op), convTOut(n + 1, k, s, p, d, op)]);
                const t1 = ad.convTranspose1d(randn([2, 2, n]), randn([2, 3, k]), null, {
                  stride: s,
                  padding: p,
                  dilation: d,
                  outputPadding: op,
                });
                assert.deepEqual(t1.shape, [2, 3, convTOut(n, k, s, p, d, op)]);
              }
              checked++;
            }
    assert.ok(checked > 50);
  });

  test("'same' keeps the size (odd total padding goes after); 'valid' pads nothing; unbatched drops the batch", () => {
    for (const [k, d] of [
      [2, 1],
      [3, 1],
      [4, 2],
      [2, 3],
    ]) {
      const y = ad.conv2d(randn([1, 1, 6, 5]), randn([2, 1, k, k]), null, { padding: 'same', dilation: d });
      assert.deepEqual(y.shape, [1, 2, 6, 5]);
    }
    assert.deepEqual(
      ad.conv2d(randn([1, 1, 6, 5]), randn([1, 1, 3, 2]), null, { padding: 'valid' }).shape,
      [1, 1, 4, 4],
    );
    assert.deepEqual(ad.conv2d(randn([3, 6, 5]), randn([2, 3, 3, 3])).shape, [2, 4, 3]);
    assert.deepEqual(ad.conv1d(randn([3, 6]), randn([2, 3, 3])).shape, [2, 4]);
    assert.deepEqual(ad.conv2d(randn([0, 3, 6, 5]), randn([2, 3, 3, 3])).shape, [0, 2, 4, 3]);
  });

  test('maxPool, avgPool (incl. ceilMode), adaptiveAvgPool, interpolate', () => {
    let checked = 0;
    for (const n of [5, 6, 9])
      for (const k of [1, 2, 3])
        for (const s of [1, 2, 3])
          for (const p of [0, 1])
            for (const d of [1, 2])
              for (const ceil of [false, true]) {
                if (p > Math.floor(k / 2) || poolOut(n, k, s, p, d, ceil) < 1) continue;
                const x = randn([1, 2, n, n + 1]);
                const want = [poolOut(n, k, s, p, d, ceil), poolOut(n + 1, k, s, p, d, ceil)];
                const opts = { stride: s, padding: p, ceilMode: ceil };
                assert.deepEqual(ad.maxPool2d(x, k, { ...opts, dilation: d }).shape, [1, 2, ...want]);
                assert.deepEqual(ad.maxPool1d(randn([2, n]), k, { ...opts, dilation: d }).shape, [2, want[0]]);
                if (d === 1) {
                  assert.deepEqual(ad.avgPool2d(x, k, opts).shape, [1, 2, ...want]);
                  assert.deepEqual(ad.avgPool1d(randn([1, 2, n]), k, opts).shape, [1, 2, want[0]]);
                }
                checked++;
              }
    assert.ok(checked > 50);
    assert.deepEqual(ad.adaptiveAvgPool2d(randn([2, 3, 7, 5]), [3, null]).shape, [2, 3, 3, 5]);
    assert.deepEqual(ad.adaptiveAvgPool2d(randn([3, 7, 5]), 9).shape, [3, 9, 9]);
    assert.deepEqual(ad.interpolate(randn([1, 2, 3, 5]), { scaleFactor: [2.5, 1.5] }).shape, [1, 2, 7, 7]);
    assert.deepEqual(ad.interpolate(randn([1, 2, 3]), { size: 8, mode: 'linear' }).shape, [1, 2, 8]);
  });
});

describe('errors name the op, the shapes and the fix, before anything is computed', () => {
  test('channels that do not divide into groups', () => {
    assertThrowsMsg(
      () => ad.conv2d(randn([1, 5, 6, 6]), randn([4, 2, 3, 3]), null, { groups: 2 }),
      ad.ShapeError,
      'conv2d',
      '[1, 5, 6, 6]',
      '[4, 2, 3, 3]',
      'groups=2',
      'do not divide',
    );
    assertThrowsMsg(
      () => ad.conv2d(randn([1, 4, 6, 6]), randn([5, 2, 3, 3]), null, { groups: 2 }),
      ad.ShapeError,
      'conv2d',
      'out channels',
      'multiple of 2',
    );
    assertThrowsMsg(
      () => ad.conv2d(randn([1, 3, 6, 6]), randn([4, 2, 3, 3])),
      ad.ShapeError,
      'conv2d',
      'the input has 3 channels',
      'give a weight of shape [4, 3, 3, 3]',
    );
    assertThrowsMsg(
      () => ad.convTranspose2d(randn([1, 3, 4, 4]), randn([3, 2, 3, 3]), null, { groups: 2 }),
      ad.ShapeError,
      'convTranspose2d',
      '[1, 3, 4, 4]',
      'groups=2',
    );
    assertThrowsMsg(
      () => new ad.nn.Conv2d(3, 4, 3, { groups: 2 }),
      ad.ShapeError,
      'Conv2d',
      'groups=2',
      'inChannels (3)',
    );
  });

  test('an input too small for the kernel', () => {
    assertThrowsMsg(
      () => ad.conv2d(randn([1, 1, 5, 5]), randn([1, 1, 7, 7])),
      ad.ShapeError,
      'conv2d',
      '[1, 1, 5, 5]',
      '[1, 1, 7, 7]',
      'smaller than the kernel (7 × 7)',
      'more padding',
    );
    assertThrowsMsg(
      () => ad.conv1d(randn([1, 1, 5]), randn([1, 1, 3]), null, { dilation: 3 }),
      ad.ShapeError,
      'conv1d',
      'dilated kernel (7',
    );
    assertThrowsMsg(
      () => ad.maxPool2d(randn([1, 1, 2, 2]), 3),
      ad.ShapeError,
      'maxPool2d',
      '[1, 1, 2, 2]',
      'smaller than the window',
    );
    assertThrowsMsg(
      () => ad.maxPool2d(randn([1, 1, 2, 5]), 2, { dilation: [3, 1], padding: 1, stride: 1 }),
      ad.ShapeError,
      'maxPool2d',
      'covers only padding',
    );
    assertThrowsMsg(
      () => ad.convTranspose2d(randn([1, 1, 2, 2]), randn([1, 1, 3, 3]), null, { padding: 3 }),
      ad.ShapeError,
      'convTranspose2d',
      'too small',
      'reduce the padding',
    );
  });

  test('wrong ranks', () => {
    assertThrowsMsg(
      () => ad.conv2d(randn([5, 5]), randn([1, 1, 3, 3])),
      ad.ShapeError,
      'conv2d',
      'input is [5, 5]',
      '[N, C, H, W] (batched) or [C, H, W] (unbatched)',
      'unsqueeze(0)',
    );
    assertThrowsMsg(
      () => ad.conv2d(randn([1, 1, 5, 5]), randn([1, 3, 3])),
      ad.ShapeError,
      'conv2d',
      'the weight must be [outChannels, inChannels/groups, kH, kW]',
    );
    assertThrowsMsg(
      () => ad.conv1d(randn([2, 1, 5, 5]), randn([1, 1, 3])),
      ad.ShapeError,
      'conv1d',
      '[N, C, L]',
      'conv2d for images',
    );
    assertThrowsMsg(() => ad.avgPool2d(randn([5, 5]), 2), ad.ShapeError, 'avgPool2d', '[N, C, H, W]');
    assertThrowsMsg(
      () => ad.interpolate(randn([1, 2, 3, 4]), { size: 5, mode: 'linear' }),
      ad.ShapeError,
      "'linear' resamples [N, C, L]",
    );
  });

  test('bad options', () => {
    const x = randn([1, 2, 5, 5]);
    const w = randn([2, 2, 3, 3]);
    assertThrowsMsg(
      () => ad.conv2d(x, w, null, { stride: 2, padding: 'same' }),
      ad.ValueError,
      "padding='same'",
      'stride 1',
    );
    assertThrowsMsg(() => ad.conv2d(x, w, null, { stride: [1, 2, 3] }), ad.ValueError, 'stride', '2 of them');
    assertThrowsMsg(() => ad.conv2d(x, w, null, { padding_mode: 'reflect' } as never), ad.ValueError, 'paddingMode');
    assertThrowsMsg(() => ad.conv2d(x, w, x), ad.ShapeError, 'the bias must be [2]');
    assertThrowsMsg(
      () => ad.conv2d(x, w, 2 as never),
      ad.ArgumentError,
      'conv2d: bias must be a Tensor or null',
      'got 2',
    );
    assertThrowsMsg(
      () => ad.convTranspose2d(x, w, null, { stride: 2, outputPadding: 2 }),
      ad.ValueError,
      'outputPadding [2, 2] must be smaller than the stride [2, 2] or the dilation [1, 1]',
    );
    assertThrowsMsg(() => ad.conv2d(x.int(), w), ad.DTypeError, 'conv2d', 'int32', '.float()');
    assertThrowsMsg(() => ad.maxPool2d(x, 2, { padding: 2 }), ad.ValueError, 'at most half the kernel');
    assertThrowsMsg(() => ad.avgPool2d(x, 2, { ceil_mode: true } as never), ad.ValueError, 'use ceilMode');
    assertThrowsMsg(
      () => ad.interpolate(x, { scaleFactor: 2, alignCorners: true }),
      ad.ValueError,
      'alignCorners is for the interpolating modes',
    );
    assertThrowsMsg(() => ad.interpolate(x, {}), ad.ValueError, 'exactly one of size and scaleFactor');
    assertThrowsMsg(() => new ad.nn.Conv2d(2, 2, 3, { stride: 2, padding: 'same' }), ad.ValueError, 'Conv2d', "'same'");
    assertThrowsMsg(
      () => new ad.nn.ConvTranspose2d(2, 2, 3, { paddingMode: 'reflect' as 'zeros' }),
      ad.ValueError,
      "'zeros' for a transposed convolution",
    );
    assertThrowsMsg(
      () => new ad.nn.ConvTranspose2d(2, 2, 3, { stride: 2 }).forward(randn([1, 2, 4, 4]), [12, 12]),
      ad.ValueError,
      'valid sizes for dim 0 range from 9 to 10',
    );
  });
});

describe('pooling', () => {
  test('maxPool2d: indices are flat per plane, and the gradient goes to the first maximum', () => {
    const x = ad
      .tensor(
        [
          [
            [1, 3, 3],
            [3, 0, 2],
            [1, 2, 2],
          ],
        ],
        { dtype },
      )
      .requiresGrad_(true);
    const [v, i] = ad.maxPool2d(x, 2, { stride: 1, returnIndices: true });
    assert.deepEqual(v.toArray(), [
      [
        [3, 3],
        [3, 2],
      ],
    ]);
    assert.equal(i.dtype, 'int32');
    assert.deepEqual(i.toArray(), [
      [
        [1, 1],
        [3, 5],
      ],
    ]);
    v.sum().backward();
    assert.deepEqual(x.grad!.toArray(), [
      [
        [0, 2, 0],
        [1, 0, 1],
        [0, 0, 0],
      ],
    ]);
  });

  test('maxPool2d: a window of −∞ reports its first input position, as PyTorch', () => {
    const x = ad.full([1, 1, 2, 2], -Infinity, { dtype });
    const [v, i] = ad.maxPool2d(x, 2, { padding: 1, returnIndices: true });
    assert.deepEqual(Array.from(v.dataSync()), [-Infinity, -Infinity, -Infinity, -Infinity]);
    assert.deepEqual(Array.from(i.dataSync()), [0, 1, 2, 3]);
  });

  test('avgPool2d counts the padding as PyTorch (countIncludePad, ceilMode, divisorOverride)', () => {
    const x = ad.ones([1, 1, 3, 3], { dtype });
    assert.deepEqual(Array.from(ad.avgPool2d(x, 2, { padding: 1 }).dataSync()), [0.25, 0.5, 0.5, 1]);
    assert.deepEqual(Array.from(ad.avgPool2d(x, 2, { padding: 1, countIncludePad: false }).dataSync()), [1, 1, 1, 1]);
    // The ceil-mode window past the padding is clipped to the padded input: divisor 2·1 at the corner.
    assert.deepEqual(Array.from(ad.avgPool2d(x, 2, { ceilMode: true }).dataSync()), [1, 1, 1, 1]);
    assert.deepEqual(Array.from(ad.avgPool2d(x, 2, { divisorOverride: 2 }).dataSync()), [2]);
  });
});

describe('layers', () => {
  test("Conv2d and ConvTranspose2d: torch's parameter shapes and U(−1/√fanIn, 1/√fanIn) init", () => {
    ad.manualSeed(6);
    const c = new ad.nn.Conv2d(6, 8, [3, 2], { groups: 2 });
    assert.deepEqual(
      c.namedParameters().map(([k, p]) => [k, p.shape]),
      [
        ['weight', [8, 3, 3, 2]],
        ['bias', [8]],
      ],
    );
    assert.equal(c.weight.dtype, 'float32');
    const bound = 1 / Math.sqrt(3 * 3 * 2);
    for (const p of [c.weight, c.bias!]) {
      const vs = Array.from(p.dataSync());
      assert.ok(vs.every((v) => Math.abs(v) <= bound + 1e-7));
      assert.ok(Math.max(...vs.map(Math.abs)) > bound / 2, 'uses the range');
    }
    // ConvTranspose's weight is [in, out/groups, …], so torch's fanIn is (out/groups)·k·k.
    const t = new ad.nn.ConvTranspose2d(6, 4, 3, { groups: 2, bias: true, dtype: 'float64' });
    assert.deepEqual(t.weight.shape, [6, 2, 3, 3]);
    assert.equal(t.weight.dtype, 'float64');
    const tb = 1 / Math.sqrt(2 * 9);
    assert.ok(Array.from(t.bias!.dataSync()).every((v) => Math.abs(v) <= tb));
    assert.equal(new ad.nn.Conv1d(2, 3, 3, { bias: false }).bias, null);
  });

  test('Conv2d padding modes pad before a valid conv; ConvTranspose2d takes an outputSize', () => {
    ad.manualSeed(7);
    const m = new ad.nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: 'reflect', dtype });
    const x = randn([1, 2, 4, 5]);
    const want = ad.conv2d(ad.pad(x, [1, 1, 1, 1], { mode: 'reflect' }), m.weight, m.bias);
    assertClose(m.forward(x).dataSync(), want.dataSync(), 0, 0, 'reflect');
    const t = new ad.nn.ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1, dtype });
    assert.deepEqual(t.forward(randn([1, 2, 4, 4])).shape, [1, 3, 7, 7]);
    assert.deepEqual(t.forward(randn([1, 2, 4, 4]), [1, 3, 8, 7]).shape, [1, 3, 8, 7]);
  });
});

describe("PyTorch's positional arguments", () => {
  const sin = (shape: number[]) =>
    ad
      .arange(shape.reduce((a, b) => a * b, 1))
      .double()
      .sin()
      .reshape(shape);
  const vals = (t: ad.Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
  test('F.maxPool2d(x, 3, 2, 1), F.avgPool2d(x, 2, 2), F.interpolate(x, null, 2): values from PyTorch 1.13', () => {
    const x = sin([1, 1, 5, 5]);
    const max = [
      0.8414709848078965, 0.9893582466233818, 0.9893582466233818, 0.6502878401571168, 0.9893582466233818,
      0.9906073556948704, 0.9129452507276277, 0.8366556385360561, 0.14987720966295234,
    ];
    assertClose(vals(ad.F.maxPool2d(x, 3, 2, 1)), max, 1e-15, 0, 'max_pool2d(x, 3, 2, 1)');
    assertClose(vals(ad.F.maxPool2d(x, 3, 2, { padding: 1 })), max, 1e-15, 0, 'stride positional, padding by name');
    const untyped = ad.F.maxPool2d as unknown as (...a: unknown[]) => ad.Tensor;
    assertClose(vals(untyped(x, { kernelSize: 3, stride: 2, padding: 1 })), max, 1e-15, 0, 'all by name');
    const [v, i] = ad.F.maxPool2d(x, 3, 2, 1, 1, false, true);
    assertClose(vals(v), max, 1e-15, 0, 'returnIndices positional');
    assert.deepEqual(i.shape, [1, 1, 3, 3]);
    assertClose(
      vals(ad.F.avgPool2d(x, 2, 2)),
      [-0.09921719701354195, 0.67419057005693, -0.2954066984870054, -0.4571976549562567],
      1e-15,
      1e-16,
      'avg_pool2d(x, 2, 2)',
    );
    const y = ad.arange(6).double().reshape([1, 1, 2, 3]);
    const nearest = [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 3, 3, 4, 4, 5, 5];
    assert.deepEqual(vals(ad.F.interpolate(y, null, 2)), nearest);
    assert.deepEqual(vals(ad.F.upsample(y, null, 2)), nearest);
    assertClose(
      vals(ad.F.interpolate(y, null, 2, 'bilinear', true)),
      [0, 0.4, 0.8, 1.2, 1.6, 2, 1, 1.4, 1.8, 2.2, 2.6, 3, 2, 2.4, 2.8, 3.2, 3.6, 4, 3, 3.4, 3.8, 4.2, 4.6, 5],
      1e-15,
      1e-15,
      "interpolate(y, None, 2, 'bilinear', True)",
    );
  });

  test('conv: stride, padding, dilation, groups positional or by name; the bias by name too', () => {
    ad.manualSeed(3);
    const x = randn([1, 4, 5, 5]);
    const w = randn([4, 2, 3, 3]);
    const b = randn([4]);
    const ref = vals(ad.F.conv2d(x, w, b, { stride: 2, padding: 1, dilation: 1, groups: 2 }));
    assert.deepEqual(vals(ad.F.conv2d(x, w, b, 2, 1, 1, 2)), ref);
    assert.deepEqual(vals(ad.F.conv2d(x, w, b, 2, { padding: 1, groups: 2 })), ref);
    assert.deepEqual(vals(ad.F.conv2d(x, w, { bias: b, stride: 2, padding: 1, groups: 2 })), ref);
    const wt = randn([4, 1, 2, 2]);
    const t = vals(
      ad.F.convTranspose2d(x, wt, null, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dilation: 1 }),
    );
    // conv_transpose2d's order: stride, padding, output_padding, groups, dilation.
    assert.deepEqual(vals(ad.F.convTranspose2d(x, wt, null, 2, 1, 1, 2, 1)), t);
  });

  test('what the signatures refuse: a padding mode adjoint lacks, a size of 0, kernel_size by its Python name', () => {
    const x = randn([1, 1, 4, 4]);
    assertThrowsMsg(
      () => ad.F.interpolate(x, null, 2, 'bicubic' as never),
      ad.ArgumentError,
      'interpolate: mode must be one of',
      "'bilinear'",
      '"bicubic"',
    );
    assertThrowsMsg(() => ad.F.interpolate(x, null, 2, 'nearest', null, null, true), ad.ValueError, 'antialias');
    assertThrowsMsg(() => ad.F.maxPool2d(x, 0), ad.ArgumentError, 'maxPool2d: kernelSize must be a whole number ≥ 1');
    assertThrowsMsg(() => ad.F.maxPool2d(x, { kernel_size: 2 } as never), ad.ArgumentError, 'use kernelSize');
    assertThrowsMsg(() => ad.F.avgPool2d(x, 2, 2, 0, false, true, 0), ad.ArgumentError, 'divisorOverride', 'nonzero');
    assertThrowsMsg(() => ad.F.conv2d(x, randn([1, 1, 2, 2]), null, 1, 'full' as never), ad.ArgumentError, "'same'");
  });
});
