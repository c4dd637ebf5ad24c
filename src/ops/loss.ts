/**
 * @file Loss functions with PyTorch 1.13's semantics: crossEntropy, nllLoss, mseLoss, l1Loss, smoothL1Loss,
 * binaryCrossEntropy and binaryCrossEntropyWithLogits (torch.nn.functional's cross_entropy, ...). All are
 * compositions of differentiable ops (logSoftmax, gather, where, sum, ...), so gradients, second derivatives and
 * JVPs come from the ops they are built of — except binaryCrossEntropy's elementwise term, a primitive for numerical
 * stability (see bceOp). Every check — options, shapes, dtypes, class-index ranges, probability ranges — runs in the
 * public function before anything is computed.
 */
import { checked, custom, int as intArg, nullable, number, oneOf, optional, tensor } from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { isFloating, isInteger, promoteTypes } from '../core/dtype.js';
import { DTypeError, fmtPosition, fmtShape, IndexError, ShapeError, ValueError } from '../core/errors.js';
import { numel, sameShape } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, bview, defineOp } from './define.js';
import { abs, add, clamp, div, exp, log, lt, mul, ne, neg, relu, rsub, sub, toDtype, where } from './elementwise.js';
import { gather, indexSelect } from './indexing.js';
import { mean, sum } from './reduce.js';
import { type Sample, testedOp } from './registry.js';
import { isTensor } from './scalar.js';
import { reshape, squeeze, unsqueeze } from './shape.js';
import { logSoftmax } from './softmax.js';

export type Reduction = 'none' | 'mean' | 'sum';

export interface ReductionOptions {
  /** 'mean' (the default) averages the per-element losses, 'sum' adds them, 'none' returns them. */
  reduction?: Reduction;
}
export interface NllLossOptions extends ReductionOptions {
  /** A rescaling weight per class, shape [C]. */
  weight?: Tensor | null;
  /** A target value that is ignored: it adds nothing to the loss or to the 'mean' divisor. Default -100. */
  ignoreIndex?: number;
}
export interface CrossEntropyOptions extends NllLossOptions {
  /** In [0, 1]: the target becomes (1 − ε)·target + ε/C, a mix with the uniform distribution. Default 0. */
  labelSmoothing?: number;
}
export interface SmoothL1LossOptions extends ReductionOptions {
  /** Where the loss turns from quadratic to linear; ≥ 0, default 1 (0 gives l1Loss). */
  beta?: number;
}
export interface BinaryCrossEntropyOptions extends ReductionOptions {
  /** A rescaling weight per element, broadcast to the input's shape. */
  weight?: Tensor | null;
}
export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** A weight on the positive term per class (the last dim), broadcast to the input's shape. */
  posWeight?: Tensor | null;
}

// ----- shared checks -------------------------------------------------------------------------------------------

// The loss parameters PyTorch's functions and loss modules share; the modules (src/nn/loss.ts) declare theirs with
// these too.

/**
 * PyTorch's deprecated size_average and reduce, declared in their places so the positional parameters after them
 * line up with PyTorch's; any value but null (what PyTorch's default None means) says what to use instead.
 */
const deprecated = (name: string, use: string) =>
  optional(custom<null>(`null (${name} is deprecated in PyTorch: use ${use})`, (v) => v === null, 'deprecated', null));
export const SIZE_AVERAGE = deprecated('size_average', "reduction: 'mean' or 'sum'");
export const REDUCE = deprecated('reduce', "reduction: 'none' for the per-element losses");
export const REDUCTION = optional(oneOf(['mean', 'sum', 'none'] as const));
export const WEIGHT = optional(nullable(tensor));
/** The snake_case names that the camelCase rule would map to a deprecated parameter. */
export const RENAMES = { size_average: "reduction: 'mean' or 'sum' (size_average is deprecated)" };

/** `mse_loss(input, target, size_average=None, reduce=None, reduction='mean')`, the regression losses' signature. */
const REGRESSION_ARGS = {
  args: { input: tensor, target: tensor, sizeAverage: SIZE_AVERAGE, reduce: REDUCE, reduction: REDUCTION },
  renames: RENAMES,
};

function checkTensor(op: string, what: string, t: unknown, at: string): asserts t is Tensor {
  if (!isTensor(t))
    throw new ValueError(
      `${op}: ${what} must be a Tensor, got ${t === null ? 'null' : typeof t} (${at}); make one with ad.tensor(...)`,
    );
}

function checkFloat(op: string, what: string, t: Tensor, at: string): void {
  if (!isFloating(t.dtype))
    throw new DTypeError(`${op}: ${what} must be floating point, got ${t.dtype} (${at}); cast it with ${what}.float()`);
}

function checkSameShape(op: string, input: Tensor, target: Tensor): void {
  if (!sameShape(input.shape, target.shape))
    throw new ShapeError(
      `${op}: input is ${fmtShape(input.shape)} but target is ${fmtShape(target.shape)}; they must have the same ` +
        `shape (broadcasting here is almost always a bug): reshape one to the other's shape, e.g. ` +
        `target.reshape(${fmtShape(input.shape)}), or expand it explicitly if broadcasting is what you want`,
    );
}

