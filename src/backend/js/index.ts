/**
 * @file The js reference backend: every kernel in plain TypeScript over TypedArrays, float64-exact. It is the
 * specification the fast backends are tested against, so clarity wins over speed, except for the cheap fast paths
 * (contiguous operands, a row-accumulated matmul) that keep the demo and the overhead benchmark honest.
 */
import { DTYPES, type DType, type TypedArray } from '../../core/dtype.js';
import type { Backend, BinaryFn, Kernels, ReduceOp, UnaryFn, View } from '../backend.js';

type Arr = TypedArray;

/** True when every stride is 0: the view repeats one element (a broadcast scalar). */
function isConstant(v: View): boolean {
  for (let i = 0; i < v.strides.length; i++) if (v.strides[i] !== 0 && v.shape[i] !== 1) return false;
  return true;
}

/** Element offsets of a strided view in row-major order, or null when the view is contiguous (offset + i). */
function offsets(v: View, always = false): Int32Array | null {
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

/** Stores into a bool buffer normalise to 0/1; other dtypes round or truncate through their TypedArray. */
function storeCast(dtype: DType): ((v: number) => number) | null {
  return dtype === 'bool' ? (v) => (v !== 0 ? 1 : 0) : null;
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
    const toInt = out.dtype === 'int32' && x.dtype !== 'int32';
    for (let i = 0; i < n; i++) {
      let v = a[xo ? xo[i] : x.offset + i];
      if (cast) v = cast(v);
      else if (toInt) v = Number.isFinite(v) ? Math.trunc(v) : 0;
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
    for (let i = 0; i < nOut; i++) o[oo ? oo[i] : out.offset + i] = acc[i];
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
    const lineShape = x.shape.map((d, i) => (i === dim ? 1 : d));
    const xStarts = offsets({ ...x, shape: lineShape });
    const oStarts = offsets({ ...out, shape: lineShape });
    const lines = size(lineShape);
    for (let l = 0; l < lines; l++) {
      const xb = xStarts ? xStarts[l] : x.offset + l;
      const ob = oStarts ? oStarts[l] : out.offset + l;
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
    }
  },
};

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
