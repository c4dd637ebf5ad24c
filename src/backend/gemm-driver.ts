/**
 * @file matmul and the convolution family written once on top of a GEMM (gemm.ts): a backend that supplies a fast
 * `Gemm` gets all four kernels. matmul maps its strided batch straight onto the GEMM's strided batch; the three
 * convolution kernels lower to im2col / col2im around one large GEMM per group (the batch folded into the columns,
 * or into the reduction for the weight gradient), so every convolution is as fast as the GEMM under it. Anything a
 * GEMM cannot express (integer dtypes, mixed dtypes, a non-contiguous out) goes to the reference kernels.
 */
import type { TypedArray } from '../core/dtype.js';
import { contiguousStrides, isContiguous as isDense, numel as size } from '../core/shape.js';
import type { Conv2dParams, Kernels, View } from './backend.js';
import type { Gemm } from './gemm.js';
import { jsBackend, offsets, validRange } from './js/index.js';
import { simdAddRuns } from './wasm/elementwise.js';

type FloatArray = Float32Array | Float64Array;
type GemmKernels = Pick<Kernels, 'matmul' | 'conv2d' | 'conv2dTranspose' | 'conv2dWeightGrad'>;

const ref = jsBackend.kernels as Kernels;

/**
 * Bound on an im2col buffer, in elements: the batch is processed in chunks that fit it. 1 MiB of float32 keeps the
 * columns in cache between im2col writing them and the GEMM reading them (measured against 4 and 32 MiB on the CNN
 * step's convolutions: as fast or faster), and bounds what the kept column buffer holds.
 */
const COLS_BUDGET = 1 << 18;

function isFloat(v: View): boolean {
  return v.dtype === 'float32' || v.dtype === 'float64';
}

function isContiguous(v: View): boolean {
  return isDense(v.shape, v.strides);
}

/** Element offsets of every batch position (row-major over `shape`) for a view with these batch strides. */
function batchOffsets(shape: readonly number[], strides: readonly number[], offset: number): Int32Array {
  return offsets({ buf: null, dtype: 'float64', shape, strides, offset }, true) as Int32Array;
}

