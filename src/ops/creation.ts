/**
 * @file Creating tensors: from nested arrays or TypedArrays, constant fills, ranges, identity, and seeded random
 * draws. None of these record a graph; `requiresGrad` makes the result a leaf.
 */

import { kernels } from '../backend/index.js';
import {
  bool,
  checked,
  custom,
  describe,
  dtype as dtypeArg,
  int,
  number,
  optional,
  scalar,
  shape as shapeArg,
  tensor as tensor_,
  union,
} from '../core/args.js';
import {
  DEFAULT_FLOAT,
  DTYPES,
  type DType,
  type DTypeInfo,
  FLOAT,
  INT,
  intValue,
  type TypedArray,
} from '../core/dtype.js';
import { DTypeError, fmtPosition, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { random, random24, randomInt, randomNormal } from '../core/rng.js';
import { checkSizes, numel } from '../core/shape.js';
import { emptyTensor, fromTypedArray, type NestedArray, type Tensor } from '../tensor/tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

/** The dtype's table row, checked here so a typo fails with the op's name before anything is allocated. */
function info(op: string, dtype: DType): DTypeInfo {
  const row = Object.hasOwn(DTYPES, dtype) ? DTYPES[dtype] : undefined;
  if (!row) throw new DTypeError(`${op}: unknown dtype '${dtype}'; use one of ${Object.keys(DTYPES).join(', ')}`);
  return row;
}

function finish(t: Tensor, opts: CreateOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

function inferNested(op: string, data: NestedArray): { shape: number[]; flat: (number | boolean)[] } {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as NestedArray;
    if (cur === undefined) break;
  }
  const flat: (number | boolean)[] = [];
  const walk = (v: NestedArray, d: number, path: number[]) => {
    if (d === shape.length) {
      if (Array.isArray(v) || (typeof v !== 'number' && typeof v !== 'boolean'))
        throw new ShapeError(
          `${op}: the element at [${path.join(', ')}] is ${describe(v)}; data holds numbers or booleans (nested arrays of them)`,
        );
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d])
      throw new ShapeError(
        `${op}: ragged nested array: the entry at [${path.join(', ')}] has ${Array.isArray(v) ? `length ${v.length}` : 'no length'} ` +
          `but the first one at that depth has length ${shape[d]}; every row must have the same length (shape ${fmtShape(shape)})`,
      );
    v.forEach((x, i) => walk(x, d + 1, [...path, i]));
  };
  walk(data, 0, []);
  return { shape, flat };
}

/** A tensor from nested arrays, a number, or a TypedArray (with `shape` for a TypedArray of rank ≠ 1). */
function tensorFn(data: NestedArray | TypedArray, opts: CreateOptions & { shape?: number[] } = {}): Tensor {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return fromBigInts(data, opts);
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const dtype = opts.dtype ?? dtypeOfArray(arr);
    const shape = opts.shape ? checkSizes('tensor', opts.shape) : [arr.length];
    const row = info('tensor', dtype);
    const copy = new row.array(arr.length);
    const store = elementStore('tensor', row, shape);
    for (let i = 0; i < arr.length; i++) copy[i] = store(arr[i], i);
    return finish(fromTypedArray(copy, shape, dtype), opts);
  }
  const { shape, flat } = inferNested('tensor', data);
  // JS has no integer literals ([1, 2] and [1.0, 2.0] are the same value), so numbers default to float32 and
  // integer tensors are asked for with {dtype: 'int32'}; all-boolean data gives a bool tensor.
  const dtype = opts.dtype ?? (flat.length && flat.every((v) => typeof v === 'boolean') ? 'bool' : DEFAULT_FLOAT);
  const row = info('tensor', dtype);
  const arr = new row.array(flat.length);
  const store = elementStore('tensor', row, shape);
  for (let i = 0; i < flat.length; i++) arr[i] = store(+flat[i], i);
  const target = opts.shape ? checkSizes('tensor', opts.shape) : shape;
  return finish(fromTypedArray(arr, target, dtype), opts);
}

/** A BigInt64Array's values as int64 (or the asked dtype), each within the safe-integer range int64 holds. */
function fromBigInts(data: BigInt64Array | BigUint64Array, opts: CreateOptions & { shape?: number[] }): Tensor {
  const nums = new Float64Array(data.length);
  data.forEach((b: bigint, i: number) => {
    if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < -BigInt(Number.MAX_SAFE_INTEGER))
      throw new ValueError(
        `tensor: the element at [${i}] is ${b}n, beyond ±(2^53 − 1), the integers adjoint's int64 holds exactly`,
      );
    nums[i] = Number(b);
  });
  return tensorFn(nums, { ...opts, dtype: opts.dtype ?? 'int64' });
}

