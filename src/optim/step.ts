/**
 * @file trainStep: one training step in a memory scope — zero the gradients, run the closure (the forward and the
 * loss), backward, optimizer step — with every intermediate released when it ends, so a loop of steps reuses the
 * same pooled buffers instead of leaving them to the garbage collector.
 */
import { checked, fn, instance } from '../core/args.js';
import { AdjointError } from '../core/errors.js';
import { scope } from '../tensor/lifetime.js';
import { Tensor } from '../tensor/tensor.js';
import { Optimizer } from './optimizer.js';

function lossOf(l: unknown): Tensor {
  if (!(l instanceof Tensor) || l.numel() !== 1)
    throw new AdjointError(
      `trainStep: the closure must return the loss as a one-element Tensor, got ${
        l instanceof Tensor ? `a tensor of shape [${l.shape.join(', ')}]` : typeof l
      }; return e.g. F.crossEntropy(model.forward(x), y)`,
    );
  return l;
}

/**
 * One training step: optimizer.zeroGrad(), loss = closure(), loss.backward(), optimizer.step(), all inside
 * ad.scope, so everything the step makes is released except the parameters, their gradients and the optimizer's
 * state. Returns the loss as a number (a promise of it for an async closure). The gradients of the previous step are
 * released by zeroGrad (clone one to keep it past the next step).
 */
export const trainStep = checked(
  'trainStep',
  { args: { optimizer: instance(Optimizer, 'an optimizer (ad.optim.SGD, Adam, …)'), closure: fn } },
  function trainStep(optimizer: Optimizer<any>, closure: () => Tensor | Promise<Tensor>): number | Promise<number> {
    const finish = (l: unknown): number => {
      const loss = lossOf(l);
      loss.backward();
      optimizer.step();
      return loss.item();
    };
    const isAsync = closure.constructor !== Function;
    if (isAsync)
      return scope(async () => {
        optimizer.zeroGrad();
        return finish(await closure());
      });
    return scope(() => {
      optimizer.zeroGrad();
      return finish(closure());
    });
  },
) as {
  (optimizer: Optimizer<any>, closure: () => Tensor): number;
  (optimizer: Optimizer<any>, closure: () => Promise<Tensor>): Promise<number>;
};