function newArray(dtype: 'float32' | 'float64', n: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/**
 * The column buffer, one per dtype, kept between convolutions: a fresh multi-megabyte buffer per call costs V8's
 * zero fill and then the collector's time. `zero` clears the part asked for (im2col relies on 0 in the padding);
 * a GEMM that overwrites all of it needs no clearing. The chunk budget bounds what this holds.
 */
const scratch: { float32: Float32Array | null; float64: Float64Array | null } = { float32: null, float64: null };
function columns(dtype: 'float32' | 'float64', n: number, zero: boolean): FloatArray {
  const have = scratch[dtype];
  if (have && have.length >= n) {
    if (zero) have.fill(0, 0, n);
    return have;
  }
  const fresh = newArray(dtype, n);
  if (dtype === 'float32') scratch.float32 = fresh as Float32Array;
  else scratch.float64 = fresh as Float64Array;
  return fresh;
}

/** A contiguous copy of a float view (or the buffer itself when it already is one, from offset 0). */
function contiguous(v: View, dtype: 'float32' | 'float64'): { data: FloatArray; offset: number } {
  if (isContiguous(v) && v.dtype === dtype) return { data: v.buf as FloatArray, offset: v.offset };
  const out = newArray(dtype, size(v.shape));
  ref.copy({ buf: out, dtype, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 }, v);
  return { data: out, offset: 0 };
}

/** The geometry of one convolution, from the views: x [N, C, H, W], w [O, C/G, KH, KW], y [N, O, OH, OW]. */
function geometry(x: readonly number[], w: readonly number[], y: readonly number[], p: Conv2dParams) {
  const [N, C, H, W] = x;
  const [O, Cg, KH, KW] = w;
  const [, , OH, OW] = y;
  const G = p.groups;
  return { N, C, H, W, O, Cg, KH, KW, OH, OW, G, Og: O / G, K: Cg * KH * KW, P: OH * OW };
}
type Geometry = ReturnType<typeof geometry>;

/**
 * For each kernel tap along the two spatial dims, the output positions [lo, hi) whose input position lies inside x:
 * computed once per convolution, so the copy loops below run over whole in-bounds runs without a check per element.
 */
function tapBounds(g: Geometry, p: Conv2dParams) {
  const rows = validRange(g.OH, g.H, p.stride[0], p.padding[0], p.dilation[0], g.KH);
  const cols = validRange(g.OW, g.W, p.stride[1], p.padding[1], p.dilation[1], g.KW);
  return { iLo: rows.lo, iHi: rows.hi, jLo: cols.lo, jHi: cols.hi };
}
type TapBounds = ReturnType<typeof tapBounds>;

/**
 * cols[(c·KH + a)·KW + b][col0 + i·OW + j] = x[n, c0 + c, i·sH − pH + a·dH, j·sW − pW + b·dW], for one image and one
 * group: the columns a convolution's GEMM reads. `ld` is the row length of cols. Only the positions inside x are
 * written: the rest (the padding) must already be 0, as it is in a fresh buffer and stays when the buffer is reused
 * for another image or group of the same convolution (the padding positions depend only on the geometry).
 */
function im2col(
  cols: FloatArray,
  ld: number,
  col0: number,
  x: View,
  n: number,
  c0: number,
  g: Geometry,
  p: Conv2dParams,
  t: TapBounds,
) {
  const xa = x.buf as FloatArray;
  const [sn, sc, sh, sw] = x.strides;
  const [sH, sW] = p.stride;
  const [pH, pW] = p.padding;
  const [dH, dW] = p.dilation;
  const { Cg, KH, KW, OW } = g;
  const step = sW * sw;
  let row = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = x.offset + n * sn + (c0 + c) * sc;
    for (let a = 0; a < KH; a++) {
      const iLo = t.iLo[a];
      const iHi = t.iHi[a];
      const ih0 = a * dH - pH;
      for (let b = 0; b < KW; b++, row++) {
        const jLo = t.jLo[b];
        const len = t.jHi[b] - jLo;
        if (len <= 0) continue;
        const iw = jLo * sW + b * dW - pW;
        let o = row * ld + col0 + iLo * OW + jLo;
        let q = xc + (iLo * sH + ih0) * sh + iw * sw;
        const qStep = sH * sh;
        if (step === 1 && qStep === OW && iHi > iLo) {
          // Input rows and column rows have one pitch (a 'same' convolution), so the tap's runs are one block of x:
          // one copy, then the few padding slots between runs that it overwrote are put back to 0.
          const end = o + (iHi - iLo - 1) * OW + len;
          cols.set(xa.subarray(q, q + end - o), o);
          const gap = OW - len;
          for (let e = o + len; e < end; e += OW) for (let z = 0; z < gap; z++) cols[e + z] = 0;
        } else if (step === 1)
          for (let i = iLo; i < iHi; i++, o += OW, q += qStep) for (let j = 0; j < len; j++) cols[o + j] = xa[q + j];
        else
          for (let i = iLo; i < iHi; i++, o += OW, q += qStep)
            for (let j = 0; j < len; j++) cols[o + j] = xa[q + j * step];
      }
    }
  }
}

/** Flat (dst, src, length) triples of col2im's runs, kept between calls and grown as needed. */
let runs = new Int32Array(3 * 1024);

/**
 * The adjoint of im2col: out[n, c0 + c, ih, iw] += cols[...] for every position im2col read (out contiguous). It may
 * zero cols' padding positions (cols is scratch the next GEMM overwrites). With unit column stride every tap adds
 * whole rows, listed as runs and added with SIMD where it applies (simdAddRuns), else by the loop here: the same
 * float additions in the same order either way.
 */
