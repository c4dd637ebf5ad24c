/**
 * @file The fast CPU backends' pooling kernels (src/backend/pool-kernels.ts) against the js reference kernels on
 * identical inputs, bit for bit, including what the op table's random samples rarely hold (ties, NaN, −∞, windows
 * cut by padding and dilation, the straight-line 2×2 case), and max pooling's NaN and tie rules against PyTorch's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kernels, Pool2dParams, View } from '../src/backend/backend.js';
import { jsBackend } from '../src/backend/js/index.js';
import { poolKernels } from '../src/backend/pool-kernels.js';
import * as ad from '../src/index.js';

const ref = jsBackend.kernels as Kernels;
const fast = poolKernels as Kernels;

const view = (buf: Float32Array | Float64Array | Int32Array, shape: number[]): View => {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const dtype = buf instanceof Int32Array ? 'int32' : buf instanceof Float32Array ? 'float32' : 'float64';
  return { buf, dtype, shape, strides, offset: 0 };
};

/** Values drawn from a few levels (so ties are common), with NaN and −∞ sprinkled in. */
function input(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const r = s % 17;
    a[i] = r === 0 ? Number.NaN : r === 1 ? -Infinity : r % 5;
  }
  return a;
}

const out = (n: number, k: number, s: number, p: number, d: number) =>
  Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

test('maxPool2d and its scatter: the fast kernels equal the reference bit for bit', () => {
  const cases: [number[], Pool2dParams][] = [
    [[2, 3, 8, 8], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }],
    [[1, 2, 7, 9], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }],
    [[1, 2, 7, 9], { kernel: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [1, 2] }],
    [[2, 1, 6, 5], { kernel: [3, 3], stride: [1, 2], padding: [1, 0], dilation: [2, 1] }],
    // Large enough for the wasm SIMD 2×2 kernels (even, and odd sizes with an uncovered last row and column).
    [[4, 8, 24, 22], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }],
    [[3, 7, 29, 27], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }],
  ];
  let seed = 1;
  for (const [shape, p] of cases)
    for (const Arr of [Float64Array, Float32Array]) {
      const [N, C, H, W] = shape;
      const oshape = [
        N,
        C,
        out(H, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]),
        out(W, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]),
      ];
      const L = oshape.reduce((a, b) => a * b, 1);
      const x = view(Arr.from(input(N * C * H * W, seed++)), shape);
      const [v1, v2] = [new Arr(L), new Arr(L)];
      const [i1, i2] = [new Int32Array(L), new Int32Array(L)];
      fast.maxPool2d(view(v1, oshape), view(i1, oshape), x, p);
      ref.maxPool2d(view(v2, oshape), view(i2, oshape), x, p);
      const what = `${JSON.stringify(shape)} ${JSON.stringify(p)} ${Arr.name}`;
      assert.deepEqual(Array.from(i1), Array.from(i2), `${what} indices`);
      assert.deepEqual(Array.from(v1), Array.from(v2), `${what} values`);
      // −0 among the cotangents: the scatter adds into +0, so dx holds +0 there.
      const g = view(
        Arr.from(input(L, seed++).map((v) => (Number.isFinite(v) ? (v === 0 ? -0 : v + 0.25) : 1))),
        oshape,
      );
      for (const window of [undefined, p]) {
        const [d1, d2] = [new Arr(N * C * H * W).fill(7), new Arr(N * C * H * W).fill(7)];
        fast.maxPool2dBackward(view(d1, shape), g, view(i1, oshape), window);
        ref.maxPool2dBackward(view(d2, shape), g, view(i2, oshape));
        assert.deepEqual(Array.from(d1), Array.from(d2), `${what} scatter${window ? ' (window given)' : ''}`);
        assert.ok(
          d1.every((v) => !Object.is(v, -0)),
          `${what} scatter: no −0`,
        );
      }
    }
});

test("maxPool2d: the first of equal maxima wins, a NaN propagates with the last NaN's index, an all −∞ window names its first tap (PyTorch's rules)", () => {
  for (const b of ad.backendNames()) {
    ad.setBackend(b);
    const x = ad.tensor(
      [[[[Number.NaN, 1, Number.NaN, 2, 3, 3, -Infinity, -Infinity, ...new Array(4).fill(-Infinity)]]]],
      { requiresGrad: true },
    );
    const [v, i] = ad.maxPool2dWithIndices(x, [1, 4]);
    assert.deepEqual(Array.from(v.dataSync()), [Number.NaN, 3, -Infinity], b);
    assert.deepEqual(Array.from(i.dataSync()), [2, 4, 8], b);
    v.sum().backward();
    assert.deepEqual(Array.from(x.grad!.dataSync()), [0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0], b);
  }
  ad.setBackend('js');
});
