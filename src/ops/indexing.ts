/**
 * @file Indexing by integer tensors: gather and scatterAdd are the primitive pair (each is the other's adjoint),
 * indexSelect is gather over an expanded index, maskedFill is where, and oneHot is a comparison with arange. Index
 * tensors are int32 or int64, never differentiated, and every index value is checked against its dim before a kernel runs,
 * so an out-of-range index throws an IndexError instead of reading or writing outside the buffer.
 */
import type { View } from '../backend/backend.js';
import { checked, custom, dim as dimArg, optional, scalarOrTensor, tensor } from '../core/args.js';
import { intValue, isInteger } from '../core/dtype.js';
import { DTypeError, fmtPosition, fmtShape, IndexError, ShapeError, ValueError } from '../core/errors.js';
import { broadcastShapes, normDim, numel, sameShape } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { arange, zeros } from './creation.js';
import { apply, defineOp, type OpDef, shapeText } from './define.js';
import { eq, toDtype, where } from './elementwise.js';
import { pad } from './join.js';
import { installMethods } from './methods.js';
import { testedOp } from './registry.js';
import { isTensor } from './scalar.js';
import { expand, reshape, unsqueeze } from './shape.js';

/** Kernels index along a dim, so a 0-d operand is seen as 1-D of size 1 (PyTorch treats it the same way). */
function v1(t: Tensor): View {
  const v = t._view();
  return t.ndim === 0 ? { ...v, shape: [1], strides: [1] } : v;
}

function checkIndexDtype(op: string, index: Tensor, shapes: string): void {
  if (!isInteger(index.dtype))
    throw new DTypeError(
      `${op}: the index must be an int32 or int64 tensor, got ${index.dtype} (${shapes}); cast it with .int() or ` +
        `.long(), or create it with {dtype: 'int32'}`,
    );
}

/** Every index value in [0, size), or an IndexError naming the value, the position, the dim and its size. */
function checkIndexRange(op: string, index: Tensor, dim: number, size: number, shapes: string): void {
  const vals = index.dataSync();
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if (v >= 0 && v < size) continue;
    const range =
      size === 0 ? `dim ${dim} has size 0, so no index is valid` : `indices must be in [0, ${size - 1}] (size ${size})`;
    throw new IndexError(
      `${op}: index ${v} at position ${fmtPosition(index.shape, i)} of the index is out of range for dim ${dim} ` +
        `(${shapes}); ${range}${v < 0 ? '; negative indices are not wrapped, add the dim size first' : ''}`,
    );
  }
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
const rank = (t: Tensor) => Math.max(t.ndim, 1);
const size = (t: Tensor, d: number) => (t.ndim === 0 ? 1 : t.shape[d]);

// ----- gather / scatterAdd -------------------------------------------------------------------------------------

interface DimParams {
  dim: number;
}

const gatherOp: OpDef<DimParams> = defineOp<DimParams>({
  name: 'gather',
  infer: ([x, index]) => ({ shape: index.shape.slice(), dtype: x.dtype }),
  overwrites: true,
  forward: (k, out, [x, index], p) => k.gather(v1(out), v1(x), p.dim, v1(index)),
  nondiffInputs: [1],
  // Only the index is needed backward.
  saveInputs: [1],
  linear: true,
  vjp: (g, c) => [apply(scatterAddOp, [zeros(c.inShapes[0], { dtype: g.dtype }), c.inputs[1]!, g], c.params), null],
  flops: () => 0,
  explain: ({ x, dy, params, outShape }) => [
    { rhs: `zeros.scatterAdd(${params.dim}, ${x[1]}, ${dy})`, shapes: shapeText(outShape) },
    null,
  ],
});

const scatterAddOp: OpDef<DimParams> = defineOp<DimParams>({
  name: 'scatterAdd',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  forward: (k, out, [x, index, src], p) => {
    k.copy(out._view(), x._view());
    k.scatterAdd(v1(out), p.dim, v1(index), v1(src));
  },
  nondiffInputs: [1],
  saveInputs: [1],
  linear: true,
  vjp: (g, c) => {
    const index = c.inputs[1]!;
    if (!c.needs[2]) return [g, null, null];
    const srcShape = c.inShapes[2];
    let gs = apply(gatherOp, [g, index], c.params);
    // A 0-d src (index [1]) is reached by the engine's sum; a 0-d index picks src[0] of a 1-D src.
    if (srcShape.length === 0 || sameShape(gs.shape, srcShape)) return [g, null, gs];
    if (gs.ndim === 0) gs = reshape(gs, [1]);
    // src may be larger than the index; the elements the index does not reach get no gradient.
    const widths: number[] = [];
    for (let d = srcShape.length - 1; d >= 0; d--) widths.push(0, srcShape[d] - gs.shape[d]);
    return [g, null, pad(gs, widths)];
  },
  flops: (ins) => numel(ins[1].shape),
  explain: ({ x, dy, params, outShape }) => [
    dy,
    null,
    { rhs: `gather(${dy}, ${params.dim}, ${x[1]})`, shapes: shapeText(outShape) },
  ],
});

