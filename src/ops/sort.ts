/**
 * @file Ordering: argsort is the primitive (one kernel: the stable permutation that sorts each line; nothing else
 * computes it), and sort and topk are compositions: their indices are argsort's (topk's the first k of them) and
 * their values are gather(x, dim, indices), so the values' gradient is scatterAdd's — it flows back through the
 * indices to the elements that were picked — and their JVP and higher derivatives come from gather.
 */
import { bool, checked, dim, int, optional, tensor } from '../core/args.js';
import { fmtShape, ValueError } from '../core/errors.js';
import { normDim } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, defineOp } from './define.js';
import { gather } from './indexing.js';
import { installMethods } from './methods.js';
import type { ValuesIndices } from './reduce.js';
import { type Sample, testedOp } from './registry.js';
import { reshape, slice } from './shape.js';

interface ArgsortParams {
  dim: number;
  descending: boolean;
}

// A primitive because nothing composes to it: a permutation per line, found by comparisons.
const argsortOp = defineOp<ArgsortParams>({
  name: 'argsort',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: 'int32' }),
  overwrites: true,
  forward: (k, out, [x], p) => k.argsort(out._view(), x._view(), p.dim, p.descending),
  saveInputs: 'none',
  differentiable: false,
  flops: () => 0,
});

/**
 * The sorting indices of x along dim (int32, x's shape) and x seen as at least 1-D: a 0-d tensor sorts as one
 * element, as PyTorch's does.
 */
function order(op: string, x: Tensor, d: number, descending: boolean): { x1: Tensor; dim: number; index: Tensor } {
  const dimN = normDim(op, d, x.ndim, x.shape);
  const x1 = x.ndim === 0 ? reshape(x, [1]) : x;
  return { x1, dim: dimN, index: apply(argsortOp, [x1], { dim: dimN, descending }) };
}

function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

/** The values at `index` along dim, given back x's rank (a 0-d input gives 0-d results). */
function pick(x: Tensor, x1: Tensor, d: number, index: Tensor): ValuesIndices {
  const values = gather(x1, d, index);
  return x.ndim === 0 ? valuesIndices(reshape(values, []), reshape(index, [])) : valuesIndices(values, index);
}

export interface SortOptions {
  /**
   * Keep equal elements in their original order. Our sort is always stable, so this only documents the intent (with
   * PyTorch's stable=False the order of ties is unspecified, and the stable order is one valid answer).
   */
  stable?: boolean;
}

/** Options by name, as PyTorch's keywords: `sort(x, {dim: 0, descending: true, stable: true})`. */
export interface SortKeywords extends SortOptions {
  dim?: number;
  descending?: boolean;
}

/** sort's call forms: positional, or any parameter from dim on given by name. */
export interface SortFn {
  (input: Tensor, dim?: number, descending?: boolean, opts?: SortOptions): ValuesIndices;
  (input: Tensor, dim: number, opts: Omit<SortKeywords, 'dim'>): ValuesIndices;
  (input: Tensor, opts: SortKeywords): ValuesIndices;
}
/** argsort's call forms, as sort's. */
export interface ArgsortFn {
  (input: Tensor, dim?: number, descending?: boolean, opts?: SortOptions): Tensor;
  (input: Tensor, dim: number, opts: Omit<SortKeywords, 'dim'>): Tensor;
  (input: Tensor, opts: SortKeywords): Tensor;
}

const sortSignature = {
  args: { input: tensor, dim: optional(dim), descending: optional(bool) },
  options: { stable: optional(bool) },
};

/**
 * x sorted along dim (default the last), ascending unless `descending`, as {values, indices} (destructure it as
 * `const [values, indices] = x.sort()`). NaN sorts as the largest value, as in PyTorch; ties keep their order. The
 * values' gradient goes back to the element each value came from.
 */
function sortFn(input: Tensor, dim = -1, descending = false, _opts: SortOptions = {}): ValuesIndices {
  const { x1, dim: d, index } = order('sort', input, dim, descending);
  return pick(input, x1, d, index);
}

/** Rows with repeated values (ties) and a NaN, for the stable order and the NaN rule. */
const ties = [
  [1.5, -0.5, 1.5, 0.25, -0.5],
  [2, 2, -1, 2, 0.5],
];
const withNan = [
  [0.5, Number.NaN, -1, 2],
  [Number.NaN, 1, Number.NaN, -2],
];

export const sort = testedOp({
  name: 'sort',
  fn: checked('sort', sortSignature, sortFn) as SortFn,
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x).values, torch: 'lambda x: torch.sort(x).values' },
    {
      args: [[3, 4]],
      call: (f, x) => f(x, 0, true).values,
      torch: 'lambda x: torch.sort(x, 0, True).values',
    },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, 1, { stable: true })[0],
      torch: 'lambda x: torch.sort(x, dim=1, stable=True)[0]',
      note: 'destructured, stable as an option',
    },
    { args: [[]], call: (f, x) => f(x).values, torch: 'lambda x: torch.sort(x).values' },
    { args: [[3, 1]], call: (f, x) => f(x, -1, true).values, torch: 'lambda x: torch.sort(x, -1, True).values' },
    { args: [[0, 3]], call: (f, x) => f(x, 1).values, torch: 'lambda x: torch.sort(x, 1).values' },
  ],
  // Ties and NaN: not differentiable there, but the gradient goes where PyTorch's stable sort sends it.
  singularSamples: [
    {
      args: [{ shape: [2, 5], values: ties }],
      call: (f, x) => f(x, -1, false, { stable: true }).values,
      torch: 'lambda x: torch.sort(x, stable=True, dim=-1, descending=False).values',
      note: 'ties',
    },
    {
      args: [{ shape: [2, 5], values: ties }],
      call: (f, x) => f(x, 1, true, { stable: true }).values,
      torch: 'lambda x: torch.sort(x, stable=True, dim=1, descending=True).values',
      note: 'ties, descending',
    },
    {
      args: [{ shape: [2, 4], values: withNan }],
      call: (f, x) => f(x, 1, false, { stable: true }).values,
      torch: 'lambda x: torch.sort(x, stable=True, dim=1, descending=False).values',
      note: 'NaN sorts last',
    },
    {
      args: [{ shape: [2, 4], values: withNan }],
      call: (f, x) => f(x, 1, true, { stable: true }).values,
      torch: 'lambda x: torch.sort(x, stable=True, dim=1, descending=True).values',
      note: 'NaN sorts first when descending',
    },
  ],
});

