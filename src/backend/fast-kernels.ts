/**
 * @file Fast CPU elementwise and reduction kernels, shared by the backends whose tensors live in ordinary
 * TypedArrays (wasm, blas). The reference kernels walk every input through an offset table and call the op's scalar
 * function through one shared call site, which V8 cannot inline once several ops have passed through it; here each
 * hot op name gets its own monomorphic loop over contiguous runs. Elementwise ops handle only the common layouts
 * (contiguous, a broadcast scalar, a row or column broadcast, the per-channel NCHW pattern); copy and reduce take
 * any strided input (permuted, transposed, flipped views) as merged dims with tight innermost runs. Everything
 * else, and every dtype case the loops would round differently, goes to the js reference kernel.
 *
 * Results equal the reference's exactly: the loops read the same TypedArrays, compute each element in float64 with
 * the same expression and store it once, so float32 results are bit-identical; reductions keep the reference's
 * element order for the same reason (a reordered float64 sum could round to a different float32).
 */
import { DTYPES, type TypedArray } from '../core/dtype.js';
import { isContiguous as isDense, numel as size } from '../core/shape.js';
import type { BinaryFn, Kernels, ReduceOp, UnaryFn, View } from './backend.js';
import { jsBackend } from './js/index.js';

type Arr = TypedArray;
const ref = jsBackend.kernels as Kernels;

function isContiguous(v: View): boolean {
  return isDense(v.shape, v.strides);
}

/**
 * The broadcast pattern of an elementwise input seen at the output's shape: element i reads
 * offset + ⌊i / inner⌋ mod mid, i.e. from the innermost dim out, stride-0 dims (their product is `inner`), then
 * contiguous dims (`mid`), then stride-0 dims again. Contiguous is inner = 1, mid = n; a broadcast scalar is
 * mid = 1; a bias row [1, m] under [n, m] is inner = 1, mid = m; a column [n, 1] is inner = m, mid = n; a channel
 * vector [1, C, 1, 1] under NCHW is inner = H·W, mid = C. Returns mid, or −1 for any other layout; inner is left in
 * `patInner` (a module variable, so the check allocates nothing).
 */
let patInner = 1;
function pattern(v: View): number {
  const { shape, strides } = v;
  let i = shape.length - 1;
  let inner = 1;
  for (; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== 0) break;
    inner *= shape[i];
  }
  let mid = 1;
  for (; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== mid) break;
    mid *= shape[i];
  }
  for (; i >= 0; i--) if (shape[i] !== 1 && strides[i] !== 0) return -1;
  patInner = inner;
  return mid;
}

// ---------------------------------------------------------------------------------------------------------------
// Binary ops

const ADD = 1;
const SUB = 2;
const MUL = 3;
const DIV = 4;
const MAX = 5;
const MIN = 6;
const POW = 7;
const EQ = 8;
const NE = 9;
const LT = 10;
const LE = 11;
const GT = 12;
const GE = 13;
/** Any other op: its own fn, called from a contiguous loop (still far cheaper than the offset tables). */
const GEN = 0;

/**
 * Op names (src/ops/elementwise.ts) whose scalar function the loops below restate. maximum and minimum there
 * return NaN when either side is NaN, which is exactly Math.max / Math.min (−0 < +0 included).
 */
const BINARY: Record<string, number> = {
  add: ADD,
  sub: SUB,
  mul: MUL,
  div: DIV,
  maximum: MAX,
  minimum: MIN,
  pow: POW,
  eq: EQ,
  ne: NE,
  lt: LT,
  le: LE,
  gt: GT,
  ge: GE,
};
/** Comparisons give exactly 0 or 1, so a bool output needs no normalising store. */
const isComparison = (op: number) => op >= EQ;
/** a ∘ b = b ∘' a: what a scalar-on-the-left run becomes with its operands swapped, or GEN when not a swap. */
const SWAPPED: Record<number, number> = { [ADD]: ADD, [MUL]: MUL, [MAX]: MAX, [MIN]: MIN, [EQ]: EQ, [NE]: NE };
SWAPPED[LT] = GT;
SWAPPED[GT] = LT;
SWAPPED[LE] = GE;
SWAPPED[GE] = LE;

/**
 * The loops, one function each, called through tables indexed by op code. V8 (TurboFan in Node 20) runs every loop
 * of an optimised function some three times slower once that function holds more than about seven loops (measured:
 * 2.5 instead of 0.85 ns per float32 add), so a switch over all the ops in one function, or small functions that
 * it inlines, lose most of the gain; a call through a table is never inlined where several ops pass through it.
 */
type VVLoop = (fn: BinaryFn, o: Arr, ob: number, a: Arr, ab: number, b: Arr, bb: number, n: number) => void;
type VSLoop = (fn: BinaryFn, o: Arr, ob: number, a: Arr, ab: number, c: number, n: number) => void;

/** o[ob + i] = a[ab + i] ∘ b[bb + i] for i < n. */
const VV: VVLoop[] = [];
VV[ADD] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] + b[bb + i];
};
VV[SUB] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] - b[bb + i];
};
VV[MUL] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] * b[bb + i];
};
VV[DIV] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] / b[bb + i];
};
VV[MAX] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.max(a[ab + i], b[bb + i]);
};
VV[MIN] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.min(a[ab + i], b[bb + i]);
};
VV[EQ] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] === b[bb + i]);
};
VV[NE] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] !== b[bb + i]);
};
VV[LT] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] < b[bb + i]);
};
VV[LE] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] <= b[bb + i]);
};
VV[GT] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] > b[bb + i]);
};
VV[GE] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] >= b[bb + i]);
};
VV[POW] = (_fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] ** b[bb + i];
};
VV[GEN] = (fn, o, ob, a, ab, b, bb, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = fn(a[ab + i], b[bb + i]);
};

