/**
 * @file Normalisation with PyTorch 1.13's semantics: batchNorm, layerNorm and groupNorm (torch.nn.functional's
 * batch_norm, layer_norm, group_norm). batchNorm and groupNorm are compositions — mean, the biased variance, rsqrt,
 * an affine map — so gradients, second derivatives and JVPs come from the ops they are built of; layerNorm's
 * normalisation is one primitive for speed (a transformer's hot path), with its VJP and JVP written alongside.
 * batchNorm in training also updates the running statistics in place, outside the graph. Every check — options,
 * shapes, dtypes — runs in the public function before anything is computed or updated.
 */
import { modes, noGrad } from '../autograd/mode.js';
import { array, bool, checked, int, nullable, number, optional, tensor, union } from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { numel, sameShape } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, defineOp } from './define.js';
import { add, mul, rsqrt, sub, toDtype } from './elementwise.js';
import { copy_ } from './inplace.js';
import { mean } from './reduce.js';
import { testedOp } from './registry.js';
import { isTensor } from './scalar.js';
import { contiguous, reshape } from './shape.js';

export interface BatchNormOptions {
  /** Normalise with the batch's statistics and update the running ones (true), or use the running ones (false, the default). */
  training?: boolean;
  /** The running statistics' update weight: running = (1 − momentum)·running + momentum·batch. Default 0.1. */
  momentum?: number;
  /** Added to the variance before the root, for stability. Default 1e-5. */
  eps?: number;
}
export interface NormOptions {
  /** Added to the variance before the root, for stability. Default 1e-5. */
  eps?: number;
}
/** layerNorm's and groupNorm's optional parameters by name. */
interface AffineNormOptions extends NormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
}

// ----- shared checks -------------------------------------------------------------------------------------------

/** An optional per-channel tensor (weight, bias); its shape is checked against the input's. */
const PARAM = optional(nullable(tensor));
/** Added to the variance before the root; 0 is allowed (an exactly constant input then gives inf, as in PyTorch). */
const EPS = optional(number({ min: 0 }));

function checkInput(op: string, input: unknown, minDims: number, layout: string): asserts input is Tensor {
  if (!isTensor(input))
    throw new ValueError(
      `${op}: input must be a Tensor, got ${input === null ? 'null' : typeof input}; make one with ad.tensor(...)`,
    );
  if (!isFloating(input.dtype))
    throw new DTypeError(
      `${op}: input must be floating point, got ${input.dtype} of shape ${fmtShape(input.shape)}; cast it with .float()`,
    );
  if (input.ndim < minDims)
    throw new ShapeError(`${op}: input is ${fmtShape(input.shape)} but must be ${layout} (at least ${minDims} dims)`);
}

/** An optional per-channel (or per-normalized-element) tensor: null, or a float tensor of exactly `shape`. */
function checkParam(op: string, what: string, t: unknown, shape: readonly number[], at: string, why: string): void {
  if (t === null || t === undefined) return;
  if (!isTensor(t))
    throw new ValueError(
      `${op}: ${what} must be a Tensor or null, got ${typeof t} (${at}); pass options last, after weight and bias`,
    );
  if (!sameShape(t.shape, shape))
    throw new ShapeError(`${op}: ${what} is ${fmtShape(t.shape)} but must be ${fmtShape(shape)}, ${why} (${at})`);
  if (!isFloating(t.dtype))
    throw new DTypeError(`${op}: ${what} must be floating point, got ${t.dtype} (${at}); cast it with .float()`);
}

/** y·weight + bias, each seen with `view` (1s on the dims it does not cover) so it broadcasts against y. */
function affine(y: Tensor, weight: Tensor | null, bias: Tensor | null, view: number[]): Tensor {
  const w = weight ? mul(y, reshape(weight, view)) : y;
  return bias ? add(w, reshape(bias, view)) : w;
}