/** A weight must broadcast to the input without growing it: the loss keeps the input's shape. */
function checkBroadcastsTo(op: string, what: string, w: Tensor, input: Tensor, at: string): void {
  const lead = input.ndim - w.ndim;
  if (lead >= 0 && w.shape.every((n, i) => n === 1 || n === input.shape[lead + i])) return;
  throw new ShapeError(
    `${op}: ${at}; ${what} must broadcast to the input's shape: each of its dims, aligned from the right, must be ` +
      `1 or match the input's ` +
      `(e.g. ${fmtShape(input.shape.map((n, i) => (i === input.ndim - 1 ? n : 1)))} per column, ` +
      `${fmtShape(input.shape.map((n, i) => (i === 0 ? n : 1)))} per row)`,
  );
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? loss : reduction === 'sum' ? sum(loss) : mean(loss);
}

// ----- nllLoss / crossEntropy ----------------------------------------------------------------------------------

interface ClassSpec {
  reduction: Reduction;
  weight: Tensor | null;
  ignoreIndex: number;
  labelSmoothing: number;
  /** The class dim of the input: 1, or 0 for an unbatched [C] input. */
  classDim: number;
  classes: number;
  /** Class indices (int32 or int64, the input's shape without the class dim) or probabilities (the input's shape). */
  probabilities: boolean;
}

/**
 * Every check of nllLoss and crossEntropy, in order: options, input, weight, the target's kind (from its shape),
 * dtype and, for class indices, every value's range.
 */
function classSpec(
  op: 'crossEntropy' | 'nllLoss',
  input: Tensor,
  target: Tensor,
  opts: CrossEntropyOptions,
): ClassSpec {
  const ce = op === 'crossEntropy';
  checkTensor(op, 'input', input, 'the first argument');
  checkTensor(op, 'target', target, `input is ${fmtShape(input.shape)}`);
  let at = `input is ${fmtShape(input.shape)}, target is ${fmtShape(target.shape)}`;
  const reduction = opts.reduction ?? 'mean';
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const labelSmoothing = opts.labelSmoothing ?? 0;
  if (input.ndim === 0)
    throw new ShapeError(
      `${op}: input is 0-d but needs a class dim (${at}); give scores of shape [C], [N, C] or [N, C, d1, ...]`,
    );
  checkFloat(op, 'input', input, at);

  const classDim = input.ndim === 1 ? 0 : 1;
  const classes = input.shape[classDim];
  const weight = opts.weight ?? null;
  if (weight !== null) {
    checkTensor(op, 'weight', weight, at);
    at += `, weight is ${fmtShape(weight.shape)}`;
    if (weight.ndim !== 1 || weight.shape[0] !== classes)
      throw new ShapeError(
        `${op}: weight must be [${classes}], one entry per class (dim ${classDim} of the input), but ${at}`,
      );
    checkFloat(op, 'weight', weight, at);
  }

  const indexShape = input.shape.filter((_, d) => d !== classDim);
  const isIndexShape = sameShape(target.shape, indexShape);
  const isProbShape = sameShape(target.shape, input.shape);
  if (!isIndexShape && !(ce && isProbShape)) {
    const probs = ce ? ` or ${fmtShape(input.shape)} (probabilities)` : '';
    const hint =
      !ce && isProbShape
        ? '; nllLoss takes class indices only: for class probabilities use crossEntropy on the logits'
        : input.ndim > 2
          ? `; the classes are dim 1 of the input`
          : '';
    throw new ShapeError(
      `${op}: input is ${fmtShape(input.shape)} but target is ${fmtShape(target.shape)}; target must be ` +
        `${fmtShape(indexShape)} (class indices)${probs}${hint}`,
    );
  }
  if (isIndexShape && !isInteger(target.dtype))
    throw new DTypeError(
      `${op}: target is ${target.dtype} ${fmtShape(target.shape)}, the shape of class indices for an input of ` +
        `${fmtShape(input.shape)}, but class indices must be int32 or int64; cast it with target.int() or .long()` +
        (ce ? ` (or give class probabilities of shape ${fmtShape(input.shape)})` : ''),
    );
  if (isProbShape && !isFloating(target.dtype))
    throw new DTypeError(
      `${op}: target is ${target.dtype} ${fmtShape(target.shape)}, the input's shape, so it holds class ` +
        `probabilities, which must be floating point; cast it with target.float() (or give class indices of ` +
        `shape ${fmtShape(indexShape)})`,
    );

  if (isIndexShape) {
    const vals = target.dataSync();
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i];
      if ((v >= 0 && v < classes) || v === ignoreIndex) continue;
      const range =
        classes === 0
          ? 'the input has no classes, so no index is valid'
          : `class indices must be in [0, ${classes - 1}]`;
      throw new IndexError(
        `${op}: target ${v} at position ${fmtPosition(target.shape, i)} is out of range for ${classes} classes (${at}); ` +
          `${range}, or equal ignoreIndex (${ignoreIndex}) to be ignored`,
      );
    }
  } else if (ignoreIndex >= 0)
    throw new ValueError(
      `${op}: ignoreIndex (${ignoreIndex}) is not supported with class-probability targets (${at}); leave it out, ` +
        `or give class indices of shape ${fmtShape(indexShape)}`,
    );
  return { reduction, weight, ignoreIndex, labelSmoothing, classDim, classes, probabilities: !isIndexShape };
}