/** The shape rule shared by gather and scatterAdd: same rank, and the index fits inside x off `dim`. */
function checkIndexShape(op: string, x: Tensor, index: Tensor, d: number, shapes: string): void {
  if (rank(index) !== rank(x))
    throw new ShapeError(
      `${op}: the index has ${plural(index.ndim, 'dim')} but x has ${x.ndim} (${shapes}); they need the same number of ` +
        `dims: unsqueeze the index`,
    );
  // An empty index selects nothing, so PyTorch skips the size check for it.
  if (index.numel() === 0) return;
  for (let j = 0; j < index.ndim; j++)
    if (j !== d && index.shape[j] > size(x, j))
      throw new ShapeError(
        `${op}: the index is larger than x at dim ${j} (${index.shape[j]} > ${size(x, j)}; ${shapes}); off the ` +
          `${op} dim ${d}, index.size(d) must be ≤ x.size(d): slice the index or expand x`,
      );
}

/** PyTorch's `gather(input, dim, index)` (its sparse_grad keyword has no counterpart: gradients are dense). */
const INDEX_ARGS = { args: { input: tensor, dim: dimArg, index: tensor } };

/** out[i][j] = x[index[i][j]][j] for dim 0 (likewise for other dims); the result has the index's shape. */
export const gather = testedOp({
  name: 'gather',
  fn: checked('gather', INDEX_ARGS, (x: Tensor, dim: number, index: Tensor): Tensor => {
    const shapes = `x has shape ${fmtShape(x.shape)}, index has shape ${fmtShape(index.shape)}`;
    const d = normDim('gather', dim, x.ndim, x.shape);
    checkIndexDtype('gather', index, shapes);
    checkIndexShape('gather', x, index, d, shapes);
    checkIndexRange('gather', index, d, size(x, d), shapes);
    return apply(gatherOp, [x, index], { dim: d });
  }),
  samples: [
    {
      args: [[3, 4], { shape: [2, 4], dtype: 'int32', low: 0, high: 3 }],
      call: (f, x, i) => f(x, 0, i),
      torch: 'lambda x, i: torch.gather(x, 0, i)',
    },
    {
      args: [[3, 4], { shape: [3, 6], dtype: 'int32', low: 0, high: 4 }],
      call: (f, x, i) => f(x, -1, i),
      torch: 'lambda x, i: torch.gather(x, -1, i)',
    },
    {
      args: [
        [3, 4],
        {
          shape: [2, 3],
          dtype: 'int32',
          values: [
            [0, 0, 3],
            [2, 2, 2],
          ],
        },
      ],
      call: (f, x, i) => f(x, 1, i),
      torch: 'lambda x, i: torch.gather(x, 1, i)',
      note: 'duplicate indices',
    },
    {
      args: [[], { shape: [], dtype: 'int32', values: 0 }],
      call: (f, x, i) => f(x, 0, i),
      torch: 'lambda x, i: torch.gather(x, 0, i)',
    },
    {
      args: [[0, 3], { shape: [0, 2], dtype: 'int32' }],
      call: (f, x, i) => f(x, 1, i),
      torch: 'lambda x, i: torch.gather(x, 1, i)',
    },
    {
      args: [[3, 4], { shape: [3, 2], dtype: 'int64', low: 0, high: 4 }],
      call: (f, x, i) => f(x, 1, i),
      torch: 'lambda x, i: torch.gather(x, 1, i)',
      note: 'int64 index',
    },
  ],
});

/** `scatter_add(input, dim, index, src)`. */
const SCATTER_ADD_ARGS = {
  args: { ...INDEX_ARGS.args, src: { ...tensor, what: 'a Tensor (make one with ad.full(index.shape, value))' } },
};

/**
 * x with src added at the indexed positions along dim: out[index[i][j]][j] += src[i][j] for dim 0. Repeated indices
 * accumulate. src needs x's dtype and may be larger than the index (its extra elements are ignored).
 */
