/**
 * @file Views and layout: reshape, permute, expand, squeeze, slice and friends share their input's storage (no
 * kernel runs). Each is linear, so its JVP is itself applied to the tangent, and its VJP is the inverse map:
 * reshape ↔ reshape back, permute ↔ the inverse permutation, expand ↔ sum (done by the engine's unbroadcast),
 * slice ↔ embed into zeros.
 */

import { kernels } from '../backend/index.js';
import {
  array,
  checked,
  dim as dimArg,
  dims as dimsArg,
  int,
  nullable,
  optional,
  shape as shapeArg,
  tensor,
  union,
} from '../core/args.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import {
  broadcastShapes as broadcastShapesOf,
  contiguousStrides,
  inferReshape,
  isContiguous,
  normDim,
  numel,
  sameShape,
  viewStrides,
} from '../core/shape.js';
import { emptyTensor, type Tensor } from '../tensor/tensor.js';
import { apply, defineOp, type OpDef, shapeText } from './define.js';
import { installMethods } from './methods.js';
import { testedOp } from './registry.js';

// ----- reshape / view ------------------------------------------------------------------------------------------

/**
 * One size of a shape argument. Only "a whole number" here: which negative sizes mean something (-1, once) is the
 * op's rule, whose message shows the whole shape.
 */
const SIZE = int();
/**
 * PyTorch's `reshape(input, shape)` and `x.reshape(*shape)`: the sizes as one array or as separate arguments (the
 * rest).
 */
const SHAPE_ARGS = {
  args: { input: tensor, shape: union(SIZE, array(SIZE, 'an array of whole numbers')) },
  rest: SIZE,
};
const INPUT = { args: { input: tensor } };

/** strides, when given, are the view's own (unsqueeze sets the new dim's like torch); else computed. */
const viewOp = defineOp<{ shape: number[]; strides?: number[] }>({
  name: 'view',
  infer: (_x, p) => ({ shape: p.shape, dtype: _x[0].dtype }),
  view: (x, p) => ({ strides: p.strides ?? viewStrides(x.shape, x._strides, p.shape)!, offset: x._offset }),
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [reshape(g, c.inShapes[0] as number[])],
  flops: () => 0,
  explain: (a) => [{ rhs: `reshape(${a.dy})`, shapes: shapeText(a.outShape) }],
});

/** The same data seen with another shape, without copying; fails if the strides do not allow it. */
export const view = checked('view', SHAPE_ARGS, (x: Tensor, ...shape: (number | number[])[]): Tensor => {
  const to = inferReshape('view', x.shape, flatArgs(shape));
  if (!viewStrides(x.shape, x._strides, to))
    throw new ShapeError(
      `view: a tensor of shape ${fmtShape(x.shape)} with strides ${fmtShape(x._strides)} cannot be viewed as ${fmtShape(to)} ` +
        `without a copy (its dims are not contiguous); use reshape(), which copies when it must, or contiguous() first`,
    );
  return sameShape(to, x.shape) ? x : apply(viewOp, [x], { shape: to });
});

/** Another shape for the same elements: a view when the strides allow it, otherwise a contiguous copy. */
export const reshape = testedOp({
  name: 'reshape',
  fn: checked('reshape', SHAPE_ARGS, (x: Tensor, ...shape: (number | number[])[]): Tensor => {
    const to = inferReshape('reshape', x.shape, flatArgs(shape));
    if (sameShape(to, x.shape)) return x;
    const src = viewStrides(x.shape, x._strides, to) ? x : contiguous(x);
    return apply(viewOp, [src], { shape: to });
  }),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, [2, 6]), torch: 'lambda x: torch.reshape(x, [2, 6])' },
    { args: [[3, 4]], call: (f, x) => f(x, -1), torch: 'lambda x: x.reshape(-1)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, 4, -1), torch: 'lambda x: x.reshape(4, -1)' },
    { args: [[]], call: (f, x) => f(x, [1, 1]), torch: 'lambda x: torch.reshape(x, [1, 1])' },
    { args: [[0, 3]], call: (f, x) => f(x, [3, 0]), torch: 'lambda x: torch.reshape(x, [3, 0])' },
  ],
});

function flatArgs(shape: (number | number[])[]): number[] {
  return shape.length === 1 && Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
}

/** The shape these shapes broadcast to (torch.broadcast_shapes); a ShapeError says which dims clash. */
export const broadcastShapes = checked(
  'broadcastShapes',
  { rest: shapeArg },
  (...shapes: (readonly number[])[]): number[] => broadcastShapesOf('broadcastShapes', ...shapes),
);