/** o[ob + i] = a[ab + i] ∘ c for i < n. */
const VS: VSLoop[] = [];
VS[ADD] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] + c;
};
VS[SUB] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] - c;
};
VS[MUL] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] * c;
};
VS[DIV] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] / c;
};
VS[MAX] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.max(a[ab + i], c);
};
VS[MIN] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.min(a[ab + i], c);
};
VS[EQ] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] === c);
};
VS[NE] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] !== c);
};
VS[LT] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] < c);
};
VS[LE] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] <= c);
};
VS[GT] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] > c);
};
VS[GE] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = +(a[ab + i] >= c);
};
VS[POW] = (_fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = a[ab + i] ** c;
};
VS[GEN] = (fn, o, ob, a, ab, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = fn(a[ab + i], c);
};

/** o[ob + i] = c ∘ b[bb + i] for i < n: symmetric ops run as VS with the operands swapped, the rest here. */
const SV: VSLoop[] = [];
SV[SUB] = (_fn, o, ob, b, bb, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = c - b[bb + i];
};
SV[DIV] = (_fn, o, ob, b, bb, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = c / b[bb + i];
};
SV[POW] = (_fn, o, ob, b, bb, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = c ** b[bb + i];
};
SV[GEN] = (fn, o, ob, b, bb, c, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = fn(c, b[bb + i]);
};
for (const [op, swapped] of Object.entries(SWAPPED)) SV[Number(op)] = VS[swapped];

/** A contiguous tensor against a broadcast one (mid, inner from `pattern`); `left` says the tensor is a. */
function against(
  op: number,
  fn: BinaryFn,
  o: Arr,
  ob: number,
  t: Arr,
  tb: number,
  s: Arr,
  sb: number,
  mid: number,
  inner: number,
  n: number,
  left: boolean,
): void {
  if (inner === 1) {
    // A row repeated: runs of length mid, each against the whole row.
    for (let p = 0; p < n; p += mid)
      if (left) VV[op](fn, o, ob + p, t, tb + p, s, sb, mid);
      else VV[op](fn, o, ob + p, s, sb, t, tb + p, mid);
    return;
  }
  // Runs of length inner, each against one element of the broadcast operand.
  for (let p = 0; p < n; )
    for (let j = 0; j < mid; j++, p += inner)
      if (left) VS[op](fn, o, ob + p, t, tb + p, s[sb + j], inner);
      else SV[op](fn, o, ob + p, t, tb + p, s[sb + j], inner);
}

/**
 * v itself when the elementwise loops can read it (contiguous, or broadcast in the patterns they know), else a
 * contiguous copy: what a backend calls before its own SIMD loops, which read contiguous operands only.
 */
export function _readable(v: View): View {
  return pattern(v) < 0 ? dense(v) : v;
}

/** A contiguous copy of a strided view, at its shape and in its dtype (same values, so same results). */
function dense(v: View): View {
  const Ctor = (v.buf as Arr).constructor as new (n: number) => Arr;
  const shape = v.shape;
  const buf = new Ctor(size(shape));
  const strides: number[] = new Array(shape.length);
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  const d = { buf, dtype: v.dtype, shape, strides, offset: 0 };
  copy(d, v);
  return d;
}

function binary(name: string, fn: BinaryFn, out: View, x: View, y: View): void {
  const n = size(out.shape);
  if (n === 0) return;
  const op = BINARY[name] ?? GEN;
  // A bool output normalises every store to 0/1 in the reference, and an int64 one (a Float64Array) truncates and
  // turns −0 into 0; only comparisons (into bool) store what the loops compute.
  if ((out.dtype === 'bool' && !isComparison(op)) || out.dtype === 'int64') {
    ref.binary(name, fn, out, x, y);
    return;
  }
  const ma = pattern(x);
  const ia = patInner;
  const mb = pattern(y);
  const ib = patInner;
  if (ma < 0 || mb < 0) {
    // A strided operand (a transposed weight gradient, a chunk of gates): one fast strided copy to contiguous, then
    // the contiguous loops, instead of the reference's per-element offsets; the values are the same.
    binary(name, fn, out, ma < 0 ? dense(x) : x, mb < 0 ? dense(y) : y);
    return;
  }
  const o = out.buf as Arr;
  const a = x.buf as Arr;
  const b = y.buf as Arr;
  const ob = out.offset;
  if (ma === n) {
    if (mb === n) VV[op](fn, o, ob, a, x.offset, b, y.offset, n);
    else against(op, fn, o, ob, a, x.offset, b, y.offset, mb, ib, n, true);
  } else if (mb === n) against(op, fn, o, ob, b, y.offset, a, x.offset, ma, ia, n, false);
  else if (ma === 1 && mb === 1) o.fill(fn(a[x.offset], b[y.offset]), ob, ob + n);
  else ref.binary(name, fn, out, x, y);
}

// ---------------------------------------------------------------------------------------------------------------
// Unary ops

const NEG = 1;
const EXP = 2;
const LOG = 3;
const SQRT = 4;
const ABS = 5;
const TANH = 6;
const SIGMOID = 7;
const RELU = 8;
const RSQRT = 9;
const RECIP = 10;
const LOG1P = 11;
const EXPM1 = 12;
const SIN = 13;
const COS = 14;
const FLOOR = 15;
const CEIL = 16;
const TRUNC = 17;
const SIGN = 18;
const LEAKY = 19;
const CLAMP = 20;

