/**
 * @file Loss modules (torch.nn.CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss):
 * the options of their ad.F functions, held by the module. A class weight (and BCEWithLogitsLoss's posWeight) is a
 * buffer named as PyTorch names it (`weight`, `pos_weight`), so it is saved in the state dict when it is given. The
 * parameters the modules share with the functions (weight, the deprecated size_average and reduce, reduction) are
 * declared with the functions' parameter types.
 */

import { checkMethods, int, number, optional, type Params, sig, tensor } from '../core/args.js';
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
  REDUCE,
  REDUCTION,
  RENAMES,
  type Reduction,
  type ReductionOptions,
  SIZE_AVERAGE,
  type SmoothL1LossOptions,
  smoothL1Loss,
  WEIGHT,
} from '../ops/loss.js';
import type { Tensor } from '../tensor/tensor.js';
import { PROB } from './args.js';
import { Module } from './module.js';

/** A loss's signature: PyTorch's parameters in its order; every one may also be given by name. */
function lossSignature<P extends Params>(name: string, args: P) {
  return sig(name, { args, renames: RENAMES });
}

/** input vs target, reduced as `reduction` says ('mean' by default); each loss's signature checks its arguments. */
class ReducedLoss extends Module {
  readonly reduction: Reduction;
  constructor(reduction: Reduction | undefined) {
    super();
    this.reduction = reduction ?? 'mean';
  }
}

/**
 * torch.nn.CrossEntropyLoss(weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean',
 * label_smoothing=0.0).
 */
const CROSS_ENTROPY = lossSignature('CrossEntropyLoss', {
  weight: WEIGHT,
  sizeAverage: SIZE_AVERAGE,
  ignoreIndex: optional(int()),
  reduce: REDUCE,
  reduction: REDUCTION,
  labelSmoothing: optional(PROB),
});

