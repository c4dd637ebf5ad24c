/**
 * @file The js reference backend: every kernel in plain TypeScript over TypedArrays, float64-exact. It is the
 * specification the fast backends are tested against, so clarity wins over speed, except for the cheap fast paths
 * (contiguous operands, a row-accumulated matmul) that keep the demo and the overhead benchmark honest.
 */
import { DTYPES, type DType, isFloating, isInteger, type TypedArray } from '../../core/dtype.js';
import type {
  Backend,
  BinaryFn,
  Conv2dParams,
  Kernels,
  Pool2dParams,
  ReduceOp,
  ScanOp,
  UnaryFn,
  View,
} from '../backend.js';

type Arr = TypedArray;

/** True when every stride is 0: the view repeats one element (a broadcast scalar). */
export function isConstant(v: View): boolean {
  for (let i = 0; i < v.strides.length; i++) if (v.strides[i] !== 0 && v.shape[i] !== 1) return false;
  return true;
}

/** Element offsets of a strided view in row-major order, or null when the view is contiguous (offset + i). */
export function offsets(v: View, always = false): Int32Array | null {
  const { shape, strides } = v;
  const nd = shape.length;
  let n = 1;
  let contiguous = true;
  for (let i = nd - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== n) contiguous = false;
    n *= shape[i];
  }
  if (contiguous && !always) return null;
  const out = new Int32Array(n);
  if (n === 0) return out;
  if (nd === 1) {
    for (let i = 0, o = v.offset; i < n; i++, o += strides[0]) out[i] = o;
    return out;
  }
  if (nd === 2) {
    const [r, c] = shape;
    const [s0, s1] = strides;
    let k = 0;
    for (let i = 0; i < r; i++) {
      let o = v.offset + i * s0;
      for (let j = 0; j < c; j++, o += s1) out[k++] = o;
    }
    return out;
  }
  if (nd === 0) {
    out[0] = v.offset;
    return out;
  }
  const idx = new Array<number>(nd).fill(0);
  let o = v.offset;
  for (let k = 0; k < n; k++) {
    out[k] = o;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      o += strides[d];
      if (idx[d] < shape[d]) break;
      o -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Calls line(xb, ob) once for each line of x along dim, in row-major order of the other dims: xb and ob are the
 * offsets of the line's first element in x and in out (which has x's shape); the line's elements follow at
 * x.strides[dim] and out.strides[dim].
 */
function forEachLine(out: View, x: View, dim: number, line: (xb: number, ob: number) => void): void {
  const lineShape = x.shape.map((d, i) => (i === dim ? 1 : d));
  const xStarts = offsets({ ...x, shape: lineShape });
  const oStarts = offsets({ ...out, shape: lineShape });
  const lines = size(lineShape);
  for (let l = 0; l < lines; l++) line(xStarts ? xStarts[l] : x.offset + l, oStarts ? oStarts[l] : out.offset + l);
}

/**
 * Stores into a bool buffer normalise to 0/1 and into int64's Float64Array truncate toward zero (its `cast`); the
 * other dtypes round or truncate through their TypedArray.
 */
function storeCast(dtype: DType): ((v: number) => number) | null {
  return dtype === 'bool' ? (v) => (v !== 0 ? 1 : 0) : dtype === 'int64' ? DTYPES.int64.cast : null;
}

/**
 * For each kernel offset a along one spatial dim, the output positions i whose input position i·s − p + a·d falls
 * inside [0, size): [lo[a], hi[a]). Everything outside reads the zero padding, so the loops never visit it.
 */
export function validRange(outSize: number, size: number, s: number, p: number, d: number, k: number) {
  const lo = new Int32Array(k);
  const hi = new Int32Array(k);
  for (let a = 0; a < k; a++) {
    lo[a] = Math.max(0, Math.ceil((p - a * d) / s));
    hi[a] = Math.max(lo[a], Math.min(outSize, Math.floor((size - 1 + p - a * d) / s) + 1));
  }
  return { lo, hi };
}

/**
 * One group's input planes x[n, c0 … c0 + Cg) copied into a zero-padded float64 block [Cg, Hp, Wp] whose origin is
 * input position (−pH, −pW) (a negative padding crops): the convolution loops then read every tap without bounds
 * checks, at contiguous addresses, in one array type.
 */
function padPlanes(
  xp: Float64Array,
  x: View,
  n: number,
  c0: number,
  Cg: number,
  Hp: number,
  Wp: number,
  pH: number,
  pW: number,
) {
  const xa = x.buf as Arr;
  const [, , H, W] = x.shape;
  const [sn, sc, sh, sw] = x.strides;
  xp.fill(0);
  const h0 = Math.max(0, -pH);
  const h1 = Math.min(H, Hp - pH);
  const w0 = Math.max(0, -pW);
  const w1 = Math.min(W, Wp - pW);
  for (let c = 0; c < Cg; c++)
    for (let h = h0; h < h1; h++) {
      let q = x.offset + n * sn + (c0 + c) * sc + h * sh + w0 * sw;
      let r = (c * Hp + h + pH) * Wp + w0 + pW;
      for (let w = w0; w < w1; w++, q += sw) xp[r++] = xa[q];
    }
}