/**
 * How element i of the data is stored: the dtype's cast (rounding to float32, truthiness for bool), or for an
 * integer dtype the range-checked truncation (`intValue`), whose error names the element's position in `shape`.
 * The array being filled is a fresh one, so an error leaves nothing behind.
 */
function elementStore(op: string, row: DTypeInfo, shape: readonly number[]): (v: number, i: number) => number {
  if (row.category !== INT) return row.cast;
  return (v, i) => {
    const [lo, hi] = row.range as readonly [number, number];
    return v >= lo && v <= hi
      ? Math.trunc(v) + 0
      : intValue(op, v, row.name, `the element at ${fmtPosition(shape, i)}`);
  };
}

/**
 * The dtype a TypedArray's elements have: the array our storage would use (Uint8Array is bool's storage), int32 for
 * the narrower integer arrays, and the default float for the rest (Uint32Array's values do not fit int32).
 */
function dtypeOfArray(arr: ArrayBufferView): DType {
  if (arr instanceof Float64Array) return 'float64';
  if (arr instanceof Float32Array) return 'float32';
  if (arr instanceof Int32Array || arr instanceof Int16Array || arr instanceof Uint16Array || arr instanceof Int8Array)
    return 'int32';
  if (arr instanceof Uint8Array) return 'bool';
  return DEFAULT_FLOAT;
}

function filled(op: string, shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const dims = checkSizes(op, shape as number[]);
  const dtype = opts.dtype ?? DEFAULT_FLOAT;
  if (info(op, dtype).category === INT) value = intValue(op, value, dtype, 'the fill value');
  const t = emptyTensor(dims, dtype);
  if (value !== 0) kernels().fill(t._view(), value);
  return finish(t, opts);
}

function zerosFn(shape: readonly number[], opts?: CreateOptions): Tensor {
  return filled('zeros', shape, 0, opts);
}
function onesFn(shape: readonly number[], opts?: CreateOptions): Tensor {
  return filled('ones', shape, 1, opts);
}
/**
 * A tensor of `value`: bool for a boolean, otherwise the default float, as in tensor(): JS cannot tell `full(s, 1)`
 * from `full(s, 1.0)`, so integer tensors are asked for with {dtype: 'int32'} or {dtype: 'int64'} (PyTorch gives
 * int64 for an int fill). Into an integer dtype the value truncates toward zero; out of range, NaN or ±Infinity throws.
 */
function fullFn(shape: readonly number[], value: number | boolean, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? (typeof value === 'boolean' ? 'bool' : DEFAULT_FLOAT);
  return filled('full', shape, +value, { ...opts, dtype });
}
function emptyFn(shape: readonly number[], opts?: CreateOptions): Tensor {
  return filled('empty', shape, 0, opts);
}

const like = (x: Tensor, opts?: CreateOptions): CreateOptions => ({ ...opts, dtype: opts?.dtype ?? x.dtype });
const zerosLikeFn = (x: Tensor, opts?: CreateOptions) => filled('zerosLike', x.shape, 0, like(x, opts));
const onesLikeFn = (x: Tensor, opts?: CreateOptions) => filled('onesLike', x.shape, 1, like(x, opts));
const fullLikeFn = (x: Tensor, value: number | boolean, opts?: CreateOptions) =>
  filled('fullLike', x.shape, +value, like(x, opts));
const emptyLikeFn = (x: Tensor, opts?: CreateOptions) => filled('emptyLike', x.shape, 0, like(x, opts));

/** A fresh tensor of f(i); an integer dtype's values are stored truncated (its `cast`), already range-checked. */
function fromFn(op: string, shape: readonly number[], dtype: DType, f: (i: number) => number, opts?: CreateOptions) {
  const dims = checkSizes(op, shape as number[]);
  const n = numel(dims);
  const { array, cast } = info(op, dtype);
  const arr = new array(n);
  for (let i = 0; i < n; i++) arr[i] = cast(f(i));
  return finish(fromTypedArray(arr, dims, dtype), opts);
}

/**
 * Values from start to end (exclusive) by step; one argument means arange(0, end). PyTorch's length rule,
 * ceil((end − start) / step), and values start + i·step computed in float64 then stored. Whole-number arguments give
 * int32 (PyTorch: int64), others the default float; JS cannot tell arange(0, 5, 1.0) from arange(0, 5, 1). For an
 * integer dtype, start, end and step are truncated first, as PyTorch does (arange(0.5, 5, 1.5, int) is 0, 1, 2, 3,
 * 4), and the first and last values must fit the dtype: they throw rather than wrap (PyTorch wraps them).
 */