export const scatterAdd = testedOp({
  name: 'scatterAdd',
  fn: checked('scatterAdd', SCATTER_ADD_ARGS, (x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor => {
    const shapes =
      `x has shape ${fmtShape(x.shape)}, index has shape ${fmtShape(index.shape)}, ` +
      `src has shape ${fmtShape(src.shape)}`;
    const d = normDim('scatterAdd', dim, x.ndim, x.shape);
    checkIndexDtype('scatterAdd', index, shapes);
    if (src.dtype !== x.dtype)
      throw new DTypeError(
        `scatterAdd: src is ${src.dtype} but x is ${x.dtype} (${shapes}); they need the same dtype: cast src with ` +
          `.to('${x.dtype}')`,
      );
    checkIndexShape('scatterAdd', x, index, d, shapes);
    if (rank(src) !== rank(index))
      throw new ShapeError(
        `scatterAdd: src has ${plural(src.ndim, 'dim')} but the index has ${index.ndim} (${shapes}); they need the same number of dims`,
      );
    if (index.numel() !== 0)
      for (let j = 0; j < index.ndim; j++)
        if (index.shape[j] > size(src, j))
          throw new ShapeError(
            `scatterAdd: the index is larger than src at dim ${j} (${index.shape[j]} > ${size(src, j)}; ${shapes}); ` +
              `every index.size(d) must be ≤ src.size(d), since each index picks the src element at its own position`,
          );
    checkIndexRange('scatterAdd', index, d, size(x, d), shapes);
    return apply(scatterAddOp, [x, index, src], { dim: d });
  }),

  samples: [
    {
      args: [[3, 4], { shape: [2, 4], dtype: 'int32', low: 0, high: 3 }, [2, 4]],
      call: (f, x, i, s) => f(x, 0, i, s),
      torch: 'lambda x, i, s: torch.scatter_add(x, 0, i, s)',
    },
    {
      args: [
        [3, 4],
        {
          shape: [2, 3],
          dtype: 'int32',
          values: [
            [0, 0, 3],
            [1, 1, 1],
          ],
        },
        [2, 5],
      ],
      call: (f, x, i, s) => f(x, -1, i, s),
      // PyTorch 1.13's scatter_add backward rejects a src larger than the index, so the expression crops src to the
      // part the index reads (the same forward; the rest gets a zero gradient either way).
      torch: 'lambda x, i, s: torch.scatter_add(x, -1, i, s[:2, :3])',
      note: 'duplicates, src larger than the index',
    },
    {
      args: [[3, 4], { shape: [4, 2], dtype: 'int32', low: 0, high: 3 }, [5, 3]],
      call: (f, x, i, s) => f(x, -2, i, s),
      torch: 'lambda x, i, s: torch.scatter_add(x, -2, i, s[:4, :2])',
    },
    {
      args: [[], { shape: [], dtype: 'int32', values: 0 }, []],
      call: (f, x, i, s) => f(x, 0, i, s),
      torch: 'lambda x, i, s: torch.scatter_add(x, 0, i, s)',
    },
    {
      args: [[0, 3], { shape: [0, 3], dtype: 'int32' }, [0, 3]],
      call: (f, x, i, s) => f(x, 1, i, s),
      torch: 'lambda x, i, s: torch.scatter_add(x, 1, i, s)',
    },
    {
      args: [[3, 4], { shape: [2, 4], dtype: 'int64', low: 0, high: 3 }, [2, 4]],
      call: (f, x, i, s) => f(x, 0, i, s),
      torch: 'lambda x, i, s: torch.scatter_add(x, 0, i, s)',
      note: 'int64 index',
    },
  ],
});

// ----- indexSelect ---------------------------------------------------------------------------------------------

/**
 * The entries of x at the given positions along dim (a 1-D or 0-d int32 or int64 index; repeats allowed). Composed as gather
 * over the index expanded to x's shape, so the gradient is gather's adjoint: index_add of g into zeros.
 */
export const indexSelect = testedOp({
  name: 'indexSelect',
  fn: checked('indexSelect', INDEX_ARGS, (x: Tensor, dim: number, index: Tensor): Tensor => {
    const shapes = `x has shape ${fmtShape(x.shape)}, index has shape ${fmtShape(index.shape)}`;
    const d = normDim('indexSelect', dim, x.ndim, x.shape);
    checkIndexDtype('indexSelect', index, shapes);
    if (index.ndim > 1)
      throw new ShapeError(
        `indexSelect: the index must be 1-D or 0-d (${shapes}); flatten it, or use gather for an index per element`,
      );
    if (x.ndim === 0 && index.numel() !== 1)
      throw new ShapeError(`indexSelect: a 0-d x takes exactly one index (0), but ${shapes}`);
    checkIndexRange('indexSelect', index, d, size(x, d), shapes);
    if (x.ndim === 0) return apply(gatherOp, [x, reshape(index, [])], { dim: 0 });
    const k = index.numel();
    const line = x.shape.map((_, j) => (j === d ? k : 1));
    const full = x.shape.map((s, j) => (j === d ? k : s));
    return apply(gatherOp, [x, expand(reshape(index, line), full)], { dim: d });
  }),
  samples: [
    {
      args: [[4, 3], { shape: [3], dtype: 'int32', values: [3, 0, 3] }],
      call: (f, x, i) => f(x, 0, i),
      torch: 'lambda x, i: torch.index_select(x, 0, i)',
    },
    {
      args: [[2, 5], { shape: [2], dtype: 'int32', values: [4, 1] }],
      call: (f, x, i) => f(x, -1, i),
      torch: 'lambda x, i: torch.index_select(x, -1, i)',
    },
    {
      args: [[3, 4], { shape: [], dtype: 'int32', values: 2 }],
      call: (f, x, i) => f(x, 1, i),
      torch: 'lambda x, i: torch.index_select(x, 1, i)',
    },
    {
      args: [[], { shape: [1], dtype: 'int32', values: [0] }],
      call: (f, x, i) => f(x, 0, i),
      torch: 'lambda x, i: torch.index_select(x, 0, i)',
    },
    {
      args: [[3, 4], { shape: [0], dtype: 'int32', values: [] }],
      call: (f, x, i) => f(x, 0, i),
      torch: 'lambda x, i: torch.index_select(x, 0, i)',
    },
    {
      args: [[4, 3], { shape: [3], dtype: 'int64', values: [2, 0, 2] }],
      call: (f, x, i) => f(x, 0, i),
      torch: 'lambda x, i: torch.index_select(x, 0, i)',
      note: 'int64 index',
    },
  ],
});

// ----- maskedFill ----------------------------------------------------------------------------------------------

/** `masked_fill(input, mask, value)`. */
const MASKED_FILL_ARGS = { args: { input: tensor, mask: tensor, value: scalarOrTensor } };

/**
 * x with `value` wherever the bool mask is true; the mask broadcasts to x, and the result keeps x's shape and dtype.
 * A 0-d tensor value receives the gradient of the filled positions.
 */
export const maskedFill = testedOp({
  name: 'maskedFill',
  fn: checked('maskedFill', MASKED_FILL_ARGS, (x: Tensor, mask: Tensor, value: number | boolean | Tensor): Tensor => {
    const shapes = `x has shape ${fmtShape(x.shape)}, mask has shape ${fmtShape(mask.shape)}`;
    if (mask.dtype !== 'bool')
      throw new DTypeError(
        `maskedFill: the mask must be a bool tensor, got ${mask.dtype} (${shapes}); compare to get one (m.ne(0))`,
      );
    const b = broadcastShapes('maskedFill', x.shape, mask.shape);
    if (!sameShape(b, x.shape))
      throw new ShapeError(
        `maskedFill: the mask would broadcast x to ${fmtShape(b)} (${shapes}); the result keeps x's shape, so the ` +
          `mask must broadcast to x: drop its extra dims or expand x first`,
      );
    let v: number | boolean | Tensor = value;
    // Into an integer x a number truncates toward zero and must fit, as PyTorch's masked_fill checks.
    if (typeof value === 'number' && isInteger(x.dtype)) v = intValue('maskedFill', value, x.dtype);
    if (isTensor(value)) {
      if (value.ndim !== 0)
        throw new ShapeError(
          `maskedFill: a tensor value must be 0-d, got shape ${fmtShape(value.shape)} (${shapes}); use where() to ` +
            `fill from a tensor`,
        );
      v = toDtype(value, x.dtype);
    }
    return where(mask, v, x, x.dtype);
  }),

  samples: [
    {
      args: [[3, 4], { shape: [3, 4], dtype: 'bool' }],
      call: (f, x, m) => f(x, m, 0.5),
      torch: 'lambda x, m: x.masked_fill(m, 0.5)',
    },
    {
      args: [[3, 4], { shape: [4], dtype: 'bool' }],
      call: (f, x, m) => f(x, m, -1),
      torch: 'lambda x, m: x.masked_fill(m, -1)',
    },
    {
      args: [[3, 4], { shape: [3, 1], dtype: 'bool', values: [[true], [false], [true]] }, []],
      call: (f, x, m, v) => f(x, m, v),
      torch: 'lambda x, m, v: x.masked_fill(m, v)',
    },
    {
      args: [[], { shape: [], dtype: 'bool', values: true }],
      call: (f, x, m) => f(x, m, 2),
      torch: 'lambda x, m: x.masked_fill(m, 2)',
    },
    {
      args: [[0, 3], { shape: [3], dtype: 'bool' }],
      call: (f, x, m) => f(x, m, 2),
      torch: 'lambda x, m: x.masked_fill(m, 2)',
    },
  ],
});

// ----- oneHot --------------------------------------------------------------------------------------------------

/** F.one_hot's `one_hot(tensor, num_classes=-1)`; numClasses is -1 (infer) or at least 1. */
const ONE_HOT_ARGS = {
  args: {
    tensor,
    numClasses: optional(
      custom<number>(
        '-1 (infer) or a whole number ≥ 1',
        (v) => Number.isSafeInteger(v) && ((v as number) === -1 || (v as number) >= 1),
        'number',
        3,
      ),
    ),
  },
};

/**
 * A tensor with a trailing dim of numClasses that is 1 at each index and 0 elsewhere (F.one_hot), of the indices'
 * dtype (int32 or int64; PyTorch takes and gives int64); -1 infers numClasses as the largest index + 1. No gradient.
 */
export const oneHot = testedOp({
  name: 'oneHot',
  fn: checked('oneHot', ONE_HOT_ARGS, (indices: Tensor, numClasses = -1): Tensor => {
    const at = `indices have shape ${fmtShape(indices.shape)}`;
    if (!isInteger(indices.dtype))
      throw new DTypeError(
        `oneHot: indices must be int32 or int64, got ${indices.dtype} (${at}); cast them with .int() or .long()`,
      );
    if (!Number.isInteger(numClasses) || (numClasses !== -1 && numClasses < 1))
      throw new ValueError(`oneHot: numClasses must be -1 (infer) or a whole number ≥ 1, got ${numClasses} (${at})`);
    const vals = indices.dataSync();
    let n = numClasses;
    if (n === -1 && vals.length === 0)
      throw new ValueError(`oneHot: cannot infer numClasses from empty indices (${at}); pass numClasses`);
    let hi = 0;
    for (let i = 0; i < vals.length; i++) {
      if (vals[i] < 0)
        throw new IndexError(
          `oneHot: class ${vals[i]} at position ${fmtPosition(indices.shape, i)} is negative (${at}); classes must be ≥ 0`,
        );
      if (vals[i] > vals[hi]) hi = i;
    }
    if (n === -1) n = vals[hi] + 1;
    else if (vals.length && vals[hi] >= n)
      throw new IndexError(
        `oneHot: class ${vals[hi]} at position ${fmtPosition(indices.shape, hi)} is out of range for numClasses ${n} ` +
          `(${at}); classes must be in [0, ${n - 1}]: raise numClasses or fix the labels`,
      );
    return toDtype(eq(unsqueeze(indices, -1), arange(n)), indices.dtype);
  }),

  differentiable: false,
  samples: [
    { args: [{ shape: [3], dtype: 'int32', values: [0, 2, 1] }] },
    {
      args: [
        {
          shape: [2, 2],
          dtype: 'int32',
          values: [
            [1, 0],
            [3, 3],
          ],
        },
      ],
      call: (f, i) => f(i, 5),
      torch: 'lambda i: F.one_hot(i, 5)',
    },
    { args: [{ shape: [], dtype: 'int32', values: 2 }] },
    { args: [{ shape: [0], dtype: 'int32', values: [] }], call: (f, i) => f(i, 3), torch: 'lambda i: F.one_hot(i, 3)' },
    { args: [{ shape: [4], dtype: 'int64', values: [3, 0, 1, 3] }], note: 'int64 indices give int64' },
  ],
  torch: 'F.one_hot',
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    gather(dim: number, index: Tensor): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
    maskedFill(mask: Tensor, value: number | boolean | Tensor): Tensor;
  }
}

installMethods({ gather, scatterAdd, indexSelect, maskedFill });