/** (x − mean)/√(var + eps) over dims, with the biased variance, as every normalisation here uses. */
function normalize(x: Tensor, dims: number[], eps: number): { y: Tensor; mu: Tensor; biasedVar: Tensor; rstd: Tensor } {
  const mu = mean(x, dims, true);
  const d = sub(x, mu);
  const biasedVar = mean(mul(d, d), dims, true);
  const rstd = rsqrt(add(biasedVar, eps));
  return { y: mul(d, rstd), mu, biasedVar, rstd };
}

/** [C] seen as [C, 1, ...]: a per-channel tensor broadcast along dim 1 of an input of rank ndim. */
const channelView = (c: number, ndim: number) => Array.from({ length: ndim - 1 }, (_, i) => (i === 0 ? c : 1));

// ----- batchNorm -----------------------------------------------------------------------------------------------

/**
 * Normalises each channel (dim 1) of an [N, C, ...] input. In training, with the batch's mean and biased variance,
 * and — when running statistics are given — updates them in place, without recording a graph, with the batch mean
 * and the UNBIASED variance, as PyTorch does; otherwise (the default, as in F.batch_norm) with the running
 * statistics. Then y·weight + bias per channel.
 */
export const batchNorm = testedOp({
  name: 'batchNorm',
  fn: checked(
    'batchNorm',
    {
      args: {
        input: tensor,
        runningMean: nullable(tensor),
        runningVar: nullable(tensor),
        weight: PARAM,
        bias: PARAM,
        training: optional(bool),
        momentum: optional({
          ...number(),
          what:
            'a finite number (for a cumulative average use the BatchNorm module with {momentum: null}, which ' +
            'tracks the batch count)',
        }),
        eps: EPS,
      },
    },
    (
      input: Tensor,
      runningMean: Tensor | null,
      runningVar: Tensor | null,
      weight: Tensor | null = null,
      bias: Tensor | null = null,
      training: boolean = false,
      momentum: number = 0.1,
      eps: number = 1e-5,
    ): Tensor => {
      const op = 'batchNorm';
      checkInput(op, input, 2, '[N, C] or [N, C, ...] (channels in dim 1)');
      const c = input.shape[1];
      const at =
        `input is ${fmtShape(input.shape)}` +
        [
          ['runningMean', runningMean],
          ['runningVar', runningVar],
          ['weight', weight],
          ['bias', bias],
        ]
          .map(([k, t]) => (isTensor(t) ? `, ${k} is ${fmtShape(t.shape)}` : ''))
          .join('');
      const why = `one per channel (dim 1 of the input has ${c})`;
      checkParam(op, 'runningMean', runningMean, [c], at, why);
      checkParam(op, 'runningVar', runningVar, [c], at, why);
      checkParam(op, 'weight', weight, [c], at, why);
      checkParam(op, 'bias', bias, [c], at, why);
      if ((runningMean === null || runningMean === undefined) !== (runningVar === null || runningVar === undefined))
        throw new ValueError(`batchNorm: pass both runningMean and runningVar, or neither (${at})`);
      const hasRunning = isTensor(runningMean) && isTensor(runningVar);
      const view = channelView(c, input.ndim);

      if (!training) {
        if (!hasRunning)
          throw new ValueError(
            `batchNorm: evaluation mode (training: false, the default) normalises with the running statistics, but ` +
              `runningMean and runningVar are null (${at}); pass them, or {training: true} to use the batch's`,
          );
        const rm = reshape(toDtype(runningMean, input.dtype), view);
        const rv = reshape(toDtype(runningVar, input.dtype), view);
        return affine(mul(sub(input, rm), rsqrt(add(rv, eps))), weight, bias, view);
      }

      const n = numel(input.shape) / Math.max(c, 1);
      if (n === 1)
        throw new ValueError(
          `batchNorm: expected more than 1 value per channel when training, got input of shape ` +
            `${fmtShape(input.shape)} (${at}); a batch of one has no variance: use a larger batch, or evaluation mode`,
        );
      const dims = [0, ...Array.from({ length: input.ndim - 2 }, (_, i) => i + 2)];
      const { y, mu, biasedVar } = normalize(input, dims, eps);
      // PyTorch leaves the running statistics alone for an empty batch, which has no statistics to blend in.
      if (hasRunning && n > 0)
        noGrad(() => {
          const bm = reshape(mu.detach(), [c]);
          const bv = mul(reshape(biasedVar.detach(), [c]), n / (n - 1));
          copy_(runningMean, add(mul(runningMean, 1 - momentum), mul(toDtype(bm, runningMean.dtype), momentum)));
          copy_(runningVar, add(mul(runningVar, 1 - momentum), mul(toDtype(bv, runningVar.dtype), momentum)));
        });
      return affine(y, weight, bias, view);
    },
  ) as (
    ...a: PyArgs<
      [input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null],
      [weight: Tensor | null, bias: Tensor | null, training: boolean, momentum: number, eps: number],
      BatchNormOptions & { weight?: Tensor | null; bias?: Tensor | null }
    >
  ) => Tensor,
  samples: [
    {
      args: [[4, 3], { shape: [3], grad: false }, { shape: [3], low: 0.5, high: 2, grad: false }, [3], [3]],
      call: (f, x, rm, rv, w, b) => f(x, rm.clone(), rv.clone(), w, b, { training: true }),
      torch: 'lambda x, rm, rv, w, b: F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=True)',
      note: 'training',
    },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, null, null, null, null, { training: true, eps: 0.1 }),
      torch: 'lambda x: F.batch_norm(x, None, None, training=True, eps=0.1)',
      note: 'training, no running statistics, no affine',
    },
    {
      args: [[2, 3, 2, 3], [3], [3]],
      call: (f, x, w, b) => f(x, null, null, w, b, { training: true }),
      torch: 'lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)',
      note: '2-d',
    },
    {
      args: [[4, 3], { shape: [3], grad: false }, { shape: [3], low: 0.5, high: 2, grad: false }, [3], [3]],
      torch: 'F.batch_norm',
      note: 'evaluation',
    },
    {
      args: [[2, 3, 4], { shape: [3], grad: false }, { shape: [3], low: 0.5, high: 2, grad: false }],
      call: (f, x, rm, rv) => f(x, rm, rv, null, null, { eps: 0.01 }),
      torch: 'lambda x, rm, rv: F.batch_norm(x, rm, rv, eps=0.01)',
      note: 'evaluation, no affine',
    },
    {
      args: [[0, 3], { shape: [3], grad: false }, { shape: [3], low: 0.5, high: 2, grad: false }, [3], [3]],
      call: (f, x, rm, rv, w, b) => f(x, rm.clone(), rv.clone(), w, b, { training: true }),
      torch: 'lambda x, rm, rv, w, b: F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=True)',
      note: 'empty batch',
    },
  ],
});

