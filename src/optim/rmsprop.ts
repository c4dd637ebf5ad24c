/**
 * @file RMSprop with weight decay, momentum, the centered variant and maximize: torch.optim.RMSprop (1.13), update
 * for update.
 */
import { bool, optional, sig } from '../core/args.js';
import { _addScaledInto, zerosLike } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkOptimizer,
  descentGrad,
  FOREACH,
  NON_NEGATIVE,
  Optimizer,
  type OptionRules,
  optionRules,
  PARAMS,
  type ParamGroup,
  type Params,
  withGrad,
} from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

/** What the constructor's options object may hold: any option, by name. */
export type RMSpropArgs = Partial<RMSpropOptions> & { foreach?: boolean | null };

/**
 * torch.optim.RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
 * foreach=None, maximize=False): in 1.13 every parameter is positional, foreach and maximize included.
 */
const RMSPROP = sig('RMSprop', {
  args: {
    params: PARAMS,
    lr: optional(NON_NEGATIVE),
    alpha: optional(NON_NEGATIVE),
    eps: optional(NON_NEGATIVE),
    weightDecay: optional(NON_NEGATIVE),
    momentum: optional(NON_NEGATIVE),
    centered: optional(bool),
    foreach: FOREACH,
    maximize: optional(bool),
  },
});
const RMSPROP_RULES = optionRules(RMSPROP);

/**
 * RMSprop: v ← αv + (1−α)g², and θ ← θ − lr · g / (√v + ε). centered subtracts the square of the running mean of g
 * from v (an estimate of the variance); with momentum the scaled gradients go through a buffer first. As in
 * PyTorch, ε is added after the square root.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(
    params: Params<RMSpropOptions>,
    lr?: number | RMSpropArgs,
    alpha?: number | RMSpropArgs,
    eps?: number | RMSpropArgs,
    weightDecay?: number | RMSpropArgs,
    momentum?: number | RMSpropArgs,
    centered?: boolean | RMSpropArgs,
    foreach?: boolean | null | RMSpropArgs,
    maximize?: boolean | RMSpropArgs,
    opts?: RMSpropArgs,
  );
  constructor(...args: unknown[]) {
    const a = RMSPROP.bind(args);
    super(a.params as Params<RMSpropOptions>, {
      lr: a.lr ?? 1e-2,
      alpha: a.alpha ?? 0.99,
      eps: a.eps ?? 1e-8,
      weightDecay: a.weightDecay ?? 0,
      momentum: a.momentum ?? 0,
      centered: a.centered ?? false,
      maximize: a.maximize ?? false,
    });
  }

  protected override rules(): OptionRules {
    return RMSPROP_RULES;
  }

  protected update(g: ParamGroup<RMSpropOptions>): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = g;
    for (const [p, rawGrad] of withGrad(g)) {
      const state = this.stateOf(p);
      if (Object.keys(state).length === 0) {
        state.step = 0;
        state.squareAvg = zerosLike(p);
        if (momentum > 0) state.momentumBuffer = zerosLike(p);
        if (centered) state.gradAvg = zerosLike(p);
      }
      state.step = (state.step as number) + 1;
      const grad = descentGrad(p, rawGrad, maximize, weightDecay);
      const squareAvg = state.squareAvg as Tensor;
      // s ← α·s + (1−α)·g·g: the square in one fresh tensor, then the scaled sum in one pass.
      const sq = grad.mul(1 - alpha);
      sq.mul_(grad);
      _addScaledInto(squareAvg, sq, squareAvg, alpha);
      let avg: Tensor;
      if (centered) {
        const gradAvg = (state.gradAvg ??= zerosLike(p)) as Tensor;
        gradAvg.mul_(alpha).add_(grad, { alpha: 1 - alpha });
        avg = squareAvg.sub(gradAvg.mul(gradAvg)).sqrt();
      } else avg = squareAvg.sqrt();
      avg.add_(eps);
      if (momentum > 0) {
        const buf = (state.momentumBuffer ??= zerosLike(p)) as Tensor;
        _addScaledInto(buf, grad.div(avg), buf, momentum);
        p.add_(buf, { alpha: -lr });
      } else {
        const delta = grad.mul(-lr);
        delta.div_(avg);
        p.add_(delta);
      }
    }
  }
}

RMSPROP.describes(RMSprop);
checkOptimizer(RMSprop);
