/**
 * @file The autograd API on top of the engine: x.backward(), autograd.grad(), and the engine's wiring to the ops it
 * needs (sum for unbroadcasting, add for accumulation, casts).
 */

import { type BackwardOptions, installEngineOps, runBackward } from '../autograd/engine.js';
import { installAccumulatorFactory } from '../autograd/forward.js';
import { AccumulateGrad } from '../autograd/node.js';
import { kernels } from '../backend/index.js';
import { array, bool, checked, custom, nullable, optional, tensor, union } from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { AutogradError, fmtShape } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { emptyTensor } from '../tensor/tensor.js';
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
  zeros: (shape, dtype) => {
    const z = emptyTensor(shape as number[], dtype);
    kernels().fill(z._view(), 0);
    return z;
  },
});

installAccumulatorFactory((t) => new AccumulateGrad(t));

/** How PyTorch users pass backward's flags: by name, `y.backward({retainGraph: true})`, or positionally. */
export interface BackwardArgs extends BackwardOptions {
  gradient?: Tensor | null;
}
type BackwardPositional = [gradient: Tensor | null, retainGraph: boolean | null, createGraph: boolean];

/**
 * Accumulates d(this)/d(leaf) into every leaf's .grad: torch.Tensor.backward(gradient=None, retain_graph=None,
 * create_graph=False), every parameter positional or by name.
 */
export const backward = checked(
  'backward',
  {
    args: {
      input: tensor,
      gradient: optional(nullable(tensor)),
      retainGraph: optional(nullable(bool)),
      createGraph: optional(bool),
    },
  },
  (t: Tensor, gradient?: Tensor | null, retainGraph?: boolean | null, createGraph?: boolean): void => {
    runBackward([t], [gradient], { retainGraph: retainGraph ?? undefined, createGraph });
  },
) as (...a: PyArgs<[input: Tensor], BackwardPositional, BackwardArgs>) => void;

export interface GradOptions extends BackwardOptions {
  /** The vector in the vector-Jacobian product, one per output (default: ones for one-element outputs). */
  gradOutputs?: (Tensor | null)[] | Tensor | null;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

const TENSORS = union(tensor, array(tensor, 'an array of Tensors'));

/**
 * The gradients of outputs with respect to inputs, returned instead of written to .grad: torch.autograd.grad(outputs,
 * inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True, allow_unused=False), each
 * parameter positional or by name (`{createGraph: true}`). With createGraph the result is differentiable again.
 */
export const grad = checked(
  'autograd.grad',
  {
    args: {
      outputs: TENSORS,
      inputs: TENSORS,
      gradOutputs: optional(nullable(union(tensor, array(nullable(tensor), 'an array of Tensors or nulls')))),
      retainGraph: optional(nullable(bool)),
      createGraph: optional(bool),
      // Deprecated in PyTorch, which ignores it: only true means what both libraries do.
      onlyInputs: optional(
        custom<boolean>('true (only_inputs is deprecated; leave it out)', (v) => v === true, 'boolean', true),
      ),
      allowUnused: optional(bool),
    },
  },
  (
    outputs: Tensor | Tensor[],
    inputs: Tensor | Tensor[],
    g?: GradOptions['gradOutputs'],
    retainGraph?: boolean | null,
    createGraph?: boolean,
    _onlyInputs?: boolean,
    allowUnused?: boolean,
  ): (Tensor | null)[] => {
    const outs = Array.isArray(outputs) ? outputs : [outputs];
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    const gs = Array.isArray(g) ? g : outs.map(() => g ?? null);
    const res = runBackward(outs, gs, { retainGraph: retainGraph ?? undefined, createGraph }, ins, 'autograd.grad');
    if (!allowUnused)
      res.forEach((r, i) => {
        if (r === null)
          throw new AutogradError(
            `autograd.grad: input ${i} (shape ${fmtShape(ins[i].shape)}) was not used to compute the outputs; ` +
              `pass {allowUnused: true} to get null for it`,
          );
      });
    return res;
  },
) as (
  ...a: PyArgs<
    [outputs: Tensor | Tensor[], inputs: Tensor | Tensor[]],
    [
      gradOutputs: GradOptions['gradOutputs'],
      retainGraph: boolean | null,
      createGraph: boolean,
      onlyInputs: true,
      allowUnused: boolean,
    ],
    GradOptions
  >
) => (Tensor | null)[];

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Backpropagates from this tensor; leaves accumulate into .grad. */
    backward(...a: PyArgs<[], BackwardPositional, BackwardArgs>): void;
  }
}
// The method takes the same arguments after self; its declared type is the Tensor interface's above.
installMethods({ backward: backward as (t: Tensor, ...a: unknown[]) => void });