/** crossEntropy(input, target, {weight, ignoreIndex, reduction, labelSmoothing}) as a module. */
export class CrossEntropyLoss extends ReducedLoss {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(
    weight?: Tensor | null | CrossEntropyOptions,
    sizeAverage?: null | CrossEntropyOptions,
    ignoreIndex?: number | CrossEntropyOptions,
    reduce?: null | CrossEntropyOptions,
    reduction?: Reduction | CrossEntropyOptions,
    labelSmoothing?: number | CrossEntropyOptions,
    opts?: CrossEntropyOptions,
  );
  constructor(...args: unknown[]) {
    const a = CROSS_ENTROPY.bind(args);
    super(a.reduction);
    this.registerBuffer('weight', a.weight ?? null);
    this.ignoreIndex = a.ignoreIndex ?? -100;
    this.labelSmoothing = a.labelSmoothing ?? 0;
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

CROSS_ENTROPY.describes(CrossEntropyLoss);

/** torch.nn.NLLLoss(weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean'). */
const NLL = lossSignature('NLLLoss', {
  weight: WEIGHT,
  sizeAverage: SIZE_AVERAGE,
  ignoreIndex: optional(int()),
  reduce: REDUCE,
  reduction: REDUCTION,
});

/** nllLoss(input, target, {weight, ignoreIndex, reduction}) as a module. */
export class NLLLoss extends ReducedLoss {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(
    weight?: Tensor | null | NllLossOptions,
    sizeAverage?: null | NllLossOptions,
    ignoreIndex?: number | NllLossOptions,
    reduce?: null | NllLossOptions,
    reduction?: Reduction | NllLossOptions,
    opts?: NllLossOptions,
  );
  constructor(...args: unknown[]) {
    const a = NLL.bind(args);
    super(a.reduction);
    this.registerBuffer('weight', a.weight ?? null);
    this.ignoreIndex = a.ignoreIndex ?? -100;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

NLL.describes(NLLLoss);

/** torch.nn.MSELoss and L1Loss(size_average=None, reduce=None, reduction='mean'). */
const REDUCED = { sizeAverage: SIZE_AVERAGE, reduce: REDUCE, reduction: REDUCTION };
const MSE = lossSignature('MSELoss', REDUCED);
const L1 = lossSignature('L1Loss', REDUCED);

/** mseLoss(input, target, {reduction}) as a module. */
export class MSELoss extends ReducedLoss {
  constructor(
    sizeAverage?: null | ReductionOptions,
    reduce?: null | ReductionOptions,
    reduction?: Reduction | ReductionOptions,
    opts?: ReductionOptions,
  );
  constructor(...args: unknown[]) {
    super(MSE.bind(args).reduction);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}

MSE.describes(MSELoss);

/** l1Loss(input, target, {reduction}) as a module. */
export class L1Loss extends ReducedLoss {
  constructor(
    sizeAverage?: null | ReductionOptions,
    reduce?: null | ReductionOptions,
    reduction?: Reduction | ReductionOptions,
    opts?: ReductionOptions,
  );
  constructor(...args: unknown[]) {
    super(L1.bind(args).reduction);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}

L1.describes(L1Loss);

/** torch.nn.SmoothL1Loss(size_average=None, reduce=None, reduction='mean', beta=1.0). */
const SMOOTH_L1 = lossSignature('SmoothL1Loss', { ...REDUCED, beta: optional(number({ min: 0 })) });

/** smoothL1Loss(input, target, {reduction, beta}) as a module. */
export class SmoothL1Loss extends ReducedLoss {
  readonly beta: number;
  constructor(
    sizeAverage?: null | SmoothL1LossOptions,
    reduce?: null | SmoothL1LossOptions,
    reduction?: Reduction | SmoothL1LossOptions,
    beta?: number | SmoothL1LossOptions,
    opts?: SmoothL1LossOptions,
  );
  constructor(...args: unknown[]) {
    const a = SMOOTH_L1.bind(args);
    super(a.reduction);
    this.beta = a.beta ?? 1;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

SMOOTH_L1.describes(SmoothL1Loss);

/** torch.nn.BCELoss(weight=None, size_average=None, reduce=None, reduction='mean'). */
const BCE = lossSignature('BCELoss', { weight: WEIGHT, ...REDUCED });

/** binaryCrossEntropy(input, target, {weight, reduction}) as a module: input is probabilities. */
export class BCELoss extends ReducedLoss {
  declare readonly weight: Tensor | null;
  constructor(
    weight?: Tensor | null | BinaryCrossEntropyOptions,
    sizeAverage?: null | BinaryCrossEntropyOptions,
    reduce?: null | BinaryCrossEntropyOptions,
    reduction?: Reduction | BinaryCrossEntropyOptions,
    opts?: BinaryCrossEntropyOptions,
  );
  constructor(...args: unknown[]) {
    const a = BCE.bind(args);
    super(a.reduction);
    this.registerBuffer('weight', a.weight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

BCE.describes(BCELoss);

/** torch.nn.BCEWithLogitsLoss(weight=None, size_average=None, reduce=None, reduction='mean', pos_weight=None). */
const BCE_WITH_LOGITS = lossSignature('BCEWithLogitsLoss', { weight: WEIGHT, ...REDUCED, posWeight: WEIGHT });

/** binaryCrossEntropyWithLogits(input, target, {weight, posWeight, reduction}) as a module: input is logits. */
export class BCEWithLogitsLoss extends ReducedLoss {
  declare readonly weight: Tensor | null;
  declare readonly pos_weight: Tensor | null;
  constructor(
    weight?: Tensor | null | BinaryCrossEntropyWithLogitsOptions,
    sizeAverage?: null | BinaryCrossEntropyWithLogitsOptions,
    reduce?: null | BinaryCrossEntropyWithLogitsOptions,
    reduction?: Reduction | BinaryCrossEntropyWithLogitsOptions,
    posWeight?: Tensor | null | BinaryCrossEntropyWithLogitsOptions,
    opts?: BinaryCrossEntropyWithLogitsOptions,
  );
  constructor(...args: unknown[]) {
    const a = BCE_WITH_LOGITS.bind(args);
    super(a.reduction);
    this.registerBuffer('weight', a.weight ?? null);
    this.registerBuffer('pos_weight', a.posWeight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      posWeight: this.pos_weight,
      reduction: this.reduction,
    });
  }
}

BCE_WITH_LOGITS.describes(BCEWithLogitsLoss);
for (const cls of [CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss])
  checkMethods(cls, { forward: { args: { input: tensor, target: tensor } } });