/** The weight seen with 1s after the class dim, so it broadcasts along the input's classes. */
function classView(w: Tensor, s: ClassSpec, ndim: number): Tensor {
  return reshape(
    w,
    Array.from({ length: ndim - s.classDim }, (_, i) => (i === 0 ? s.classes : 1)),
  );
}

/**
 * −Σ weight·log p over the non-ignored targets, with label smoothing's uniform term, reduced as PyTorch does:
 * 'mean' divides by the summed weight of the non-ignored targets (their count without a weight). lp is the
 * log-probabilities: logSoftmax's output for crossEntropy, the input itself for nllLoss.
 */
function classIndexLoss(lp: Tensor, target: Tensor, s: ClassSpec): Tensor {
  const mask = ne(target, s.ignoreIndex);
  // Ignored targets (−100 by default) pick class 0 instead, then their term is replaced by 0 with where, not
  // multiplied by 0, so a −inf log-probability there cannot turn into nan.
  const safe = where(mask, target, 0);
  const picked = squeeze(gather(lp, s.classDim, unsqueeze(safe, s.classDim)), s.classDim);
  const wt = s.weight && reshape(indexSelect(s.weight, 0, reshape(safe, [-1])), target.shape.slice());
  let loss = where(mask, wt ? mul(neg(picked), wt) : neg(picked), 0);
  if (s.labelSmoothing > 0) {
    // The uniform part: −Σ_c w_c log p_c per target, weighted by every class's weight (not the target's).
    const wlp = s.weight ? mul(lp, classView(s.weight, s, lp.ndim)) : lp;
    const smooth = where(mask, neg(sum(wlp, s.classDim)), 0);
    loss = add(mul(loss, 1 - s.labelSmoothing), mul(smooth, s.labelSmoothing / s.classes));
  }
  if (s.reduction !== 'mean') return reduce(loss, s.reduction);
  const total = wt ? sum(where(mask, wt, 0)) : sum(toDtype(mask, loss.dtype));
  return div(sum(loss), total);
}

/** −Σ_c weight_c·target_c·log p_c per position; 'mean' divides by the number of positions (not by the weights). */
function probabilityLoss(lp: Tensor, target: Tensor, s: ClassSpec): Tensor {
  const t = s.labelSmoothing > 0 ? add(mul(target, 1 - s.labelSmoothing), s.labelSmoothing / s.classes) : target;
  const tlp = mul(lp, t);
  const loss = neg(sum(s.weight ? mul(tlp, classView(s.weight, s, lp.ndim)) : tlp, s.classDim));
  if (s.reduction !== 'mean') return reduce(loss, s.reduction);
  return div(sum(loss), s.classes === 0 ? 0 : numel(lp.shape) / s.classes);
}

/** `nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean')`. */
const NLL_ARGS = {
  args: {
    input: tensor,
    target: tensor,
    weight: WEIGHT,
    sizeAverage: SIZE_AVERAGE,
    ignoreIndex: optional(intArg()),
    reduce: REDUCE,
    reduction: REDUCTION,
  },
  renames: RENAMES,
};
type NllPositional = [
  weight: Tensor | null,
  sizeAverage: null,
  ignoreIndex: number,
  reduce: null,
  reduction: Reduction,
];
type CrossEntropyFn = (
  ...a: PyArgs<[input: Tensor, target: Tensor], [...NllPositional, labelSmoothing: number], CrossEntropyOptions>
) => Tensor;

const int = (shape: number[], high: number) => ({ shape, dtype: 'int32' as const, low: 0, high });
const ints = (values: number[]) => ({ shape: [values.length], dtype: 'int32' as const, values });
const classWeight = (n: number) => ({ shape: [n], low: 0.2, high: 2, grad: false });
const probs = (shape: number[]) => ({ shape, low: 0, high: 1 });
/** Probabilities kept off 0 and 1, where the loss has no finite derivative for finite differences. */
const unit = (shape: number[]) => ({ shape, low: 0.05, high: 0.95 });

