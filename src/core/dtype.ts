/**
 * @file The dtype table: every dtype's storage, category and promotion rank in one place, so a new dtype
 * (float16, bfloat16) is one row here and no op changes.
 */
import { DTypeError, fmtShape } from './errors.js';

export type DType = 'float64' | 'float32' | 'int32' | 'bool';

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
  /** How a JS number is stored: rounding, truncation or truthiness. */
  cast: (v: number) => number;
}

export const DTYPES: Record<DType, DTypeInfo> = {
  float64: { name: 'float64', array: Float64Array, bytes: 8, category: FLOAT, rank: 2, cast: (v) => v },
  float32: { name: 'float32', array: Float32Array, bytes: 4, category: FLOAT, rank: 1, cast: Math.fround },
  int32: { name: 'int32', array: Int32Array, bytes: 4, category: INT, rank: 1, cast: (v) => Math.trunc(v) | 0 },
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

/** The higher of two dtypes: category first, then rank (float32 + float64 → float64, int32 + float32 → float32). */
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
