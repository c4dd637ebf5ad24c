/**
 * @file Every GEMM (the wasm backend's generated SIMD GEMM, OpenBLAS when it loads) against the plain-loop
 * reference GEMM of the contract in src/backend/gemm.ts: odd sizes (1, 7, 129, 1023), 0-size dims, transposed,
 * strided and broadcast operands, C with an offset and a wider row stride, accumulation, NaN/Inf propagation, on 1
 * and 2 threads. float64 within 1e-12 relative, float32 within 1e-5.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadOpenBlas } from '../src/backend/blas/openblas.js';
import { type Gemm, type GemmArgs, referenceGemm } from '../src/backend/gemm.js';
import { getNumThreads, setNumThreads } from '../src/backend/threads.js';
import { wasmGemm } from '../src/backend/wasm/index.js';

const gemms: [string, Gemm][] = [];
const w = wasmGemm();
if (w) gemms.push(['wasm', w.gemm]);
const blas = loadOpenBlas();
if (blas) gemms.push(['blas', blas.gemm]);

let state = 12345;
function rand(): number {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32 - 0.5;
}

function randArray(Arr: typeof Float32Array | typeof Float64Array, n: number) {
  const a = new Arr(n);
  for (let i = 0; i < n; i++) a[i] = rand();
  return a;
}

type Layout = 'plain' | 'transposed' | 'strided' | 'broadcast';

/** Operand storage for `batch` r×c matrices in the given layout; returns the array and the strides. */
function operand(Arr: typeof Float32Array | typeof Float64Array, batch: number, r: number, c: number, layout: Layout) {
  const n = r * c;
  const pad = 3;
  if (layout === 'broadcast') {
    const a = randArray(Arr, n + pad);
    return { a, offsets: new Array(batch).fill(pad), rs: c, cs: 1 };
  }
  if (layout === 'strided') {
    const a = randArray(Arr, batch * n * 2 + pad);
    return { a, offsets: Array.from({ length: batch }, (_, b) => pad + b * n * 2), rs: 2 * c, cs: 2 };
  }
  const a = randArray(Arr, batch * n + pad);
  const offsets = Array.from({ length: batch }, (_, b) => pad + b * n);
  return layout === 'transposed' ? { a, offsets, rs: 1, cs: r } : { a, offsets, rs: c, cs: 1 };
}

function caseArgs(
  dtype: 'float32' | 'float64',
  [m, n, k]: number[],
  batch: number,
  la: Layout,
  lb: Layout,
  accumulate: boolean,
  wideC: boolean,
): GemmArgs {
  const Arr = dtype === 'float32' ? Float32Array : Float64Array;
  const A = operand(Arr, batch, m, k, la);
  const B = operand(Arr, batch, k, n, lb);
  const ldc = wideC ? n + 5 : n;
  const c = randArray(Arr, 7 + batch * m * ldc);
  return {
    dtype,
    batch,
    m,
    n,
    k,
    a: A.a,
    aOffsets: A.offsets,
    aRowStride: A.rs,
    aColStride: A.cs,
    b: B.a,
    bOffsets: B.offsets,
    bRowStride: B.rs,
    bColStride: B.cs,
    c,
    cOffsets: Array.from({ length: batch }, (_, b) => 7 + b * m * ldc),
    cRowStride: ldc,
    cColStride: 1,
    accumulate,
  };
}

function expectSame(name: string, g: GemmArgs, run: Gemm) {
  const want = { ...g, c: Float64Array.from(g.c) };
  referenceGemm(want);
  const got = { ...g, c: g.c.slice() };
  run(got);
  const tol = g.dtype === 'float64' ? 1e-12 : 1e-5;
  for (let i = 0; i < got.c.length; i++) {
    const e = want.c[i];
    const a = got.c[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${name}: element ${i} should be NaN, got ${a}`);
      continue;
    }
    if (a === e) continue;
    // Relative to the size of the terms summed, so cancellation in a k-long dot product is not held against it.
    const scale = Math.max(1, Math.abs(e), Math.sqrt(g.k) * 0.25);
    assert.ok(Math.abs(a - e) <= tol * scale, `${name}: element ${i}: got ${a}, expected ${e}`);
  }
}

const SIZES = [
  [1, 1, 1],
  [7, 7, 7],
  [1, 129, 7],
  [129, 1, 7],
  [7, 129, 1023],
  [129, 7, 129],
  [1023, 7, 1],
  [33, 65, 17],
  [130, 257, 300],
];

const threadsBefore = getNumThreads();
after(() => setNumThreads(threadsBefore));

for (const [name, gemm] of gemms) {
  describe(`${name} GEMM against the reference GEMM`, () => {
    for (const threads of [1, 2])
      for (const dtype of ['float32', 'float64'] as const) {
        test(`${dtype}, ${threads} thread(s): odd sizes × layouts × accumulate`, () => {
          setNumThreads(threads);
          for (const size of SIZES)
            for (const [la, lb] of [
              ['plain', 'plain'],
              ['transposed', 'plain'],
              ['plain', 'transposed'],
              ['transposed', 'transposed'],
              ['strided', 'strided'],
            ] as const)
              for (const acc of [false, true]) {
                const label = `${name} ${dtype} ${size.join('×')} ${la}·${lb} acc=${acc}`;
                expectSame(label, caseArgs(dtype, size, 1, la, lb, acc, acc), gemm);
              }
        });
        test(`${dtype}, ${threads} thread(s): batches, broadcast batch operands, wide C`, () => {
          setNumThreads(threads);
          for (const [size, batch] of [
            [[7, 9, 5], 3],
            [[64, 64, 64], 4],
            [[129, 33, 65], 2],
            [[1, 1, 1], 5],
          ] as const)
            for (const [la, lb] of [
              ['plain', 'broadcast'],
              ['broadcast', 'transposed'],
              ['strided', 'plain'],
            ] as const)
              expectSame(
                `${name} ${dtype} batch ${batch}`,
                caseArgs(dtype, [...size], batch, la, lb, false, true),
                gemm,
              );
        });
      }
    test('0-size dims: nothing written for m or n = 0; k = 0 gives C = 0 (or C unchanged when accumulating)', () => {
      for (const size of [
        [0, 5, 3],
        [4, 0, 3],
        [4, 5, 0],
      ])
        for (const acc of [false, true])
          expectSame(`${name} ${size}`, caseArgs('float32', size, 2, 'plain', 'plain', acc, false), gemm);
    });
    test('NaN and Inf propagate as IEEE says (0·inf = NaN), with no skipping of zeros', () => {
      for (const dtype of ['float32', 'float64'] as const) {
        const g = caseArgs(dtype, [9, 10, 11], 1, 'plain', 'plain', false, false);
        g.a.fill(0);
        g.a[g.aOffsets[0] + 2] = 1;
        g.b[g.bOffsets[0] + 3] = Number.POSITIVE_INFINITY;
        g.b[g.bOffsets[0] + 12] = Number.NaN;
        expectSame(`${name} ${dtype} non-finite`, g, gemm);
      }
    });
  });
}

test('the wasm GEMM is available on this engine (WebAssembly SIMD)', () => {
  assert.ok(w, 'WebAssembly SIMD should be present in Node ≥ 16');
});