const crossEntropySamples: Sample<CrossEntropyFn>[] = [
  { args: [[4, 5], int([4], 5)] },
  {
    args: [[4, 5], int([4], 5), classWeight(5)],
    call: (f, x, t, w) => f(x, t, { weight: w }),
    torch: 'lambda x, t, w: F.cross_entropy(x, t, weight=w)',
    note: 'weight',
  },
  {
    args: [[4, 5], ints([1, -100, 3, -100]), classWeight(5)],
    call: (f, x, t, w) => f(x, t, { weight: w }),
    torch: 'lambda x, t, w: F.cross_entropy(x, t, weight=w)',
    note: 'weight, some targets ignored',
  },
  {
    args: [[4, 5], ints([1, 0, 3, 0])],
    call: (f, x, t) => f(x, t, { ignoreIndex: 0, reduction: 'sum' }),
    torch: "lambda x, t: F.cross_entropy(x, t, ignore_index=0, reduction='sum')",
    note: 'a class as ignoreIndex',
  },
  {
    args: [[4, 5], int([4], 5)],
    call: (f, x, t) => f(x, t, { reduction: 'none' }),
    torch: "lambda x, t: F.cross_entropy(x, t, reduction='none')",
  },
  {
    args: [[4, 5], ints([2, -100, 4, 0])],
    call: (f, x, t) => f(x, t, { labelSmoothing: 0.1 }),
    torch: 'lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1)',
    note: 'label smoothing, one target ignored',
  },
  {
    args: [[4, 5], ints([2, -100, 4, 0]), classWeight(5)],
    call: (f, x, t, w) => f(x, t, { weight: w, labelSmoothing: 0.1 }),
    torch: 'lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1)',
    note: 'label smoothing, weight, one target ignored',
  },
  {
    args: [[4, 5], ints([2, -100, 4, 0]), classWeight(5)],
    call: (f, x, t, w) => f(x, t, { weight: w, labelSmoothing: 0.2, reduction: 'none' }),
    torch: "lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2, reduction='none')",
  },
  {
    args: [
      [2, 3, 2, 2],
      {
        shape: [2, 2, 2],
        dtype: 'int32',
        values: [
          [
            [0, 2],
            [1, -100],
          ],
          [
            [2, 2],
            [0, 1],
          ],
        ],
      },
      classWeight(3),
    ],
    call: (f, x, t, w) => f(x, t, { weight: w }),
    torch: 'lambda x, t, w: F.cross_entropy(x, t, weight=w)',
    note: 'spatial [N, C, H, W]',
  },
  { args: [[5], { shape: [], dtype: 'int32', values: 3 }], note: 'unbatched [C] with a 0-d target' },
  {
    args: [[0, 3], int([0], 3)],
    call: (f, x, t) => f(x, t, { reduction: 'sum' }),
    torch: "lambda x, t: F.cross_entropy(x, t, reduction='sum')",
  },
  { args: [[3, 4], probs([3, 4])], note: 'probabilities' },
  {
    args: [[3, 4], probs([3, 4]), classWeight(4)],
    call: (f, x, t, w) => f(x, t, { weight: w, labelSmoothing: 0.1 }),
    torch: 'lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1)',
    note: 'probabilities, weight, label smoothing',
  },
  {
    args: [[2, 3, 4], probs([2, 3, 4])],
    call: (f, x, t) => f(x, t, { reduction: 'none' }),
    torch: "lambda x, t: F.cross_entropy(x, t, reduction='none')",
    note: 'spatial probabilities',
  },
  { args: [[4], probs([4])], note: 'unbatched probabilities' },
  {
    args: [
      {
        shape: [2, 3],
        values: [
          [1000, 1001, 1002],
          [-1000, -1000.5, -999],
        ],
      },
      ints([0, 2]),
    ],
    note: 'large logits',
  },
  {
    args: [[4, 5], { shape: [4], dtype: 'int64', values: [4, -100, 0, 2] }, classWeight(5)],
    call: (f, x, t, w) => f(x, t, { weight: w }),
    torch: 'lambda x, t, w: F.cross_entropy(x, t, weight=w)',
    note: 'int64 targets, one ignored',
  },
];

/**
 * The cross entropy between the softmax of the input (unnormalised scores, class dim 1, or 0 for a [C] input) and
 * the target: class indices (int32 or int64, the input's shape without the class dim; ignoreIndex ones are skipped) or class
 * probabilities (the input's shape). Built on logSoftmax, so large scores are safe.
 */
export const crossEntropy = testedOp({
  name: 'crossEntropy',
  fn: checked(
    'crossEntropy',
    { ...NLL_ARGS, args: { ...NLL_ARGS.args, labelSmoothing: optional(number({ min: 0, max: 1 })) } },
    (
      input: Tensor,
      target: Tensor,
      weight?: Tensor | null,
      _sizeAverage?: null,
      ignoreIndex?: number,
      _reduce?: null,
      reduction?: Reduction,
      labelSmoothing?: number,
    ): Tensor => {
      const s = classSpec('crossEntropy', input, target, { weight, ignoreIndex, reduction, labelSmoothing });
      const lp = logSoftmax(input, s.classDim);
      return s.probabilities ? probabilityLoss(lp, target, s) : classIndexLoss(lp, target, s);
    },
  ) as CrossEntropyFn,
  samples: crossEntropySamples,
  torch: 'F.cross_entropy',
});

