/**
 * @file Reductions. sum is the primitive whose adjoint is broadcasting (expand); prod, amax/amin and argmax/argmin
 * are the other primitives (one reduce kernel each: nothing else computes them). mean, var, std, logsumexp, norm
 * and max/min with a dim are compositions, so their gradients come from the ops they are built of.
 */

import type { View } from '../backend/backend.js';
import {
  bool,
  checked,
  dim as dimArg,
  dims as dimsArg,
  dtype as dtypeArg,
  nullable,
  number,
  oneOf,
  optional,
  tensor,
  union,
} from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { DEFAULT_FLOAT, type DType, isFloating, isInteger } from '../core/dtype.js';
import { DTypeError, fmtShape, IndexError, ShapeError, ValueError } from '../core/errors.js';
import { contiguousStrides, normDim, normDims, numel, reducedShape } from '../core/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { arange, onesLike } from './creation.js';
import { apply, defineOp, shapeText } from './define.js';
import {
  abs,
  add,
  div,
  eq,
  exp,
  log,
  logicalAnd,
  logicalOr,
  maximum,
  minimum,
  mul,
  ne,
  pow,
  sqrt,
  sub,
  toDtype,
  where,
} from './elementwise.js';
import { installMethods } from './methods.js';
import { type Sample, testedOp } from './registry.js';
import { expand, reshape } from './shape.js';

interface ReduceParams {
  dims: number[];
  keepdim: boolean;
  dtype: DType;
}

export type Dims = number | number[] | null | undefined;

/** Normalised reduce params; the dims are checked against x here, before dispatch. */
export function reduceParams(op: string, x: Tensor, dim: Dims, keepdim: boolean, dtype: DType): ReduceParams {
  return { dims: normDims(op, dim, x.ndim, x.shape), keepdim, dtype };
}

/** The freshly allocated (contiguous) output seen with x's rank: 1 on every reduced dim, as reduce kernels take it. */
export function keepdimView(out: Tensor, x: Tensor, dims: number[]): View {
  const shape = reducedShape(x.shape, dims, true);
  return { ...out._view(), shape, strides: contiguousStrides(shape) };
}

/** g (reduced shape) viewed with 1s at the reduced dims, then broadcast to the input's shape. */
export function unreduce(g: Tensor, inShape: readonly number[], p: { dims: number[]; keepdim: boolean }): Tensor {
  return expand(reshape(g, reducedShape(inShape, p.dims, true)), inShape as number[]);
}

/** A reduced result (any keepdim) seen with 1s at the reduced dims, so it broadcasts against the input. */
function kept(r: Tensor, inShape: readonly number[], dims: number[]): Tensor {
  return reshape(r, reducedShape(inShape, dims, true));
}

function reducedSize(x: Tensor, dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= x.shape[d];
  return n;
}

/**
 * max, amax, argmax and their kin have no value over no elements; PyTorch rejects such reductions, and so do we,
 * before any kernel runs. `given` says whether the caller named the dims (the message differs, as PyTorch's does).
 */
function checkNonEmpty(op: string, x: Tensor, dims: readonly number[], given: boolean): void {
  const what = op.replace(/^arg|^a/, '');
  if (!given && x.numel() === 0) {
    const ok = x.shape.findIndex((s) => s !== 0);
    throw new ShapeError(
      `${op}: the tensor of shape ${fmtShape(x.shape)} is empty, and the ${what} of no elements is undefined; ` +
        (ok >= 0 ? `give a dim of nonzero size (dim ${ok} here) or ` : '') +
        'check x.numel() > 0 before reducing',
    );
  }
  for (const d of dims)
    if (x.shape[d] === 0)
      throw new IndexError(
        `${op}: cannot reduce dim ${d} of a tensor of shape ${fmtShape(x.shape)}: it has size 0, and the ${what} of ` +
          `no elements is undefined; reduce over a dim of nonzero size, or check x.shape[${d}] > 0 first`,
      );
}

// ----- sum / mean ----------------------------------------------------------------------------------------------

const sumOp = defineOp<ReduceParams>({
  name: 'sum',
  infer: ([x], p) => ({ shape: reducedShape(x.shape, p.dims, p.keepdim), dtype: p.dtype }),
  forward: (k, out, [x], p) => k.reduce('sum', keepdimView(out, x, p.dims), x._view()),
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [unreduce(g, c.inShapes[0], c.params)],
  flops: (ins) => numel(ins[0].shape),
  explain: (a) => [{ rhs: `expand(${a.dy})`, shapes: shapeText(a.outShape) }],
  int64Fix: "sum in float64 instead: x.sum(dim, keepdim, {dtype: 'float64'})",
});

/** Any of a reduction's parameters by name, as PyTorch's keyword arguments: `x.sum(1, {keepdim: true})`. */
export interface ReduceOptions {
  dim?: Dims | null;
  keepdim?: boolean;
  dtype?: DType;
}

/** PyTorch's `sum(input, dim=None, keepdim=False, *, dtype=None)`, shared by the reductions that take a dtype. */
const REDUCE_ARGS = {
  args: { input: tensor, dim: optional(nullable(dimsArg)), keepdim: optional(bool) },
  options: { dtype: optional(dtypeArg) },
};

/**
 * The dtype sum, prod and the cumulative ops produce for an input when no dtype is asked for: a float keeps its
 * dtype; integers and bools accumulate in int64, as PyTorch's do (so a sum of int32s or of a bool mask never wraps;
 * past int64's exact range, ±(2^53 − 1), it throws).
 */
export function accumulateDtype(d: DType): DType {
  return isFloating(d) ? d : 'int64';
}

/**
 * x in the dtype a reduction asked to compute in: a float reduced into an integer dtype is cast first (truncating
 * each element), as PyTorch does, rather than accumulated as floats and truncated once.
 */
function reduceInput(x: Tensor, dtype: DType): Tensor {
  return isInteger(dtype) && isFloating(x.dtype) ? toDtype(x, dtype) : x;
}

