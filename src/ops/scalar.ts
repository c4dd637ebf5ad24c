/**
 * @file Turning JS values into tensors at op boundaries: numbers and booleans become "wrapped" 0-d tensors that,
 * like Python scalars in PyTorch, never widen a tensor of their own category (float32 · 2.5 stays float32).
 */
import { DTYPES, type DType, defaultDTypeOf, INT, intValue, type Operand, resultType } from '../core/dtype.js';
import { ValueError } from '../core/errors.js';
import { _markKeep } from '../tensor/lifetime.js';
import { fromTypedArray, Tensor } from '../tensor/tensor.js';

export type TensorLike = Tensor | number | boolean;

export function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}

/**
 * Wrapped scalars are immutable (no API hands them out for in-place writes), so recent ones are reused: a loop
 * like `x = x.mul(1.0001)` allocates no tensor for the constant.
 */
const cache: Record<string, Map<number, Tensor>> = {};
const CACHE_LIMIT = 512;

/** A wrapped 0-d tensor holding v in dtype. */
export function scalarTensor(v: number | boolean, dtype: DType): Tensor {
  const key = +v;
  if (Object.is(key, -0)) return makeScalar(v, dtype);
  const m = (cache[dtype] ??= new Map());
  const hit = m.get(key);
  if (hit !== undefined && !hit._requiresGrad && hit._storage.version === 0 && !hit.isDisposed) return hit;
  const t = makeScalar(v, dtype);
  _markKeep(t); // shared by every later call: no scope may release it
  if (m.size >= CACHE_LIMIT) m.clear();
  m.set(key, t);
  return t;
}

function makeScalar(v: number | boolean, dtype: DType): Tensor {
  const arr = new DTYPES[dtype].array(1);
  arr[0] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  const t = fromTypedArray(arr, [], dtype);
  t._wrapped = true;
  return t;
}

function operand(v: TensorLike, op: string, i: number): Operand {
  if (v instanceof Tensor) return { dtype: v.dtype, ndim: v.ndim, wrapped: v._wrapped };
  if (typeof v === 'number' || typeof v === 'boolean') return { dtype: defaultDTypeOf(v), ndim: 0, wrapped: true };
  throw new ValueError(`${op}: argument ${i} must be a Tensor, a number or a boolean, got ${typeof v}`);
}

/** The result dtype of an elementwise op over tensors and JS scalars (PyTorch's result_type). */
export function resultTypeOf(op: string, vals: readonly TensorLike[]): DType {
  return resultType(vals.map((v, i) => operand(v, op, i)));
}

/**
 * Lifts JS scalars to wrapped tensors of the op's computation dtype; tensors pass through. A number lifted into an
 * integer dtype must fit it (it truncates toward zero): `int32Tensor.add(3e9)` and `boolTensor.add(3e9)` throw
 * rather than wrap 3e9 to −1294967296, where PyTorch wraps it for arithmetic and comparisons (and raises for pow,
 * where, clamp and masked_fill). Arithmetic between integer tensors still wraps, as PyTorch's does.
 */
export function lift(op: string, vals: readonly TensorLike[], dtype?: DType): Tensor[] {
  let dt = dtype;
  return vals.map((v, i) => {
    if (v instanceof Tensor) return v;
    dt ??= resultTypeOf(op, vals);
    if (typeof v === 'number' && DTYPES[dt].category === INT)
      return scalarTensor(intValue(op, v, dt, `the number given as argument ${i}`), dt);
    return scalarTensor(v, dt);
  });
}