/** The negative log-likelihood of the target classes, given log-probabilities (e.g. from logSoftmax). */
export const nllLoss = testedOp({
  name: 'nllLoss',
  fn: checked(
    'nllLoss',
    NLL_ARGS,
    (
      input: Tensor,
      target: Tensor,
      weight?: Tensor | null,
      _sizeAverage?: null,
      ignoreIndex?: number,
      _reduce?: null,
      reduction?: Reduction,
    ): Tensor => classIndexLoss(input, target, classSpec('nllLoss', input, target, { weight, ignoreIndex, reduction })),
  ) as (...a: PyArgs<[input: Tensor, target: Tensor], NllPositional, NllLossOptions>) => Tensor,
  samples: [
    { args: [[4, 5], int([4], 5)] },
    {
      args: [[4, 5], ints([1, -100, 3, 1]), classWeight(5)],
      call: (f, x, t, w) => f(x, t, { weight: w }),
      torch: 'lambda x, t, w: F.nll_loss(x, t, weight=w)',
      note: 'weight, one target ignored',
    },
    {
      args: [[4, 5], ints([1, 2, 3, 2])],
      call: (f, x, t) => f(x, t, { ignoreIndex: 2, reduction: 'sum' }),
      torch: "lambda x, t: F.nll_loss(x, t, ignore_index=2, reduction='sum')",
    },
    {
      args: [[2, 3, 4], int([2, 4], 3), classWeight(3)],
      call: (f, x, t, w) => f(x, t, { weight: w, reduction: 'none' }),
      torch: "lambda x, t, w: F.nll_loss(x, t, weight=w, reduction='none')",
      note: 'spatial',
    },
    { args: [[3], { shape: [], dtype: 'int32', values: 1 }], note: 'unbatched' },
    {
      args: [[0, 3], int([0], 3)],
      call: (f, x, t) => f(x, t, { reduction: 'sum' }),
      torch: "lambda x, t: F.nll_loss(x, t, reduction='sum')",
    },
    { args: [[4, 3], { shape: [4], dtype: 'int64', values: [2, 0, 1, 2] }], note: 'int64 targets' },
  ],
  torch: 'F.nll_loss',
});

// ----- regression losses ---------------------------------------------------------------------------------------

function regressionChecks(op: string, input: Tensor, target: Tensor): void {
  const at = `input is ${fmtShape(input.shape)}, target is ${fmtShape(target.shape)}`;
  checkFloat(op, 'input', input, at);
  checkSameShape(op, input, target);
}

type RegressionPositional = [sizeAverage: null, reduce: null, reduction: Reduction];
type RegressionFn<O> = (...a: PyArgs<[input: Tensor, target: Tensor], RegressionPositional, O>) => Tensor;
/** Samples for a loss of input − target; `apart` keeps |input − target| ≥ 0.2, away from l1's kink. */
function regressionSamples<O>(name: string, apart: boolean): Sample<RegressionFn<O>>[] {
  const above = (shape: number[]) => (apart ? { shape, low: 0.1, high: 2 } : shape);
  const below = (shape: number[]) => (apart ? { shape, low: -2, high: -0.1 } : shape);
  const py = `F.${name}`;
  return [
    { args: [above([3, 4]), below([3, 4])] },
    {
      args: [below([2, 3]), above([2, 3])],
      call: (f, x, y) => f(x, y, { reduction: 'sum' } as O),
      torch: `lambda x, y: ${py}(x, y, reduction='sum')`,
    },
    {
      args: [above([2, 3, 2]), below([2, 3, 2])],
      call: (f, x, y) => f(x, y, { reduction: 'none' } as O),
      torch: `lambda x, y: ${py}(x, y, reduction='none')`,
    },
    { args: [above([]), below([])] },
    {
      args: [
        [0, 3],
        [0, 3],
      ],
      call: (f, x, y) => f(x, y, { reduction: 'sum' } as O),
      torch: `lambda x, y: ${py}(x, y, reduction='sum')`,
    },
    { args: [below([4]), { shape: [4], low: 0.1, high: 2, grad: false }], note: 'target without gradient' },
  ];
}

/** The squared error (input − target)², reduced. */
export const mseLoss = testedOp({
  name: 'mseLoss',
  fn: checked(
    'mseLoss',
    REGRESSION_ARGS,
    (input: Tensor, target: Tensor, _sizeAverage?: null, _reduce?: null, reduction: Reduction = 'mean'): Tensor => {
      regressionChecks('mseLoss', input, target);
      const d = sub(input, target);
      return reduce(mul(d, d), reduction);
    },
  ) as RegressionFn<ReductionOptions>,
  samples: regressionSamples<ReductionOptions>('mse_loss', false),
  torch: 'F.mse_loss',
});

