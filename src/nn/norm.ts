/**
 * @file Normalisation layers with PyTorch 1.13's parameters, buffers, state-dict keys and defaults: BatchNorm1d,
 * BatchNorm2d (batch statistics in training, running ones in eval; momentum null is a cumulative average over the
 * batches seen), LayerNorm and GroupNorm. The computations are ops/norm.ts's batchNorm, layerNorm and groupNorm.
 * Reprs print as PyTorch's do.
 */
import { noGrad } from '../autograd/mode.js';
import { bool, checkMethods, custom, nullable, optional, sig, tensor } from '../core/args.js';
import { DEFAULT_FLOAT, type DType } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { ones, zeros } from '../ops/creation.js';
import { add_ } from '../ops/inplace.js';
import { batchNorm, groupNorm, layerNorm } from '../ops/norm.js';
import type { Tensor } from '../tensor/tensor.js';
import { EPS, FLOAT_DTYPE, PROB, SIZE } from './args.js';
import { Module, Parameter } from './module.js';

export interface BatchNormOptions {
  /** Added to the variance before the root. Default 1e-5. */
  eps?: number;
  /** The running statistics' update weight; null for a cumulative (equal-weight) average. Default 0.1. */
  momentum?: number | null;
  /** Learn a per-channel weight (init 1) and bias (init 0). Default true. */
  affine?: boolean;
  /** Keep running statistics for eval (buffers running_mean, running_var, num_batches_tracked). Default true. */
  trackRunningStats?: boolean;
  /** The parameters' and running statistics' dtype (torch's factory kwarg). Default float32. */
  dtype?: DType;
}

/** A float as Python's repr prints it (0.5, 1.0, 1e-05), for reprs that match PyTorch's. */
function pyFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}
const pyBool = (b: boolean) => (b ? 'True' : 'False');

/**
 * torch.nn.BatchNorm1d/2d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, *,
 * dtype=None); momentum null is a cumulative average.
 */
const BATCH_NORM = {
  args: {
    numFeatures: SIZE,
    eps: optional(EPS),
    momentum: optional(nullable(PROB)),
    affine: optional(bool),
    trackRunningStats: optional(bool),
  },
  options: { dtype: FLOAT_DTYPE },
};
const BATCH_NORM_1D = sig('BatchNorm1d', BATCH_NORM);
const BATCH_NORM_2D = sig('BatchNorm2d', BATCH_NORM);

/** The shared body of BatchNorm1d and BatchNorm2d (torch's _BatchNorm); they differ in the input ranks accepted. */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Tensor | null;
  bias: Tensor | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  /** int64, as PyTorch's (a 0-d count of the training batches seen). */
  declare num_batches_tracked: Tensor | null;

  /** The input ranks this layer takes, and how its message describes them. */
  protected abstract readonly ranks: readonly number[];
  protected abstract readonly layout: string;

  constructor(
    numFeatures: number,
    eps?: number | BatchNormOptions,
    momentum?: number | null | BatchNormOptions,
    affine?: boolean | BatchNormOptions,
    trackRunningStats?: boolean | BatchNormOptions,
    opts?: BatchNormOptions,
  );
  constructor(...args: unknown[]) {
    super();
    // The two layers share this constructor; each has its own signature, so messages name the one called.
    const a = (this instanceof BatchNorm2d ? BATCH_NORM_2D : BATCH_NORM_1D).bind(args);
    const numFeatures = a.numFeatures;
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    this.numFeatures = numFeatures;
    this.eps = a.eps ?? 1e-5;
    this.momentum = a.momentum === undefined ? 0.1 : a.momentum;
    this.affine = a.affine ?? true;
    this.trackRunningStats = a.trackRunningStats ?? true;
    this.weight = this.affine ? Parameter(ones([numFeatures], { dtype })) : null;
    this.bias = this.affine ? Parameter(zeros([numFeatures], { dtype })) : null;
    const track = this.trackRunningStats;
    this.registerBuffer('running_mean', track ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int64' }) : null);
  }

  /** Resets the running statistics to mean 0, variance 1 and no batches (torch's reset_running_stats). */
  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    noGrad(() => {
      (this.running_mean as Tensor).zero_();
      (this.running_var as Tensor).fill_(1);
      (this.num_batches_tracked as Tensor).zero_();
    });
  }

  override forward(input: Tensor): Tensor {
    const name = this.constructor.name;
    if (!this.ranks.includes(input.ndim))
      throw new ShapeError(
        `${name}: expected ${this.layout} input, got ${input.ndim}-D input of shape ${fmtShape(input.shape)}` +
          (this.ranks.includes(input.ndim + 1) ? '; add the batch dim with x.unsqueeze(0)' : ''),
      );
    if (input.shape[1] !== this.numFeatures)
      throw new ShapeError(
        `${name}: the input ${fmtShape(input.shape)} has ${input.shape[1]} channels (dim 1), but the layer was ` +
          `built for numFeatures = ${this.numFeatures}; build it with ${name}(${input.shape[1]}) or check which ` +
          `dim holds the channels`,
      );
    const track = this.training && this.trackRunningStats;
    const nbt = this.num_batches_tracked;
    // momentum null: a cumulative average, each batch weighted 1/(batches so far, this one included).
    const momentum = this.momentum ?? (track && nbt ? 1 / (Number(nbt.item()) + 1) : 0);
    // Without running statistics, eval mode normalises with the batch's, as PyTorch does.
    const useBatch = this.training || this.running_mean === null;
    const y = batchNorm(
      input,
      !this.training || this.trackRunningStats ? this.running_mean : null,
      !this.training || this.trackRunningStats ? this.running_var : null,
      this.weight,
      this.bias,
      { training: useBatch, momentum, eps: this.eps },
    );
    // Counted after the checks in batchNorm have passed, so a rejected input changes nothing.
    if (track && nbt) noGrad(() => add_(nbt, 1));
    return y;
  }

  override extraRepr(): string {
    const momentum = this.momentum === null ? 'None' : pyFloat(this.momentum);
    return (
      `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${momentum}, affine=${pyBool(this.affine)}, ` +
      `track_running_stats=${pyBool(this.trackRunningStats)}`
    );
  }
}