// ----- permute / transpose -------------------------------------------------------------------------------------

const permuteOp = defineOp<{ dims: number[] }>({
  name: 'permute',
  infer: ([x], p) => ({ shape: p.dims.map((d) => x.shape[d]), dtype: x.dtype }),
  view: (x, p) => ({ strides: p.dims.map((d) => x._strides[d]), offset: x._offset }),
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => {
    const inv = new Array<number>(c.params.dims.length);
    c.params.dims.forEach((d, i) => {
      inv[d] = i;
    });
    return [permute(g, inv)];
  },
  flops: () => 0,
  explain: ({ dy, params: { dims }, outShape }) => {
    const inv = new Array<number>(dims.length);
    dims.forEach((d, i) => {
      inv[d] = i;
    });
    const swapsLastTwo =
      dims.length >= 2 && dims.every((d, i) => d === (i < dims.length - 2 ? i : 2 * dims.length - 3 - i));
    return [{ rhs: swapsLastTwo ? `${dy}ᵀ` : `permute(${dy}, [${inv.join(', ')}])`, shapes: shapeText(outShape) }];
  },
});

const PERMUTE_ARGS = { args: { input: tensor, dims: union(dimArg, array(dimArg, 'an array of dims')) }, rest: dimArg };

/** Reorders dims: out.shape[i] = x.shape[dims[i]]. */
export const permute = testedOp({
  name: 'permute',
  fn: checked('permute', PERMUTE_ARGS, (x: Tensor, ...dims: (number | number[])[]): Tensor => {
    const list = flatArgs(dims);
    if (list.length !== x.ndim)
      throw new ShapeError(
        `permute: got ${list.length} dims ${fmtShape(list)} for a tensor of shape ${fmtShape(x.shape)}; give one per dim (${x.ndim})`,
      );
    const d = list.map((v) => normDim('permute', v, x.ndim, x.shape));
    if (new Set(d).size !== d.length) throw new ShapeError(`permute: dims ${fmtShape(list)} repeat a dimension`);
    return apply(permuteOp, [x], { dims: d });
  }),
  samples: [
    { args: [[2, 3, 4]], call: (f, x) => f(x, [2, 0, 1]), torch: 'lambda x: torch.permute(x, [2, 0, 1])' },
    { args: [[3, 4]], call: (f, x) => f(x, -1, 0), torch: 'lambda x: x.permute(-1, 0)' },
  ],
});

const TRANSPOSE_ARGS = { args: { input: tensor, dim0: dimArg, dim1: dimArg } };

/** Swaps two dims. */
export const transpose = testedOp({
  name: 'transpose',
  fn: checked('transpose', TRANSPOSE_ARGS, (x: Tensor, dim0: number, dim1: number): Tensor => {
    if (x.ndim < 2 && dim0 === dim1) return x;
    const a = normDim('transpose', dim0, x.ndim, x.shape);
    const b = normDim('transpose', dim1, x.ndim, x.shape);
    const dims = Array.from({ length: x.ndim }, (_, i) => i);
    [dims[a], dims[b]] = [dims[b], dims[a]];
    return x.ndim === 0 ? x : apply(permuteOp, [x], { dims });
  }),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, 0, 1), torch: 'lambda x: torch.transpose(x, 0, 1)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, -1, 0), torch: 'lambda x: torch.transpose(x, -1, 0)' },
  ],
});

// ----- expand --------------------------------------------------------------------------------------------------

const expandOp = defineOp<{ shape: number[] }>({
  name: 'expand',
  infer: ([x], p) => ({ shape: p.shape, dtype: x.dtype }),
  view: (x, p) => {
    const off = p.shape.length - x.ndim;
    return {
      strides: p.shape.map((s, i) => (i < off || (x.shape[i - off] === 1 && s !== 1) ? 0 : x._strides[i - off])),
      offset: x._offset,
    };
  },
  saveInputs: 'none',
  linear: true,
  // The gradient is output-shaped; the engine's unbroadcast sums it over the expanded dims.
  vjp: (g) => [g],
  flops: () => 0,
  explain: (a) => [a.dy],
});

const EXPAND_ARGS = { args: { input: tensor, sizes: SHAPE_ARGS.args.shape }, rest: SIZE };