/**
 * The direct convolution every conv kernel runs on: out[n, o, i, j] = bias[o] + Σ_{c, a, b} wk[o, c, a, b] ·
 * x[n, g·Cg + c, i·sH − pH + a·dH, j·sW − pW + b·dW], zero outside x; wk is packed [O, Cg, KH, KW]. Each output row
 * is computed four positions at a time with the taps in the inner loop, so the sums stay in registers and every
 * weight is read once per four outputs (a plain one-output loop spends most of its time on loads and stores).
 */
function directConv(
  out: View,
  x: View,
  wk: Float64Array,
  bias: View | null,
  O: number,
  Cg: number,
  KH: number,
  KW: number,
  p: Conv2dParams,
) {
  const [N] = x.shape;
  const [, , OH, OW] = out.shape;
  const [sH, sW] = p.stride;
  const [pH, pW] = p.padding;
  const [dH, dW] = p.dilation;
  const oa = out.buf as Arr;
  const Og = O / p.groups;
  if (N === 0 || OH === 0 || OW === 0) return;
  const Hp = (OH - 1) * sH + (KH - 1) * dH + 1;
  const Wp = (OW - 1) * sW + (KW - 1) * dW + 1;
  const T = Cg * KH * KW;
  const tapOff = new Int32Array(T);
  for (let c = 0, t = 0; c < Cg; c++)
    for (let a = 0; a < KH; a++) for (let b = 0; b < KW; b++) tapOff[t++] = (c * Hp + a * dH) * Wp + b * dW;
  const xp = new Float64Array(Cg * Hp * Wp);
  const rows = new Float64Array(2 * OW);
  const biasOf = (o: number) => (bias ? (bias.buf as Arr)[bias.offset + o * bias.strides[0]] : 0);
  for (let n = 0; n < N; n++)
    for (let g = 0; g < p.groups; g++) {
      padPlanes(xp, x, n, g * Cg, Cg, Hp, Wp, pH, pW);
      // Two output channels at a time (the second repeats the first when the group has an odd one left).
      for (let o = g * Og; o < (g + 1) * Og; o += 2) {
        const pair = o + 1 < (g + 1) * Og;
        const w0 = o * T;
        const w1 = pair ? w0 + T : w0;
        const b0 = biasOf(o);
        const b1 = pair ? biasOf(o + 1) : b0;
        for (let i = 0; i < OH; i++) {
          const rowOff = i * sH * Wp;
          let j = 0;
          for (; j + 3 < OW; j += 4) {
            const q = rowOff + j * sW;
            let s0 = b0;
            let s1 = b0;
            let s2 = b0;
            let s3 = b0;
            let u0 = b1;
            let u1 = b1;
            let u2 = b1;
            let u3 = b1;
            for (let t = 0; t < T; t++) {
              const wv = wk[w0 + t];
              const wu = wk[w1 + t];
              const r = q + tapOff[t];
              const x0 = xp[r];
              const x1 = xp[r + sW];
              const x2 = xp[r + 2 * sW];
              const x3 = xp[r + 3 * sW];
              s0 += wv * x0;
              s1 += wv * x1;
              s2 += wv * x2;
              s3 += wv * x3;
              u0 += wu * x0;
              u1 += wu * x1;
              u2 += wu * x2;
              u3 += wu * x3;
            }
            rows[j] = s0;
            rows[j + 1] = s1;
            rows[j + 2] = s2;
            rows[j + 3] = s3;
            rows[OW + j] = u0;
            rows[OW + j + 1] = u1;
            rows[OW + j + 2] = u2;
            rows[OW + j + 3] = u3;
          }
          for (; j < OW; j++) {
            const q = rowOff + j * sW;
            let s = b0;
            let u = b1;
            for (let t = 0; t < T; t++) {
              const xv = xp[q + tapOff[t]];
              s += wk[w0 + t] * xv;
              u += wk[w1 + t] * xv;
            }
            rows[j] = s;
            rows[OW + j] = u;
          }
          const dst = out.offset + ((n * O + o) * OH + i) * OW;
          oa.set(rows.subarray(0, OW), dst);
          if (pair) oa.set(rows.subarray(OW), dst + OH * OW);
        }
      }
    }
}

/** w [O, Cg, KH, KW] as a contiguous float64 array; flipped, it holds w[o, c, KH−1−a, KW−1−b]. */
function packWeight(w: View, flipped = false): Float64Array {
  const [O, Cg, KH, KW] = w.shape;
  const [so, sc, sh, sw] = w.strides;
  const wa = w.buf as Arr;
  const out = new Float64Array(O * Cg * KH * KW);
  let k = 0;
  for (let o = 0; o < O; o++)
    for (let c = 0; c < Cg; c++)
      for (let a = 0; a < KH; a++)
        for (let b = 0; b < KW; b++) {
          const [aa, bb] = flipped ? [KH - 1 - a, KW - 1 - b] : [a, b];
          out[k++] = wa[w.offset + o * so + c * sc + aa * sh + bb * sw];
        }
  return out;
}

