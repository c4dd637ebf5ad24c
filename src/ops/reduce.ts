/**
 * @file Reductions. sum is the primitive whose adjoint is broadcasting (expand); mean, var and the rest compose.
 */

import type { View } from '../backend/backend.js';
import { type DType, isFloating } from '../core/dtype.js';
import { contiguousStrides, normDims, numel, reducedShape } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, defineOp } from './define.js';
import { div } from './elementwise.js';
import { installMethods } from './methods.js';
import { testedOp } from './registry.js';
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

const sumOp = defineOp<ReduceParams>({
  name: 'sum',
  infer: ([x], p) => ({ shape: reducedShape(x.shape, p.dims, p.keepdim), dtype: p.dtype }),
  forward: (k, out, [x], p) => k.reduce('sum', keepdimView(out, x, p.dims), x._view()),
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [unreduce(g, c.inShapes[0], c.params)],
  flops: (ins) => numel(ins[0].shape),
});

/** Sum over dim (one, several, or all when omitted). Integer and bool inputs sum to int32. */
export const sum = testedOp({
  name: 'sum',
  fn: (x: Tensor, dim?: Dims, keepdim = false, opts: { dtype?: DType } = {}): Tensor => {
    const dtype = opts.dtype ?? (isFloating(x.dtype) ? x.dtype : 'int32');
    return apply(sumOp, [x], reduceParams('sum', x, dim, keepdim, dtype));
  },
  samples: [
    { args: [[3, 4]] },
    { args: [[3, 4]], call: (f, x) => f(x, 1) },
    { args: [[2, 3, 4]], call: (f, x) => f(x, [0, -1], true) },
    { args: [[]], call: (f, x) => f(x, 0) },
    { args: [[0, 3]], call: (f, x) => f(x, 0) },
  ],
});

/** Mean over dim (all when omitted). */
export const mean = testedOp({
  name: 'mean',
  fn: (x: Tensor, dim?: Dims, keepdim = false): Tensor => {
    const p = reduceParams('mean', x, dim, keepdim, x.dtype);
    const n = p.dims.reduce((a, d) => a * x.shape[d], 1);
    return div(sum(x, dim, keepdim), n);
  },
  samples: [
    { args: [[3, 4]] },
    { args: [[3, 4]], call: (f, x) => f(x, -1, true) },
    { args: [[2, 3, 4]], call: (f, x) => f(x, [0, 2]) },
  ],
});

/** Sums g down to `shape` (broadcasting's adjoint): over leading dims and over dims where shape has 1. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const s = dims.length ? sum(g, dims, true) : g;
  return reshape(s, shape as number[]);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    sum(dim?: Dims, keepdim?: boolean, opts?: { dtype?: DType }): Tensor;
    mean(dim?: Dims, keepdim?: boolean): Tensor;
  }
}
installMethods({ sum, mean });
