/**
 * @file RMSprop with weight decay, momentum, the centered variant and maximize: torch.optim.RMSprop (1.13), update
 * for update.
 */
import { zerosLike } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNonNegative, Optimizer, type ParamGroup, type Params, withGrad } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

/**
 * RMSprop: v ← αv + (1−α)g², and θ ← θ − lr · g / (√v + ε). centered subtracts the square of the running mean of g
 * from v (an estimate of the variance); with momentum the scaled gradients go through a buffer first. As in
 * PyTorch, ε is added after the square root.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Params<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    super(params, {
      lr: opts.lr ?? 1e-2,
      alpha: opts.alpha ?? 0.99,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
      momentum: opts.momentum ?? 0,
      centered: opts.centered ?? false,
      maximize: opts.maximize ?? false,
    });
  }

  protected override validate(g: ParamGroup<RMSpropOptions>): void {
    for (const k of ['lr', 'eps', 'momentum', 'weightDecay', 'alpha'] as const) checkNonNegative('RMSprop', k, g[k]);
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
      let grad = maximize ? rawGrad.neg() : rawGrad;
      if (weightDecay !== 0) grad = grad.add(p, { alpha: weightDecay });
      const squareAvg = state.squareAvg as Tensor;
      squareAvg.mul_(alpha).add_(grad.mul(1 - alpha).mul(grad));
      let avg: Tensor;
      if (centered) {
        const gradAvg = (state.gradAvg ??= zerosLike(p)) as Tensor;
        gradAvg.mul_(alpha).add_(grad, { alpha: 1 - alpha });
        avg = squareAvg.sub(gradAvg.mul(gradAvg)).sqrt();
      } else avg = squareAvg.sqrt();
      avg = avg.add(eps);
      if (momentum > 0) {
        const buf = (state.momentumBuffer ??= zerosLike(p)) as Tensor;
        buf.mul_(momentum).add_(grad.div(avg));
        p.add_(buf, { alpha: -lr });
      } else p.add_(grad.mul(-lr).div(avg));
    }
  }
}
