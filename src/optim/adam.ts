/**
 * @file Adam (with amsgrad and maximize) and AdamW, torch.optim.Adam and torch.optim.AdamW (1.13) update for update.
 * They differ only in weight decay: Adam adds weightDecay·θ to the gradient (an L2 penalty, which the moment
 * estimates then rescale), AdamW shrinks θ by lr·weightDecay directly (decoupled decay).
 */
import { bool, number, optional, sig, tuple } from '../core/args.js';
import { _addScaledInto, maximum, zerosLike } from '../ops/index.js';
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

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

/** What the constructor's options object may hold: any option, by name. */
export type AdamArgs = Partial<AdamOptions> & { foreach?: boolean | null };

const BETA = number({ min: 0, lt: 1 });
const BETAS = tuple([BETA, BETA], 'a pair [beta1, beta2] of numbers in [0, 1)');

/**
 * torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, foreach=None,
 * maximize=False) and AdamW, the same with weight_decay=1e-2.
 */
function adamSig(name: string) {
  return sig(name, {
    args: {
      params: PARAMS,
      lr: optional(NON_NEGATIVE),
      betas: optional(BETAS),
      eps: optional(NON_NEGATIVE),
      weightDecay: optional(NON_NEGATIVE),
      amsgrad: optional(bool),
    },
    options: { foreach: FOREACH, maximize: optional(bool) },
  });
}
const ADAM = adamSig('Adam');
const ADAMW = adamSig('AdamW');
const ADAM_RULES = optionRules(ADAM);

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
    const grad = descentGrad(p, rawGrad, maximize, decoupled ? 0 : weightDecay);
    const step = (state.step as number) + 1;
    state.step = step;
    if (decoupled) p.mul_(1 - lr * weightDecay);
    const expAvg = state.expAvg as Tensor;
    const expAvgSq = state.expAvgSq as Tensor;
    expAvg.mul_(beta1).add_(grad, { alpha: 1 - beta1 });
    // v ← β₂·v + (1−β₂)·g·g: the square in one fresh tensor, then the scaled sum in one pass (as mul_ then add_ round).
    const sq = grad.mul(1 - beta2);
    sq.mul_(grad);
    _addScaledInto(expAvgSq, sq, expAvgSq, beta2);
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
    // The same ops as √v/√bc₂ + ε and −stepSize·m/denom, each later one in place in the tensor the first made.
    const denom = second.sqrt();
    denom.div_(Math.sqrt(bc2)).add_(eps);
    const delta = expAvg.mul(-stepSize);
    delta.div_(denom);
    p.add_(delta);
  }
}

/** The bound arguments of Adam's or AdamW's signature and the defaults: the params and the options. */
function bindAdam(s: typeof ADAM, args: unknown[], weightDecay: number): [Params<AdamOptions>, AdamOptions] {
  const a = s.bind(args);
  return [
    a.params as Params<AdamOptions>,
    {
      lr: a.lr ?? 1e-3,
      betas: (a.betas?.slice() as [number, number]) ?? [0.9, 0.999],
      eps: a.eps ?? 1e-8,
      weightDecay: a.weightDecay ?? weightDecay,
      amsgrad: a.amsgrad ?? false,
      maximize: a.maximize ?? false,
    },
  ];
}

/** The constructor's overloads, shared by Adam and AdamW. */
type Opt = AdamArgs;

/**
 * Adam: moment estimates m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², and θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
 * amsgrad uses the running maximum of v.
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(
    params: Params<AdamOptions>,
    lr?: number | Opt,
    betas?: [number, number] | Opt,
    eps?: number | Opt,
    weightDecay?: number | Opt,
    amsgrad?: boolean | Opt,
    opts?: Opt,
  );
  constructor(...args: unknown[]) {
    super(...bindAdam(ADAM, args, 0));
  }
  protected override rules(): OptionRules {
    return ADAM_RULES;
  }
  protected update(g: ParamGroup<AdamOptions>): void {
    adamUpdate(this, g, false);
  }
}

/** AdamW: Adam with decoupled weight decay θ ← θ·(1 − lr·weightDecay) (default weightDecay 0.01). */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(
    params: Params<AdamOptions>,
    lr?: number | Opt,
    betas?: [number, number] | Opt,
    eps?: number | Opt,
    weightDecay?: number | Opt,
    amsgrad?: boolean | Opt,
    opts?: Opt,
  );
  constructor(...args: unknown[]) {
    super(...bindAdam(ADAMW, args, 1e-2));
  }
  protected override rules(): OptionRules {
    return ADAM_RULES;
  }
  protected update(g: ParamGroup<AdamOptions>): void {
    adamUpdate(this, g, true);
  }
}

ADAM.describes(Adam);
ADAMW.describes(AdamW);
checkOptimizer(Adam);
checkOptimizer(AdamW);