function arangeFn(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (![start, end, step].every(Number.isFinite))
    throw new ValueError(`arange: start (${start}), end (${end}) and step (${step}) must be finite numbers`);
  const allInt = [start, end, step].every(Number.isInteger);
  const dtype = opts.dtype ?? (allInt ? 'int32' : DEFAULT_FLOAT);
  const integer = info('arange', dtype).category === INT;
  if (integer) [start, end, step] = [Math.trunc(start), Math.trunc(end), Math.trunc(step)];
  if (step === 0)
    throw new ValueError(
      `arange: step must be nonzero${integer ? ` (an integer dtype truncates it toward zero, so |step| must be ≥ 1)` : ''}`,
    );
  if ((end - start) / step < 0)
    throw new ValueError(
      `arange: the range [${start}, ${end}) cannot be walked with step ${step}; flip the step's sign`,
    );
  const n = Math.max(0, Math.ceil((end - start) / step));
  checkSizes('arange', [n]);
  if (integer && n > 0) {
    intValue('arange', start, dtype, 'start');
    intValue('arange', start + (n - 1) * step, dtype, `the last value (start + ${n - 1}·step)`);
  }
  return fromFn('arange', [n], dtype, (i) => start + i * step, opts);
}

/**
 * `steps` evenly spaced values from start to end, both included (one step gives [start]). Computed as PyTorch's CPU
 * kernel does: in the output's float type (float64 steps for integer outputs), the first half counted up from
 * start and the second half down from end, so both endpoints are exact.
 */
function linspaceFn(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  checkSizes('linspace', [steps]);
  const dtype = opts.dtype ?? DEFAULT_FLOAT;
  // Every value lies between the endpoints, so they alone need to fit an integer dtype (values are then truncated).
  if (info('linspace', dtype).category === INT && steps > 0) {
    intValue('linspace', start, dtype, 'start');
    if (steps > 1) intValue('linspace', end, dtype, 'end');
  }
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const a = r(start);
  const b = r(end);
  if (steps === 1) return fromFn('linspace', [1], dtype, () => a, opts);
  const h = r(r(b - a) / (steps - 1));
  const half = Math.floor(steps / 2);
  return fromFn('linspace', [steps], dtype, (i) => (i < half ? r(a + r(h * i)) : r(b - r(h * (steps - 1 - i)))), opts);
}

/** The n×m identity (n×n when m is omitted; eye(n, {dtype}) also works). */
function eyeFn(n: number, m?: number | CreateOptions, opts: CreateOptions = {}): Tensor {
  if (typeof m === 'object') [m, opts] = [undefined, m];
  const cols = m ?? n;
  return fromFn(
    'eye',
    [n, cols],
    opts.dtype ?? DEFAULT_FLOAT,
    (i) => (Math.floor(i / cols) === i % cols ? 1 : 0),
    opts,
  );
}

function floatDType(op: string, opts: CreateOptions): DType {
  const dtype = opts.dtype ?? DEFAULT_FLOAT;
  if (info(op, dtype).category !== FLOAT)
    throw new DTypeError(`${op}: draws floating-point samples, so dtype must be float32 or float64, got ${dtype}`);
  return dtype;
}

/**
 * Uniform samples in [0, 1), from the generator manualSeed seeds: 24 random bits for float32 (53 would round up to
 * 1.0 about once in 2^25 draws), 53 for float64.
 */
function randFn(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  const dtype = floatDType('rand', opts);
  return fromFn('rand', shape, dtype, dtype === 'float32' ? random24 : random, opts);
}
/** Standard normal samples. */
function randnFn(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return fromFn('randn', shape, floatDType('randn', opts), randomNormal, opts);
}

/** Integers uniform in [low, high), int32 by default; randint(high, shape) means low = 0, as in PyTorch. */
function randintFn(high: number, shape: readonly number[], opts?: CreateOptions): Tensor;
function randintFn(low: number, high: number, shape: readonly number[], opts?: CreateOptions): Tensor;
function randintFn(
  low: number,
  high: number | readonly number[],
  shape?: readonly number[] | CreateOptions,
  opts: CreateOptions = {},
): Tensor {
  if (typeof high !== 'number') return randintFn(0, low, high, shape as CreateOptions | undefined);
  if (!Number.isInteger(low) || !Number.isInteger(high))
    throw new ValueError(`randint: low (${low}) and high (${high}) must be whole numbers`);
  if (!(high > low)) throw new ValueError(`randint: high (${high}) must be greater than low (${low})`);
  const dtype = opts.dtype ?? 'int32';
  if (info('randint', dtype).category === INT) {
    intValue('randint', low, dtype, 'low');
    intValue('randint', high - 1, dtype, 'the largest value drawn, high − 1,');
  }
  return fromFn('randint', shape as readonly number[], dtype, () => randomInt(low, high), opts);
}
const randLikeFn = (x: Tensor, opts?: CreateOptions) => randFn(x.shape, like(x, opts));
const randnLikeFn = (x: Tensor, opts?: CreateOptions) => randnFn(x.shape, like(x, opts));
/** randint with x's shape and dtype: randintLike(x, high) or randintLike(x, low, high). */
function randintLikeFn(x: Tensor, high: number, opts?: CreateOptions): Tensor;
function randintLikeFn(x: Tensor, low: number, high: number, opts?: CreateOptions): Tensor;
function randintLikeFn(x: Tensor, low: number, high?: number | CreateOptions, opts?: CreateOptions): Tensor {
  if (typeof high !== 'number') return randintFn(0, low, x.shape, like(x, high));
  return randintFn(low, high, x.shape, like(x, opts));
}