// ----- layerNorm -----------------------------------------------------------------------------------------------

interface LayerNormParams {
  eps: number;
}

/**
 * (x − mean)/√(var + eps) over the last dim of a contiguous [R, D] input, in one kernel (PyTorch's native_layer_norm
 * core): nine forward and fifteen backward full-size passes of the composition become one each. Its VJP is one
 * kernel too where no graph is recorded; under createGraph or forward mode the VJP is written in differentiable ops
 * (`normalizedVjp`, from `normalize`), so higher derivatives
 * are exact. The Jacobian rstd·(I − 11ᵀ/D − y yᵀ/D) is symmetric, so the
 * JVP is the same formula applied to the tangent.
 */
const layerNormOp = defineOp<LayerNormParams>({
  name: 'layerNorm',
  backwardName: 'NativeLayerNormBackward',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  forward: (k, out, [x], p) => k.layerNorm(out._view(), x._view(), p.eps),
  saveInputs: 'all',
  vjp: (g, c) => {
    const [x] = c.inputs as [Tensor];
    const m = modes();
    if (m.grad || m.levels.length > 0) return [normalizedVjp(g, x, c.params.eps)];
    return [apply(layerNormBackwardOp, [g, x], c.params)];
  },
  jvp: ([t], c) => normalizedVjp(t!, c.inputs[0] as Tensor, c.params.eps),
  flops: (ins) => 7 * numel(ins[0].shape),
});