/** Repeats size-1 dims (and adds leading ones) without copying: stride 0. -1 keeps a size. */
export const expand = testedOp({
  name: 'expand',
  fn: checked('expand', EXPAND_ARGS, (x: Tensor, ...sizes: (number | number[])[]): Tensor => {
    const to = flatArgs(sizes).slice();
    if (to.length < x.ndim)
      throw new ShapeError(
        `expand: the target ${fmtShape(to)} has fewer dims than the tensor's shape ${fmtShape(x.shape)}; give at least ${x.ndim}`,
      );
    const off = to.length - x.ndim;
    for (let i = 0; i < to.length; i++) {
      const have = i >= off ? x.shape[i - off] : 1;
      if (to[i] === -1) {
        if (i < off) throw new ShapeError(`expand: -1 is not allowed for the new leading dim ${i} in ${fmtShape(to)}`);
        to[i] = have;
      } else if (!Number.isInteger(to[i]) || to[i] < 0) {
        throw new ValueError(`expand: sizes must be whole numbers ≥ 0 or -1, got ${fmtShape(to)}`);
      } else if (have !== 1 && have !== to[i]) {
        throw new ShapeError(
          `expand: cannot expand shape ${fmtShape(x.shape)} to ${fmtShape(to)}: dim ${i} has size ${have}, ` +
            `and only size-1 dims can be expanded (to ${to[i]})`,
        );
      }
    }
    return sameShape(to, x.shape) ? x : apply(expandOp, [x], { shape: to });
  }),
  samples: [
    { args: [[3, 1]], call: (f, x) => f(x, 3, 4), torch: 'lambda x: x.expand(3, 4)' },
    { args: [[4]], call: (f, x) => f(x, [2, 3, 4]), torch: 'lambda x: x.expand([2, 3, 4])' },
    { args: [[]], call: (f, x) => f(x, [3]), torch: 'lambda x: x.expand([3])' },
  ],
});

export const expandAs = checked(
  'expandAs',
  { args: { input: tensor, other: tensor } },
  (x: Tensor, other: Tensor): Tensor => expand(x, other.shape as number[]),
);

// ----- squeeze / unsqueeze / flatten ---------------------------------------------------------------------------

const SQUEEZE_ARGS = { args: { input: tensor, dim: optional(nullable(dimsArg)) } };