function col2im(
  out: FloatArray,
  outOff: number,
  cols: FloatArray,
  ld: number,
  col0: number,
  n: number,
  c0: number,
  g: Geometry,
  p: Conv2dParams,
  t: TapBounds,
) {
  const [sH, sW] = p.stride;
  const [pH, pW] = p.padding;
  const [dH, dW] = p.dilation;
  const { C, Cg, KH, KW, OW, H, W } = g;
  const base = outOff + (n * C + c0) * H * W;
  let nRuns = 0;
  const run = (q: number, o: number, len: number) => {
    if (3 * nRuns + 3 > runs.length) {
      const grown = new Int32Array(2 * runs.length);
      grown.set(runs);
      runs = grown;
    }
    runs[3 * nRuns] = q - base;
    runs[3 * nRuns + 1] = o - col0;
    runs[3 * nRuns + 2] = len;
    nRuns++;
  };
  let row = 0;
  for (let c = 0; c < Cg; c++) {
    const oc = base + c * H * W;
    for (let a = 0; a < KH; a++) {
      const iLo = t.iLo[a];
      const iHi = t.iHi[a];
      const ih0 = a * dH - pH;
      for (let b = 0; b < KW; b++, row++) {
        const jLo = t.jLo[b];
        const len = t.jHi[b] - jLo;
        if (len <= 0) continue;
        const iw = jLo * sW + b * dW - pW;
        let o = row * ld + col0 + iLo * OW + jLo;
        let q = oc + (iLo * sH + ih0) * W + iw;
        const qStep = sH * W;
        if (sW === 1 && qStep === OW && iHi > iLo) {
          // A 'same' convolution: the tap's runs are one block of out and of cols. The column slots between runs
          // (padding, which im2col never fills) are zeroed, so one long run adds them as +0, which changes nothing:
          // x + (+0) = x for every x but −0, and out never holds −0 (it starts at +0, and +0 + (−0) = +0).
          const end = o + (iHi - iLo - 1) * OW + len;
          const gap = OW - len;
          for (let e = o + len; e < end; e += OW) for (let z = 0; z < gap; z++) cols[e + z] = 0;
          run(q, o, end - o);
        } else if (sW === 1) for (let i = iLo; i < iHi; i++, o += OW, q += qStep) run(q, o, len);
        else
          for (let i = iLo; i < iHi; i++, o += OW, q += qStep)
            for (let j = 0; j < len; j++) out[q + j * sW] += cols[o + j];
      }
    }
  }
  if (nRuns === 0) return;
  if (simdAddRuns(out, base, Cg * H * W, cols, col0, Cg * KH * KW * ld, runs, nRuns)) return;
  for (let r = 0; r < 3 * nRuns; r += 3) {
    const q = base + runs[r];
    const o = col0 + runs[r + 1];
    const len = runs[r + 2];
    for (let e = 0; e < len; e++) out[q + e] += cols[o + e];
  }
}

/**
 * y [N, O, OH, OW] as one [O, OH·OW] matrix per image, read in place when each image's spatial dims are contiguous
 * (row stride = the channel stride), else from a contiguous copy.
 */
function imageMatrices(y: View, dtype: 'float32' | 'float64', g: Geometry) {
  const [, yc, yh, yw] = y.strides;
  if (y.dtype === dtype && yw === 1 && yh === g.OW) {
    const yn = y.strides[0];
    return { data: y.buf as FloatArray, rowStride: yc, image: (n: number) => y.offset + n * yn };
  }
  const c = contiguous(y, dtype);
  return { data: c.data, rowStride: g.P, image: (n: number) => c.offset + n * g.O * g.P };
}

/** Images per chunk so that the [K, chunk·P] column buffer stays within budget (at least one image). */
function chunkOf(g: Geometry): number {
  return Math.max(1, Math.min(g.N, Math.floor(COLS_BUDGET / Math.max(1, g.K * g.P))));
}

