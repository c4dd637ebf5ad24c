/**
 * @file Shape arithmetic shared by every op: sizes, strides, broadcasting and dim normalisation. Each function that
 * can fail takes the op's name so its error says which op broke which rule.
 */
import { fmtShape, IndexError, ShapeError, ValueError } from './errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Validates a size list given by a user: whole, non-negative numbers. */
export function checkSizes(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) throw new ValueError(`${op}: size must be an array of integers, got ${String(shape)}`);
  for (const s of shape) {
    if (!Number.isInteger(s))
      throw new ValueError(`${op}: sizes must be whole numbers, got ${fmtShape(shape)}; round them with Math.floor`);
    if (s < 0) throw new ValueError(`${op}: sizes must be ≥ 0, got ${fmtShape(shape)}`);
  }
  checkNumel(op, shape);
  return shape.slice();
}

/**
 * The most elements one tensor holds: the longest TypedArray V8 allocates (2^32 elements; a longer one is a
 * RangeError deep inside an allocation).
 */
export const MAX_NUMEL = 2 ** 32;

/** Throws, naming the op and the limit, for a shape with more elements than a tensor can hold; before allocating. */
export function checkNumel(op: string, shape: readonly number[]): void {
  let n = 1;
  for (const d of shape) n *= d;
  if (n > MAX_NUMEL)
    throw new ShapeError(
      `${op}: a tensor of shape ${fmtShape(shape)} would hold ${n.toExponential(3)} elements; a tensor holds at most ` +
        `2^32 = ${MAX_NUMEL} (the longest typed array JavaScript allocates); split the work into smaller tensors`,
    );
}

/** NumPy broadcasting of any number of shapes; the error names the op and every shape. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  if (shapes.length === 1) return shapes[0].slice();
  if (shapes.length === 2) {
    if (sameShape(shapes[0], shapes[1]) || shapes[1].length === 0) return shapes[0].slice();
    if (shapes[0].length === 0) return shapes[1].slice();
  }
  let nd = 0;
  for (const s of shapes) nd = Math.max(nd, s.length);
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = nd - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else {
        throw new ShapeError(
          `${op}: shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast: dim ${o - nd} is ${out[o]} in one ` +
            `and ${d} in another (sizes must match or be 1); reshape or unsqueeze one operand`,
        );
      }
    }
  }
  return out;
}

/** Strides that view `shape`/`strides` as the broadcast `target` shape (stride 0 on broadcast dims). */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const nd = target.length;
  const out = new Array<number>(nd).fill(0);
  const off = nd - shape.length;
  for (let i = 0; i < shape.length; i++) out[off + i] = shape[i] === 1 && target[off + i] !== 1 ? 0 : strides[i];
  return out;
}

/** Normalises a possibly negative dim against `ndim`; 0-d tensors accept dim 0 and -1 like PyTorch. */
export function normDim(op: string, dim: number, ndim: number, shape?: Shape): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) {
    const what = shape ? ` for a tensor of shape ${fmtShape(shape)}` : '';
    throw new IndexError(
      `${op}: dim ${dim} is out of range${what} (expected a whole number in [${-n}, ${n - 1}]); negative dims count from the end`,
    );
  }
  return dim < 0 ? dim + n : dim;
}

/** Normalises a dim list (undefined → all dims), rejecting repeats. */
export function normDims(
  op: string,
  dims: number | readonly number[] | undefined | null,
  ndim: number,
  shape?: Shape,
): number[] {
  if (dims === undefined || dims === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normDim(op, d, ndim, shape));
  if (ndim === 0) return [];
  if (new Set(out).size !== out.length) throw new ShapeError(`${op}: dim ${fmtShape(list)} repeats a dimension`);
  return out.sort((a, b) => a - b);
}

/** Shape after reducing `dims` with or without keepdim. */
export function reducedShape(shape: Shape, dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (dims.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(shape[i]);
  }
  return out;
}

/** Resolves one -1 in a reshape target; the error names both shapes and both sizes. */
export function inferReshape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = numel(from);
  let neg = -1;
  let known = 1;
  for (let i = 0; i < to.length; i++) {
    const d = to[i];
    if (d === -1) {
      if (neg >= 0) throw new ShapeError(`${op}: only one dimension can be -1, got ${fmtShape(to)}`);
      neg = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ValueError(`${op}: sizes must be whole numbers ≥ 0 (or one -1), got ${fmtShape(to)}`);
    } else known *= d;
  }
  const out = to.slice();
  if (neg >= 0) {
    if (known === 0 || n % known !== 0)
      throw new ShapeError(
        `${op}: cannot reshape a tensor of shape ${fmtShape(from)} (${n} elements) to ${fmtShape(to)}; ` +
          `the known sizes multiply to ${known}, which does not divide ${n}`,
      );
    out[neg] = n / known;
  } else if (known !== n) {
    throw new ShapeError(
      `${op}: cannot reshape a tensor of shape ${fmtShape(from)} (${n} elements) to ${fmtShape(to)} (${known} elements); ` +
        `the element counts must match (use -1 for one inferred size)`,
    );
  }
  return out;
}

/**
 * Strides for viewing a strided tensor as a new shape without copying, or null when a copy is needed (the same rule
 * as PyTorch's computeStride: each group of merged dims must be contiguous within itself).
 */
export function viewStrides(shape: Shape, strides: readonly number[], to: Shape): number[] | null {
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(to);
  const out = new Array<number>(to.length);
  let viewD = to.length - 1;
  let chunkBase = strides[strides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let td = shape.length - 1; td >= 0; td--) {
    tensorNumel *= shape[td];
    if (td === 0 || (shape[td - 1] !== 1 && strides[td - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || to[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= to[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (td > 0) {
        chunkBase = strides[td - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return out;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i];
  }
  return true;
}