/** Removes size-1 dims: all of them, or the given ones (a given dim of another size is left alone, as in PyTorch). */
export const squeeze = testedOp({
  name: 'squeeze',
  fn: checked('squeeze', SQUEEZE_ARGS, (x: Tensor, dim?: number | number[] | null): Tensor => {
    const dims =
      dim === undefined || dim === null
        ? null
        : (typeof dim === 'number' ? [dim] : dim).map((d) => normDim('squeeze', d, x.ndim, x.shape));
    const shape = x.shape.filter((s, i) => !(s === 1 && (dims === null || dims.includes(i))));
    return reshape(x, shape);
  }),
  samples: [
    { args: [[3, 1, 4, 1]], call: (f, x) => f(x), torch: 'lambda x: torch.squeeze(x)' },
    { args: [[3, 1, 4]], call: (f, x) => f(x, -2), torch: 'lambda x: torch.squeeze(x, -2)' },
    { args: [[3, 4]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.squeeze(x, 0)' },
  ],
});

/** Inserts a size-1 dim at `dim` (negative counts from the end of the result). */
export const unsqueeze = testedOp({
  name: 'unsqueeze',
  fn: checked('unsqueeze', { args: { input: tensor, dim: dimArg } }, (x: Tensor, dim: number): Tensor => {
    const d = normDim('unsqueeze', dim, x.ndim + 1, x.shape);
    const shape = x.shape.slice();
    shape.splice(d, 0, 1);
    const strides = x._strides.slice();
    strides.splice(d, 0, d < x.ndim ? x.shape[d] * x._strides[d] : 1);
    return apply(viewOp, [x], { shape, strides });
  }),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.unsqueeze(x, 1)' },
    { args: [[3, 4]], call: (f, x) => f(x, -1), torch: 'lambda x: torch.unsqueeze(x, -1)' },
    { args: [[]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.unsqueeze(x, 0)' },
  ],
});

const FLATTEN_ARGS = { args: { input: tensor, startDim: optional(dimArg), endDim: optional(dimArg) } };

/** Merges dims startDim..endDim into one. */
export const flatten = testedOp({
  name: 'flatten',
  fn: checked('flatten', FLATTEN_ARGS, (x: Tensor, startDim = 0, endDim = -1): Tensor => {
    if (x.ndim === 0) return reshape(x, [1]);
    const s = normDim('flatten', startDim, x.ndim, x.shape);
    const e = normDim('flatten', endDim, x.ndim, x.shape);
    if (s > e) throw new ShapeError(`flatten: startDim ${startDim} must not come after endDim ${endDim}`);
    const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
    return reshape(x, shape);
  }),
  samples: [
    { args: [[2, 3, 4]] },
    { args: [[2, 3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.flatten(x, 1)' },
    { args: [[]] },
  ],
  torch: 'torch.flatten',
});

// ----- contiguous / clone --------------------------------------------------------------------------------------

const cloneOp = defineOp({
  name: 'clone',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  overwrites: true,
  forward: (k, out, [x]) => k.copy(out._view(), x._view()),
  saveInputs: 'none',
  linear: true,
  vjp: (g) => [g],
  flops: () => 0,
  explain: (a) => [a.dy],
});

/** A copy with its own contiguous storage; gradients flow through it. */
export const clone = testedOp({
  name: 'clone',
  fn: checked('clone', INPUT, (x: Tensor): Tensor => apply(cloneOp, [x], undefined)),
  samples: [{ args: [[3, 4]] }],
  torch: 'torch.clone',
});

/** x itself if it is contiguous, else a contiguous copy. */
export const contiguous = checked(
  'contiguous',
  INPUT,
  (x: Tensor): Tensor => (isContiguous(x.shape, x._strides) ? x : clone(x)),
);

const addFn = (a: number, b: number) => a + b;

// ----- slice / narrow and their adjoint ------------------------------------------------------------------------

interface SliceParams {
  dim: number;
  start: number;
  step: number;
  len: number;
}

const sliceOp: OpDef<SliceParams> = defineOp<SliceParams>({
  name: 'slice',
  infer: ([x], p) => {
    const shape = x.shape.slice();
    shape[p.dim] = p.len;
    return { shape, dtype: x.dtype };
  },
  view: (x, p) => {
    const strides = x._strides.slice();
    strides[p.dim] *= p.step;
    return { strides, offset: x._offset + p.start * x._strides[p.dim] };
  },
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [apply(sliceBackwardOp, [g], { ...c.params, inShape: c.inShapes[0] as number[] })],
  // dst[region] += g, O(piece): one pass where the region is contiguous, else gather, add, scatter.
  accumulateInto: (dst, g, c) => {
    const p = c.params;
    const strides = contiguousStrides(c.inShapes[0]);
    const rs = strides.slice();
    rs[p.dim] *= p.step;
    const region = {
      buf: dst._storage.buf,
      dtype: dst.dtype,
      shape: g.shape,
      strides: rs,
      offset: p.start * strides[p.dim],
    };
    const k = kernels();
    if (isContiguous(g.shape, rs)) {
      k.binary('add', addFn, region, region, g._view());
    } else {
      const tmp = emptyTensor(g.shape as number[], g.dtype)._view();
      k.copy(tmp, region);
      k.binary('add', addFn, tmp, tmp, g._view());
      k.copy(region, tmp);
    }
  },
  flops: () => 0,
  explain: ({ dy, params: p, outShape }) => [
    { rhs: `zeros with ${dy} at [${sliceText(p)}] of dim ${p.dim}`, shapes: shapeText(outShape) },
  ],
});

/** `2:8` or `0:9:3`, the positions a slice took along its dim. */
function sliceText(p: SliceParams): string {
  const end = p.len === 0 ? p.start : p.start + p.step * (p.len - 1) + 1;
  return p.step === 1 ? `${p.start}:${end}` : `${p.start}:${end}:${p.step}`;
}

/** The adjoint of slice: places g into zeros of the input's shape at the sliced positions. */
const sliceBackwardOp: OpDef<SliceParams & { inShape: number[] }> = defineOp<SliceParams & { inShape: number[] }>({
  name: 'sliceBackward',
  infer: ([g], p) => ({ shape: p.inShape, dtype: g.dtype }),
  forward: (k, out, [g], p) => {
    const strides = contiguousStrides(p.inShape);
    const dst = strides.slice();
    dst[p.dim] *= p.step;
    k.copy(
      { buf: out._storage.buf, dtype: out.dtype, shape: g.shape, strides: dst, offset: p.start * strides[p.dim] },
      g._view(),
    );
  },
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [apply(sliceOp, [g], c.params)],
  flops: () => 0,
  explain: ({ dy, params: p, outShape }) => [
    { rhs: `${dy}[${sliceText(p)}] of dim ${p.dim}`, shapes: shapeText(outShape) },
  ],
});

const SLICE_ARGS = {
  args: {
    input: tensor,
    dim: dimArg,
    start: optional(nullable(int())),
    end: optional(nullable(int())),
    step: optional({ ...int({ min: 1 }), what: 'a whole number ≥ 1 (use flip() to reverse)' }),
  },
};

/**
 * Elements start, start+step, … before end along dim (Python's x[start:end:step]); negative start/end count from
 * the end and out-of-range bounds are clamped, as in PyTorch.
 */
export const slice = testedOp({
  name: 'slice',
  fn: checked(
    'slice',
    SLICE_ARGS,
    (x: Tensor, dim: number, start: number | null = 0, end: number | null = null, step = 1): Tensor => {
      const d = normDim('slice', dim, x.ndim, x.shape);
      if (!Number.isInteger(step) || step <= 0)
        throw new ValueError(`slice: step must be a whole number > 0, got ${step} (use flip() to reverse)`);
      const n = x.shape[d];
      const norm = (v: number, dflt: number) => {
        if (!Number.isInteger(v)) throw new ValueError(`slice: bounds must be whole numbers, got ${v}`);
        return Math.min(Math.max(v < 0 ? v + n : v, 0), n) ?? dflt;
      };
      const s = start === null ? 0 : norm(start, 0);
      const e = end === null ? n : norm(end, n);
      const len = e > s ? Math.ceil((e - s) / step) : 0;
      if (s === 0 && len === n && step === 1) return x;
      return apply(sliceOp, [x], { dim: d, start: s, step, len });
    },
  ),
  samples: [
    { args: [[5, 4]], call: (f, x) => f(x, 0, 1, 4), torch: 'lambda x: x[1:4]' },
    { args: [[5, 4]], call: (f, x) => f(x, -1, 0, null, 2), torch: 'lambda x: x[..., 0::2]' },
    { args: [[5, 4]], call: (f, x) => f(x, 0, -2), torch: 'lambda x: x[-2:]' },
    { args: [[5, 4]], call: (f, x) => f(x, 1, 3, 3), torch: 'lambda x: x[:, 3:3]' },
  ],
});

const NARROW_ARGS = { args: { input: tensor, dim: dimArg, start: int(), length: int({ min: 0 }) } };

/** `length` elements from `start` along dim. */
export const narrow = checked(
  'narrow',
  NARROW_ARGS,
  (x: Tensor, dim: number, start: number, length: number): Tensor => {
    const d = normDim('narrow', dim, x.ndim, x.shape);
    const s = start < 0 ? start + x.shape[d] : start;
    if (!Number.isInteger(length) || length < 0 || s < 0 || s + length > x.shape[d])
      throw new ShapeError(
        `narrow: start ${start} and length ${length} do not fit in dim ${dim} of shape ${fmtShape(x.shape)} (size ${x.shape[d]})`,
      );
    return slice(x, d, s, s + length);
  },
);

declare module '../tensor/tensor.js' {
  interface Tensor {
    view(...shape: (number | number[])[]): Tensor;
    reshape(...shape: (number | number[])[]): Tensor;
    permute(...dims: (number | number[])[]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    /** The transpose of a 2-D tensor (all dims reversed otherwise, as PyTorch's deprecated .T). */
    readonly T: Tensor;
    /** The transpose of the last two dims (batched matrices). */
    readonly mT: Tensor;
    expand(...sizes: (number | number[])[]): Tensor;
    expandAs(other: Tensor): Tensor;
    squeeze(dim?: number | number[] | null): Tensor;
    unsqueeze(dim: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    clone(): Tensor;
    contiguous(): Tensor;
    slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
  }
}

installMethods({
  view,
  reshape,
  permute,
  transpose,
  expand,
  expandAs,
  squeeze,
  unsqueeze,
  flatten,
  clone,
  contiguous,
  slice,
  narrow,
});

import { Tensor as TensorClass } from '../tensor/tensor.js';

Object.defineProperty(TensorClass.prototype, 'T', {
  get(this: Tensor) {
    return permute(
      this,
      Array.from({ length: this.ndim }, (_, i) => this.ndim - 1 - i),
    );
  },
});
Object.defineProperty(TensorClass.prototype, 'mT', {
  get(this: Tensor) {
    if (this.ndim < 2) throw new ShapeError(`mT: needs at least 2 dims, got shape ${fmtShape(this.shape)}`);
    return transpose(this, -2, -1);
  },
});