/**
 * The three convolution kernels. Inputs may have any strides; out is contiguous; every sum runs in float64 and is
 * stored once (one rounding for float32).
 */
const convKernels: Pick<Kernels, 'conv2d' | 'conv2dTranspose' | 'conv2dWeightGrad'> = {
  conv2d(out, x, w, bias, p) {
    const [O, Cg, KH, KW] = w.shape;
    directConv(out, x, packWeight(w), bias, O, Cg, KH, KW, p);
  },

  conv2dTranspose(out, y, w, bias, p) {
    const [O, Cg, KH, KW] = w.shape;
    const [N, C, H, W] = out.shape;
    const [, , OH, OW] = y.shape;
    const [sH, sW] = p.stride;
    const [pH, pW] = p.padding;
    const [dH, dW] = p.dilation;
    const G = p.groups;
    const Og = O / G;
    if (sH === 1 && sW === 1) {
      // With stride 1 the adjoint is itself a convolution: of y with the flipped kernel, in and out channels swapped
      // within each group, padded by d·(k − 1) − p (a negative padding crops).
      const flipped = packWeight(w, true);
      const wk = new Float64Array(C * Og * KH * KW);
      const taps = KH * KW;
      for (let ci = 0; ci < C; ci++) {
        const g = Math.floor(ci / Cg);
        for (let oo = 0; oo < Og; oo++) {
          const src = ((g * Og + oo) * Cg + (ci - g * Cg)) * taps;
          wk.set(flipped.subarray(src, src + taps), (ci * Og + oo) * taps);
        }
      }
      const q = {
        stride: p.stride,
        padding: [dH * (KH - 1) - pH, dW * (KW - 1) - pW] as const,
        dilation: p.dilation,
        groups: G,
      };
      directConv(out, y, wk, bias, C, Og, KH, KW, q);
      return;
    }
    // Strided: scatter each y[i, j] to the positions conv2d read it from.
    const rows = validRange(OH, H, sH, pH, dH, KH);
    const cols = validRange(OW, W, sW, pW, dW, KW);
    const [yn, yc, yh, yw] = y.strides;
    const ya = y.buf as Arr;
    const wk = packWeight(w);
    const acc = new Float64Array(H * W);
    for (let n = 0; n < N; n++)
      for (let ci = 0; ci < C; ci++) {
        acc.fill(bias ? (bias.buf as Arr)[bias.offset + ci * bias.strides[0]] : 0);
        const g = Math.floor(ci / Cg);
        const c = ci - g * Cg;
        for (let o = g * Og; o < (g + 1) * Og; o++) {
          const yPlane = y.offset + n * yn + o * yc;
          for (let a = 0; a < KH; a++)
            for (let b = 0; b < KW; b++) {
              const wv = wk[((o * Cg + c) * KH + a) * KW + b];
              const jlo = cols.lo[b];
              const jhi = cols.hi[b];
              for (let i = rows.lo[a]; i < rows.hi[a]; i++) {
                let r = (i * sH - pH + a * dH) * W + jlo * sW - pW + b * dW;
                let q = yPlane + i * yh + jlo * yw;
                for (let j = jlo; j < jhi; j++, r += sW, q += yw) acc[r] += wv * ya[q];
              }
            }
        }
        (out.buf as Arr).set(acc, out.offset + (n * C + ci) * H * W);
      }
  },

  conv2dWeightGrad(out, x, y, p) {
    const [O, Cg, KH, KW] = out.shape;
    const [N] = x.shape;
    const [, , OH, OW] = y.shape;
    const [sH, sW] = p.stride;
    const [pH, pW] = p.padding;
    const [dH, dW] = p.dilation;
    const G = p.groups;
    const Og = O / G;
    const acc = new Float64Array(O * Cg * KH * KW);
    if (N > 0 && OH > 0 && OW > 0) {
      const Hp = (OH - 1) * sH + (KH - 1) * dH + 1;
      const Wp = (OW - 1) * sW + (KW - 1) * dW + 1;
      const xp = new Float64Array(Cg * Hp * Wp);
      const plane = OH * OW;
      const yp = new Float64Array(O * plane);
      const [yn, yc, yh, yw] = y.strides;
      const ya = y.buf as Arr;
      for (let n = 0; n < N; n++) {
        for (let o = 0, k = 0; o < O; o++)
          for (let i = 0; i < OH; i++)
            for (let j = 0; j < OW; j++) yp[k++] = ya[y.offset + n * yn + o * yc + i * yh + j * yw];
        for (let g = 0; g < G; g++) {
          padPlanes(xp, x, n, g * Cg, Cg, Hp, Wp, pH, pW);
          // Four output channels at a time share each input load; their sums stay in registers.
          for (let c = 0; c < Cg; c++)
            for (let a = 0; a < KH; a++)
              for (let b = 0; b < KW; b++) {
                const tap = (c * Hp + a * dH) * Wp + b * dW;
                let o = g * Og;
                for (; o < (g + 1) * Og; o += 4) {
                  const m = Math.min(4, (g + 1) * Og - o);
                  const y0 = o * plane;
                  const y1 = (o + (m > 1 ? 1 : 0)) * plane;
                  const y2 = (o + (m > 2 ? 2 : 0)) * plane;
                  const y3 = (o + (m > 3 ? 3 : 0)) * plane;
                  let s0 = 0;
                  let s1 = 0;
                  let s2 = 0;
                  let s3 = 0;
                  for (let i = 0, e = 0; i < OH; i++) {
                    let r = tap + i * sH * Wp;
                    for (let j = 0; j < OW; j++, e++, r += sW) {
                      const xv = xp[r];
                      s0 += yp[y0 + e] * xv;
                      s1 += yp[y1 + e] * xv;
                      s2 += yp[y2 + e] * xv;
                      s3 += yp[y3 + e] * xv;
                    }
                  }
                  const sums = [s0, s1, s2, s3];
                  for (let k = 0; k < m; k++) acc[(((o + k) * Cg + c) * KH + a) * KW + b] += sums[k];
                }
              }
        }
      }
    }
    (out.buf as Arr).set(acc, out.offset);
  },
};