/** The layerNorm core's VJP in one kernel; only run without a graph being recorded, hence not differentiable. */
const layerNormBackwardOp = defineOp<LayerNormParams>({
  name: 'layerNormBackward',
  differentiable: false,
  infer: ([g]) => ({ shape: g.shape.slice(), dtype: g.dtype }),
  forward: (k, out, [g, x], p) => k.layerNormBackward(out._view(), g._view(), x._view(), p.eps),
  saveInputs: 'none',
  flops: (ins) => 12 * numel(ins[0].shape),
});

/** rstd·(g − mean(g) − y·mean(g·y)) along the last dim, y and rstd from x in differentiable ops. */
function normalizedVjp(g: Tensor, x: Tensor, eps: number): Tensor {
  const { y, rstd } = normalize(x, [-1], eps);
  return mul(rstd, sub(sub(g, mean(g, [-1], true)), mul(y, mean(mul(g, y), [-1], true))));
}

/**
 * Normalises over the last dims, normalizedShape (a number for the last dim alone), then y·weight + bias
 * elementwise, with weight and bias of shape normalizedShape.
 */
export const layerNorm = testedOp({
  name: 'layerNorm',
  fn: checked(
    'layerNorm',
    {
      args: {
        input: tensor,
        normalizedShape: union(
          int({ min: 0 }),
          array(int({ min: 0 }), "a non-empty array of sizes (the input's last dims)"),
        ),
        weight: PARAM,
        bias: PARAM,
        eps: EPS,
      },
    },
    (
      input: Tensor,
      normalizedShape: number | readonly number[],
      weight: Tensor | null = null,
      bias: Tensor | null = null,
      eps: number = 1e-5,
    ): Tensor => {
      const op = 'layerNorm';
      checkInput(op, input, 0, 'a tensor');
      const ns = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
      if (!Array.isArray(ns) || ns.length === 0 || !ns.every((n) => Number.isInteger(n) && n >= 0))
        throw new ValueError(
          `layerNorm: normalizedShape must be a size or a non-empty list of sizes (the input's last dims), got ` +
            `${JSON.stringify(normalizedShape)} (input is ${fmtShape(input.shape)})`,
        );
      const at = `input is ${fmtShape(input.shape)}, normalizedShape is ${fmtShape(ns)}`;
      const k = ns.length;
      if (input.ndim < k || !sameShape(input.shape.slice(input.ndim - k), ns))
        throw new ShapeError(
          `layerNorm: ${at}; the input's last ${k} dim${k > 1 ? 's' : ''} must equal normalizedShape, i.e. the input ` +
            `must be [*, ${ns.join(', ')}]: pass normalizedShape = the trailing dims to normalise over` +
            (input.ndim ? ` (e.g. ${fmtShape(input.shape.slice(-1))})` : ''),
        );
      checkParam(op, 'weight', weight, ns, at, 'the same shape as normalizedShape');
      checkParam(op, 'bias', bias, ns, at, 'the same shape as normalizedShape');
      // The normalised dims as one line per row of a contiguous [R, D] view, through the fused core.
      const D = numel(ns);
      const rows = reshape(contiguous(input), [D > 0 ? input.numel() / D : 0, D]);
      const y = reshape(apply(layerNormOp, [rows], { eps }), [...input.shape]);
      return affine(y, weight, bias, [...ns]);
    },
  ) as (
    ...a: PyArgs<
      [input: Tensor, normalizedShape: number | readonly number[]],
      [weight: Tensor | null, bias: Tensor | null, eps: number],
      AffineNormOptions
    >
  ) => Tensor,
  samples: [
    {
      args: [[3, 4], [4], [4]],
      call: (f, x, w, b) => f(x, 4, w, b),
      torch: 'lambda x, w, b: F.layer_norm(x, [4], w, b)',
    },
    {
      args: [
        [2, 3, 4],
        [3, 4],
        [3, 4],
      ],
      call: (f, x, w, b) => f(x, [3, 4], w, b, { eps: 0.01 }),
      torch: 'lambda x, w, b: F.layer_norm(x, [3, 4], w, b, eps=0.01)',
      note: 'two dims',
    },
    { args: [[2, 5]], call: (f, x) => f(x, [5]), torch: 'lambda x: F.layer_norm(x, [5])', note: 'no affine' },
    { args: [[4], [4]], call: (f, x, w) => f(x, [4], w), torch: 'lambda x, w: F.layer_norm(x, [4], w)', note: '1-d' },
    {
      args: [[0, 3], [3], [3]],
      call: (f, x, w, b) => f(x, [3], w, b),
      torch: 'lambda x, w, b: F.layer_norm(x, [3], w, b)',
    },
  ],
});

