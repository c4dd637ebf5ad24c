/**
 * @file The dtype table: every dtype's storage, category and promotion rank in one place, so a new dtype
 * (float16, bfloat16) is one row here and no op changes; and the one rule for storing a JS number in an integer
 * dtype (range-checked, truncated toward zero), which every creation function and lifted scalar goes through.
 */
import { DTypeError, fmtShape, ValueError } from './errors.js';

export type DType = 'float64' | 'float32' | 'int64' | 'int32' | 'bool';

/** Category order drives promotion: bool < int < float (PyTorch's rule). */
export type Category = 0 | 1 | 2;
export const BOOL: Category = 0;
export const INT: Category = 1;
export const FLOAT: Category = 2;

export type TypedArray = Float64Array | Float32Array | Int32Array | Uint8Array;
type ArrayCtor = {
  new (n: number | ArrayLike<number> | ArrayBuffer, ...rest: any[]): TypedArray;
  BYTES_PER_ELEMENT: number;
};

export interface DTypeInfo {
  name: DType;
  array: ArrayCtor;
  bytes: number;
  category: Category;
  /** Rank inside a category: a higher rank wins promotion (float64 over float32). */
  rank: number;
  /**
   * How a kernel stores a computed number: rounding, truncation or truthiness. Unchecked (int32 wraps as its
   * TypedArray does, as PyTorch's int32 arithmetic wraps); JS values entering a tensor go through `intValue`.
   */
  cast: (v: number) => number;
  /** The integers an integer dtype holds: [min, max]. */
  range?: readonly [number, number];
}

/**
 * The largest integer int64 holds: 2^53 − 1. int64 is stored in a Float64Array, whose integers are exact up to
 * there; PyTorch's int64 goes to 2^63 − 1. Past it, a result throws rather than silently losing its low bits.
 */
export const INT64_MAX = Number.MAX_SAFE_INTEGER;

export const DTYPES: Record<DType, DTypeInfo> = {
  float64: { name: 'float64', array: Float64Array, bytes: 8, category: FLOAT, rank: 2, cast: (v) => v },
  float32: { name: 'float32', array: Float32Array, bytes: 4, category: FLOAT, rank: 1, cast: Math.fround },
  // int64's storage is a Float64Array, so its store truncates by hand (a TypedArray store would keep the fraction)
  // and adds 0, turning a −0 (of 0 · −1, or −0 itself) into the 0 an integer has.
  int64: {
    name: 'int64',
    array: Float64Array,
    bytes: 8,
    category: INT,
    rank: 2,
    cast: (v) => Math.trunc(v) + 0,
    range: [-INT64_MAX, INT64_MAX],
  },
  int32: {
    name: 'int32',
    array: Int32Array,
    bytes: 4,
    category: INT,
    rank: 1,
    cast: (v) => Math.trunc(v) | 0,
    range: [-(2 ** 31), 2 ** 31 - 1],
  },
  bool: { name: 'bool', array: Uint8Array, bytes: 1, category: BOOL, rank: 0, cast: (v) => (v !== 0 ? 1 : 0) },
};

export const DEFAULT_FLOAT: DType = 'float32';
export const DEFAULT_INT: DType = 'int32';

export function dtypeInfo(d: DType): DTypeInfo {
  const info = DTYPES[d];
  if (!info) throw new DTypeError(`unknown dtype '${d}'; use one of ${Object.keys(DTYPES).join(', ')}`);
  return info;
}

export function isFloating(d: DType): boolean {
  return DTYPES[d].category === FLOAT;
}

export function isInteger(d: DType): boolean {
  return DTYPES[d].category === INT;
}

/** `[-2147483648, 2147483647]` or `±(2^53 − 1)`: an integer dtype's range as messages write it. */
export function rangeText(d: DType): string {
  const [lo, hi] = DTYPES[d].range as readonly [number, number];
  return d === 'int64' ? `±(2^53 − 1) = ±${hi} (exact integers in its float64 storage)` : `[${lo}, ${hi}]`;
}

/**
 * A JS number as an element of integer dtype d, as PyTorch converts a Python number: in range (the value itself, so
 * 2147483647.5 does not fit int32), truncated toward zero (2.7 → 2, −2.7 → −2). NaN, ±Infinity and out-of-range
 * values throw a ValueError naming `op` and `what` instead of wrapping; nothing is written before the check.
 */
export function intValue(op: string, v: number, d: DType, what = 'the value'): number {
  const [lo, hi] = DTYPES[d].range as readonly [number, number];
  if (v >= lo && v <= hi) return Math.trunc(v) + 0;
  throw new ValueError(
    `${op}: ${what} is ${String(v)}, which cannot be converted to ${d} without overflow (${d} holds ` +
      `${rangeText(d)}); ` +
      (Number.isNaN(v) || !Number.isFinite(v)
        ? 'NaN and infinities have no integer value: use a float dtype'
        : d === 'int32'
          ? "use int64 ({dtype: 'int64'}, x.long()) or a float dtype"
          : "use float64 ({dtype: 'float64'}, x.double())"),
  );
}