/** Names whose scalar functions (src/ops/elementwise.ts) the loops restate; the rest call their fn. */
const UNARY: Record<string, number> = {
  neg: NEG,
  exp: EXP,
  log: LOG,
  sqrt: SQRT,
  abs: ABS,
  tanh: TANH,
  sigmoid: SIGMOID,
  relu: RELU,
  rsqrt: RSQRT,
  reciprocal: RECIP,
  log1p: LOG1P,
  expm1: EXPM1,
  sin: SIN,
  cos: COS,
  floor: FLOOR,
  ceil: CEIL,
  trunc: TRUNC,
  sign: SIGN,
  leakyRelu: LEAKY,
  clamp: CLAMP,
};

type UnLoop = (fn: UnaryFn, p: readonly number[], o: Arr, ob: number, a: Arr, ab: number, n: number) => void;

/** o[ob + i] = f(a[ab + i]) for i < n, one function per name (see VV). */
const UN: UnLoop[] = [];
UN[NEG] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = -a[ab + i];
};
UN[EXP] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.exp(a[ab + i]);
};
UN[LOG] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.log(a[ab + i]);
};
UN[SQRT] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.sqrt(a[ab + i]);
};
UN[ABS] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.abs(a[ab + i]);
};
UN[TANH] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.tanh(a[ab + i]);
};
UN[SIGMOID] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) {
    const x = a[ab + i];
    o[ob + i] = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  }
};
UN[RELU] = (_fn, _p, o, ob, a, ab, n) => {
  // Math.max(x, 0): NaN stays NaN, −0 becomes +0. For float32 inputs (x + |x|)·½ is exact in float64 and has no
  // branch on the sign, which mispredicts half the time on real activations (6.8 against 1.9 ns/element); the one
  // branch left, for −∞ (whose sum is NaN), is always predicted.
  if (a instanceof Float32Array)
    for (let i = 0; i < n; i++) {
      const x = a[ab + i];
      const v = (x + Math.abs(x)) * 0.5;
      o[ob + i] = v === v || x !== x ? v : 0;
    }
  else
    for (let i = 0; i < n; i++) {
      const x = a[ab + i];
      o[ob + i] = x > 0 ? x : x === x ? 0 : x;
    }
};
UN[RSQRT] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = 1 / Math.sqrt(a[ab + i]);
};
UN[RECIP] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = 1 / a[ab + i];
};
UN[LOG1P] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.log1p(a[ab + i]);
};
UN[EXPM1] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.expm1(a[ab + i]);
};
UN[SIN] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.sin(a[ab + i]);
};
UN[COS] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.cos(a[ab + i]);
};
UN[FLOOR] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.floor(a[ab + i]);
};
UN[CEIL] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.ceil(a[ab + i]);
};
UN[TRUNC] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = Math.trunc(a[ab + i]);
};
UN[SIGN] = (_fn, _p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) {
    const x = a[ab + i];
    o[ob + i] = x > 0 ? 1 : x < 0 ? -1 : 0;
  }
};
UN[LEAKY] = (_fn, p, o, ob, a, ab, n) => {
  const slope = p[0];
  for (let i = 0; i < n; i++) {
    const x = a[ab + i];
    o[ob + i] = x > 0 ? x : x * slope;
  }
};
UN[CLAMP] = (_fn, p, o, ob, a, ab, n) => {
  const lo = p[0];
  const hi = p[1];
  for (let i = 0; i < n; i++) {
    const x = a[ab + i];
    o[ob + i] = x !== x ? x : Math.min(Math.max(x, lo), hi);
  }
};
UN[GEN] = (fn, p, o, ob, a, ab, n) => {
  for (let i = 0; i < n; i++) o[ob + i] = fn(a[ab + i], p);
};

function unary(name: string, fn: UnaryFn, out: View, x: View, params: readonly number[]): void {
  const n = size(out.shape);
  if (n === 0) return;
  // The reference's store casts into bool and int64 (see binary).
  if (out.dtype === 'bool' || out.dtype === 'int64') {
    ref.unary(name, fn, out, x, params);
    return;
  }
  const o = out.buf as Arr;
  const a = x.buf as Arr;
  const mid = pattern(x);
  if (mid === n) UN[UNARY[name] ?? GEN](fn, params, o, out.offset, a, x.offset, n);
  else if (mid === 1) o.fill(fn(a[x.offset], params), out.offset, out.offset + n);
  else unary(name, fn, out, dense(x), params); // a strided input (a chunk of gates): one fast copy first
}

// ---------------------------------------------------------------------------------------------------------------
// where, copy, fill

function where(out: View, cond: View, x: View, y: View): void {
  const n = size(out.shape);
  if (n === 0) return;
  // Each operand contiguous or a broadcast scalar: a step of 1 or 0 per element.
  const mc = pattern(cond);
  const ma = pattern(x);
  const mb = pattern(y);
  // The reference stores without a cast here, even into bool.
  if ((mc !== n && mc !== 1) || (ma !== n && ma !== 1) || (mb !== n && mb !== 1)) {
    ref.where(out, cond, x, y);
    return;
  }
  const o = out.buf as Arr;
  const c = cond.buf as Arr;
  const a = x.buf as Arr;
  const b = y.buf as Arr;
  const ob = out.offset;
  const cb = cond.offset;
  if (ma === n && mb === n && mc === n) {
    const ab = x.offset;
    const bb = y.offset;
    for (let i = 0; i < n; i++) o[ob + i] = c[cb + i] !== 0 ? a[ab + i] : b[bb + i];
    return;
  }
  if (ma === n && mb === 1 && mc === n) {
    // where(mask, x, 0): the masking pattern of relu-like backward passes.
    const ab = x.offset;
    const s = b[y.offset];
    for (let i = 0; i < n; i++) o[ob + i] = c[cb + i] !== 0 ? a[ab + i] : s;
    return;
  }
  const sc = +(mc === n);
  const sa = +(ma === n);
  const sb = +(mb === n);
  for (let i = 0, pc = cb, pa = x.offset, pb = y.offset; i < n; i++, pc += sc, pa += sa, pb += sb)
    o[ob + i] = c[pc] !== 0 ? a[pa] : b[pb];
}

