/**
 * @file SGD with momentum, dampening, Nesterov momentum, weight decay and maximize: torch.optim.SGD (1.13), update
 * for update.
 */
import { ValueError } from '../core/errors.js';
import { clone } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNonNegative, Optimizer, type ParamGroup, type Params, withGrad } from './optimizer.js';

export interface SGDOptions {
  /** Required: in the options or in every group. */
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * Stochastic gradient descent. With momentum μ the buffer is b ← μ·b + (1 − dampening)·g (b = g on the first step)
 * and the step is −lr·b, or −lr·(g + μ·b) with nesterov: PyTorch's form, in which lr multiplies the buffer rather than
 * entering it, so changing lr mid-run takes effect at once.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, opts: Partial<SGDOptions> = {}) {
    super(
      params,
      {
        lr: opts.lr as number,
        momentum: opts.momentum ?? 0,
        dampening: opts.dampening ?? 0,
        weightDecay: opts.weightDecay ?? 0,
        nesterov: opts.nesterov ?? false,
        maximize: opts.maximize ?? false,
      },
      ['lr'],
    );
  }

  protected override validate(g: ParamGroup<SGDOptions>): void {
    for (const k of ['lr', 'momentum', 'weightDecay'] as const) checkNonNegative('SGD', k, g[k]);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      throw new ValueError(
        `SGD: Nesterov momentum requires momentum > 0 and dampening 0, got momentum ${g.momentum} and dampening ` +
          `${g.dampening}`,
      );
  }

  protected update(g: ParamGroup<SGDOptions>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = g;
    for (const [p, grad] of withGrad(g)) {
      const state = this.stateOf(p);
      let d = maximize ? grad.neg() : grad;
      if (weightDecay !== 0) d = d.add(p, { alpha: weightDecay });
      if (momentum !== 0) {
        let buf = (state.momentumBuffer ?? null) as Tensor | null;
        if (buf === null) buf = clone(d);
        else buf.mul_(momentum).add_(d, { alpha: 1 - dampening });
        state.momentumBuffer = buf;
        d = nesterov ? d.add(buf, { alpha: momentum }) : buf;
      } else state.momentumBuffer = null;
      p.add_(d, { alpha: -lr });
    }
  }
}
