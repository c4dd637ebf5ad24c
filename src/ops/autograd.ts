/**
 * @file The autograd API on top of the engine: x.backward(), autograd.grad(), and the engine's wiring to the ops it
 * needs (sum for unbroadcasting, add for accumulation, casts).
 */

import { type BackwardOptions, installEngineOps, runBackward } from '../autograd/engine.js';
import { installAccumulatorFactory } from '../autograd/forward.js';
import { AccumulateGrad } from '../autograd/node.js';
import { kernels } from '../backend/index.js';
import { AutogradError, fmtShape } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { onesLike } from './creation.js';
import { bview } from './define.js';
import { add, toDtype } from './elementwise.js';
import { installMethods } from './methods.js';
import { sumTo } from './reduce.js';
import { clone } from './shape.js';

const addFn = (a: number, b: number) => a + b;

installEngineOps({
  sumTo,
  add: (a, b) => add(a, b),
  addInPlace: (a, b) => {
    kernels().binary('add', addFn, a._view(), a._view(), bview(b, a.shape));
    a._storage.version++;
  },
  cast: toDtype,
  clone,
  onesLike: (t) => onesLike(t),
});

installAccumulatorFactory((t) => new AccumulateGrad(t));

/** Accumulates d(this)/d(leaf) into every leaf's .grad (torch.Tensor.backward). */
export function backward(t: Tensor, gradient?: Tensor | null, opts: BackwardOptions = {}): void {
  runBackward([t], [gradient], opts);
}

export interface GradOptions extends BackwardOptions {
  /** The vector in the vector-Jacobian product, one per output (default: ones for one-element outputs). */
  gradOutputs?: (Tensor | null)[] | Tensor | null;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/**
 * The gradients of outputs with respect to inputs, returned instead of written to .grad (torch.autograd.grad).
 * With createGraph the result is differentiable again.
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const g = opts.gradOutputs;
  const gs = Array.isArray(g) ? g : outs.map(() => g ?? null);
  const res = runBackward(outs, gs, opts, ins, 'autograd.grad');
  if (!opts.allowUnused)
    res.forEach((r, i) => {
      if (r === null)
        throw new AutogradError(
          `autograd.grad: input ${i} (shape ${fmtShape(ins[i].shape)}) was not used to compute the outputs; ` +
            `pass {allowUnused: true} to get null for it`,
        );
    });
  return res;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Backpropagates from this tensor; leaves accumulate into .grad. */
    backward(gradient?: Tensor | null, opts?: BackwardOptions): void;
  }
}
installMethods({ backward });