/**
 * A plain store equals the reference's cast for every output dtype but bool and int64: int32 stores go through
 * ToInt32, which truncates as the reference's Math.trunc does and maps NaN and ±Infinity to 0 as it does too; int64's
 * Float64Array would keep a float's fraction, so a float → int64 cast goes to the reference (an integer or bool
 * source is stored exactly).
 */
function copy(out: View, x: View): void {
  const n = size(out.shape);
  if (n === 0) return;
  if (
    (out.dtype === 'bool' && x.dtype !== 'bool') ||
    (out.dtype === 'int64' && x.dtype !== 'int64' && x.dtype !== 'int32' && x.dtype !== 'bool')
  ) {
    ref.copy(out, x);
    return;
  }
  if (!isContiguous(out)) {
    // A scatter into a strided region (a slice's adjoint placing its piece): contiguous source, other buffer.
    if (isContiguous(x) && (out.buf as Arr).buffer !== (x.buf as Arr).buffer) stridedStore(out, x.buf as Arr, x.offset);
    else ref.copy(out, x);
    return;
  }
  const o = out.buf as Arr;
  const a = x.buf as Arr;
  const ob = out.offset;
  if (isContiguous(x)) {
    // TypedArray.set copies as if through a temporary when the two overlap; the reference's forward loop does not,
    // so overlapping (but not identical) ranges of one buffer go to it.
    if (o.buffer === a.buffer) {
      const lo = Math.max(o.byteOffset + ob * o.BYTES_PER_ELEMENT, a.byteOffset + x.offset * a.BYTES_PER_ELEMENT);
      const hi = Math.min(
        o.byteOffset + (ob + n) * o.BYTES_PER_ELEMENT,
        a.byteOffset + (x.offset + n) * a.BYTES_PER_ELEMENT,
      );
      if (lo < hi) {
        ref.copy(out, x);
        return;
      }
    }
    o.set(a.subarray(x.offset, x.offset + n), ob);
    return;
  }
  if (o.buffer === a.buffer) {
    ref.copy(out, x);
    return;
  }
  stridedCopy(o, ob, a, x);
}

/**
 * x's dims with size-1 dims dropped and neighbours merged where one stride steps over the other's whole run
 * (stride[d] = stride[d + 1]·shape[d + 1]), outermost first, into the module arrays below: a head split's
 * [N, L, H, D] permute becomes three dims with a contiguous innermost run of D; a transposed matrix stays two.
 * Returns the number of dims (at least 1).
 */
const mShape: number[] = [];
const mStride: number[] = [];
function mergeDims(shape: readonly number[], strides: readonly number[]): number {
  let g = 0;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d];
    if (n === 1) continue;
    if (g > 0 && mStride[g - 1] === strides[d] * n) {
      mShape[g - 1] *= n;
      mStride[g - 1] = strides[d];
    } else {
      mShape[g] = n;
      mStride[g] = strides[d];
      g++;
    }
  }
  if (g === 0) {
    mShape[0] = 1;
    mStride[0] = 1;
    g = 1;
  }
  return g;
}

/** Side of the square tiles a transposing copy reads and writes in, so both stay within a few cache lines. */
const TILE = 16;

/**
 * o[ob + i] = x's i-th element in row-major order, for a strided x on another buffer. The dims are merged, the
 * outer ones walked as an odometer that moves one base offset per run, and each innermost run copied in a tight
 * loop (contiguous runs as a plain indexed loop). When the innermost run is strided but the dim just outside it is
 * contiguous in x (a transpose), the two are copied in TILE × TILE tiles instead of reading x with a large stride.
 */
function stridedCopy(o: Arr, ob: number, a: Arr, x: View): void {
  const g = mergeDims(x.shape, x.strides);
  const len = mShape[g - 1];
  const step = mStride[g - 1];
  // A tiled transpose of the last two dims: out[r, c] = x[r·1 + c·step] with r the contiguous (penultimate) dim.
  const tiled = g >= 2 && step !== 1 && mStride[g - 2] === 1 && len >= TILE && mShape[g - 2] >= TILE;
  const inner = tiled ? 2 : 1;
  const rows = tiled ? mShape[g - 2] : 1;
  let runs = 1;
  for (let d = 0; d < g - inner; d++) runs *= mShape[d];
  const digit = new Array<number>(g).fill(0);
  let p = x.offset;
  let k = ob;
  const block = rows * len;
  for (let r = 0; r < runs; r++) {
    if (tiled) transposeTile(o, k, a, p, rows, len, step);
    else if (step === 1) for (let j = 0; j < len; j++) o[k + j] = a[p + j];
    else for (let j = 0, q = p; j < len; j++, q += step) o[k + j] = a[q];
    k += block;
    for (let d = g - inner - 1; d >= 0; d--) {
      p += mStride[d];
      if (++digit[d] < mShape[d]) break;
      p -= mStride[d] * mShape[d];
      digit[d] = 0;
    }
  }
}

/**
 * out's i-th element in row-major order = a[ab + i], for a strided out on another buffer: stridedCopy's mirror (merged
 * dims, an odometer over the outer ones, each innermost run stored in a tight loop).
 */