/** Batch normalisation over the channels of [N, C] or [N, C, L] inputs (torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
  protected readonly layout = '2-D [N, C] or 3-D [N, C, L]';
}

/** Batch normalisation over the channels of [N, C, H, W] inputs (torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
  protected readonly layout = '4-D [N, C, H, W]';
}

BATCH_NORM_1D.describes(BatchNorm1d);
BATCH_NORM_2D.describes(BatchNorm2d);
checkMethods(BatchNorm1d, { forward: { args: { input: tensor } } });
checkMethods(BatchNorm2d, { forward: { args: { input: tensor } } });

export interface LayerNormOptions {
  /** Added to the variance before the root. Default 1e-5. */
  eps?: number;
  /** Learn an elementwise weight (init 1) and bias (init 0) of shape normalizedShape. Default true. */
  elementwiseAffine?: boolean;
  /** The parameters' dtype. Default float32. */
  dtype?: DType;
}

const isSize = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0;

/** torch.nn.LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True, *, dtype=None). */
const LAYER_NORM = sig('LayerNorm', {
  args: {
    normalizedShape: custom<number | number[]>(
      "a size ≥ 1 or a non-empty list of sizes ≥ 1 (the input's last dims)",
      (v) => isSize(v) || (Array.isArray(v) && v.length > 0 && v.every(isSize)),
      'custom',
      4,
    ),
    eps: optional(EPS),
    elementwiseAffine: optional(bool),
  },
  options: { dtype: FLOAT_DTYPE },
});

/** Normalises over the last dims, normalizedShape (torch.nn.LayerNorm). */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  eps: number;
  readonly elementwiseAffine: boolean;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(
    normalizedShape: number | readonly number[],
    eps?: number | LayerNormOptions,
    elementwiseAffine?: boolean | LayerNormOptions,
    opts?: LayerNormOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = LAYER_NORM.bind(args);
    const ns = typeof a.normalizedShape === 'number' ? [a.normalizedShape] : [...a.normalizedShape];
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    this.normalizedShape = ns;
    this.eps = a.eps ?? 1e-5;
    this.elementwiseAffine = a.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? Parameter(ones(ns, { dtype })) : null;
    this.bias = this.elementwiseAffine ? Parameter(zeros(ns, { dtype })) : null;
  }

  override forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, this.weight, this.bias, { eps: this.eps });
  }

  override extraRepr(): string {
    const ns = this.normalizedShape;
    return `(${ns.join(', ')}${ns.length === 1 ? ',' : ''}), eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

export interface GroupNormOptions {
  /** Added to the variance before the root. Default 1e-5. */
  eps?: number;
  /** Learn a per-channel weight (init 1) and bias (init 0). Default true. */
  affine?: boolean;
  /** The parameters' dtype. Default float32. */
  dtype?: DType;
}

LAYER_NORM.describes(LayerNorm);
checkMethods(LayerNorm, { forward: { args: { input: tensor } } });

/** torch.nn.GroupNorm(num_groups, num_channels, eps=1e-05, affine=True, *, dtype=None). */
const GROUP_NORM = sig('GroupNorm', {
  args: { numGroups: SIZE, numChannels: SIZE, eps: optional(EPS), affine: optional(bool) },
  options: { dtype: FLOAT_DTYPE },
});

/** Normalises each group of numChannels / numGroups channels of each sample (torch.nn.GroupNorm). */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  eps: number;
  readonly affine: boolean;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(
    numGroups: number,
    numChannels: number,
    eps?: number | GroupNormOptions,
    affine?: boolean | GroupNormOptions,
    opts?: GroupNormOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = GROUP_NORM.bind(args);
    const { numGroups, numChannels } = a;
    if (numChannels % numGroups !== 0)
      throw new ValueError(
        `GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups}); pick a divisor of ` +
          `${numChannels}`,
      );
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = a.eps ?? 1e-5;
    this.affine = a.affine ?? true;
    this.weight = this.affine ? Parameter(ones([numChannels], { dtype })) : null;
    this.bias = this.affine ? Parameter(zeros([numChannels], { dtype })) : null;
  }

  override forward(input: Tensor): Tensor {
    if (input.ndim >= 2 && input.shape[1] !== this.numChannels)
      throw new ShapeError(
        `GroupNorm: the input ${fmtShape(input.shape)} has ${input.shape[1]} channels (dim 1), but the layer was ` +
          `built for numChannels = ${this.numChannels}; build it with GroupNorm(${this.numGroups}, ` +
          `${input.shape[1]}) or check which dim holds the channels`,
      );
    return groupNorm(input, this.numGroups, this.weight, this.bias, { eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

GROUP_NORM.describes(GroupNorm);
checkMethods(GroupNorm, { forward: { args: { input: tensor } } });
