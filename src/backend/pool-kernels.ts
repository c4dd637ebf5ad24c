/**
 * @file The fast CPU backends' pooling kernels (wasm and blas share them): max pooling over contiguous float planes
 * with each window's taps clipped to the input once per output row and column instead of once per tap, a
 * branch-free 2×2 / stride-2 case (the common CNN pool; wasm SIMD for float32 planes large enough, wasm/elementwise.ts,
 * forward and backward), and the backward scatter in one pass over the indices.
 * They compute exactly what the reference kernels in js/index.ts compute (the same taps in the same order, so the
 * same winner on ties and NaN); any other layout goes to those.
 */
import type { TypedArray } from '../core/dtype.js';
import { isContiguous, numel } from '../core/shape.js';
import type { Kernels, Pool2dParams, View } from './backend.js';
import { jsBackend } from './js/index.js';
import { simdMaxPool2x2, simdMaxPool2x2Backward } from './wasm/elementwise.js';

type PoolKernels = Pick<Kernels, 'maxPool2d' | 'maxPool2dBackward'>;

const ref = jsBackend.kernels as Kernels;

const dense = (v: View) => isContiguous(v.shape, v.strides);
const isFloat = (v: View) => v.dtype === 'float32' || v.dtype === 'float64';

/**
 * Along one spatial dim, for each output position: the first tap inside [0, size) and how many taps (at the
 * dilation's spacing) lie inside.
 */
function taps(out: number, size: number, k: number, s: number, p: number, d: number) {
  const first = new Int32Array(out);
  const count = new Int32Array(out);
  for (let i = 0; i < out; i++) {
    let t0 = i * s - p;
    let n = k;
    while (t0 < 0 && n > 0) {
      t0 += d;
      n--;
    }
    while (n > 0 && t0 + (n - 1) * d >= size) n--;
    first[i] = t0;
    count[i] = n;
  }
  return { first, count };
}

/**
 * The 2×2 / stride-2 pool without padding or dilation whose windows all lie inside x [N, C, H, W] (out [N, C, OH,
 * OW]): the common CNN pool, which the straight-line kernels (JS and wasm SIMD) cover.
 */
function isPool2x2(x: View, out: View, p: Pool2dParams): boolean {
  const [, , H, W] = x.shape;
  const [, , OH, OW] = out.shape;
  return (
    p.kernel[0] === 2 &&
    p.kernel[1] === 2 &&
    p.stride[0] === 2 &&
    p.stride[1] === 2 &&
    p.padding[0] === 0 &&
    p.padding[1] === 0 &&
    p.dilation[0] === 1 &&
    p.dilation[1] === 1 &&
    2 * OH <= H &&
    2 * OW <= W
  );
}

export const poolKernels: PoolKernels = {
  maxPool2d(out: View, indices: View, x: View, p: Pool2dParams) {
    if (!isFloat(x) || !dense(x) || !dense(out) || !dense(indices)) return ref.maxPool2d(out, indices, x, p);
    const a = x.buf as TypedArray;
    const o = out.buf as TypedArray;
    const ix = indices.buf as TypedArray;
    const [N, C, H, W] = x.shape;
    const [, , OH, OW] = out.shape;
    const plane = H * W;
    let k = out.offset;
    let q = indices.offset;
    const [kh, kw] = p.kernel;
    if (isPool2x2(x, out, p)) {
      if (simdMaxPool2x2(out, indices, x)) return;
      // Every window lies inside. A 2×2 tournament, (0, 1) and (2, 3) then their winners, picks what the scan in
      // row-major order picks (the last NaN, else the first maximum: the later one wins only when it is greater or
      // NaN), and choosing by index arithmetic on +(comparison) (a ternary compiles to a branch) does not stall on random data
      // (2× faster).
      for (let nc = 0; nc < N * C; nc++) {
        const base = x.offset + nc * plane;
        for (let i = 0; i < OH; i++) {
          const r0 = 2 * i * W;
          for (let j = 0; j < OW; j++) {
            const t0 = r0 + 2 * j;
            const t2 = t0 + W;
            const x0 = a[base + t0];
            const x1 = a[base + t0 + 1];
            const x2 = a[base + t2];
            const x3 = a[base + t2 + 1];
            const ia = t0 + (+(x1 > x0) | +(x1 !== x1));
            const ib = t2 + (+(x3 > x2) | +(x3 !== x3));
            const va = a[base + ia];
            const vb = a[base + ib];
            const at = ia + (+(vb > va) | +(vb !== vb)) * (ib - ia);
            o[k++] = a[base + at];
            ix[q++] = at;
          }
        }
      }
      return;
    }
    const [dH, dW] = p.dilation;
    const rows = taps(OH, H, kh, p.stride[0], p.padding[0], dH);
    const cols = taps(OW, W, kw, p.stride[1], p.padding[1], dW);
    for (let nc = 0; nc < N * C; nc++) {
      const base = x.offset + nc * plane;
      for (let i = 0; i < OH; i++) {
        const h0 = rows.first[i];
        const nh = rows.count[i];
        for (let j = 0; j < OW; j++) {
          const w0 = cols.first[j];
          const nw = cols.count[j];
          let best = -Infinity;
          let at = h0 * W + w0;
          for (let ta = 0; ta < nh; ta++) {
            const r = (h0 + ta * dH) * W + w0;
            for (let tb = 0; tb < nw; tb++) {
              const t = r + tb * dW;
              const v = a[base + t];
              if (v > best || v !== v) {
                best = v;
                at = t;
              }
            }
          }
          o[k++] = best;
          ix[q++] = at;
        }
      }
    }
  },

  maxPool2dBackward(out: View, g: View, indices: View, window?: Pool2dParams) {
    if (!isFloat(out) || !dense(out) || !dense(g) || !dense(indices)) return ref.maxPool2dBackward(out, g, indices);
    if (window && isPool2x2(out, g, window) && simdMaxPool2x2Backward(out, g, indices)) return;
    const o = out.buf as TypedArray;
    const ga = g.buf as TypedArray;
    const ix = indices.buf as TypedArray;
    const [N, C, H, W] = out.shape;
    const plane = H * W;
    const L = numel(g.shape) / Math.max(1, N * C);
    o.fill(0, out.offset, out.offset + N * C * plane);
    let s = g.offset;
    let q = indices.offset;
    for (let nc = 0; nc < N * C; nc++) {
      const base = out.offset + nc * plane;
      for (let l = 0; l < L; l++) o[base + ix[q++]] += ga[s++];
    }
  },
};