function stridedStore(out: View, a: Arr, ab: number): void {
  const o = out.buf as Arr;
  const g = mergeDims(out.shape, out.strides);
  const len = mShape[g - 1];
  const step = mStride[g - 1];
  let runs = 1;
  for (let d = 0; d < g - 1; d++) runs *= mShape[d];
  const digit = new Array<number>(g).fill(0);
  let p = out.offset;
  let k = ab;
  for (let r = 0; r < runs; r++) {
    if (step === 1) for (let j = 0; j < len; j++) o[p + j] = a[k + j];
    else for (let j = 0, q = p; j < len; j++, q += step) o[q] = a[k + j];
    k += len;
    for (let d = g - 2; d >= 0; d--) {
      p += mStride[d];
      if (++digit[d] < mShape[d]) break;
      p -= mStride[d] * mShape[d];
      digit[d] = 0;
    }
  }
}

/** o[k + r·cols + c] = a[p + r + c·step] for r < rows, c < cols, tile by tile. */
function transposeTile(o: Arr, k: number, a: Arr, p: number, rows: number, cols: number, step: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, rows);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, cols);
      for (let r = r0; r < r1; r++) {
        const kr = k + r * cols;
        const pr = p + r;
        for (let c = c0; c < c1; c++) o[kr + c] = a[pr + c * step];
      }
    }
  }
}