/**
 * The higher of two dtypes: category first, then rank (float32 + float64 → float64, int32 + int64 → int64,
 * int64 + float32 → float32).
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const A = DTYPES[a];
  const B = DTYPES[b];
  if (A.category !== B.category) return A.category > B.category ? a : b;
  return A.rank >= B.rank ? a : b;
}

/** The dtype a plain JS value gets in a tensor: booleans → bool, integers → int32, other numbers → float32. */
export function defaultDTypeOf(v: number | boolean): DType {
  if (typeof v === 'boolean') return 'bool';
  return Number.isInteger(v) ? DEFAULT_INT : DEFAULT_FLOAT;
}

/** Default dtype for a category, used when a wrapped scalar lifts a tensor to a higher category. */
export function defaultOfCategory(c: Category): DType {
  return c === FLOAT ? DEFAULT_FLOAT : c === INT ? DEFAULT_INT : 'bool';
}

export interface Operand {
  dtype: DType;
  ndim: number;
  /** A JS number wrapped into a 0-d tensor: it never widens a tensor of its own category. */
  wrapped?: boolean;
}

/**
 * PyTorch's result_type: tensors with dimensions outrank 0-d tensors, which outrank wrapped JS numbers; a lower
 * priority operand only matters when it is of a higher category (float32[3] * 2.5 → float32, int32[3] * 2.5 →
 * float32, float32[3] + float64 0-d → float32).
 */
export function resultType(ops: readonly Operand[]): DType {
  let dim: DType | null = null;
  let zero: DType | null = null;
  let wrapped: DType | null = null;
  for (const o of ops) {
    if (o.wrapped) wrapped = wrapped ? promoteTypes(wrapped, o.dtype) : o.dtype;
    else if (o.ndim === 0) zero = zero ? promoteTypes(zero, o.dtype) : o.dtype;
    else dim = dim ? promoteTypes(dim, o.dtype) : o.dtype;
  }
  let r: DType | null = dim;
  for (const lower of [zero, wrapped]) {
    if (lower === null) continue;
    if (r === null) r = lower;
    else if (DTYPES[lower].category > DTYPES[r].category) {
      r = lower === wrapped ? defaultOfCategory(DTYPES[lower].category) : lower;
    }
  }
  return r ?? DEFAULT_FLOAT;
}

/** What the dtype rule below reads of an operand (a Tensor). */
export interface DTypedOperand {
  dtype: DType;
  shape: readonly number[];
}

/** PyTorch's names for our dtypes, as its "expected scalar type Float but found Double" says them. */
const TORCH_NAME: Record<string, string> = { float64: 'Double', float32: 'Float', int32: 'Int', bool: 'Bool' };

/** How to convert a tensor to dtype d, as the fix in a message says it. */
function convert(d: DType): string {
  return d === 'float32' ? '.float()' : d === 'float64' ? '.double()' : `.to('${d}')`;
}

/**
 * The matmul family's and convolution's dtype rule: every operand has the first one's dtype, as PyTorch requires
 * (`expected scalar type Float but found Double`); nothing is promoted. operands: [name, tensor (null: absent),
 * the shape to print (default the tensor's)]. The message names the op, both operands with their dtypes and the fix,
 * including the module-level one for a layer's input.
 */
export function checkSameDtype(
  op: string,
  operands: readonly (readonly [string, DTypedOperand | null | undefined, (readonly number[] | undefined)?])[],
): void {
  const [first, a, sa] = operands[0];
  if (!a) return;
  for (const [name, b, sb] of operands.slice(1)) {
    if (!b || b.dtype === a.dtype) continue;
    // A layer's input against its weight: the usual fix is the input's dtype, or the whole module's.
    const fix =
      /^input\d?$/.test(first) && name === 'weight'
        ? `convert the input with ${first}${convert(b.dtype)}, or the module with model${convert(a.dtype)}`
        : `convert ${name} with ${name}${convert(a.dtype)} (or ${first} with ${first}${convert(b.dtype)})`;
    throw new DTypeError(
      `${op}: ${first} is ${a.dtype} ${fmtShape(sa ?? a.shape)} but ${name} is ${b.dtype} ${fmtShape(sb ?? b.shape)}; ` +
        `${op} needs one dtype and does not promote (PyTorch: expected scalar type ${TORCH_NAME[a.dtype] ?? a.dtype} ` +
        `but found ${TORCH_NAME[b.dtype] ?? b.dtype}): ${fix}`,
    );
  }
}
