/**
 * @file The GEMM driver's kernels (matmul and the three convolution kernels, src/backend/gemm-driver.ts) on every
 * fast backend against the js reference kernels, called directly on random geometries the op table's samples do
 * not reach: odd sizes, groups, strides, dilation, asymmetric output sizes, non-contiguous inputs, a 0-size batch.
 * And the wasm worker pool does not keep a Node process alive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Conv2dParams, Kernels, View } from '../src/backend/backend.js';
import { makeBlasBackend, makeWasmBackend } from '../src/backend/cpu-backends.js';
import { jsBackend } from '../src/backend/js/index.js';
import { contiguousStrides } from '../src/core/shape.js';
import { assertClose } from './helpers.js';

const ref = jsBackend.kernels as Kernels;
// A blas backend of its own (mapped at its first GEMM); a library that is found but does not load fails the test.
const blas = makeBlasBackend((why) => {
  throw new Error(`OpenBLAS was found but did not load: ${why}`);
});
const backends = [makeWasmBackend(), blas?.backend ?? null].filter((b) => b !== null);

let state = 99;
function rand(): number {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 2 ** 32 - 0.5;
}

type F = 'float32' | 'float64';
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A random view of `shape`; `permuted` stores it with its last two dims swapped (a transposed view). */
function randView(dtype: F, shape: number[], permuted = false): View {
  const n = size(shape);
  const buf = dtype === 'float32' ? new Float32Array(n + 2) : new Float64Array(n + 2);
  for (let i = 0; i < buf.length; i++) buf[i] = rand();
  if (!permuted || shape.length < 2) return { buf, dtype, shape, strides: contiguousStrides(shape), offset: 2 };
  const sw = [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]];
  const s = contiguousStrides(sw);
  const st = [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
  return { buf, dtype, shape, strides: st, offset: 2 };
}

function outView(dtype: F, shape: number[]): View {
  const n = size(shape);
  return {
    buf: dtype === 'float32' ? new Float32Array(n + 1) : new Float64Array(n + 1),
    dtype,
    shape,
    strides: contiguousStrides(shape),
    offset: 1,
  };
}

function compare(what: string, run: (k: Kernels, out: View) => void, dtype: F, outShape: number[]) {
  const want = outView(dtype, outShape);
  run(ref, want);
  for (const b of backends) {
    const got = outView(dtype, outShape);
    run(b.kernels as Kernels, got);
    const tol = dtype === 'float64' ? 1e-12 : 1e-5;
    assertClose(got.buf as Float64Array, want.buf as Float64Array, tol, tol, `${b.name} ${what} ${dtype}`);
  }
}

const outSize = (n: number, k: number, s: number, p: number, d: number, extra = 0) =>
  Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1 + extra;