/** The absolute error |input − target|, reduced (its gradient at 0 is 0, as in PyTorch). */
export const l1Loss = testedOp({
  name: 'l1Loss',
  fn: checked(
    'l1Loss',
    REGRESSION_ARGS,
    (input: Tensor, target: Tensor, _sizeAverage?: null, _reduce?: null, reduction: Reduction = 'mean'): Tensor => {
      regressionChecks('l1Loss', input, target);
      return reduce(abs(sub(input, target)), reduction);
    },
  ) as RegressionFn<ReductionOptions>,
  samples: regressionSamples<ReductionOptions>('l1_loss', true),
  singularSamples: [
    {
      args: [
        { shape: [3], values: [0.5, -1, 2] },
        { shape: [3], values: [0.5, 0, -1] },
      ],
      call: (f, x, y) => f(x, y, { reduction: 'none' }),
      torch: "lambda x, y: F.l1_loss(x, y, reduction='none')",
      note: 'input equal to target: gradient 0',
    },
  ],
  torch: 'F.l1_loss',
});

/** 0.5·d²/beta where |d| < beta, |d| − 0.5·beta elsewhere (d = input − target), reduced. */
export const smoothL1Loss = testedOp({
  name: 'smoothL1Loss',
  fn: checked(
    'smoothL1Loss',
    { ...REGRESSION_ARGS, args: { ...REGRESSION_ARGS.args, beta: optional(number({ min: 0 })) } },
    (
      input: Tensor,
      target: Tensor,
      _sizeAverage?: null,
      _reduce?: null,
      reduction: Reduction = 'mean',
      beta: number = 1,
    ): Tensor => {
      regressionChecks('smoothL1Loss', input, target);
      const d = sub(input, target);
      const a = abs(d);
      // PyTorch falls back to l1 at beta = 0, where the quadratic piece would divide by 0.
      if (beta === 0) return reduce(a, reduction);
      return reduce(where(lt(a, beta), div(mul(mul(d, d), 0.5), beta), sub(a, 0.5 * beta)), reduction);
    },
  ) as (
    ...a: PyArgs<[input: Tensor, target: Tensor], [...RegressionPositional, beta: number], SmoothL1LossOptions>
  ) => Tensor,
  samples: [
    ...regressionSamples<SmoothL1LossOptions>('smooth_l1_loss', false),
    {
      args: [
        { shape: [5], values: [-2.5, -0.75, 0.25, 0.5, 3] },
        { shape: [5], values: [0, 0, 0, 0.1, 1], grad: false },
      ],
      call: (f, x, y) => f(x, y, { beta: 0.6, reduction: 'none' }),
      torch: "lambda x, y: F.smooth_l1_loss(x, y, beta=0.6, reduction='none')",
      note: 'both pieces',
    },
    {
      args: [
        { shape: [4], low: 0.1, high: 2 },
        { shape: [4], low: -2, high: -0.1 },
      ],
      call: (f, x, y) => f(x, y, { beta: 0 }),
      torch: 'lambda x, y: F.smooth_l1_loss(x, y, beta=0.0)',
      note: 'beta 0 is l1',
    },
  ],
  singularSamples: [
    {
      args: [
        { shape: [4], values: [0.5, 1.1, -0.1, 2] },
        { shape: [4], values: [0.5, 0.5, 0.5, 1] },
      ],
      call: (f, x, y) => f(x, y, { beta: 0.6, reduction: 'none' }),
      torch: "lambda x, y: F.smooth_l1_loss(x, y, beta=0.6, reduction='none')",
      note: 'at 0 and at the seams |input − target| = beta',
    },
    {
      args: [
        { shape: [2], values: [0.5, 1] },
        { shape: [2], values: [0.5, 0] },
      ],
      call: (f, x, y) => f(x, y, { beta: 0, reduction: 'none' }),
      torch: null,
      torchNote:
        "beta 0 is l1Loss here, with l1's gradient 0 at input = target; PyTorch 1.13's smooth_l1 kernel gives −1 " +
        'there for both input and target (its x ≤ −beta branch), an artifact rather than a convention',
      note: 'beta 0 at 0',
    },
  ],
  torch: 'F.smooth_l1_loss',
});

// ----- binary cross entropy ------------------------------------------------------------------------------------

/** PyTorch clamps each log at −100, so a probability of exactly 0 or 1 gives a finite loss (100 at most). */
const LOG_FLOOR = -100;
/**
 * PyTorch's floor on x·(1 − x) in the gradient, so it stays finite at exactly 0 or 1. PyTorch's constant is the
 * float32 nearest 1e-12, which its float64 gradients show (1 / 1e-12 comes out as 1000000003995.8).
 */
const GRAD_EPS = Math.fround(1e-12);

const bceScalar = (x: number, y: number) =>
  (y - 1) * Math.max(Math.log(1 - x), LOG_FLOOR) - y * Math.max(Math.log(x), LOG_FLOOR);