function fill(out: View, value: number): void {
  if (!isContiguous(out)) {
    ref.fill(out, value);
    return;
  }
  (out.buf as Arr).fill(DTYPES[out.dtype].cast(value), out.offset, out.offset + size(out.shape));
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions

/** acc[k + j] ∘= a[p + j] for j < n, one function per op (called through a table for the reason given at VV). */
const REDUCE_VECTOR: Record<ReduceOp, (acc: Float64Array, k: number, a: Arr, p: number, n: number) => void> = {
  sum: (acc, k, a, p, n) => {
    for (let j = 0; j < n; j++) acc[k + j] += a[p + j];
  },
  prod: (acc, k, a, p, n) => {
    for (let j = 0; j < n; j++) acc[k + j] *= a[p + j];
  },
  amax: (acc, k, a, p, n) => {
    for (let j = 0; j < n; j++) {
      const v = a[p + j];
      if (v > acc[k + j] || v !== v) acc[k + j] = v;
    }
  },
  amin: (acc, k, a, p, n) => {
    for (let j = 0; j < n; j++) {
      const v = a[p + j];
      if (v < acc[k + j] || v !== v) acc[k + j] = v;
    }
  },
};

/** s ∘ a[p] ∘ a[p + 1] ∘ … ∘ a[p + n − 1], left to right as the reference adds them. */
const REDUCE_RUN: Record<ReduceOp, (s: number, a: Arr, p: number, n: number) => number> = {
  sum: (s, a, p, n) => {
    for (let j = 0; j < n; j++) s += a[p + j];
    return s;
  },
  prod: (s, a, p, n) => {
    for (let j = 0; j < n; j++) s *= a[p + j];
    return s;
  },
  amax: (s, a, p, n) => {
    for (let j = 0; j < n; j++) {
      const v = a[p + j];
      if (v > s || v !== v) s = v;
    }
    return s;
  },
  amin: (s, a, p, n) => {
    for (let j = 0; j < n; j++) {
      const v = a[p + j];
      if (v < s || v !== v) s = v;
    }
    return s;
  },
};

/** acc[c] += Σ_j a[base + (n·K + c)·L + j] over n < outer, in that order, four c at a time. */
function sumRuns(acc: Float64Array, a: Arr, base: number, outer: number, K: number, L: number): void {
  for (let n = 0; n < outer; n++) {
    let c = 0;
    for (; c + 4 <= K; c += 4) {
      const p = base + (n * K + c) * L;
      let s0 = acc[c];
      let s1 = acc[c + 1];
      let s2 = acc[c + 2];
      let s3 = acc[c + 3];
      for (let j = 0; j < L; j++) {
        s0 += a[p + j];
        s1 += a[p + L + j];
        s2 += a[p + 2 * L + j];
        s3 += a[p + 3 * L + j];
      }
      acc[c] = s0;
      acc[c + 1] = s1;
      acc[c + 2] = s2;
      acc[c + 3] = s3;
    }
    for (; c < K; c++) {
      const p = base + (n * K + c) * L;
      let s0 = acc[c];
      for (let j = 0; j < L; j++) s0 += a[p + j];
      acc[c] = s0;
    }
  }
}

/**
 * acc[j] += Σ_r a[base + r·K + j] over r < R in order: four rows per pass over acc, each column's four adds in row
 * order (one load and store of acc per four elements instead of per element, the same chain of roundings).
 */
function sumRows(acc: Float64Array, a: Arr, base: number, R: number, K: number): void {
  let r = 0;
  for (; r + 4 <= R; r += 4) {
    const p = base + r * K;
    for (let j = 0; j < K; j++) acc[j] = acc[j] + a[p + j] + a[p + K + j] + a[p + 2 * K + j] + a[p + 3 * K + j];
  }
  for (; r < R; r++) {
    const p = base + r * K;
    for (let j = 0; j < K; j++) acc[j] += a[p + j];
  }
}

/**
 * x contiguous, reduced into acc (row-major over the kept dims). x's dims are merged into alternating groups of
 * kept and reduced dims (size-1 dims dropped), and every accumulator receives its elements in x's element order,
 * exactly as the reference adds them.
 */
function reduceInto(op: ReduceOp, acc: Float64Array, a: Arr, base: number, sizes: number[], kept: boolean[]): void {
  const g = sizes.length;
  // [outer reduced,] kept, inner reduced: a conv's bias gradient (N, C, H·W). Each sum is one chain of dependent
  // adds; four channels' chains side by side keep the adder busy, each in the reference's order.
  if (op === 'sum' && g >= 2 && g <= 3 && !kept[g - 1] && kept[g - 2] && (g === 2 || !kept[0])) {
    sumRuns(acc, a, base, g === 3 ? sizes[0] : 1, sizes[g - 2], sizes[g - 1]);
    return;
  }
  // Reduced rows, kept columns: a bias gradient (the sum over every leading dim of a [..., K] cotangent).
  if (op === 'sum' && g === 2 && !kept[0] && kept[1]) {
    sumRows(acc, a, base, sizes[0], sizes[1]);
    return;
  }
  const inner = sizes[g - 1];
  const innerKept = kept[g - 1];
  const vector = REDUCE_VECTOR[op];
  const run = REDUCE_RUN[op];
  // The outer groups as an odometer: digit d counts up to sizes[d]; a kept group moves the accumulator by its
  // stride (the product of the kept sizes inside it).
  const accStride: number[] = new Array(g).fill(0);
  for (let d = g - 1, s = 1; d >= 0; d--)
    if (kept[d]) {
      accStride[d] = s;
      s *= sizes[d];
    }
  let runs = 1;
  for (let d = 0; d < g - 1; d++) runs *= sizes[d];
  const digit: number[] = new Array(g).fill(0);
  let k = 0;
  let p = base;
  for (let r = 0; r < runs; r++) {
    if (innerKept) vector(acc, k, a, p, inner);
    else acc[k] = run(acc[k], a, p, inner);
    p += inner;
    for (let d = g - 2; d >= 0; d--) {
      k += accStride[d];
      if (++digit[d] < sizes[d]) break;
      k -= accStride[d] * sizes[d];
      digit[d] = 0;
    }
  }
}

/**
 * x strided, reduced into acc (row-major over out's dims). The reference adds each accumulator's elements in x's
 * element order, i.e. with the reduced dims nested as in x; how the kept dims interleave with them changes no
 * accumulator's order. So the loops keep the reduced dims in x's order and slot each kept dim in where its stride
 * fits (largest stride outermost), which puts x's smallest stride innermost for the usual permuted or transposed
 * views: a transposed cotangent's bias sum [N, L, E] with strides (L·E, 1, L) runs over contiguous L-runs.
 */
function stridedReduce(op: ReduceOp, acc: Float64Array, x: View, outShape: readonly number[]): void {
  const a = x.buf as Arr;
  // Each dim (size > 1): its size, x's stride and the accumulator's (0 on a reduced dim).
  const red: number[] = [];
  const kept: number[] = [];
  const accStride: number[] = new Array(outShape.length).fill(0);
  for (let d = outShape.length - 1, s = 1; d >= 0; d--) {
    accStride[d] = s;
    s *= outShape[d];
  }
  for (let d = 0; d < x.shape.length; d++) {
    if (x.shape[d] === 1) continue;
    (outShape[d] === 1 ? red : kept).push(d);
  }
  kept.sort((i, j) => Math.abs(x.strides[j]) - Math.abs(x.strides[i]));
  const n: number[] = [];
  const xs: number[] = [];
  const as: number[] = [];
  const push = (d: number, keptDim: boolean) => {
    const size = x.shape[d];
    const st = x.strides[d];
    const at = keptDim ? accStride[d] : 0;
    const g = n.length;
    // Merge into the loop outside when one step of it is a whole run of this one, in x and in acc alike.
    if (g > 0 && xs[g - 1] === st * size && as[g - 1] === at * size) {
      n[g - 1] *= size;
      xs[g - 1] = st;
      as[g - 1] = at;
    } else {
      n.push(size);
      xs.push(st);
      as.push(at);
    }
  };
  let ri = 0;
  let ki = 0;
  while (ri < red.length || ki < kept.length) {
    const takeRed =
      ki === kept.length || (ri < red.length && Math.abs(x.strides[red[ri]]) >= Math.abs(x.strides[kept[ki]]));
    if (takeRed) push(red[ri++], false);
    else push(kept[ki++], true);
  }
  if (n.length === 0) {
    n.push(1);
    xs.push(1);
    as.push(0);
  }
  const g = n.length;
  const len = n[g - 1];
  const step = xs[g - 1];
  const accStep = as[g - 1];
  const vector = REDUCE_VECTOR[op];
  const run = REDUCE_RUN[op];
  const stridedVector = STRIDED_VECTOR[op];
  const stridedRun = STRIDED_RUN[op];
  let runs = 1;
  for (let d = 0; d < g - 1; d++) runs *= n[d];
  const digit: number[] = new Array(g).fill(0);
  let p = x.offset;
  let k = 0;
  for (let r = 0; r < runs; r++) {
    if (accStep === 0) acc[k] = step === 1 ? run(acc[k], a, p, len) : stridedRun(acc[k], a, p, step, len);
    else if (step === 1 && accStep === 1) vector(acc, k, a, p, len);
    else stridedVector(acc, k, accStep, a, p, step, len);
    for (let d = g - 2; d >= 0; d--) {
      p += xs[d];
      k += as[d];
      if (++digit[d] < n[d]) break;
      p -= xs[d] * n[d];
      k -= as[d] * n[d];
      digit[d] = 0;
    }
  }
}

/** acc[k + j·t] ∘= a[p + j·s] for j < n. */
const STRIDED_VECTOR: Record<
  ReduceOp,
  (acc: Float64Array, k: number, t: number, a: Arr, p: number, s: number, n: number) => void
> = {
  sum: (acc, k, t, a, p, s, n) => {
    for (let j = 0; j < n; j++) acc[k + j * t] += a[p + j * s];
  },
  prod: (acc, k, t, a, p, s, n) => {
    for (let j = 0; j < n; j++) acc[k + j * t] *= a[p + j * s];
  },
  amax: (acc, k, t, a, p, s, n) => {
    for (let j = 0; j < n; j++) {
      const v = a[p + j * s];
      if (v > acc[k + j * t] || v !== v) acc[k + j * t] = v;
    }
  },
  amin: (acc, k, t, a, p, s, n) => {
    for (let j = 0; j < n; j++) {
      const v = a[p + j * s];
      if (v < acc[k + j * t] || v !== v) acc[k + j * t] = v;
    }
  },
};

/** s ∘ a[p] ∘ a[p + st] ∘ … (n elements, step st), left to right. */
const STRIDED_RUN: Record<ReduceOp, (s: number, a: Arr, p: number, st: number, n: number) => number> = {
  sum: (s, a, p, st, n) => {
    for (let j = 0; j < n; j++) s += a[p + j * st];
    return s;
  },
  prod: (s, a, p, st, n) => {
    for (let j = 0; j < n; j++) s *= a[p + j * st];
    return s;
  },
  amax: (s, a, p, st, n) => {
    for (let j = 0; j < n; j++) {
      const v = a[p + j * st];
      if (v > s || v !== v) s = v;
    }
    return s;
  },
  amin: (s, a, p, st, n) => {
    for (let j = 0; j < n; j++) {
      const v = a[p + j * st];
      if (v < s || v !== v) s = v;
    }
    return s;
  },
};

function reduce(op: ReduceOp, out: View, x: View): void {
  if (!isContiguous(out)) {
    ref.reduce(op, out, x);
    return;
  }
  if (!isContiguous(x)) {
    const nOut = size(out.shape);
    const acc = new Float64Array(nOut);
    if (op !== 'sum') acc.fill(op === 'prod' ? 1 : op === 'amax' ? -Infinity : Infinity);
    if (size(x.shape) > 0) stridedReduce(op, acc, x, out.shape);
    store(out, acc);
    return;
  }
  const nOut = size(out.shape);
  const acc = new Float64Array(nOut);
  if (op !== 'sum') acc.fill(op === 'prod' ? 1 : op === 'amax' ? -Infinity : Infinity);
  if (size(x.shape) > 0) {
    const sizes: number[] = [];
    const kept: boolean[] = [];
    for (let d = 0; d < x.shape.length; d++) {
      const s = x.shape[d];
      if (s === 1) continue;
      const k = out.shape[d] !== 1;
      if (sizes.length > 0 && kept[kept.length - 1] === k) sizes[sizes.length - 1] *= s;
      else {
        sizes.push(s);
        kept.push(k);
      }
    }
    if (sizes.length === 0) {
      sizes.push(1);
      kept.push(true);
    }
    reduceInto(op, acc, x.buf as Arr, x.offset, sizes, kept);
  }
  store(out, acc);
}

function store(out: View, acc: Float64Array): void {
  // The reference's int64 store: integer sums and products are whole already, but a product can be −0 (0 · −1).
  if (out.dtype === 'int64') for (let i = 0; i < acc.length; i++) acc[i] += 0;
  (out.buf as Arr).set(acc, out.offset);
}

/**
 * Lines along dim of a contiguous x: `lines` of them, line l starting at ⌊l / inner⌋·len·inner + l mod inner, with
 * step inner (1 along the last dim).
 */
function lineGeometry(x: View, dim: number): [number, number, number] {
  let inner = 1;
  for (let d = dim + 1; d < x.shape.length; d++) inner *= x.shape[d];
  const len = x.shape[dim];
  return [size(x.shape) / (len || 1), len, inner];
}

let expBuf = new Float64Array(256);

function softmax(op: 'softmax' | 'logSoftmax', out: View, x: View, dim: number): void {
  if (!isContiguous(x) || !isContiguous(out) || size(x.shape) === 0) {
    ref.softmax(op, out, x, dim);
    return;
  }
  const o = out.buf as Arr;
  const a = x.buf as Arr;
  const [lines, len, inner] = lineGeometry(x, dim);
  if (expBuf.length < len) expBuf = new Float64Array(len);
  const e = expBuf;
  for (let l = 0; l < lines; l++) {
    const start = Math.floor(l / inner) * len * inner + (l % inner);
    const xb = x.offset + start;
    const ob = out.offset + start;
    let mx = -Infinity;
    for (let j = 0, q = xb; j < len; j++, q += inner) {
      const v = a[q];
      if (v > mx || v !== v) mx = v;
    }
    if (mx === -Infinity) mx = 0; // as the reference: an all −inf line gives exp(−inf) = 0 everywhere
    let sum = 0;
    if (op === 'softmax') {
      // Each exp is computed once and kept: the same values the reference computes twice.
      for (let j = 0, q = xb; j < len; j++, q += inner) sum += e[j] = Math.exp(a[q] - mx);
      for (let j = 0, q = ob; j < len; j++, q += inner) o[q] = e[j] / sum;
    } else {
      for (let j = 0, q = xb; j < len; j++, q += inner) sum += Math.exp(a[q] - mx);
      const lse = Math.log(sum);
      for (let j = 0, q = xb, r = ob; j < len; j++, q += inner, r += inner) o[r] = a[q] - mx - lse;
    }
  }
}

/**
 * y ⊙ (g − Σ g ⊙ y) per line in one pass over contiguous g, y and out, instead of four kernels and three
 * temporaries; float32 rounds each intermediate with Math.fround where the composed kernels' stores round it.
 */
function softmaxBackward(out: View, g: View, y: View, dim: number): void {
  const f32 = out.dtype === 'float32';
  if (
    !isContiguous(g) ||
    !isContiguous(y) ||
    !isContiguous(out) ||
    size(y.shape) === 0 ||
    (!f32 && out.dtype !== 'float64')
  ) {
    ref.softmaxBackward(out, g, y, dim);
    return;
  }
  const o = out.buf as Arr;
  const gb = g.buf as Arr;
  const yb = y.buf as Arr;
  const [lines, len, inner] = lineGeometry(y, dim);
  // Along the last dim (attention's scores), float32 lines four at a time, in a function of their own (see VV).
  let l = 0;
  if (inner === 1 && f32) {
    l = lines - (lines % 4);
    softmaxBackwardRows(o, out.offset, gb, g.offset, yb, y.offset, l, len);
  }
  for (; l < lines; l++) {
    const start = Math.floor(l / inner) * len * inner + (l % inner);
    const gp = g.offset + start;
    const yp = y.offset + start;
    const op = out.offset + start;
    if (f32) {
      let sum = 0;
      for (let j = 0, q = 0; j < len; j++, q += inner) sum += Math.fround(gb[gp + q] * yb[yp + q]);
      const s = Math.fround(sum);
      for (let j = 0, q = 0; j < len; j++, q += inner) o[op + q] = yb[yp + q] * Math.fround(gb[gp + q] - s);
    } else {
      let sum = 0;
      for (let j = 0, q = 0; j < len; j++, q += inner) sum += gb[gp + q] * yb[yp + q];
      for (let j = 0, q = 0; j < len; j++, q += inner) o[op + q] = yb[yp + q] * (gb[gp + q] - sum);
    }
  }
}

/**
 * softmaxBackward's float32 last-dim case for the first `lines` lines (a multiple of 4), four at a time: each
 * line's sum is a chain of dependent adds in element order, and four independent chains keep the adder busy.
 */
function softmaxBackwardRows(
  o: Arr,
  ob: number,
  gb: Arr,
  gp: number,
  yb: Arr,
  yp: number,
  lines: number,
  len: number,
): void {
  for (let l = 0; l < lines; l += 4) {
    const p0 = l * len;
    const p1 = p0 + len;
    const p2 = p1 + len;
    const p3 = p2 + len;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < len; j++) {
      s0 += Math.fround(gb[gp + p0 + j] * yb[yp + p0 + j]);
      s1 += Math.fround(gb[gp + p1 + j] * yb[yp + p1 + j]);
      s2 += Math.fround(gb[gp + p2 + j] * yb[yp + p2 + j]);
      s3 += Math.fround(gb[gp + p3 + j] * yb[yp + p3 + j]);
    }
    s0 = Math.fround(s0);
    s1 = Math.fround(s1);
    s2 = Math.fround(s2);
    s3 = Math.fround(s3);
    for (let j = 0; j < len; j++) {
      o[ob + p0 + j] = yb[yp + p0 + j] * Math.fround(gb[gp + p0 + j] - s0);
      o[ob + p1 + j] = yb[yp + p1 + j] * Math.fround(gb[gp + p1 + j] - s1);
      o[ob + p2 + j] = yb[yp + p2 + j] * Math.fround(gb[gp + p2 + j] - s2);
      o[ob + p3 + j] = yb[yp + p3 + j] * Math.fround(gb[gp + p3 + j] - s3);
    }
  }
}