/** The pooling kernels, written as their contract reads: one window at a time, every tap bounds-checked. */
function poolKernels(): Pick<Kernels, 'maxPool2d' | 'maxPool2dBackward'> {
  return {
    maxPool2d(out: View, indices: View, x: View, p: Pool2dParams) {
      const o = out.buf as Arr;
      const ix = indices.buf as Arr;
      const a = x.buf as Arr;
      const [N, C, H, W] = x.shape;
      const [, , OH, OW] = out.shape;
      const [sn, sc, sh, sw] = x.strides;
      let k = 0;
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++)
          for (let i = 0; i < OH; i++)
            for (let j = 0; j < OW; j++, k++) {
              let best = -Infinity;
              let at = -1;
              for (let ta = 0; ta < p.kernel[0]; ta++)
                for (let tb = 0; tb < p.kernel[1]; tb++) {
                  const h = i * p.stride[0] - p.padding[0] + ta * p.dilation[0];
                  const w = j * p.stride[1] - p.padding[1] + tb * p.dilation[1];
                  if (h < 0 || h >= H || w < 0 || w >= W) continue;
                  const v = a[x.offset + n * sn + c * sc + h * sh + w * sw];
                  const q = h * W + w;
                  if (at < 0) at = q; // the first inside tap holds the window when nothing beats −∞
                  if (v > best || v !== v) {
                    best = v;
                    at = q;
                  }
                }
              o[out.offset + k] = best;
              ix[indices.offset + k] = at;
            }
    },

    maxPool2dBackward(out: View, g: View, indices: View) {
      const o = out.buf as Arr;
      const ga = g.buf as Arr;
      const ix = indices.buf as Arr;
      const [N, C, H, W] = out.shape;
      const [, , OH, OW] = g.shape;
      o.fill(0, out.offset, out.offset + N * C * H * W);
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++)
          for (let i = 0; i < OH; i++)
            for (let j = 0; j < OW; j++) {
              const q =
                ix[
                  indices.offset +
                    n * indices.strides[0] +
                    c * indices.strides[1] +
                    i * indices.strides[2] +
                    j * indices.strides[3]
                ];
              o[out.offset + (n * C + c) * H * W + q] +=
                ga[g.offset + n * g.strides[0] + c * g.strides[1] + i * g.strides[2] + j * g.strides[3]];
            }
    },
  };
}