/** The int32 indices that sort x along dim: sort(x, dim, descending).indices. Not differentiable. */
export const argsort = testedOp({
  name: 'argsort',
  fn: checked(
    'argsort',
    sortSignature,
    (input: Tensor, dim: number = -1, descending: boolean = false, _opts: SortOptions = {}): Tensor => {
      const { index } = order('argsort', input, dim, descending);
      return input.ndim === 0 ? reshape(index, []) : index;
    },
  ) as ArgsortFn,
  differentiable: false,
  samples: [
    { args: [[3, 4]] },
    { args: [[3, 4]], call: (f, x) => f(x, 0, true), torch: 'lambda x: torch.argsort(x, 0, True)' },
    { args: [[]] },
    { args: [[0, 3]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.argsort(x, 1)' },
    {
      args: [{ shape: [2, 5], values: ties }],
      call: (f, x) => f(x, -1, false, { stable: true }),
      torch: 'lambda x: torch.argsort(x, stable=True, dim=-1, descending=False)',
      note: 'ties keep their order',
    },
    {
      args: [{ shape: [2, 5], values: ties }],
      call: (f, x) => f(x, -1, true, { stable: true }),
      torch: 'lambda x: torch.argsort(x, stable=True, dim=-1, descending=True)',
      note: 'ties keep their order, descending',
    },
    {
      args: [{ shape: [2, 4], values: withNan }],
      call: (f, x) => f(x, 1, true, { stable: true }),
      torch: 'lambda x: torch.argsort(x, stable=True, dim=1, descending=True)',
      note: 'NaN',
    },
  ] satisfies Sample<ArgsortFn>[],
  torch: 'torch.argsort',
});

/**
 * The k largest (or, with largest = false, smallest) elements along dim (default the last), as {values, indices}:
 * in order from the most extreme when `sorted` (the default); unsorted results come back sorted too, which is one of
 * the orders PyTorch allows. NaN counts as the largest value. Ties go to the lower index.
 */
function topkFn(input: Tensor, k: number, dim = -1, largest = true, _sorted = true): ValuesIndices {
  const d = normDim('topk', dim, input.ndim, input.shape);
  const size = input.ndim === 0 ? 1 : input.shape[d];
  if (k > size)
    throw new ValueError(
      `topk: k = ${k} is out of range for dim ${dim} of size ${size} (input is ${input.dtype} ` +
        `${fmtShape(input.shape)}); k must be in [0, ${size}]: pick fewer elements, or another dim`,
    );
  const { x1, dim: dn, index } = order('topk', input, d, largest);
  const first = k === size ? index : slice(index, dn, 0, k);
  return pick(input, x1, dn, first);
}

export const topk = testedOp({
  name: 'topk',
  fn: checked(
    'topk',
    {
      args: {
        input: tensor,
        k: int({ min: 0 }),
        dim: optional(dim),
        largest: optional(bool),
        sorted: optional(bool),
      },
    },
    topkFn,
  ),
  samples: [
    { args: [[3, 5]], call: (f, x) => f(x, 2).values, torch: 'lambda x: torch.topk(x, 2).values' },
    {
      args: [[4, 3]],
      call: (f, x) => f(x, 3, 0, false).values,
      torch: 'lambda x: torch.topk(x, 3, 0, False).values',
      note: 'smallest',
    },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, 4, -1)[0],
      torch: 'lambda x: torch.topk(x, 4, -1)[0]',
      note: 'k = the whole dim, destructured',
    },
    {
      args: [[2, 6]],
      // PyTorch leaves the order of sorted=False results open; both sides are put in one order to compare them.
      call: (f, x) => sort(f(x, 3, 1, true, false).values, 1).values,
      torch: 'lambda x: torch.sort(torch.topk(x, 3, 1, True, False).values, 1).values',
      note: 'sorted = false',
    },
    { args: [[]], call: (f, x) => f(x, 1).values, torch: 'lambda x: torch.topk(x, 1).values' },
    { args: [[3, 4]], call: (f, x) => f(x, 0).values, torch: 'lambda x: torch.topk(x, 0).values', note: 'k = 0' },
  ],
  singularSamples: [
    {
      args: [{ shape: [2, 4], values: withNan }],
      call: (f, x) => f(x, 2, 1).values,
      torch: 'lambda x: torch.topk(x, 2, 1).values',
      note: 'NaN counts as the largest',
    },
  ],
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    sort(dim?: number, descending?: boolean, opts?: SortOptions): ValuesIndices;
    sort(dim: number, opts: Omit<SortKeywords, 'dim'>): ValuesIndices;
    sort(opts: SortKeywords): ValuesIndices;
    argsort(dim?: number, descending?: boolean, opts?: SortOptions): Tensor;
    argsort(dim: number, opts: Omit<SortKeywords, 'dim'>): Tensor;
    argsort(opts: SortKeywords): Tensor;
    topk(k: number, dim?: number, largest?: boolean, sorted?: boolean): ValuesIndices;
  }
}
installMethods({ sort, argsort, topk });