function argReduce(op: 'argmax' | 'argmin', out: View, x: View, dim: number): void {
  if (!isContiguous(x) || !isContiguous(out) || !(x.shape[dim] > 0)) {
    ref.argReduce(op, out, x, dim);
    return;
  }
  const o = out.buf as Arr;
  const a = x.buf as Arr;
  const [lines, len, inner] = lineGeometry(x, dim);
  const max = op === 'argmax';
  for (let l = 0; l < lines; l++) {
    const s0 = x.offset + Math.floor(l / inner) * len * inner + (l % inner);
    let best = a[s0];
    let bi = 0;
    // As the reference: the first extreme wins, and a NaN is the extreme and ends the scan.
    for (let j = 1, q = s0 + inner; j < len && best === best; j++, q += inner) {
      const v = a[q];
      if (v !== v || (max ? v > best : v < best)) {
        best = v;
        bi = j;
      }
    }
    o[out.offset + l] = bi;
  }
}

/**
 * Runs every loop once through its table's call site on tiny arrays, so each site is megamorphic from the start:
 * TurboFan then never inlines a loop function into its kernel, whose layout checks hold loops of their own (and a
 * kernel that ends up with more than about seven loops runs all of them slowly, see VV). Without this, a program
 * that uses only one or two ops would get them inlined, at a third of the speed.
 */