const kernels: Kernels = {
  fill(out, value) {
    const o = out.buf as Arr;
    const oo = offsets(out);
    const v = DTYPES[out.dtype].cast(value);
    const n = size(out.shape);
    if (!oo) o.fill(v, out.offset, out.offset + n);
    else for (let i = 0; i < n; i++) o[oo[i]] = v;
  },

  copy(out, x) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const n = size(out.shape);
    const oo = offsets(out);
    const xo = offsets(x);
    const cast = storeCast(out.dtype);
    // A float cast to an integer dtype truncates, and NaN and ±Infinity become 0 (documented: PyTorch's result there
    // is undefined behaviour); int32 then wraps through its TypedArray, and apply checks an int64 result's range.
    const toInt = isInteger(out.dtype) && isFloating(x.dtype);
    for (let i = 0; i < n; i++) {
      let v = a[xo ? xo[i] : x.offset + i];
      if (toInt) v = Number.isFinite(v) ? Math.trunc(v) : 0;
      if (cast) v = cast(v);
      o[oo ? oo[i] : out.offset + i] = v;
    }
  },

  unary(_name: string, fn: UnaryFn, out: View, x: View, params: readonly number[]) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const n = size(out.shape);
    const xo = offsets(x);
    const cast = storeCast(out.dtype);
    const base = out.offset;
    if (!xo && !cast) {
      const xb = x.offset;
      for (let i = 0; i < n; i++) o[base + i] = fn(a[xb + i], params);
    } else {
      for (let i = 0; i < n; i++) {
        const v = fn(a[xo ? xo[i] : x.offset + i], params);
        o[base + i] = cast ? cast(v) : v;
      }
    }
  },

  binary(_name: string, fn: BinaryFn, out: View, x: View, y: View) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const b = y.buf as Arr;
    const n = size(out.shape);
    const base = out.offset;
    const xo = offsets(x);
    const cast = storeCast(out.dtype);
    if (!xo && !cast) {
      const xb = x.offset;
      if (isConstant(y)) {
        // A tensor op a scalar: the most common broadcast, read the scalar once.
        const c = b[y.offset];
        for (let i = 0; i < n; i++) o[base + i] = fn(a[xb + i], c);
        return;
      }
      if (!offsets(y)) {
        const yb = y.offset;
        for (let i = 0; i < n; i++) o[base + i] = fn(a[xb + i], b[yb + i]);
        return;
      }
    }
    const yo = offsets(y);
    for (let i = 0; i < n; i++) {
      const v = fn(a[xo ? xo[i] : x.offset + i], b[yo ? yo[i] : y.offset + i]);
      o[base + i] = cast ? cast(v) : v;
    }
  },

  addScaled(out, x, y, alpha) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const b = y.buf as Arr;
    const n = size(out.shape);
    const xo = offsets(x);
    const yo = offsets(y);
    // The product is stored once in the dtype (a float32 mul rounds), so round it the same way here.
    const round = DTYPES[out.dtype].cast;
    const s = round(alpha);
    for (let i = 0; i < n; i++)
      o[out.offset + i] = a[xo ? xo[i] : x.offset + i] + round(s * b[yo ? yo[i] : y.offset + i]);
  },

  where(out, cond, x, y) {
    const o = out.buf as Arr;
    const c = cond.buf as Arr;
    const a = x.buf as Arr;
    const b = y.buf as Arr;
    const n = size(out.shape);
    const co = offsets(cond);
    const xo = offsets(x);
    const yo = offsets(y);
    for (let i = 0; i < n; i++) {
      const take = c[co ? co[i] : cond.offset + i] !== 0;
      o[out.offset + i] = take ? a[xo ? xo[i] : x.offset + i] : b[yo ? yo[i] : y.offset + i];
    }
  },

  reduce(op: ReduceOp, out: View, x: View) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const nOut = size(out.shape);
    // Accumulate in float64 whatever the dtype, then store once (one rounding for float32).
    const acc = new Float64Array(nOut);
    const init = op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'amax' ? -Infinity : Infinity;
    acc.fill(init);
    // View the accumulator at x's shape: stride 0 on every reduced dim.
    const accStrides: number[] = [];
    let s = 1;
    for (let d = out.shape.length - 1; d >= 0; d--) {
      accStrides[d] = out.shape[d] === 1 ? 0 : s;
      s *= out.shape[d];
    }
    const ai = offsets({ buf: null, dtype: 'float64', shape: x.shape, strides: accStrides, offset: 0 });
    const xo = offsets(x);
    const n = size(x.shape);
    for (let i = 0; i < n; i++) {
      const v = a[xo ? xo[i] : x.offset + i];
      const k = ai ? ai[i] : i;
      const cur = acc[k];
      if (op === 'sum') acc[k] = cur + v;
      else if (op === 'prod') acc[k] = cur * v;
      else if (op === 'amax') acc[k] = v > cur || v !== v ? v : cur;
      else acc[k] = v < cur || v !== v ? v : cur;
    }
    const oo = offsets(out);
    const cast = storeCast(out.dtype);
    for (let i = 0; i < nOut; i++) o[oo ? oo[i] : out.offset + i] = cast ? cast(acc[i]) : acc[i];
  },

  argReduce(op, out, x, dim) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const len = x.shape[dim];
    const step = x.strides[dim];
    const starts = offsets({ ...x, shape: x.shape.map((d, i) => (i === dim ? 1 : d)) });
    const nOut = size(out.shape);
    for (let i = 0; i < nOut; i++) {
      const s0 = starts ? starts[i] : x.offset + i;
      let best = a[s0];
      let bi = 0;
      for (let j = 1; j < len && best === best; j++) {
        const v = a[s0 + j * step];
        if (v !== v || (op === 'argmax' ? v > best : v < best)) {
          best = v;
          bi = j;
        }
      }
      o[out.offset + i] = bi;
    }
  },

  argsort(out, x, dim, descending) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const len = x.shape[dim];
    const xs = x.strides[dim];
    const os = out.strides[dim];
    const vals = new Float64Array(len);
    const order = new Array<number>(len);
    // NaN is the largest value; ties keep their positions (the index breaks them), so the order is stable.
    const cmp = descending
      ? (i: number, j: number) => {
          const u = vals[i];
          const v = vals[j];
          if (u > v) return -1;
          if (u < v) return 1;
          if (u !== u && v === v) return -1;
          if (v !== v && u === u) return 1;
          return i - j;
        }
      : (i: number, j: number) => {
          const u = vals[i];
          const v = vals[j];
          if (u < v) return -1;
          if (u > v) return 1;
          if (u !== u && v === v) return 1;
          if (v !== v && u === u) return -1;
          return i - j;
        };
    forEachLine(out, x, dim, (xb, ob) => {
      for (let j = 0; j < len; j++) {
        vals[j] = a[xb + j * xs];
        order[j] = j;
      }
      order.sort(cmp);
      for (let j = 0; j < len; j++) o[ob + j * os] = order[j];
    });
  },

  scan(op: ScanOp, out: View, x: View, dim: number) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const len = x.shape[dim];
    const xs = x.strides[dim];
    const os = out.strides[dim];
    const cast = storeCast(out.dtype);
    forEachLine(out, x, dim, (xb, ob) => {
      let acc = op === 'cumsum' ? 0 : 1;
      for (let j = 0; j < len; j++) {
        const v = a[xb + j * xs];
        acc = op === 'cumsum' ? acc + v : acc * v;
        o[ob + j * os] = cast ? cast(acc) : acc;
      }
    });
  },

  matmul(out, x, y) {
    const o = out.buf as Arr;
    const nd = out.shape.length;
    const m = out.shape[nd - 2];
    const n = out.shape[nd - 1];
    const k = x.shape[nd - 1];
    const batchShape = out.shape.slice(0, nd - 2);
    const aBatch = offsets({ ...x, shape: batchShape, strides: x.strides.slice(0, nd - 2) }, true)!;
    const bBatch = offsets({ ...y, shape: batchShape, strides: y.strides.slice(0, nd - 2) }, true)!;
    const nb = size(batchShape);
    const [sam, sak] = [x.strides[nd - 2], x.strides[nd - 1]];
    let [sbk, sbn] = [y.strides[nd - 2], y.strides[nd - 1]];
    const row = new Float64Array(n);
    for (let bi = 0; bi < nb; bi++) {
      const aOff = aBatch[bi];
      let bOff = bBatch[bi];
      let b = y.buf as Arr;
      const a = x.buf as Arr;
      // The inner loop walks b's rows; a transposed b would walk columns, so pack it row-major first.
      if (sbn !== 1 && n > 1 && k > 1) {
        const packed = new Float64Array(k * n);
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) packed[p * n + j] = b[bOff + p * sbk + j * sbn];
        b = packed;
        bOff = 0;
        sbk = n;
        sbn = 1;
      }
      const oOff = out.offset + bi * m * n;
      for (let i = 0; i < m; i++) {
        row.fill(0);
        for (let p = 0; p < k; p++) {
          const av = a[aOff + i * sam + p * sak];
          if (av === 0) continue;
          const bRow = bOff + p * sbk;
          if (sbn === 1) for (let j = 0; j < n; j++) row[j] += av * b[bRow + j];
          else for (let j = 0; j < n; j++) row[j] += av * b[bRow + j * sbn];
        }
        for (let j = 0; j < n; j++) o[oOff + i * n + j] = row[j];
      }
      sbk = y.strides[nd - 2];
      sbn = y.strides[nd - 1];
    }
    // 0·inf and 0·NaN must still poison the result as IEEE says; the av === 0 skip above would hide them.
    if (hasNonFinite(x) || hasNonFinite(y)) naiveMatmul(out, x, y);
  },

  gather(out, x, dim, index) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const ix = index.buf as Arr;
    const n = size(out.shape);
    const io = offsets(index);
    // x viewed at index's shape with stride 0 along dim; the index supplies the position along dim.
    const xo = offsets({ ...x, shape: index.shape, strides: x.strides.map((s, i) => (i === dim ? 0 : s)) });
    for (let i = 0; i < n; i++) {
      const j = ix[io ? io[i] : index.offset + i];
      o[out.offset + i] = a[(xo ? xo[i] : x.offset + i) + j * x.strides[dim]];
    }
  },

  scatterAdd(out, dim, index, src) {
    const o = out.buf as Arr;
    const s = src.buf as Arr;
    const ix = index.buf as Arr;
    const n = size(index.shape);
    const io = offsets(index);
    const so = offsets({ ...src, shape: index.shape });
    const oo = offsets({ ...out, shape: index.shape, strides: out.strides.map((st, i) => (i === dim ? 0 : st)) });
    for (let i = 0; i < n; i++) {
      const j = ix[io ? io[i] : index.offset + i];
      o[(oo ? oo[i] : out.offset + i) + j * out.strides[dim]] += s[so ? so[i] : src.offset + i];
    }
  },

  softmax(op, out, x, dim) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const len = x.shape[dim];
    const xs = x.strides[dim];
    const os = out.strides[dim];
    forEachLine(out, x, dim, (xb, ob) => {
      let mx = -Infinity;
      for (let j = 0; j < len; j++) {
        const v = a[xb + j * xs];
        if (v > mx || v !== v) mx = v;
      }
      if (mx === -Infinity) mx = 0; // an all -inf line: exp(-inf) = 0 everywhere, as PyTorch gives nan/-inf below
      let sum = 0;
      for (let j = 0; j < len; j++) sum += Math.exp(a[xb + j * xs] - mx);
      if (op === 'softmax') for (let j = 0; j < len; j++) o[ob + j * os] = Math.exp(a[xb + j * xs] - mx) / sum;
      else {
        const lse = Math.log(sum);
        for (let j = 0; j < len; j++) o[ob + j * os] = a[xb + j * xs] - mx - lse;
      }
    });
  },

  softmaxBackward(out, g, y, dim) {
    const o = out.buf as Arr;
    const gb = g.buf as Arr;
    const yb = y.buf as Arr;
    const len = y.shape[dim];
    const [gs, ys, os] = [g.strides[dim], y.strides[dim], out.strides[dim]];
    // The dtype's rounding of each intermediate, as the mul, sum and sub kernels' stores give it.
    const round = out.dtype === 'float32' ? Math.fround : (v: number) => v;
    const lineShape = y.shape.map((d, i) => (i === dim ? 1 : d));
    const [gStarts, yStarts, oStarts] = [g, y, out].map((v) => offsets({ ...v, shape: lineShape }));
    const lines = size(lineShape);
    for (let l = 0; l < lines; l++) {
      const gb0 = gStarts ? gStarts[l] : g.offset + l;
      const yb0 = yStarts ? yStarts[l] : y.offset + l;
      const ob = oStarts ? oStarts[l] : out.offset + l;
      let sum = 0;
      for (let j = 0; j < len; j++) sum += round(gb[gb0 + j * gs] * yb[yb0 + j * ys]);
      const s = round(sum);
      for (let j = 0; j < len; j++) o[ob + j * os] = yb[yb0 + j * ys] * round(gb[gb0 + j * gs] - s);
    }
  },

  layerNorm(out, x, eps) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const D = x.shape[x.shape.length - 1];
    const R = D > 0 ? size(x.shape) / D : 0;
    for (let r = 0; r < R; r++) {
      const xb = x.offset + r * D;
      const ob = out.offset + r * D;
      const { mu, rstd } = lineMoments(a, xb, D, eps);
      for (let j = 0; j < D; j++) o[ob + j] = (a[xb + j] - mu) * rstd;
    }
  },

  layerNormBackward(out, g, x, eps) {
    const o = out.buf as Arr;
    const a = x.buf as Arr;
    const gb = g.buf as Arr;
    const D = x.shape[x.shape.length - 1];
    const R = D > 0 ? size(x.shape) / D : 0;
    for (let r = 0; r < R; r++) {
      const xb = x.offset + r * D;
      const gq = g.offset + r * D;
      const ob = out.offset + r * D;
      const { mu, rstd } = lineMoments(a, xb, D, eps);
      let sg = 0;
      let sgy = 0;
      for (let j = 0; j < D; j++) {
        sg += gb[gq + j];
        sgy += gb[gq + j] * (a[xb + j] - mu) * rstd;
      }
      const mg = sg / D;
      const mgy = sgy / D;
      for (let j = 0; j < D; j++) o[ob + j] = rstd * (gb[gq + j] - mg - (a[xb + j] - mu) * rstd * mgy);
    }
  },

  lstmCell(out, gates, c) {
    const [B, H] = c.shape;
    const o = out.buf as Arr;
    const z = gates.buf as Arr;
    const cb = c.buf as Arr;
    const zo = offsets(gates, true) as Int32Array;
    const co = offsets(c, true) as Int32Array;
    const f32 = out.dtype === 'float32';
    for (let b = 0; b < B; b++)
      for (let j = 0; j < H; j++) {
        const e = b * H + j;
        const zb = 4 * b * H + j;
        const si = round(sigmoidOf(z[zo[zb]]), f32);
        const sf = round(sigmoidOf(z[zo[zb + H]]), f32);
        const tg = round(Math.tanh(z[zo[zb + 2 * H]]), f32);
        const so = round(sigmoidOf(z[zo[zb + 3 * H]]), f32);
        const c1 = round(round(sf * cb[co[e]], f32) + round(si * tg, f32), f32);
        o[out.offset + e] = so * round(Math.tanh(c1), f32);
        o[out.offset + B * H + e] = c1;
      }
  },

  lstmCellBackward(dGates, dc, gates, c, g) {
    const [B, H] = c.shape;
    const dz = dGates.buf as Arr;
    const dcb = dc.buf as Arr;
    const z = gates.buf as Arr;
    const cb = c.buf as Arr;
    const gb = g.buf as Arr;
    const zo = offsets(gates, true) as Int32Array;
    const co = offsets(c, true) as Int32Array;
    const go = offsets(g, true) as Int32Array;
    const f32 = dc.dtype === 'float32';
    for (let b = 0; b < B; b++)
      for (let j = 0; j < H; j++) {
        const e = b * H + j;
        const zb = 4 * b * H + j;
        const si = round(sigmoidOf(z[zo[zb]]), f32);
        const sf = round(sigmoidOf(z[zo[zb + H]]), f32);
        const tg = round(Math.tanh(z[zo[zb + 2 * H]]), f32);
        const so = round(sigmoidOf(z[zo[zb + 3 * H]]), f32);
        const c0 = cb[co[e]];
        const tc = round(Math.tanh(round(round(sf * c0, f32) + round(si * tg, f32), f32)), f32);
        const dh = gb[go[e]];
        // σ' = y(1 − y) and tanh' = 1 − y², rounded as sigmoid's and tanh's VJPs round g ⊙ (y ⊙ (1 − y)), g ⊙ (1 − y²).
        const dct = round(
          gb[go[B * H + e]] + round(round(dh * so, f32) * round(1 - round(tc * tc, f32), f32), f32),
          f32,
        );
        const ob = dGates.offset + zb;
        dz[ob] = round(dct * tg, f32) * round(si * round(1 - si, f32), f32);
        dz[ob + H] = round(dct * c0, f32) * round(sf * round(1 - sf, f32), f32);
        dz[ob + 2 * H] = round(dct * si, f32) * round(1 - round(tg * tg, f32), f32);
        dz[ob + 3 * H] = round(dh * tc, f32) * round(so * round(1 - so, f32), f32);
        dcb[dc.offset + e] = dct * sf;
      }
  },

  ...convKernels,
  ...poolKernels(),
};