describe('GEMM driver kernels against the reference kernels', () => {
  test('there is at least one fast backend (wasm)', () => assert.ok(backends.length >= 1));

  test('matmul: odd sizes, batches, broadcast batch, transposed operands', () => {
    for (const dtype of ['float32', 'float64'] as const)
      for (const [batch, m, k, n] of [
        [[], 1, 1, 1],
        [[], 7, 129, 3],
        [[3], 33, 17, 65],
        [[2, 2], 5, 7, 9],
        [[], 130, 200, 70],
      ] as [number[], number, number, number][])
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const a = randView(dtype, [...batch, m, k], ta);
            const b = randView(dtype, [...batch, k, n], tb);
            compare(`matmul ${[...batch, m, k, n]} ${ta}/${tb}`, (K, out) => K.matmul(out, a, b), dtype, [
              ...batch,
              m,
              n,
            ]);
          }
    // A broadcast batch: b's batch stride 0.
    const a = randView('float64', [4, 9, 6]);
    const b0 = randView('float64', [6, 5]);
    const b = { ...b0, shape: [4, 6, 5], strides: [0, ...b0.strides] };
    compare('matmul broadcast batch', (K, out) => K.matmul(out, a, b), 'float64', [4, 9, 5]);
  });

  const geometries: { x: number[]; o: number; k: [number, number]; p: Conv2dParams; extra?: number }[] = [
    { x: [2, 3, 8, 8], o: 4, k: [3, 3], p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } },
    { x: [1, 1, 7, 9], o: 1, k: [1, 1], p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } },
    { x: [3, 4, 11, 10], o: 6, k: [3, 2], p: { stride: [2, 3], padding: [1, 0], dilation: [1, 1], groups: 2 } },
    { x: [2, 6, 9, 9], o: 6, k: [3, 3], p: { stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 6 } },
    { x: [1, 2, 5, 5], o: 3, k: [5, 5], p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } },
    { x: [2, 3, 7, 7], o: 2, k: [3, 3], p: { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 }, extra: 1 },
    { x: [0, 3, 6, 6], o: 2, k: [3, 3], p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } },
  ];

  test('conv2d, conv2dTranspose (input adjoint) and conv2dWeightGrad over geometries', () => {
    for (const dtype of ['float32', 'float64'] as const)
      for (const g of geometries) {
        const [N, C, H, W] = g.x;
        const [KH, KW] = g.k;
        const OH = outSize(H, KH, g.p.stride[0], g.p.padding[0], g.p.dilation[0]);
        // `extra` widens the output past the usual size (output_padding of a transposed convolution).
        const OW = outSize(W, KW, g.p.stride[1], g.p.padding[1], g.p.dilation[1], g.extra);
        const yShape = [N, g.o, OH, OW];
        const wShape = [g.o, C / g.p.groups, KH, KW];
        const x = randView(dtype, g.x, true);
        const w = randView(dtype, wShape);
        const y = randView(dtype, yShape, true);
        const bias = randView(dtype, [g.o]);
        const biasC = randView(dtype, [C]);
        const what = `${g.x} k${g.k} ${JSON.stringify(g.p)}`;
        if (!g.extra) compare(`conv2d ${what}`, (K, out) => K.conv2d(out, x, w, bias, g.p), dtype, yShape);
        compare(`conv2d no bias ${what}`, (K, out) => K.conv2d(out, x, w, null, g.p), dtype, yShape);
        compare(`conv2dTranspose ${what}`, (K, out) => K.conv2dTranspose(out, y, w, biasC, g.p), dtype, g.x);
        compare(`conv2dWeightGrad ${what}`, (K, out) => K.conv2dWeightGrad(out, x, y, g.p), dtype, wShape);
      }
  });

  test("contiguous inputs: a 'same' convolution's block copy, groups, and batches past one column chunk", () => {
    const cases: { x: number[]; o: number; k: number[]; p: Conv2dParams }[] = [
      // 14 images of 16·9 × 144 columns are two chunks of the column budget.
      { x: [14, 16, 12, 12], o: 8, k: [3, 3], p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } },
      { x: [3, 4, 9, 9], o: 6, k: [3, 3], p: { stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 2 } },
      { x: [2, 3, 6, 7], o: 2, k: [3, 1], p: { stride: [1, 1], padding: [1, 0], dilation: [1, 1], groups: 1 } },
      // Unit column stride without 'same' geometry: col2im's row runs, large enough for the SIMD scatter-add.
      { x: [2, 16, 20, 20], o: 8, k: [3, 3], p: { stride: [2, 1], padding: [0, 1], dilation: [1, 1], groups: 1 } },
    ];
    for (const dtype of ['float32', 'float64'] as const)
      for (const g of cases) {
        const [N, C, H, W] = g.x;
        const [KH, KW] = g.k;
        const OH = outSize(H, KH, g.p.stride[0], g.p.padding[0], g.p.dilation[0]);
        const OW = outSize(W, KW, g.p.stride[1], g.p.padding[1], g.p.dilation[1]);
        const yShape = [N, g.o, OH, OW];
        const wShape = [g.o, C / g.p.groups, KH, KW];
        const x = randView(dtype, g.x);
        const w = randView(dtype, wShape);
        const y = randView(dtype, yShape);
        const bias = randView(dtype, [g.o]);
        const what = `${g.x} k${g.k} ${JSON.stringify(g.p)}`;
        compare(`conv2d ${what}`, (K, out) => K.conv2d(out, x, w, bias, g.p), dtype, yShape);
        compare(`conv2dTranspose ${what}`, (K, out) => K.conv2dTranspose(out, y, w, null, g.p), dtype, g.x);
        compare(`conv2dWeightGrad ${what}`, (K, out) => K.conv2dWeightGrad(out, x, y, g.p), dtype, wShape);
      }
  });
});

test('a threaded wasm matmul does not keep the process alive', () => {
  const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  const code = `import * as ad from ${JSON.stringify(src)}; ad.setBackend('wasm'); ad.setNumThreads(2);
    const a = ad.randn([256, 256]); a.matmul(a).sum().item(); console.log('done');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /done/);
});
