/**
 * @file SGD with momentum, dampening, Nesterov momentum, weight decay and maximize: torch.optim.SGD (1.13), update
 * for update, with its signature: `new SGD(params, 0.1, 0.9)` or `new SGD(params, {lr: 0.1, momentum: 0.9})`.
 */
import { bool, number, optional, sig } from '../core/args.js';
import { _addScaledInto, clone } from '../ops/index.js';
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

export interface SGDOptions {
  /** Required: in the options or in every group. */
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/** What the constructor's options object may hold: any option, by name. */
export type SGDArgs = Partial<SGDOptions> & { foreach?: boolean | null };

/** torch.optim.SGD(params, lr=required, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False, foreach=None). */
const SGD_SIG = sig('SGD', {
  args: {
    params: PARAMS,
    lr: optional(NON_NEGATIVE),
    momentum: optional(NON_NEGATIVE),
    // PyTorch puts no bound on dampening; any finite factor is a valid (if odd) choice.
    dampening: optional(number()),
    weightDecay: optional(NON_NEGATIVE),
    nesterov: optional(bool),
  },
  options: { maximize: optional(bool), foreach: FOREACH },
});

const SGD_RULES = optionRules(SGD_SIG, (g) =>
  g.nesterov && (!((g.momentum as number) > 0) || g.dampening !== 0)
    ? `Nesterov momentum requires momentum > 0 and dampening 0, got momentum ${g.momentum} and dampening ` +
      `${g.dampening}; set them so, or nesterov false`
    : undefined,
);

/**
 * Stochastic gradient descent. With momentum μ the buffer is b ← μ·b + (1 − dampening)·g (b = g on the first step)
 * and the step is −lr·b, or −lr·(g + μ·b) with nesterov: PyTorch's form, in which lr multiplies the buffer rather than
 * entering it, so changing lr mid-run takes effect at once.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(
    params: Params<SGDOptions>,
    lr?: number | SGDArgs,
    momentum?: number | SGDArgs,
    dampening?: number | SGDArgs,
    weightDecay?: number | SGDArgs,
    nesterov?: boolean | SGDArgs,
    opts?: SGDArgs,
  );
  constructor(...args: unknown[]) {
    const a = SGD_SIG.bind(args);
    super(a.params as Params<SGDOptions>, {
      lr: a.lr as number,
      momentum: a.momentum ?? 0,
      dampening: a.dampening ?? 0,
      weightDecay: a.weightDecay ?? 0,
      nesterov: a.nesterov ?? false,
      maximize: a.maximize ?? false,
    });
  }

  protected override rules(): OptionRules {
    return SGD_RULES;
  }

  protected update(g: ParamGroup<SGDOptions>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = g;
    for (const [p, grad] of withGrad(g)) {
      const state = this.stateOf(p);
      let d = descentGrad(p, grad, maximize, weightDecay);
      if (momentum !== 0) {
        let buf = (state.momentumBuffer ?? null) as Tensor | null;
        if (buf === null) buf = clone(d);
        // b ← μ·b + d in one pass (the fused kernel rounds μ·b as mul_ does, and the sum commutes).
        else if (1 - dampening === 1) _addScaledInto(buf, d, buf, momentum);
        else buf.mul_(momentum).add_(d, { alpha: 1 - dampening });
        state.momentumBuffer = buf;
        // d + μ·b, into d when descentGrad made it (never into the user's grad).
        if (nesterov) d = _addScaledInto(d === grad ? null : d, d, buf, momentum);
        else d = buf;
      } else state.momentumBuffer = null;
      p.add_(d, { alpha: -lr });
    }
  }
}

SGD_SIG.describes(SGD);
checkOptimizer(SGD);
