/**
 * @file Adagrad with lr decay, weight decay, an initial accumulator value and maximize: torch.optim.Adagrad (1.13),
 * update for update.
 */
import { fullLike } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkNonNegative,
  Optimizer,
  type ParamGroup,
  type ParamGroupInit,
  type ParamState,
  type Params,
  withGrad,
} from './optimizer.js';

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

/**
 * Adagrad: the sum of squared gradients s ← s + g², and θ ← θ − lr/(1 + (t−1)·lrDecay) · g / (√s + ε). As in
 * PyTorch, every parameter's state (step 0, s = initialAccumulatorValue) exists from the start, so a state dict
 * taken before the first step already lists it. (PyTorch fills s from the constructor's value even where a group sets
 * its own; here a group's own value is used.)
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: Params<AdagradOptions>, opts: Partial<AdagradOptions> = {}) {
    super(params, {
      lr: opts.lr ?? 1e-2,
      lrDecay: opts.lrDecay ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      initialAccumulatorValue: opts.initialAccumulatorValue ?? 0,
      eps: opts.eps ?? 1e-10,
      maximize: opts.maximize ?? false,
    });
  }

  override addParamGroup(group: ParamGroupInit<AdagradOptions>): void {
    super.addParamGroup(group);
    const g = this.paramGroups[this.paramGroups.length - 1];
    for (const p of g.params) this.init(this.stateOf(p), p, g);
  }

  private init(state: ParamState, p: Tensor, g: ParamGroup<AdagradOptions>): void {
    state.step = 0;
    state.sum = fullLike(p, g.initialAccumulatorValue);
  }

  protected override validate(g: ParamGroup<AdagradOptions>): void {
    for (const k of ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'] as const)
      checkNonNegative('Adagrad', k, g[k]);
  }

  protected update(g: ParamGroup<AdagradOptions>): void {
    const { lr, lrDecay, weightDecay, eps, maximize } = g;
    for (const [p, rawGrad] of withGrad(g)) {
      const state = this.stateOf(p);
      if (state.sum === undefined) this.init(state, p, g);
      const step = (state.step as number) + 1;
      state.step = step;
      let grad = maximize ? rawGrad.neg() : rawGrad;
      if (weightDecay !== 0) grad = grad.add(p, { alpha: weightDecay });
      const clr = lr / (1 + (step - 1) * lrDecay);
      const sum = state.sum as Tensor;
      sum.add_(grad.mul(grad));
      const std = sum.sqrt().add(eps);
      p.add_(grad.mul(-clr).div(std));
    }
  }
}