/**
 * Sum over dim (one, several, or all when omitted). Integer and bool inputs sum to int64 (accumulateDtype), unless
 * another dtype is asked for; an int32 dtype wraps as PyTorch's does.
 */
export const sum = testedOp({
  name: 'sum',
  fn: checked('sum', REDUCE_ARGS, (x: Tensor, dim?: Dims, keepdim = false, opts: { dtype?: DType } = {}): Tensor => {
    const dtype = opts.dtype ?? accumulateDtype(x.dtype);
    const xc = reduceInput(x, dtype);
    return apply(sumOp, [xc], reduceParams('sum', xc, dim, keepdim, dtype));
  }),
  samples: [
    { args: [[3, 4]] },
    { args: [[3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.sum(x, 1)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, [0, -1], true), torch: 'lambda x: torch.sum(x, [0, -1], keepdim=True)' },
    { args: [[]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.sum(x, 0)' },
    { args: [[0, 3]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.sum(x, 0)' },
    // Integers and bools accumulate in int64, as PyTorch's.
    {
      args: [{ shape: [3, 4], dtype: 'int32', low: -5, high: 5 }],
      call: (f, x) => f(x, 1),
      torch: 'lambda x: torch.sum(x, 1)',
      note: 'int32 to int64',
    },
    { args: [{ shape: [2, 3], dtype: 'bool' }], note: 'bool to int64' },
    {
      args: [{ shape: [2, 3, 4], dtype: 'int64', low: -9, high: 9 }],
      call: (f, x) => f(x, [0, 2], true),
      torch: 'lambda x: torch.sum(x, [0, 2], keepdim=True)',
      note: 'int64',
    },
  ],
  torch: 'torch.sum',
});

/** Mean over dim (all when omitted). */
export const mean = testedOp({
  name: 'mean',
  fn: checked('mean', REDUCE_ARGS, (x: Tensor, dim?: Dims, keepdim = false, opts: { dtype?: DType } = {}): Tensor => {
    if (opts.dtype !== undefined) x = toDtype(x, opts.dtype);
    if (!isFloating(x.dtype))
      throw new DTypeError(
        `mean: could not infer the output dtype of a ${x.dtype} tensor of shape ${fmtShape(x.shape)}; cast it first (x.float().mean())`,
      );
    const p = reduceParams('mean', x, dim, keepdim, x.dtype);
    const n = p.dims.reduce((a, d) => a * x.shape[d], 1);
    return div(sum(x, dim, keepdim), n);
  }),
  samples: [
    { args: [[3, 4]] },
    { args: [[3, 4]], call: (f, x) => f(x, -1, true), torch: 'lambda x: torch.mean(x, -1, keepdim=True)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, [0, 2]), torch: 'lambda x: torch.mean(x, [0, 2])' },
  ],
  torch: 'torch.mean',
});

/** Sums g down to `shape` (broadcasting's adjoint): over leading dims and over dims where shape has 1. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const s = dims.length ? sum(g, dims, true) : g;
  return reshape(s, shape as number[]);
}

// ----- prod ----------------------------------------------------------------------------------------------------

/**
 * ∂prod/∂x: the product of the other elements along the reduced dim (p.dims has at most one). Without zeros that is
 * out/x; with zeros, dividing would give 0/0, so it is built from the nonzeros' product and the zeros themselves.
 * Either way it is made of differentiable ops, so second derivatives are right too.
 */
function prodOthers(x: Tensor, out: Tensor, p: ReduceParams): Tensor {
  if (p.dims.length === 0) return onesLike(x);
  const o = kept(out, x.shape, p.dims);
  // A data-dependent branch, as in PyTorch's prod_backward: the cheap rule whenever it is exact.
  if (sum(eq(x, 0)).item() === 0) return div(o, x);
  const d = p.dims[0];
  const z = eq(x, 0);
  const nz = where(z, 1, x);
  // Π of the other nonzeros: exact, since nz has no zeros left.
  const rest = div(prod(nz, d, true), nz);
  // Π of the other zeros: an elementary symmetric polynomial of the zeros (e1 = s1, e2 = (s1² − s2)/2), whose value
  // is 0 but whose derivatives are not. It is exact up to two zeros per slice; with three or more every product of
  // others has two zero factors, so it and its first derivative vanish, and 0 is right to second order.
  const count = sum(z, d, true);
  const s1 = sum(where(z, x, 0), d, true);
  const s2 = sum(where(z, mul(x, x), 0), d, true);
  const e2 = mul(sub(mul(s1, s1), s2), 0.5);
  const atZero = where(eq(count, 1), 1, where(eq(count, 2), sub(s1, x), 0));
  const atNonzero = where(eq(count, 0), 1, where(eq(count, 1), s1, where(eq(count, 2), e2, 0)));
  return mul(where(z, atZero, atNonzero), rest);
}

const prodOp = defineOp<ReduceParams>({
  name: 'prod',
  infer: ([x], p) => ({ shape: reducedShape(x.shape, p.dims, p.keepdim), dtype: p.dtype }),
  forward: (k, out, [x], p) => k.reduce('prod', keepdimView(out, x, p.dims), x._view()),
  saveOutput: true,
  vjp: (g, c) => [mul(unreduce(g, c.inShapes[0], c.params), prodOthers(c.inputs[0]!, c.out!, c.params))],
  jvp: ([t], c) => sum(mul(t!, prodOthers(c.inputs[0]!, c.out!, c.params)), c.params.dims, c.params.keepdim),
  flops: (ins) => numel(ins[0].shape),
  explain: (a) => [{ rhs: `expand(${a.dy}) ⊙ ∏_others(${a.x[0]})`, shapes: shapeText(a.outShape) }],
  int64Fix: "multiply in float64 instead: x.prod(dim, keepdim, {dtype: 'float64'})",
});

/** prod's and the other one-dim reductions' parameters by name: `x.argmax({dim: 1, keepdim: true})`. */
export interface DimOptions {
  dim?: number | null;
  keepdim?: boolean;
}
/** `prod(input, dim, keepdim=False, *, dtype=None)`: one dim only, unlike sum. */
const PROD_ARGS = {
  args: { input: tensor, dim: optional(nullable(dimArg)), keepdim: optional(bool) },
  options: { dtype: optional(dtypeArg) },
};
type DtypeOption = { dtype?: DType };
type ProdFn = (
  ...a: PyArgs<[input: Tensor], [dim: number | null, keepdim: boolean], DimOptions & DtypeOption>
) => Tensor;

/** Product of all elements, or along one dim. Integer and bool inputs multiply to int64, as in PyTorch. */
export const prod = testedOp({
  name: 'prod',
  fn: checked('prod', PROD_ARGS, (x: Tensor, dim?: number | null, keepdim = false, opts: DtypeOption = {}): Tensor => {
    const dtype = opts.dtype ?? accumulateDtype(x.dtype);
    x = reduceInput(x, dtype);
    if (dim === null || dim === undefined) {
      // All elements: flattened to one dim, so the zero-aware gradient needs only the one-dim rule.
      const flat = x.ndim === 0 ? x : reshape(x, [-1]);
      return apply(prodOp, [flat], reduceParams('prod', flat, flat.ndim ? 0 : null, false, dtype));
    }
    return apply(prodOp, [x], reduceParams('prod', x, normDim('prod', dim, x.ndim, x.shape), keepdim, dtype));
  }),
  samples: [
    { args: [[3, 4]] },
    { args: [[3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.prod(x, 1)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, -2, true), torch: 'lambda x: torch.prod(x, -2, keepdim=True)' },
    { args: [[]] },
    { args: [[]], call: (f, x) => f(x, 0, true), torch: 'lambda x: torch.prod(x, 0, keepdim=True)' },
    { args: [[3, 1]], call: (f, x) => f(x, -1), torch: 'lambda x: torch.prod(x, -1)' },
    { args: [[0, 3]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.prod(x, 0)' },
    { args: [[0, 3]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.prod(x, 1)' },
    { args: [{ shape: [4], values: [1.5, 0, -2, 0.5] }], note: 'one zero' },
    { args: [{ shape: [5], values: [1.5, 0, -2, 0, 0.5] }], note: 'two zeros' },
    {
      args: [
        {
          shape: [4, 3],
          values: [
            [2, 0, -1.5],
            [0.5, 1.25, -2],
            [0, 0, 1.5],
            [0, 0, 0],
          ],
        },
      ],
      call: (f, x) => f(x, 1),
      torch: 'lambda x: torch.prod(x, 1)',
      note: 'zero, none, two and three zeros per row',
    },
    {
      args: [
        {
          shape: [2, 3],
          values: [
            [2, 0, -1.5],
            [0, 1.25, 0],
          ],
        },
      ],
      call: (f, x) => f(x, 0, true),
      torch: 'lambda x: torch.prod(x, 0, keepdim=True)',
      note: 'zeros along dim 0',
    },
    {
      args: [{ shape: [3, 4], dtype: 'int64', low: -3, high: 3 }],
      call: (f, x) => f(x, 1),
      torch: 'lambda x: torch.prod(x, 1)',
      note: 'int64',
    },
    { args: [{ shape: [5], dtype: 'int32', values: [3, -1, 0, 2, 4] }], note: 'int32 to int64, with a zero' },
  ],
  torch: 'torch.prod',
}) as unknown as ProdFn;

// ----- amax / amin ---------------------------------------------------------------------------------------------

interface ExtremeParams extends ReduceParams {
  /** NaN-aware tie mask: max()/min() over everything (PyTorch's evenly_distribute_backward); amax/amin are not. */
  nanAware: boolean;
}

/** Each element's share of an extreme's gradient: 1/count where it attains the extreme (ties split evenly), else 0. */
function tieShare(x: Tensor, out: Tensor, p: ExtremeParams): Tensor {
  const o = kept(out, x.shape, p.dims);
  let hit = eq(x, o);
  if (p.nanAware) hit = logicalOr(hit, logicalAnd(ne(x, x), ne(o, o)));
  const m = toDtype(hit, x.dtype);
  return div(m, sum(m, p.dims, true));
}

function extremeOp(name: 'amax' | 'amin') {
  return defineOp<ExtremeParams>({
    name,
    infer: ([x], p) => ({ shape: reducedShape(x.shape, p.dims, p.keepdim), dtype: x.dtype }),
    forward: (k, out, [x], p) => k.reduce(name, keepdimView(out, x, p.dims), x._view()),
    saveOutput: true,
    vjp: (g, c) => [mul(unreduce(g, c.inShapes[0], c.params), tieShare(c.inputs[0]!, c.out!, c.params))],
    jvp: ([t], c) => sum(mul(t!, tieShare(c.inputs[0]!, c.out!, c.params)), c.params.dims, c.params.keepdim),
    flops: (ins) => numel(ins[0].shape),
    explain: (a) => [{ rhs: `expand(${a.dy}) ⊙ 1[${a.x[0]} = ${a.y}] / #ties`, shapes: `${shapeText(a.outShape)}` }],
  });
}
const amaxOp = extremeOp('amax');
const aminOp = extremeOp('amin');

function extreme(op: 'amax' | 'amin', name: string, x: Tensor, dim: Dims, keepdim: boolean, nanAware: boolean) {
  const given = dim !== null && dim !== undefined && !(Array.isArray(dim) && dim.length === 0);
  const dims = normDims(name, given ? dim : null, x.ndim, x.shape);
  checkNonEmpty(name, x, dims, given);
  return apply(op === 'amax' ? amaxOp : aminOp, [x], { dims, keepdim, dtype: x.dtype, nanAware });
}

/** `amax(input, dim=(), keepdim=False)`, amin's too. */
const EXTREME_ARGS = { args: { input: tensor, dim: optional(nullable(dimsArg)), keepdim: optional(bool) } };
type ExtremeFn = (...a: PyArgs<[input: Tensor], [dim: Dims | null, keepdim: boolean], ReduceOptions>) => Tensor;
/** Rows whose largest (row 0) and smallest (row 1) elements tie, and whose largest |x| ties too (for norm). */
const ties = [
  [3, -1, 3],
  [-2, -2, 0.5],
];
/** A zero row and a row with a zero element, for the roots and powers in norm. */
const zeroRow = [
  [0, 0, 0],
  [1.5, 0, -2],
];

/** The samples of amax and amin; `t` is the PyTorch function ('torch.amax'). */
const extremeSamples = (t: string): Sample<ExtremeFn>[] => [
  { args: [[3, 4]] },
  { args: [[3, 4]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
  { args: [[2, 3, 4]], call: (f, x) => f(x, [0, -1], true), torch: `lambda x: ${t}(x, [0, -1], keepdim=True)` },
  { args: [[]] },
  { args: [[]], call: (f, x) => f(x, -1, true), torch: `lambda x: ${t}(x, -1, keepdim=True)` },
  { args: [[3, 1]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
  { args: [[0, 3]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
];

/** Ties share the gradient evenly. */
const extremeTies = (t: string): Sample<ExtremeFn>[] => [
  { args: [{ shape: [2, 3], values: ties }], note: 'ties' },
  { args: [{ shape: [2, 3], values: ties }], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)`, note: 'ties' },
];

/**
 * The largest element over dim (one, several, or all when omitted). Where several elements tie for it, the
 * gradient is split evenly between them, as PyTorch's amax does (max(x, dim) gives it all to one instead).
 */
export const amax = testedOp({
  name: 'amax',
  fn: checked(
    'amax',
    EXTREME_ARGS,
    (x: Tensor, dim?: Dims, keepdim: boolean = false): Tensor => extreme('amax', 'amax', x, dim, keepdim, false),
  ) as ExtremeFn,
  samples: extremeSamples('torch.amax'),
  singularSamples: extremeTies('torch.amax'),
  torch: 'torch.amax',
});

/** The smallest element over dim; ties share the gradient evenly, as in amax. */
export const amin = testedOp({
  name: 'amin',
  fn: checked(
    'amin',
    EXTREME_ARGS,
    (x: Tensor, dim?: Dims, keepdim: boolean = false): Tensor => extreme('amin', 'amin', x, dim, keepdim, false),
  ) as ExtremeFn,
  samples: extremeSamples('torch.amin'),
  singularSamples: extremeTies('torch.amin'),
  torch: 'torch.amin',
});

// ----- argmax / argmin -----------------------------------------------------------------------------------------

function argOp(name: 'argmax' | 'argmin') {
  return defineOp<{ dim: number }>({
    name,
    infer: ([x], p) => ({ shape: reducedShape(x.shape, [p.dim], true), dtype: 'int32' }),
    overwrites: true,
    forward: (k, out, [x], p) => k.argReduce(name, out._view(), x._view(), p.dim),
    saveInputs: 'none',
    differentiable: false,
    flops: (ins) => numel(ins[0].shape),
  });
}
const argOps = { argmax: argOp('argmax'), argmin: argOp('argmin') };

/** Index of the first extreme along dim (kept as size 1), or into the flattened tensor when dim is null. */
function argExtreme(
  op: 'argmax' | 'argmin',
  name: string,
  x: Tensor,
  dim: number | null | undefined,
  keepdim: boolean,
) {
  if (dim === null || dim === undefined) {
    checkNonEmpty(name, x, normDims(name, null, x.ndim), false);
    const i = apply(argOps[op], [reshape(x, [-1])], { dim: 0 });
    return reshape(i, keepdim ? x.shape.map(() => 1) : []);
  }
  const d = normDim(name, dim, x.ndim, x.shape);
  if (x.ndim === 0) return reshape(apply(argOps[op], [reshape(x, [1])], { dim: 0 }), []);
  checkNonEmpty(name, x, [d], true);
  const i = apply(argOps[op], [x], { dim: d });
  return keepdim ? i : reshape(i, reducedShape(x.shape, [d], false));
}

/** `argmax(input, dim=None, keepdim=False)`, argmin's too. */
const ARG_ARGS = { args: { input: tensor, dim: optional(nullable(dimArg)), keepdim: optional(bool) } };
type ArgFn = (...a: PyArgs<[input: Tensor], [dim: number | null, keepdim: boolean], DimOptions>) => Tensor;
/** The samples of argmax and argmin; `t` is the PyTorch function ('torch.argmax'). */
const argSamples = (t: string): Sample<ArgFn>[] => [
  { args: [[3, 4]] },
  { args: [[3, 4]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
  { args: [[2, 3, 4]], call: (f, x) => f(x, -1, true), torch: `lambda x: ${t}(x, -1, keepdim=True)` },
  { args: [[2, 3]], call: (f, x) => f(x, null, true), torch: `lambda x: ${t}(x, None, keepdim=True)` },
  { args: [[]] },
  { args: [[]], call: (f, x) => f(x, 0), torch: `lambda x: ${t}(x, 0)` },
  { args: [[3, 1]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
  { args: [[0, 3]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
];

/** Index (int32) of the first largest element along dim, or into the flattened tensor; NaN counts as largest. */
export const argmax = testedOp({
  name: 'argmax',
  fn: checked(
    'argmax',
    ARG_ARGS,
    (x: Tensor, dim: number | null = null, keepdim: boolean = false): Tensor =>
      argExtreme('argmax', 'argmax', x, dim, keepdim),
  ) as ArgFn,
  differentiable: false,
  samples: argSamples('torch.argmax'),
  torch: 'torch.argmax',
});

/** Index (int32) of the first smallest element along dim, or into the flattened tensor; NaN counts as smallest. */
export const argmin = testedOp({
  name: 'argmin',
  fn: checked(
    'argmin',
    ARG_ARGS,
    (x: Tensor, dim: number | null = null, keepdim: boolean = false): Tensor =>
      argExtreme('argmin', 'argmin', x, dim, keepdim),
  ) as ArgFn,
  differentiable: false,
  samples: argSamples('torch.argmin'),
  torch: 'torch.argmin',
});

// ----- max / min -----------------------------------------------------------------------------------------------

/** max(x, dim)'s result: destructure it (`const [values, indices] = x.max(1)`) or read `.values` / `.indices`. */
export type ValuesIndices = [values: Tensor, indices: Tensor] & { readonly values: Tensor; readonly indices: Tensor };

function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

/**
 * x's elements at `index` (x's rank, 1 at d) along d, picked with a one-hot mask against arange, so the gradient
 * reaches only the selected element. (With a gather op this is gather(x, d, index).)
 */
function takeAlong(x: Tensor, d: number, index: Tensor, keepdim: boolean): Tensor {
  const n = x.shape[d];
  const hit = eq(
    reshape(
      arange(n),
      x.shape.map((_s, i) => (i === d ? n : 1)),
    ),
    index,
  );
  return sum(where(hit, x, 0, x.dtype), d, keepdim, { dtype: x.dtype });
}

function maxMin(
  name: 'max' | 'min',
  x: Tensor,
  dimOrOther?: number | Tensor,
  keepdim?: boolean,
): Tensor | ValuesIndices {
  if (dimOrOther instanceof Tensor) {
    if (keepdim !== undefined)
      throw new ValueError(
        `${name}: keepdim is for ${name}(x, dim), not for the elementwise ${name}(x, other); leave it out`,
      );
    return name === 'max' ? maximum(x, dimOrOther) : minimum(x, dimOrOther);
  }
  const op = name === 'max' ? 'amax' : 'amin';
  if (dimOrOther === undefined) {
    if (keepdim !== undefined)
      throw new ValueError(`${name}: keepdim needs a dim (${name}(x, dim, keepdim)); ${name}(x) reduces every element`);
    return extreme(op, name, x, null, false, true);
  }
  if (typeof dimOrOther !== 'number')
    throw new ValueError(`${name}: the second argument must be a dim (a number) or a Tensor, got ${typeof dimOrOther}`);
  const d = normDim(name, dimOrOther, x.ndim, x.shape);
  // A 0-d tensor is reduced as a one-element vector, then given back its rank.
  const x1 = x.ndim === 0 ? reshape(x, [1]) : x;
  const index = argExtreme(name === 'max' ? 'argmax' : 'argmin', name, x1, d, true);
  const outShape = reducedShape(x.shape, x.ndim ? [d] : [], keepdim ?? false);
  return valuesIndices(reshape(takeAlong(x1, d, index, true), outShape), reshape(index, outShape));
}

/**
 * PyTorch's `max(input)`, `max(input, dim, keepdim=False)` and `max(input, other)` as one signature: the second
 * parameter is a dim or the other tensor.
 */
const MAX_ARGS = { args: { input: tensor, dim: optional(union(dimArg, tensor)), keepdim: optional(bool) } };

/** max and min as called: PyTorch's three overloads, with dim and keepdim also by name. */
interface MaxMinFn {
  (x: Tensor): Tensor;
  (x: Tensor, dim: number, keepdim?: boolean | { keepdim?: boolean }): ValuesIndices;
  (x: Tensor, dim: number, keepdim: boolean | undefined, opts: { keepdim?: boolean }): ValuesIndices;
  (x: Tensor, opts: { dim: number; keepdim?: boolean }): ValuesIndices;
  (x: Tensor, other: Tensor): Tensor;
}
const maxFn = checked('max', MAX_ARGS, (x: Tensor, dimOrOther?: number | Tensor, keepdim?: boolean) =>
  maxMin('max', x, dimOrOther, keepdim),
) as MaxMinFn;
const minFn = checked('min', MAX_ARGS, (x: Tensor, dimOrOther?: number | Tensor, keepdim?: boolean) =>
  maxMin('min', x, dimOrOther, keepdim),
) as MaxMinFn;

/** The samples of max and min; `t` is the PyTorch function ('torch.max'). */
const maxMinSamples = (t: string): Sample<typeof maxFn>[] => [
  { args: [[3, 4]] },
  { args: [[3, 4]], call: (f, x) => f(x, 1).values, torch: `lambda x: ${t}(x, 1).values` },
  { args: [[3, 4]], call: (f, x) => f(x, 0)[0], torch: `lambda x: ${t}(x, 0)[0]`, note: 'destructured' },
  { args: [[2, 3, 4]], call: (f, x) => f(x, -1, true).values, torch: `lambda x: ${t}(x, -1, keepdim=True).values` },
  { args: [[]] },
  { args: [[]], call: (f, x) => f(x, 0, true).values, torch: `lambda x: ${t}(x, 0, keepdim=True).values` },
  { args: [[3, 1]], call: (f, x) => f(x, 1).values, torch: `lambda x: ${t}(x, 1).values` },
  { args: [[0, 3]], call: (f, x) => f(x, 1).values, torch: `lambda x: ${t}(x, 1).values` },
  {
    args: [
      [3, 4],
      [3, 4],
    ],
    note: 'elementwise overload',
  },
  { args: [[3, 4], [4]], note: 'elementwise overload, broadcast' },
];

/** max(x) splits the gradient between ties; max(x, dim) gives it to the first, the index it returns. */
const maxMinTies = (t: string): Sample<typeof maxFn>[] => [
  { args: [{ shape: [2, 3], values: ties }], note: 'ties' },
  {
    args: [{ shape: [2, 3], values: ties }],
    call: (f, x) => f(x, 1).values,
    torch: `lambda x: ${t}(x, 1).values`,
    note: 'ties',
  },
  {
    args: [
      { shape: [2, 3], values: ties },
      { shape: [3], values: [3, -2, 0] },
    ],
    note: 'elementwise overload, ties',
  },
];

/**
 * PyTorch's three max overloads: max(x) is the largest element (0-d; ties share the gradient evenly);
 * max(x, dim, keepdim) gives {values, indices} with the first largest element's index, and the values' gradient goes
 * to that element only; max(x, other) is maximum(x, other).
 */
export const max = testedOp({
  name: 'max',
  fn: maxFn,
  samples: maxMinSamples('torch.max'),
  singularSamples: maxMinTies('torch.max'),
  torch: 'torch.max',
});

/** PyTorch's three min overloads, as max. */
export const min = testedOp({
  name: 'min',
  fn: minFn,
  samples: maxMinSamples('torch.min'),
  singularSamples: maxMinTies('torch.min'),
  torch: 'torch.min',
});

// ----- var / std -----------------------------------------------------------------------------------------------

export interface VarOptions {
  dim?: Dims | null;
  /** Subtracted from the element count in the divisor: 1 (Bessel's correction, the default) or 0 (population). */
  correction?: number;
  /** PyTorch's older spelling: true is correction 1, false correction 0. */
  unbiased?: boolean;
  keepdim?: boolean;
}

/**
 * PyTorch's `var(input, dim=None, unbiased=True, keepdim=False, *, correction=None)`; `var(x, false)` is unbiased
 * false, as in PyTorch. Positional or in the options: `x.std(0, false)`, `x.var(0, {unbiased: false})`.
 */
const VAR_ARGS = {
  args: {
    input: tensor,
    dim: optional(nullable(union(dimsArg, bool))),
    unbiased: optional(bool),
    keepdim: optional(bool),
  },
  options: { correction: optional(number({ min: 0 })) },
};

/** var and std as called: PyTorch's overloads, with any parameter also by name. */
type VarFn = (
  x: Tensor,
  dim?: Dims | null | boolean | VarOptions,
  unbiased?: boolean | VarOptions,
  keepdim?: boolean | VarOptions,
  opts?: VarOptions,
) => Tensor;

/** The (dim, options) that var and std compute with, from PyTorch's overloads. */
function varParams(
  op: string,
  dim: Dims | boolean | undefined,
  unbiased: boolean | undefined,
  keepdim: boolean | undefined,
  opts: VarOptions,
): [Dims | undefined, VarOptions] {
  if (typeof dim === 'boolean') {
    if (unbiased !== undefined)
      throw new ValueError(`${op}: unbiased was given twice (as argument 2 and argument 3); give it once`);
    [unbiased, dim] = [dim, undefined];
  }
  if (unbiased !== undefined && opts.correction !== undefined)
    throw new ValueError(
      `${op}: give unbiased or correction, not both (unbiased ${unbiased} is correction ${unbiased ? 1 : 0})`,
    );
  const correction = opts.correction ?? (unbiased === false ? 0 : 1);
  return [dim, { correction, keepdim: keepdim ?? false }];
}

function checkFloat(op: string, x: Tensor): void {
  if (!isFloating(x.dtype))
    throw new DTypeError(
      `${op}: needs a floating-point tensor, got ${x.dtype} of shape ${fmtShape(x.shape)}; cast it with .float() or .double()`,
    );
}

function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  checkFloat('var', x);
  const keepdim = opts.keepdim ?? false;
  const p = reduceParams('var', x, dim, keepdim, x.dtype);
  const dev = sub(x, mean(x, p.dims, true));
  // PyTorch clamps the divisor at 0: too large a correction gives inf (or nan for a zero sum), not a sign flip.
  return div(sum(mul(dev, dev), p.dims, keepdim), Math.max(0, reducedSize(x, p.dims) - (opts.correction ?? 1)));
}

/** The samples of var and std; `t` is the PyTorch function ('torch.var'). */
const varSamples = (t: string): Sample[] => [
  { args: [[3, 4]], call: (f, x) => f(x, 0, false), torch: `lambda x: ${t}(x, 0, False)` },
  {
    args: [[3, 4]],
    call: (f, x) => f(x, 1, { unbiased: false, keepdim: true }),
    torch: `lambda x: ${t}(x, 1, unbiased=False, keepdim=True)`,
  },
  { args: [[3, 4]], call: (f, x) => f(x, false), torch: `lambda x: ${t}(x, False)` },
  { args: [[3, 4]] },
  { args: [[3, 4]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
  {
    args: [[2, 3, 4]],
    call: (f, x) => f(x, [0, -1], { keepdim: true }),
    torch: `lambda x: ${t}(x, [0, -1], keepdim=True)`,
  },
  { args: [[3, 4]], call: (f, x) => f(x, -1, { correction: 0 }), torch: `lambda x: ${t}(x, -1, correction=0)` },
  // No expanded variant: it would repeat one value down dim 0, where std (a root of 0) has no derivative.
  { args: [[3, 1]], call: (f, x) => f(x, 0), noVariants: true, torch: `lambda x: ${t}(x, 0)` },
  { args: [[0, 3]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
];

/** Variance over dim (all when omitted) with PyTorch's `correction` (default 1: the unbiased estimate). */
const var_ = testedOp({
  name: 'var',
  fn: checked(
    'var',
    VAR_ARGS,
    (x: Tensor, dim?: Dims | boolean, unbiased?: boolean, keepdim?: boolean, opts: VarOptions = {}): Tensor =>
      variance(x, ...varParams('var', dim, unbiased, keepdim, opts)),
  ) as VarFn,
  samples: [
    ...varSamples('torch.var'),
    {
      args: [[]],
      call: (f, x) => f(x, null, { correction: 0 }),
      torch: 'lambda x: torch.var(x, None, correction=0)',
    },
  ],
  torch: 'torch.var',
});

export { var_ as var };

/** Standard deviation: the square root of var, with the same options. */
export const std = testedOp({
  name: 'std',
  fn: checked(
    'std',
    VAR_ARGS,
    (x: Tensor, dim?: Dims | boolean, unbiased?: boolean, keepdim?: boolean, opts: VarOptions = {}): Tensor => {
      checkFloat('std', x);
      // At a zero variance PyTorch's gradient is 0, not the nan of the root's infinite slope times 0: the double
      // where keeps the root away from 0, as in norm.
      const v = variance(x, ...varParams('std', dim, unbiased, keepdim, opts));
      const zero = eq(v, 0);
      return where(zero, 0, sqrt(where(zero, 1, v)));
    },
  ) as VarFn,
  samples: varSamples('torch.std'),
  singularSamples: [
    {
      args: [
        {
          shape: [2, 3],
          values: [
            [1.5, 1.5, 1.5],
            [1, -2, 0.5],
          ],
        },
      ],
      call: (f, x) => f(x, 1),
      torch: 'lambda x: torch.std(x, 1)',
      note: 'a constant row',
    },
  ],
  torch: 'torch.std',
});

// ----- logsumexp -----------------------------------------------------------------------------------------------

/** `logsumexp(input, dim, keepdim=False)`. */
const LOGSUMEXP_ARGS = { args: { input: tensor, dim: dimsArg, keepdim: optional(bool) } };

/**
 * log Σ exp(x) over dim, computed as m + log Σ exp(x − m) with m the max, so exp never overflows. m is detached: it
 * only shifts the exponent and its gradient cancels. An infinite max is replaced by 0, as PyTorch does, so a slice
 * of all −inf gives −inf (not nan) and one holding +inf gives +inf. Integer inputs compute in the default float.
 */
export const logsumexp = testedOp({
  name: 'logsumexp',
  fn: checked('logsumexp', LOGSUMEXP_ARGS, (x: Tensor, dim: number | number[], keepdim = false): Tensor => {
    const xf = isFloating(x.dtype) ? x : toDtype(x, DEFAULT_FLOAT);
    const p = reduceParams('logsumexp', xf, dim, true, xf.dtype);
    // The raw amax: an empty slice gives −inf here (then 0 below), where the public amax would rightly refuse.
    const m = apply(amaxOp, [xf.detach()], { ...p, nanAware: false });
    const shift = where(eq(abs(m), Infinity), 0, m);
    const out = add(log(sum(exp(sub(xf, shift)), p.dims, true)), shift);
    return keepdim ? out : reshape(out, reducedShape(x.shape, p.dims, false));
  }),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.logsumexp(x, 1)' },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, [0, -1], true),
      torch: 'lambda x: torch.logsumexp(x, [0, -1], keepdim=True)',
    },
    { args: [[]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.logsumexp(x, 0)' },
    { args: [[3, 1]], call: (f, x) => f(x, -1), torch: 'lambda x: torch.logsumexp(x, -1)' },
    { args: [[0, 3]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.logsumexp(x, 1)' },
    {
      args: [
        {
          shape: [2, 3],
          values: [
            [1000, 1001, 999],
            [-1000, -1002, -1001],
          ],
        },
      ],
      call: (f, x) => f(x, 1),
      torch: 'lambda x: torch.logsumexp(x, 1)',
      note: 'large values',
    },
    {
      args: [
        {
          shape: [2, 3],
          values: [
            [0.5, -Infinity, 1.5],
            [-1, 2, -Infinity],
          ],
        },
      ],
      call: (f, x) => f(x, -1),
      torch: 'lambda x: torch.logsumexp(x, -1)',
      note: '−inf entries',
    },
  ],
}) as unknown as (...a: PyArgs<[input: Tensor, dim: Dims], [keepdim: boolean], { keepdim?: boolean }>) => Tensor;

// ----- norm ----------------------------------------------------------------------------------------------------

/**
 * |x|^p for p < 1, whose slope is infinite at 0, where PyTorch gives the element no gradient: the base never sees a 0
 * (0^p is 0 for p > 0 and inf for p < 0), so no inf·0 = nan reaches the gradient.
 */
function powAwayFromZero(x: Tensor, p: number): Tensor {
  const zero = eq(x, 0);
  return where(zero, p > 0 ? 0 : Infinity, pow(where(zero, 1, abs(x)), p));
}

/** A vector norm's order: any number (Infinity and -Infinity included), or 'fro' (the 2-norm over one or two dims). */
export type NormOrd = number | 'fro';
/** norm's parameters by name: `x.norm(2, {dim: 1, keepdim: true})`. */
export interface VectorNormOptions {
  p?: NormOrd;
  dim?: Dims | null;
  keepdim?: boolean;
}
/** `norm(input, p='fro', dim=None, keepdim=False)` (its out and dtype parameters have no counterpart here). */
const NORM_ARGS = {
  args: {
    input: tensor,
    p: optional(union(number({ infinite: true }), oneOf(['fro']))),
    dim: optional(nullable(dimsArg)),
    keepdim: optional(bool),
  },
};
type NormFn = (
  ...a: PyArgs<[input: Tensor], [p: NormOrd, dim: Dims | null, keepdim: boolean], VectorNormOptions>
) => Tensor;

/**
 * PyTorch's torch.norm as a vector norm over dim (all when omitted): (Σ|x|^p)^(1/p), p = ±Infinity the max/min of
 * |x|, p = 0 the count of nonzeros. At a zero slice the gradient is 0, as PyTorch defines it, not the nan the
 * root's infinite slope would give; so is a zero element's for p < 1, where |x|^p has that slope.
 */
export const norm = testedOp({
  name: 'norm',
  fn: checked('norm', NORM_ARGS, (x: Tensor, p: NormOrd = 'fro', dim?: Dims, keepdim: boolean = false): Tensor => {
    checkFloat('norm', x);
    if (p === 'fro') {
      if (Array.isArray(dim) && dim.length > 2)
        throw new ShapeError(
          `norm: 'fro' takes at most 2 dims, got dim ${fmtShape(dim)} for a tensor of shape ${fmtShape(x.shape)}; ` +
            'use p = 2 for the 2-norm over more dims',
        );
      p = 2;
    }
    if (typeof p !== 'number' || Number.isNaN(p))
      throw new ValueError(`norm: p must be a number, Infinity, -Infinity or 'fro', got ${String(p)}`);
    const dims = normDims('norm', dim, x.ndim, x.shape);
    if (p === Infinity || p === -Infinity) {
      checkNonEmpty('norm', x, dims, dim !== null && dim !== undefined);
      return apply(p > 0 ? amaxOp : aminOp, [abs(x)], { dims, keepdim, dtype: x.dtype, nanAware: false });
    }
    if (p === 0) return sum(toDtype(ne(x, 0), x.dtype), dims, keepdim);
    if (p === 1) return sum(abs(x), dims, keepdim);
    const s = sum(p === 2 ? mul(x, x) : p < 1 ? powAwayFromZero(x, p) : pow(abs(x), p), dims, keepdim);
    if (p < 0) return pow(s, 1 / p);
    // The double where: the root never sees a 0, so no inf·0 = nan reaches the gradient of a zero slice.
    const zero = eq(s, 0);
    const safe = where(zero, 1, s);
    return where(zero, 0, p === 2 ? sqrt(safe) : pow(safe, 1 / p));
  }) as NormFn,
  samples: [
    { args: [[3, 4]] },
    { args: [[3, 4]], call: (f, x) => f(x, 1, 1), torch: 'lambda x: torch.norm(x, 1, 1)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, 3, [0, -1], true), torch: 'lambda x: torch.norm(x, 3, [0, -1], True)' },
    { args: [[3, 4]], call: (f, x) => f(x, Infinity, 1), torch: "lambda x: torch.norm(x, float('inf'), 1)" },
    { args: [[3, 4]], call: (f, x) => f(x, -Infinity), torch: "lambda x: torch.norm(x, float('-inf'))" },
    { args: [[3, 4]], call: (f, x) => f(x, 'fro', [0, 1]), torch: "lambda x: torch.norm(x, 'fro', [0, 1])" },
    {
      args: [{ shape: [3, 4], low: 0.5, high: 2 }],
      call: (f, x) => f(x, 0.5, -1),
      torch: 'lambda x: torch.norm(x, 0.5, -1)',
    },
    { args: [[]] },
    { args: [[3, 1]], call: (f, x) => f(x, 2, 1), torch: 'lambda x: torch.norm(x, 2, 1)' },
    { args: [[0, 3]], call: (f, x) => f(x, 2, 0), torch: 'lambda x: torch.norm(x, 2, 0)' },
  ],
  singularSamples: [
    { args: [{ shape: [2, 3], values: zeroRow }], call: (f, x) => f(x, 2, 1), torch: 'lambda x: torch.norm(x, 2, 1)' },
    { args: [{ shape: [2, 3], values: zeroRow }], call: (f, x) => f(x, 3, 1), torch: 'lambda x: torch.norm(x, 3, 1)' },
    {
      args: [{ shape: [2, 3], values: zeroRow }],
      call: (f, x) => f(x, 0.5, 1),
      torch: 'lambda x: torch.norm(x, 0.5, 1)',
    },
    {
      args: [{ shape: [2, 3], values: zeroRow }],
      call: (f, x) => f(x, -1, 1),
      torch: 'lambda x: torch.norm(x, -1, 1)',
    },
    {
      args: [{ shape: [2, 3], values: ties }],
      call: (f, x) => f(x, Infinity, 1),
      torch: "lambda x: torch.norm(x, float('inf'), 1)",
      note: 'ties',
    },
  ],
  torch: 'torch.norm',
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    sum(dim?: Dims | null | ReduceOptions, keepdim?: boolean | ReduceOptions, opts?: ReduceOptions): Tensor;
    mean(dim?: Dims | null | ReduceOptions, keepdim?: boolean | ReduceOptions, opts?: ReduceOptions): Tensor;
    prod(...a: PyArgs<[], [dim: number | null, keepdim: boolean], DimOptions & { dtype?: DType }>): Tensor;
    amax(...a: PyArgs<[], [dim: Dims | null, keepdim: boolean], ReduceOptions>): Tensor;
    amin(...a: PyArgs<[], [dim: Dims | null, keepdim: boolean], ReduceOptions>): Tensor;
    argmax(...a: PyArgs<[], [dim: number | null, keepdim: boolean], DimOptions>): Tensor;
    argmin(...a: PyArgs<[], [dim: number | null, keepdim: boolean], DimOptions>): Tensor;
    max(): Tensor;
    max(dim: number, keepdim?: boolean | { keepdim?: boolean }): ValuesIndices;
    max(dim: number, keepdim: boolean | undefined, opts: { keepdim?: boolean }): ValuesIndices;
    max(opts: { dim: number; keepdim?: boolean }): ValuesIndices;
    max(other: Tensor): Tensor;
    min(): Tensor;
    min(dim: number, keepdim?: boolean | { keepdim?: boolean }): ValuesIndices;
    min(dim: number, keepdim: boolean | undefined, opts: { keepdim?: boolean }): ValuesIndices;
    min(opts: { dim: number; keepdim?: boolean }): ValuesIndices;
    min(other: Tensor): Tensor;
    var(
      dim?: Dims | null | boolean | VarOptions,
      unbiased?: boolean | VarOptions,
      keepdim?: boolean | VarOptions,
      opts?: VarOptions,
    ): Tensor;
    std(
      dim?: Dims | null | boolean | VarOptions,
      unbiased?: boolean | VarOptions,
      keepdim?: boolean | VarOptions,
      opts?: VarOptions,
    ): Tensor;
    logsumexp(dim: Dims, keepdim?: boolean | { keepdim?: boolean }): Tensor;
    norm(...a: PyArgs<[], [p: NormOrd, dim: Dims | null, keepdim: boolean], VectorNormOptions>): Tensor;
  }
}
/** A checked function as installMethods takes it; the method's declared types are the Tensor interface's above. */
const asMethod = (f: (...a: never[]) => unknown) => f as (self: Tensor, ...a: unknown[]) => unknown;
installMethods({
  sum,
  mean,
  prod: asMethod(prod),
  amax: asMethod(amax),
  amin: asMethod(amin),
  argmax: asMethod(argmax),
  argmin: asMethod(argmin),
  max: asMethod(maxFn),
  min: asMethod(minFn),
  var: var_,
  std,
  logsumexp: asMethod(logsumexp),
  norm: asMethod(norm),
});