/** A line's mean and 1/√(biased variance + eps), in float64 (two passes: the mean, then the squared deviations). */
function lineMoments(a: Arr, at: number, D: number, eps: number): { mu: number; rstd: number } {
  let s = 0;
  for (let j = 0; j < D; j++) s += a[at + j];
  const mu = s / D;
  let v = 0;
  for (let j = 0; j < D; j++) {
    const d = a[at + j] - mu;
    v += d * d;
  }
  return { mu, rstd: 1 / Math.sqrt(v / D + eps) };
}

/** v rounded to float32 where f32 (as a Float32Array store rounds it), else as is. */
function round(v: number, f32: boolean): number {
  return f32 ? Math.fround(v) : v;
}

/** The logistic function as the sigmoid op (src/ops/elementwise.ts) defines it, so the fused cell rounds alike. */
function sigmoidOf(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x); // the same value the op's formula computes twice
  return e / (1 + e);
}

function hasNonFinite(v: View): boolean {
  const a = v.buf as Arr;
  if (v.dtype !== 'float32' && v.dtype !== 'float64') return false;
  const vo = offsets(v);
  const n = size(v.shape);
  for (let i = 0; i < n; i++) if (!Number.isFinite(a[vo ? vo[i] : v.offset + i])) return true;
  return false;
}

