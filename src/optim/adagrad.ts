/**
 * @file Adagrad with lr decay, weight decay, an initial accumulator value and maximize: torch.optim.Adagrad (1.13),
 * update for update.
 */
import { bool, optional, sig } from '../core/args.js';
import { fullLike } from '../ops/index.js';
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

/** What the constructor's options object may hold: any option, by name. */
export type AdagradArgs = Partial<AdagradOptions> & { foreach?: boolean | null };

/**
 * torch.optim.Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
 * foreach=None, *, maximize=False).
 */
const ADAGRAD = sig('Adagrad', {
  args: {
    params: PARAMS,
    lr: optional(NON_NEGATIVE),
    lrDecay: optional(NON_NEGATIVE),
    weightDecay: optional(NON_NEGATIVE),
    initialAccumulatorValue: optional(NON_NEGATIVE),
    eps: optional(NON_NEGATIVE),
    foreach: FOREACH,
  },
  options: { maximize: optional(bool) },
});
const ADAGRAD_RULES = optionRules(ADAGRAD);

/**
 * Adagrad: the sum of squared gradients s ← s + g², and θ ← θ − lr/(1 + (t−1)·lrDecay) · g / (√s + ε). As in
 * PyTorch, every parameter's state (step 0, s = initialAccumulatorValue) exists from the start, so a state dict
 * taken before the first step already lists it. (PyTorch fills s from the constructor's value even where a group sets
 * its own; here a group's own value is used.)
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(
    params: Params<AdagradOptions>,
    lr?: number | AdagradArgs,
    lrDecay?: number | AdagradArgs,
    weightDecay?: number | AdagradArgs,
    initialAccumulatorValue?: number | AdagradArgs,
    eps?: number | AdagradArgs,
    foreach?: boolean | null | AdagradArgs,
    opts?: AdagradArgs,
  );
  constructor(...args: unknown[]) {
    const a = ADAGRAD.bind(args);
    super(a.params as Params<AdagradOptions>, {
      lr: a.lr ?? 1e-2,
      lrDecay: a.lrDecay ?? 0,
      weightDecay: a.weightDecay ?? 0,
      initialAccumulatorValue: a.initialAccumulatorValue ?? 0,
      eps: a.eps ?? 1e-10,
      maximize: a.maximize ?? false,
    });
  }

  protected override rules(): OptionRules {
    return ADAGRAD_RULES;
  }

  protected override groupAdded(g: ParamGroup<AdagradOptions>): void {
    for (const p of g.params) this.init(this.stateOf(p), p, g);
  }

  private init(state: ParamState, p: Tensor, g: ParamGroup<AdagradOptions>): void {
    state.step = 0;
    state.sum = fullLike(p, g.initialAccumulatorValue);
  }

  protected update(g: ParamGroup<AdagradOptions>): void {
    const { lr, lrDecay, weightDecay, eps, maximize } = g;
    for (const [p, rawGrad] of withGrad(g)) {
      const state = this.stateOf(p);
      if (state.sum === undefined) this.init(state, p, g);
      const step = (state.step as number) + 1;
      state.step = step;
      const grad = descentGrad(p, rawGrad, maximize, weightDecay);
      const clr = lr / (1 + (step - 1) * lrDecay);
      const sum = state.sum as Tensor;
      sum.add_(grad.mul(grad));
      const std = sum.sqrt();
      std.add_(eps);
      const delta = grad.mul(-clr);
      delta.div_(std);
      p.add_(delta);
    }
  }
}

ADAGRAD.describes(Adagrad);
checkOptimizer(Adagrad);