/** ∂/∂x = (x − y) / max(x(1 − x), 1e-12): PyTorch's formula, finite at x = 0 and 1. */
const bceDx = (x: Tensor, y: Tensor) => div(sub(x, y), clamp(mul(x, rsub(x, 1)), GRAD_EPS));
/** ∂/∂y = log(1 − x) − log(x), unclamped as in PyTorch. */
const bceDy = (x: Tensor) => sub(log(rsub(x, 1)), log(x));

/**
 * The elementwise −(y·log x + (1 − y)·log(1 − x)) is a primitive for numerical stability: composed of clamped logs,
 * a probability of exactly 0 or 1 (a float32 sigmoid saturates there) would give a gradient of 0·inf = nan; this
 * rule gives PyTorch's finite (x − y) / max(x(1 − x), 1e-12) instead. The rules are built of differentiable ops, so
 * second derivatives work.
 */
const bceOp = defineOp({
  name: 'binaryCrossEntropy',
  infer: ([x, y]) => ({ shape: x.shape.slice(), dtype: promoteTypes(x.dtype, y.dtype) }),
  forward: (k, out, [x, y]) =>
    k.binary('binaryCrossEntropy', bceScalar, out._view(), bview(x, out.shape), bview(y, out.shape)),
  vjp: (g, c) => {
    const [x, y] = c.inputs as Tensor[];
    return [c.needs[0] && mul(g, bceDx(x, y)), c.needs[1] && mul(g, bceDy(x))];
  },
  jvp: ([tx, ty], c) => {
    const [x, y] = c.inputs as Tensor[];
    const a = tx && mul(tx, bceDx(x, y));
    const b = ty && mul(ty, bceDy(x));
    return a && b ? add(a, b) : (a ?? b!);
  },
  flops: (_i, out) => 6 * numel(out.shape),
  explain: ({ x: [x, y], dy }) => [
    `${dy} ⊙ (${x} − ${y}) / max(${x} ⊙ (1 − ${x}), 1e-12)`,
    `${dy} ⊙ (log(1 − ${x}) − log ${x})`,
  ],
});

/**
 * `binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction='mean')`; the logits
 * form adds pos_weight last.
 */
const BCE_ARGS = {
  args: {
    input: tensor,
    target: tensor,
    weight: WEIGHT,
    sizeAverage: SIZE_AVERAGE,
    reduce: REDUCE,
    reduction: REDUCTION,
  },
  renames: RENAMES,
};
type BcePositional = [weight: Tensor | null, sizeAverage: null, reduce: null, reduction: Reduction];

function bceChecks(op: string, input: Tensor, target: Tensor, opts: BinaryCrossEntropyWithLogitsOptions): void {
  let at = `input is ${fmtShape(input.shape)}, target is ${fmtShape(target.shape)}`;
  checkFloat(op, 'input', input, at);
  checkFloat(op, 'target', target, at);
  checkSameShape(op, input, target);
  for (const key of ['weight', 'posWeight'] as const) {
    const w = opts[key];
    if (w === undefined || w === null) continue;
    at += `, ${key} is ${fmtShape(w.shape)}`;
    checkFloat(op, key, w, at);
    checkBroadcastsTo(op, key, w, input, at);
  }
}

/**
 * The binary cross entropy between probabilities (in [0, 1]; every value is checked) and targets of the same shape,
 * −w·(y·log x + (1 − y)·log(1 − x)) with each log clamped at −100 as PyTorch does. For logits, use
 * binaryCrossEntropyWithLogits: it is exact where sigmoid would round to 0 or 1.
 */