function naiveMatmul(out: View, x: View, y: View): void {
  const o = out.buf as Arr;
  const a = x.buf as Arr;
  const b = y.buf as Arr;
  const nd = out.shape.length;
  const [m, n, k] = [out.shape[nd - 2], out.shape[nd - 1], x.shape[nd - 1]];
  const batchShape = out.shape.slice(0, nd - 2);
  const aB = offsets({ ...x, shape: batchShape, strides: x.strides.slice(0, nd - 2) }, true)!;
  const bB = offsets({ ...y, shape: batchShape, strides: y.strides.slice(0, nd - 2) }, true)!;
  for (let bi = 0; bi < size(batchShape); bi++) {
    const ao = aB[bi];
    const bo = bB[bi];
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++)
          s +=
            a[ao + i * x.strides[nd - 2] + p * x.strides[nd - 1]] *
            b[bo + p * y.strides[nd - 2] + j * y.strides[nd - 1]];
        o[out.offset + bi * m * n + i * n + j] = s;
      }
  }
}

export const jsBackend: Backend = {
  name: 'js',
  alloc: (dtype, n) => new DTYPES[dtype].array(n),
  release: () => {},
  upload(buf, _dtype, data) {
    (buf as Arr).set(data);
  },
  readSync: (buf) => buf as Arr,
  read: async (buf) => buf as Arr,
  kernels,
};
