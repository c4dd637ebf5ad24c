/**
 * @file Loss modules (torch.nn.CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss):
 * the options of their ad.F functions, held by the module. A class weight (and BCEWithLogitsLoss's posWeight) is a
 * buffer named as PyTorch names it (`weight`, `pos_weight`), so it is saved in the state dict when it is given.
 */

import { ValueError } from '../core/errors.js';
import {
  type BinaryCrossEntropyOptions,
  type BinaryCrossEntropyWithLogitsOptions,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  type CrossEntropyOptions,
  crossEntropy,
  l1Loss,
  mseLoss,
  type NllLossOptions,
  nllLoss,
  type Reduction,
  type ReductionOptions,
  type SmoothL1LossOptions,
  smoothL1Loss,
} from '../ops/loss.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

const SNAKE: Record<string, string> = {
  ignore_index: 'ignoreIndex',
  label_smoothing: 'labelSmoothing',
  pos_weight: 'posWeight',
  size_average: "reduction: 'mean' or 'sum'",
  reduce: "reduction: 'none'",
};

/**
 * input vs target, reduced as `reduction` says ('mean' by default). The options are checked here, when the module
 * is made, since forward passes on only the ones it knows.
 */
class ReducedLoss extends Module {
  readonly reduction: Reduction;
  constructor(opts: ReductionOptions, allowed: string[]) {
    super();
    const name = new.target.name;
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
      throw new ValueError(
        `${name}: the argument must be an options object like {${allowed.join(', ')}}, got ${String(opts)}`,
      );
    for (const k of Object.keys(opts))
      if (!allowed.includes(k))
        throw new ValueError(
          `${name}: unknown option '${k}'; the options are ${allowed.join(', ')}` +
            (SNAKE[k] ? `: use ${SNAKE[k]}` : ''),
        );
    const r = opts.reduction ?? 'mean';
    if (!['mean', 'sum', 'none'].includes(r))
      throw new ValueError(`${name}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
    this.reduction = r;
  }
}

/** crossEntropy(input, target, {weight, ignoreIndex, reduction, labelSmoothing}) as a module. */
export class CrossEntropyLoss extends ReducedLoss {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(opts: CrossEntropyOptions = {}) {
    super(opts, ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing']);
    this.registerBuffer('weight', opts.weight ?? null);
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

/** nllLoss(input, target, {weight, ignoreIndex, reduction}) as a module. */
export class NLLLoss extends ReducedLoss {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(opts: NllLossOptions = {}) {
    super(opts, ['weight', 'ignoreIndex', 'reduction']);
    this.registerBuffer('weight', opts.weight ?? null);
    this.ignoreIndex = opts.ignoreIndex ?? -100;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

/** mseLoss(input, target, {reduction}) as a module. */
export class MSELoss extends ReducedLoss {
  constructor(opts: ReductionOptions = {}) {
    super(opts, ['reduction']);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}

/** l1Loss(input, target, {reduction}) as a module. */
export class L1Loss extends ReducedLoss {
  constructor(opts: ReductionOptions = {}) {
    super(opts, ['reduction']);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}

/** smoothL1Loss(input, target, {reduction, beta}) as a module. */
export class SmoothL1Loss extends ReducedLoss {
  readonly beta: number;
  constructor(opts: SmoothL1LossOptions = {}) {
    super(opts, ['reduction', 'beta']);
    this.beta = opts.beta ?? 1;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** binaryCrossEntropy(input, target, {weight, reduction}) as a module: input is probabilities. */
export class BCELoss extends ReducedLoss {
  declare readonly weight: Tensor | null;
  constructor(opts: BinaryCrossEntropyOptions = {}) {
    super(opts, ['weight', 'reduction']);
    this.registerBuffer('weight', opts.weight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/** binaryCrossEntropyWithLogits(input, target, {weight, posWeight, reduction}) as a module: input is logits. */
export class BCEWithLogitsLoss extends ReducedLoss {
  declare readonly weight: Tensor | null;
  declare readonly pos_weight: Tensor | null;
  constructor(opts: BinaryCrossEntropyWithLogitsOptions = {}) {
    super(opts, ['weight', 'posWeight', 'reduction']);
    this.registerBuffer('weight', opts.weight ?? null);
    this.registerBuffer('pos_weight', opts.posWeight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      posWeight: this.pos_weight,
      reduction: this.reduction,
    });
  }
}
