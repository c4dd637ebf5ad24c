/**
 * @file Creating tensors: from nested arrays or TypedArrays, constant fills, ranges, identity, and seeded random
 * draws. None of these record a graph; `requiresGrad` makes the result a leaf.
 */

import { kernels } from '../backend/index.js';
import { DEFAULT_FLOAT, DTYPES, type DType, defaultDTypeOf, dtypeInfo, type TypedArray } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { random, randomInt, randomNormal } from '../core/rng.js';
import { checkSizes, numel } from '../core/shape.js';
import { emptyTensor, fromTypedArray, type NestedArray, type Tensor } from '../tensor/tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
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
          `${op}: element at [${path.join(', ')}] is ${JSON.stringify(v)}, expected a number or boolean`,
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
export function tensor(data: NestedArray | TypedArray, opts: CreateOptions & { shape?: number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const dtype =
      opts.dtype ??
      (arr instanceof Float64Array
        ? 'float64'
        : arr instanceof Float32Array
          ? 'float32'
          : arr instanceof Int32Array
            ? 'int32'
            : arr instanceof Uint8Array
              ? 'bool'
              : DEFAULT_FLOAT);
    const shape = opts.shape ? checkSizes('tensor', opts.shape) : [arr.length];
    const copy = new DTYPES[dtype].array(arr.length);
    for (let i = 0; i < arr.length; i++) copy[i] = DTYPES[dtype].cast(arr[i]);
    return finish(fromTypedArray(copy, shape, dtype), opts);
  }
  const { shape, flat } = inferNested('tensor', data);
  // JS has no integer literals ([1, 2] and [1.0, 2.0] are the same value), so numbers default to float32 and
  // integer tensors are asked for with {dtype: 'int32'}; all-boolean data gives a bool tensor.
  const dtype = opts.dtype ?? (flat.length && flat.every((v) => typeof v === 'boolean') ? 'bool' : DEFAULT_FLOAT);
  const info = dtypeInfo(dtype);
  const arr = new info.array(flat.length);
  for (let i = 0; i < flat.length; i++) arr[i] = info.cast(+flat[i]);
  const target = opts.shape ? checkSizes('tensor', opts.shape) : shape;
  return finish(fromTypedArray(arr, target, dtype), opts);
}

function filled(op: string, shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const dims = checkSizes(op, shape as number[]);
  const t = emptyTensor(dims, opts.dtype ?? DEFAULT_FLOAT);
  if (value !== 0) kernels().fill(t._view(), value);
  return finish(t, opts);
}

export function zeros(shape: readonly number[], opts?: CreateOptions): Tensor {
  return filled('zeros', shape, 0, opts);
}
export function ones(shape: readonly number[], opts?: CreateOptions): Tensor {
  return filled('ones', shape, 1, opts);
}
export function full(shape: readonly number[], value: number | boolean, opts: CreateOptions = {}): Tensor {
  return filled('full', shape, +value, { ...opts, dtype: opts.dtype ?? defaultDTypeOf(value) });
}
export function empty(shape: readonly number[], opts?: CreateOptions): Tensor {
  return filled('empty', shape, 0, opts);
}

const like = (x: Tensor, opts?: CreateOptions): CreateOptions => ({ dtype: x.dtype, ...opts });
export const zerosLike = (x: Tensor, opts?: CreateOptions) => zeros(x.shape, like(x, opts));
export const onesLike = (x: Tensor, opts?: CreateOptions) => ones(x.shape, like(x, opts));
export const fullLike = (x: Tensor, value: number, opts?: CreateOptions) => full(x.shape, value, like(x, opts));
export const emptyLike = (x: Tensor, opts?: CreateOptions) => empty(x.shape, like(x, opts));

function fromFn(op: string, shape: readonly number[], dtype: DType, f: (i: number) => number, opts?: CreateOptions) {
  const dims = checkSizes(op, shape as number[]);
  const n = numel(dims);
  const arr = new DTYPES[dtype].array(n);
  for (let i = 0; i < n; i++) arr[i] = f(i);
  return finish(fromTypedArray(arr, dims, dtype), opts);
}

/** Values from start to end (exclusive) by step; one argument means arange(0, end). */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new ValueError('arange: step must be nonzero');
  if ((end - start) / step < 0)
    throw new ValueError(
      `arange: the range [${start}, ${end}) cannot be walked with step ${step}; flip the step's sign`,
    );
  const n = Math.max(0, Math.ceil((end - start) / step));
  const allInt = [start, end, step].every(Number.isInteger);
  const dtype = opts.dtype ?? (allInt ? 'int32' : DEFAULT_FLOAT);
  return fromFn('arange', [n], dtype, (i) => start + i * step, opts);
}

/** `steps` evenly spaced values from start to end, both included. */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  checkSizes('linspace', [steps]);
  const h = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill symmetric halves from each end, as PyTorch does, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  return fromFn(
    'linspace',
    [steps],
    opts.dtype ?? DEFAULT_FLOAT,
    (i) => (i < half ? start + i * h : end - (steps - 1 - i) * h),
    opts,
  );
}

/** The n×m identity. */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  return fromFn('eye', [n, m], opts.dtype ?? DEFAULT_FLOAT, (i) => (Math.floor(i / m) === i % m ? 1 : 0), opts);
}

/** Uniform samples in [0, 1), from the generator manualSeed seeds. */
export function rand(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return fromFn('rand', shape, opts.dtype ?? DEFAULT_FLOAT, () => random(), opts);
}
/** Standard normal samples. */
export function randn(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return fromFn('randn', shape, opts.dtype ?? DEFAULT_FLOAT, () => randomNormal(), opts);
}
/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  if (!(high > low)) throw new ValueError(`randint: high (${high}) must be greater than low (${low})`);
  return fromFn('randint', shape, opts.dtype ?? 'int32', () => randomInt(low, high), opts);
}
export const randLike = (x: Tensor, opts?: CreateOptions) => rand(x.shape, like(x, opts));
export const randnLike = (x: Tensor, opts?: CreateOptions) => randn(x.shape, like(x, opts));
export const randintLike = (x: Tensor, low: number, high: number, opts?: CreateOptions) =>
  randint(low, high, x.shape, like(x, opts));
