/**
 * @file Adam (with amsgrad and maximize) and AdamW, torch.optim.Adam and torch.optim.AdamW (1.13) update for update.
 * They differ only in weight decay: Adam adds weightDecay·θ to the gradient (an L2 penalty, which the moment
 * estimates then rescale), AdamW shrinks θ by lr·weightDecay directly (decoupled decay).
 */
import { ValueError } from '../core/errors.js';
import { maximum, zerosLike } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNonNegative, Optimizer, type ParamGroup, type Params, withGrad } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

function validate(name: string, g: ParamGroup<AdamOptions>): void {
  for (const k of ['lr', 'eps', 'weightDecay'] as const) checkNonNegative(name, k, g[k]);
  const b = g.betas;
  if (!Array.isArray(b) || b.length !== 2)
    throw new ValueError(`${name}: betas must be a pair [beta1, beta2], got ${JSON.stringify(b)}`);
  b.forEach((beta, i) => {
    if (typeof beta !== 'number' || !(beta >= 0 && beta < 1))
      throw new ValueError(`${name}: betas[${i}] must be in [0, 1), got ${String(beta)}`);
  });
}

/** One Adam step of a group; decoupled selects AdamW's weight decay. */
function adamUpdate(opt: Optimizer<AdamOptions>, g: ParamGroup<AdamOptions>, decoupled: boolean): void {
  const { lr, eps, weightDecay, amsgrad, maximize } = g;
  const [beta1, beta2] = g.betas;
  for (const [p, rawGrad] of withGrad(g)) {
    const state = opt.state.get(p) ?? {};
    if (Object.keys(state).length === 0) {
      state.step = 0;
      state.expAvg = zerosLike(p);
      state.expAvgSq = zerosLike(p);
      if (amsgrad) state.maxExpAvgSq = zerosLike(p);
      opt.state.set(p, state);
    }
    let grad = maximize ? rawGrad.neg() : rawGrad;
    const step = (state.step as number) + 1;
    state.step = step;
    if (decoupled) p.mul_(1 - lr * weightDecay);
    else if (weightDecay !== 0) grad = grad.add(p, { alpha: weightDecay });
    const expAvg = state.expAvg as Tensor;
    const expAvgSq = state.expAvgSq as Tensor;
    expAvg.mul_(beta1).add_(grad, { alpha: 1 - beta1 });
    expAvgSq.mul_(beta2).add_(grad.mul(1 - beta2).mul(grad));
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    const stepSize = lr / bc1;
    let second = expAvgSq;
    if (amsgrad) {
      // A state made with amsgrad off (a group switched on later) has no maximum yet.
      const max = (state.maxExpAvgSq ??= zerosLike(p)) as Tensor;
      max.copy_(maximum(max, expAvgSq));
      second = max;
    }
    const denom = second.sqrt().div(Math.sqrt(bc2)).add(eps);
    p.add_(expAvg.mul(-stepSize).div(denom));
  }
}

function defaults(opts: Partial<AdamOptions>, weightDecay: number): AdamOptions {
  return {
    lr: opts.lr ?? 1e-3,
    betas: opts.betas ?? [0.9, 0.999],
    eps: opts.eps ?? 1e-8,
    weightDecay: opts.weightDecay ?? weightDecay,
    amsgrad: opts.amsgrad ?? false,
    maximize: opts.maximize ?? false,
  };
}

/**
 * Adam: moment estimates m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², and θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
 * amsgrad uses the running maximum of v.
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, defaults(opts, 0));
  }
  protected override validate(g: ParamGroup<AdamOptions>): void {
    validate('Adam', g);
  }
  protected update(g: ParamGroup<AdamOptions>): void {
    adamUpdate(this, g, false);
  }
}

/** AdamW: Adam with decoupled weight decay θ ← θ·(1 − lr·weightDecay) (default weightDecay 0.01). */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, defaults(opts, 1e-2));
  }
  protected override validate(g: ParamGroup<AdamOptions>): void {
    validate('AdamW', g);
  }
  protected update(g: ParamGroup<AdamOptions>): void {
    adamUpdate(this, g, true);
  }
}