// ----- the public creation functions, with their declared parameters ---------------------------------------------

const CREATE = { dtype: optional(dtypeArg), requiresGrad: optional(bool) };

/** What tensor() takes: a number, a boolean, nested arrays of them, or a TypedArray (not a DataView). */
const DATA = custom<NestedArray | TypedArray>(
  'a number, a boolean, a nested array of them, or a TypedArray',
  (v) =>
    typeof v === 'number' ||
    typeof v === 'boolean' ||
    Array.isArray(v) ||
    (ArrayBuffer.isView(v) && !(v instanceof DataView)),
  { example: [1] },
);
export const tensor = checked(
  'tensor',
  { args: { data: DATA }, options: { ...CREATE, shape: optional(shapeArg) } },
  tensorFn,
);

/** zeros([2, 3]) and zeros(2, 3), as torch.zeros takes a size or sizes. */
const SIZE = { args: { size: union(shapeArg, int({ min: 0 })) }, rest: int({ min: 0 }), options: CREATE };
function sizes<R>(f: (shape: readonly number[], opts?: CreateOptions) => R) {
  return (size: number | number[], ...more: (number | CreateOptions)[]): R => {
    const opts = typeof more[more.length - 1] === 'object' ? (more.pop() as CreateOptions) : undefined;
    return f(typeof size === 'number' ? [size, ...(more as number[])] : size, opts);
  };
}
type SizeFn = {
  (shape: readonly number[], opts?: CreateOptions): Tensor;
  (...sizes: number[]): Tensor;
  (...sizesThenOptions: [...number[], CreateOptions]): Tensor;
};
export const zeros = checked('zeros', SIZE, sizes(zerosFn)) as SizeFn;
export const ones = checked('ones', SIZE, sizes(onesFn)) as SizeFn;
export const empty = checked('empty', SIZE, sizes(emptyFn)) as SizeFn;
export const rand = checked('rand', SIZE, sizes(randFn)) as SizeFn;
export const randn = checked('randn', SIZE, sizes(randnFn)) as SizeFn;
export const full = checked('full', { args: { size: shapeArg, fillValue: scalar }, options: CREATE }, fullFn);

const LIKE = { args: { input: tensor_ }, options: CREATE };
export const zerosLike = checked('zerosLike', LIKE, zerosLikeFn);
export const onesLike = checked('onesLike', LIKE, onesLikeFn);
export const emptyLike = checked('emptyLike', LIKE, emptyLikeFn);
export const randLike = checked('randLike', LIKE, randLikeFn);
export const randnLike = checked('randnLike', LIKE, randnLikeFn);
export const fullLike = checked(
  'fullLike',
  { args: { input: tensor_, fillValue: scalar }, options: CREATE },
  fullLikeFn,
);

const BOUND = number();
/** arange(end), arange(start, end), arange(start, end, step), each with the options last, as torch.arange. */
type ArangeFn = {
  (end: number, opts?: CreateOptions): Tensor;
  (start: number, end: number, opts?: CreateOptions): Tensor;
  (start: number, end: number | undefined, step: number, opts?: CreateOptions): Tensor;
};
export const arange = checked(
  'arange',
  { args: { start: BOUND, end: optional(BOUND), step: optional(BOUND) }, options: CREATE },
  arangeFn,
) as ArangeFn;
export const linspace = checked(
  'linspace',
  { args: { start: BOUND, end: BOUND, steps: int({ min: 0 }) }, options: CREATE },
  linspaceFn,
);
export const eye = checked(
  'eye',
  { args: { n: int({ min: 0 }), m: optional(int({ min: 0 })) }, options: CREATE },
  eyeFn,
);
export const randint = checked(
  'randint',
  { args: { low: int(), high: union(int(), shapeArg), size: optional(shapeArg) }, options: CREATE },
  randintFn,
);
export const randintLike = checked(
  'randintLike',
  { args: { input: tensor_, low: int(), high: optional(int()) }, options: CREATE },
  randintLikeFn,
);