/** The four GEMM-shaped kernels over `gemm`. */
export function gemmKernels(gemm: Gemm): GemmKernels {
  /** One C = A·B (or +=) over plain row-major operands at element offsets. */
  const mm = (
    dtype: 'float32' | 'float64',
    m: number,
    n: number,
    k: number,
    a: FloatArray,
    ao: number,
    aRow: number,
    aCol: number,
    b: FloatArray,
    bo: number,
    bRow: number,
    bCol: number,
    c: FloatArray,
    co: number,
    accumulate: boolean,
  ) =>
    gemm({
      dtype,
      batch: 1,
      m,
      n,
      k,
      a,
      aOffsets: [ao],
      aRowStride: aRow,
      aColStride: aCol,
      b,
      bOffsets: [bo],
      bRowStride: bRow,
      bColStride: bCol,
      c,
      cOffsets: [co],
      cRowStride: n,
      cColStride: 1,
      accumulate,
    });

  return {
    matmul(out, a, b) {
      if (!isFloat(out) || a.dtype !== out.dtype || b.dtype !== out.dtype || !isContiguous(out))
        return ref.matmul(out, a, b);
      const nd = out.shape.length;
      const m = out.shape[nd - 2];
      const n = out.shape[nd - 1];
      const k = a.shape[nd - 1];
      const batchShape = out.shape.slice(0, nd - 2);
      const nb = size(batchShape);
      const cOffsets = new Int32Array(nb);
      for (let i = 0; i < nb; i++) cOffsets[i] = out.offset + i * m * n;
      gemm({
        dtype: out.dtype as 'float32' | 'float64',
        batch: nb,
        m,
        n,
        k,
        a: a.buf as TypedArray,
        aOffsets: nb === 1 ? [a.offset] : batchOffsets(batchShape, a.strides.slice(0, nd - 2), a.offset),
        aRowStride: a.strides[nd - 2],
        aColStride: a.strides[nd - 1],
        b: b.buf as TypedArray,
        bOffsets: nb === 1 ? [b.offset] : batchOffsets(batchShape, b.strides.slice(0, nd - 2), b.offset),
        bRowStride: b.strides[nd - 2],
        bColStride: b.strides[nd - 1],
        c: out.buf as TypedArray,
        cOffsets,
        cRowStride: n,
        cColStride: 1,
        accumulate: false,
      });
    },

    // y_n[g·Og + o, pix] = bias + Σ_K W_g[o, K] · cols_n[K, pix]: per group one batched GEMM over the chunk's
    // images, W_g shared by all of them, each product written straight into its image's rows of out.
    conv2d(out, x, w, bias, p) {
      if (!isFloat(out) || x.dtype !== out.dtype || w.dtype !== out.dtype || !isContiguous(out))
        return ref.conv2d(out, x, w, bias, p);
      const dtype = out.dtype as 'float32' | 'float64';
      const g = geometry(x.shape, w.shape, out.shape, p);
      const o = out.buf as FloatArray;
      const { data: wd, offset: wo } = contiguous(w, dtype);
      const chunk = chunkOf(g);
      const cols = columns(dtype, g.K * chunk * g.P, true);
      const t = tapBounds(g, p);
      const bv = bias && contiguous(bias, dtype);
      if (bv)
        for (let n = 0; n < g.N; n++)
          for (let c = 0; c < g.O; c++) {
            const at = out.offset + (n * g.O + c) * g.P;
            o.fill(bv.data[bv.offset + c], at, at + g.P);
          }
      for (let n0 = 0; n0 < g.N; n0 += chunk) {
        const nc = Math.min(chunk, g.N - n0);
        for (let gi = 0; gi < g.G; gi++) {
          for (let i = 0; i < nc; i++) im2col(cols, g.P, i * g.K * g.P, x, n0 + i, gi * g.Cg, g, p, t);
          gemm({
            dtype,
            batch: nc,
            m: g.Og,
            n: g.P,
            k: g.K,
            a: wd,
            aOffsets: new Array(nc).fill(wo + gi * g.Og * g.K),
            aRowStride: g.K,
            aColStride: 1,
            b: cols,
            bOffsets: Array.from({ length: nc }, (_, i) => i * g.K * g.P),
            bRowStride: g.P,
            bColStride: 1,
            c: o,
            cOffsets: Array.from({ length: nc }, (_, i) => out.offset + ((n0 + i) * g.O + gi * g.Og) * g.P),
            cRowStride: g.P,
            cColStride: 1,
            accumulate: bv !== null,
          });
        }
      }
    },

    // dx_n = col2im(W_gᵀ · dY_n,g): dY read in place (a strided matrix per image), the transposed W just swapped
    // strides for the GEMM.
    conv2dTranspose(out, y, w, bias, p) {
      if (!isFloat(out) || y.dtype !== out.dtype || w.dtype !== out.dtype || !isContiguous(out))
        return ref.conv2dTranspose(out, y, w, bias, p);
      const dtype = out.dtype as 'float32' | 'float64';
      const g = geometry(out.shape, w.shape, y.shape, p);
      const o = out.buf as FloatArray;
      const { data: wd, offset: wo } = contiguous(w, dtype);
      const yv = imageMatrices(y, dtype, g);
      o.fill(0, out.offset, out.offset + size(out.shape));
      const chunk = chunkOf(g);
      const cols = columns(dtype, g.K * chunk * g.P, false);
      const t = tapBounds(g, p);
      for (let n0 = 0; n0 < g.N; n0 += chunk) {
        const nc = Math.min(chunk, g.N - n0);
        for (let gi = 0; gi < g.G; gi++) {
          gemm({
            dtype,
            batch: nc,
            m: g.K,
            n: g.P,
            k: g.Og,
            a: wd,
            aOffsets: new Array(nc).fill(wo + gi * g.Og * g.K),
            aRowStride: 1,
            aColStride: g.K,
            b: yv.data,
            bOffsets: Array.from({ length: nc }, (_, i) => yv.image(n0 + i) + gi * g.Og * yv.rowStride),
            bRowStride: yv.rowStride,
            bColStride: 1,
            c: cols,
            cOffsets: Array.from({ length: nc }, (_, i) => i * g.K * g.P),
            cRowStride: g.P,
            cColStride: 1,
            accumulate: false,
          });
          for (let i = 0; i < nc; i++) col2im(o, out.offset, cols, g.P, i * g.K * g.P, n0 + i, gi * g.Cg, g, p, t);
        }
      }
      if (bias) {
        const bv = contiguous(bias, dtype);
        const plane = g.H * g.W;
        for (let n = 0; n < g.N; n++)
          for (let c = 0; c < g.C; c++) {
            const bb = bv.data[bv.offset + c];
            const base = out.offset + (n * g.C + c) * plane;
            for (let q = 0; q < plane; q++) o[base + q] += bb;
          }
      }
    },

    // dW_g = Σ_n dY_n,g · cols_nᵀ: one GEMM per image accumulating into dW (GEMM outputs of a batch may not
    // overlap), dY read in place.
    conv2dWeightGrad(out, x, y, p) {
      if (!isFloat(out) || x.dtype !== out.dtype || y.dtype !== out.dtype || !isContiguous(out))
        return ref.conv2dWeightGrad(out, x, y, p);
      const dtype = out.dtype as 'float32' | 'float64';
      const g = geometry(x.shape, out.shape, y.shape, p);
      const o = out.buf as FloatArray;
      const yv = imageMatrices(y, dtype, g);
      const cols = columns(dtype, g.K * g.P, true);
      const t = tapBounds(g, p);
      o.fill(0, out.offset, out.offset + size(out.shape));
      for (let n = 0; n < g.N; n++)
        for (let gi = 0; gi < g.G; gi++) {
          im2col(cols, g.P, 0, x, n, gi * g.Cg, g, p, t);
          mm(
            dtype,
            g.Og,
            g.K,
            g.P,
            yv.data,
            yv.image(n) + gi * g.Og * yv.rowStride,
            yv.rowStride,
            1,
            cols,
            0,
            1,
            g.P,
            o,
            out.offset + gi * g.Og * g.K,
            true,
          );
        }
    },
  };
}