function primeCallSites(): void {
  const n = 2;
  // float32, the dtype of nearly every model: a program that uses only float32 keeps every loop monomorphic in its
  // arrays (a loop that has also seen a Float64Array runs at about half the speed on float32 data).
  const buf = () => new Float32Array(4);
  const v = (shape: number[], strides: number[]): View => ({ buf: buf(), dtype: 'float32', shape, strides, offset: 0 });
  const noop = (a: number) => a;
  for (const name of [...Object.keys(UNARY), 'other']) unary(name, noop, v([n], [1]), v([n], [1]), [0, 1]);
  for (const name of [...Object.keys(BINARY), 'other'])
    for (const [sa, sb] of [
      [
        [2, 1],
        [2, 1],
      ],
      [
        [2, 1],
        [0, 1],
      ],
      [
        [2, 1],
        [1, 0],
      ],
      [
        [1, 0],
        [2, 1],
      ],
    ])
      binary(name, noop, v([n, n], [2, 1]), v([n, n], sa), v([n, n], sb));
  for (const op of ['sum', 'prod', 'amax', 'amin'] as const) {
    reduce(op, v([1, n], [2, 1]), v([n, n], [2, 1]));
    reduce(op, v([n, 1], [1, 1]), v([n, n], [2, 1]));
  }
}
primeCallSites();

export const fastKernels: Partial<Kernels> = {
  unary,
  binary,
  where,
  copy,
  fill,
  reduce,
  softmax,
  softmaxBackward,
  argReduce,
};
