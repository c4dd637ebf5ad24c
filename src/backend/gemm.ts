/**
 * @file The one GEMM contract the fast backends share: a batch of C = A·B (or C += A·B) over strided float32 or
 * float64 matrices in host TypedArrays. The wasm backend runs it with SIMD kernels over shared memory, the blas
 * backend with OpenBLAS; matmul and the convolution family (im2col/col2im + GEMM) are written once on top of it
 * (gemm-driver.ts), so a new GEMM gives a backend all of them.
 */
import type { TypedArray } from '../core/dtype.js';

/**
 * A batch of `batch` products C_b = A_b · B_b, each A_b m×k, B_b k×n, C_b m×n. Element (i, p) of A_b is
 * `a[aOffsets[b] + i·aRowStride + p·aColStride]`, likewise for B and C. Strides may be any non-negative integers
 * (0 broadcasts; a transposed operand is just swapped strides and must run as fast as a plain one). C's matrices do
 * not overlap one another or A or B. With `accumulate` the product is added to C, otherwise C is overwritten.
 * A GEMM must propagate NaN and ±Inf as IEEE arithmetic does (0·inf = NaN), so no skipping of zeros.
 */
export interface GemmArgs {
  dtype: 'float32' | 'float64';
  batch: number;
  m: number;
  n: number;
  k: number;
  a: TypedArray;
  aOffsets: ArrayLike<number>;
  aRowStride: number;
  aColStride: number;
  b: TypedArray;
  bOffsets: ArrayLike<number>;
  bRowStride: number;
  bColStride: number;
  c: TypedArray;
  cOffsets: ArrayLike<number>;
  cRowStride: number;
  cColStride: number;
  accumulate: boolean;
}

export type Gemm = (args: GemmArgs) => void;

/** The GEMM contract in plain loops, accumulated in float64: what the fast GEMMs are tested against. */
export const referenceGemm: Gemm = (g) => {
  const { m, n, k, a, b, c } = g;
  for (let bi = 0; bi < g.batch; bi++) {
    const ao = g.aOffsets[bi];
    const bo = g.bOffsets[bi];
    const co = g.cOffsets[bi];
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++)
          s += a[ao + i * g.aRowStride + p * g.aColStride] * b[bo + p * g.bRowStride + j * g.bColStride];
        const ci = co + i * g.cRowStride + j * g.cColStride;
        c[ci] = g.accumulate ? c[ci] + s : s;
      }
  }
};