// ----- groupNorm -----------------------------------------------------------------------------------------------

/**
 * Splits the channels (dim 1) of an [N, C, ...] input into numGroups groups and normalises each group of each
 * sample, then y·weight + bias per channel.
 */
export const groupNorm = testedOp({
  name: 'groupNorm',
  fn: checked(
    'groupNorm',
    { args: { input: tensor, numGroups: int({ min: 1 }), weight: PARAM, bias: PARAM, eps: EPS } },
    (
      input: Tensor,
      numGroups: number,
      weight: Tensor | null = null,
      bias: Tensor | null = null,
      eps: number = 1e-5,
    ): Tensor => {
      const op = 'groupNorm';
      checkInput(op, input, 2, '[N, C] or [N, C, ...] (channels in dim 1)');
      const c = input.shape[1];
      const at = `input is ${fmtShape(input.shape)}, numGroups is ${numGroups}`;
      if (!Number.isInteger(numGroups) || numGroups <= 0)
        throw new ValueError(`groupNorm: numGroups must be a whole number ≥ 1, got ${numGroups} (${at})`);
      if (c % numGroups !== 0)
        throw new ShapeError(
          `groupNorm: ${at}; the number of channels (dim 1, ${c}) must be divisible by numGroups: pick a divisor of ` +
            `${c}, or check which dim holds the channels`,
        );
      const why = `one per channel (dim 1 of the input has ${c})`;
      checkParam(op, 'weight', weight, [c], at, why);
      checkParam(op, 'bias', bias, [c], at, why);
      const n = input.shape[0];
      const perGroup = (c / numGroups) * numel(input.shape.slice(2));
      const { y } = normalize(reshape(input, [n, numGroups, perGroup]), [2], eps);
      return affine(reshape(y, input.shape as number[]), weight, bias, channelView(c, input.ndim));
    },
  ) as (
    ...a: PyArgs<
      [input: Tensor, numGroups: number],
      [weight: Tensor | null, bias: Tensor | null, eps: number],
      AffineNormOptions
    >
  ) => Tensor,
  samples: [
    {
      args: [[2, 6, 3], [6], [6]],
      call: (f, x, w, b) => f(x, 3, w, b),
      torch: 'lambda x, w, b: F.group_norm(x, 3, w, b)',
    },
    {
      args: [[2, 4, 2, 2], [4], [4]],
      call: (f, x, w, b) => f(x, 2, w, b, { eps: 0.01 }),
      torch: 'lambda x, w, b: F.group_norm(x, 2, w, b, eps=0.01)',
      note: '2-d',
    },
    { args: [[3, 4]], call: (f, x) => f(x, 4), torch: 'lambda x: F.group_norm(x, 4)', note: 'no affine, [N, C]' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: F.group_norm(x, 1)', note: 'one group' },
    {
      args: [[0, 4, 2], [4], [4]],
      call: (f, x, w, b) => f(x, 2, w, b),
      torch: 'lambda x, w, b: F.group_norm(x, 2, w, b)',
    },
  ],
});