export const binaryCrossEntropy = testedOp({
  name: 'binaryCrossEntropy',
  fn: checked(
    'binaryCrossEntropy',
    BCE_ARGS,
    (
      input: Tensor,
      target: Tensor,
      weight: Tensor | null = null,
      _sizeAverage?: null,
      _reduce?: null,
      reduction: Reduction = 'mean',
    ): Tensor => {
      bceChecks('binaryCrossEntropy', input, target, { weight });
      const vals = input.dataSync();
      for (let i = 0; i < vals.length; i++)
        if (!(vals[i] >= 0 && vals[i] <= 1))
          throw new ValueError(
            `binaryCrossEntropy: input ${vals[i]} at position ${fmtPosition(input.shape, i)} is not in [0, 1] ` +
              `(input is ${fmtShape(input.shape)}, target is ${fmtShape(target.shape)}); the input must be ` +
              `probabilities: apply sigmoid first, or better, pass the logits to binaryCrossEntropyWithLogits`,
          );
      const loss = apply(bceOp, [input, target], undefined);
      return reduce(weight ? mul(loss, weight) : loss, reduction);
    },
  ) as (...a: PyArgs<[input: Tensor, target: Tensor], BcePositional, BinaryCrossEntropyOptions>) => Tensor,
  samples: [
    { args: [unit([3, 4]), unit([3, 4])] },
    {
      args: [unit([3, 4]), { ...probs([3, 4]), grad: false }, { shape: [3, 1], low: 0.2, high: 2, grad: false }],
      call: (f, x, y, w) => f(x, y, { weight: w, reduction: 'sum' }),
      torch: "lambda x, y, w: F.binary_cross_entropy(x, y, weight=w, reduction='sum')",
      note: 'weight broadcast over rows',
    },
    {
      args: [unit([2, 3]), unit([2, 3]), { shape: [3], low: 0.2, high: 2, grad: false }],
      call: (f, x, y, w) => f(x, y, { weight: w, reduction: 'none' }),
      torch: "lambda x, y, w: F.binary_cross_entropy(x, y, weight=w, reduction='none')",
    },
    { args: [unit([]), unit([])] },
    {
      args: [unit([0, 3]), unit([0, 3])],
      call: (f, x, y) => f(x, y, { reduction: 'sum' }),
      torch: "lambda x, y: F.binary_cross_entropy(x, y, reduction='sum')",
    },
  ],
  singularSamples: [
    {
      args: [
        { shape: [5], values: [0, 1, 0, 1, 1e-50] },
        { shape: [5], values: [0, 1, 0.75, 0.2, 1], grad: false },
      ],
      call: (f, x, y) => f(x, y, { reduction: 'none' }),
      torch: "lambda x, y: F.binary_cross_entropy(x, y, reduction='none')",
      note: 'probabilities of exactly 0 and 1: logs clamped at −100, gradient floored at 1e-12',
    },
  ],
  torch: 'F.binary_cross_entropy',
});

/**
 * The binary cross entropy of sigmoid(input) and the target, computed from the logits in PyTorch's stable form
 * (1 − y)·x + lw·(log(e^−m + e^−x−m) + m) with m = max(−x, 0) and lw = 1 + (posWeight − 1)·y, so no exp overflows
 * and no log sees 0. posWeight weighs the positive term per class; weight rescales each element.
 */
export const binaryCrossEntropyWithLogits = testedOp({
  name: 'binaryCrossEntropyWithLogits',
  fn: checked(
    'binaryCrossEntropyWithLogits',
    { ...BCE_ARGS, args: { ...BCE_ARGS.args, posWeight: WEIGHT } },
    (
      input: Tensor,
      target: Tensor,
      weight: Tensor | null = null,
      _sizeAverage?: null,
      _reduce?: null,
      reduction: Reduction = 'mean',
      posWeight: Tensor | null = null,
    ): Tensor => {
      bceChecks('binaryCrossEntropyWithLogits', input, target, { weight, posWeight });
      // m only shifts the exponents; detached, its derivative (undefined at 0) never enters the gradient.
      const m = relu(neg(input.detach()));
      const softplusNeg = add(log(add(exp(neg(m)), exp(sub(neg(input), m)))), m);
      const lw = posWeight ? add(mul(sub(posWeight, 1), target), 1) : null;
      let loss = add(mul(rsub(target, 1), input), lw ? mul(lw, softplusNeg) : softplusNeg);
      if (weight) loss = mul(loss, weight);
      return reduce(loss, reduction);
    },
  ) as (
    ...a: PyArgs<
      [input: Tensor, target: Tensor],
      [...BcePositional, posWeight: Tensor | null],
      BinaryCrossEntropyWithLogitsOptions
    >
  ) => Tensor,
  samples: [
    { args: [[3, 4], probs([3, 4])] },
    {
      args: [[3, 4], { ...probs([3, 4]), grad: false }, { shape: [4], low: 0.5, high: 3, grad: false }],
      call: (f, x, y, p) => f(x, y, { posWeight: p }),
      torch: 'lambda x, y, p: F.binary_cross_entropy_with_logits(x, y, pos_weight=p)',
      note: 'posWeight per class',
    },
    {
      args: [
        [2, 3],
        probs([2, 3]),
        { shape: [2, 1], low: 0.2, high: 2, grad: false },
        { shape: [3], low: 0.5, high: 3, grad: false },
      ],
      call: (f, x, y, w, p) => f(x, y, { weight: w, posWeight: p, reduction: 'none' }),
      torch: "lambda x, y, w, p: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=p, reduction='none')",
      note: 'weight and posWeight',
    },
    {
      args: [[2, 3], probs([2, 3])],
      call: (f, x, y) => f(x, y, { reduction: 'sum' }),
      torch: "lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction='sum')",
    },
    { args: [[], probs([])] },
    {
      args: [
        [0, 3],
        [0, 3],
      ],
      call: (f, x, y) => f(x, y, { reduction: 'sum' }),
      torch: "lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction='sum')",
    },
    {
      args: [
        { shape: [4], values: [1000, -1000, 40, -40] },
        { shape: [4], values: [0.25, 0.5, 0, 1] },
      ],
      call: (f, x, y) => f(x, y, { reduction: 'none' }),
      torch: "lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction='none')",
      note: 'large logits',
    },
  ],
  torch: 'F.binary_cross_entropy_with_logits',
});
