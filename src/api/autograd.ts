/**
 * @file `ad.autograd`: PyTorch's torch.autograd namespace — grad, and backward in its list form
 * (`autograd.backward([y1, y2], [g1, g2])`), which runs one backward pass from several outputs at once.
 */
import { runBackward } from '../autograd/engine.js';
import { noGrad } from '../autograd/mode.js';
import { array, bool, checked, nullable, optional, tensor, union } from '../core/args.js';
import { AutogradError } from '../core/errors.js';
import { add, clone } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

export { type GradOptions, grad } from '../ops/autograd.js';

const TENSORS = union(tensor, array(tensor, 'an array of Tensors'));

export interface AutogradBackwardOptions {
  gradTensors?: Tensor | (Tensor | null)[] | null;
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Accumulate into these tensors' .grad only (leaves or not), as PyTorch's `inputs`. */
  inputs?: Tensor | Tensor[];
}

type GradTensors = Tensor | (Tensor | null)[] | null;

/** autograd.backward as called: positionally as PyTorch, or with the trailing options. */
export interface AutogradBackward {
  (tensors: Tensor | Tensor[], gradTensors?: GradTensors, opts?: Omit<AutogradBackwardOptions, 'gradTensors'>): void;
  (tensors: Tensor | Tensor[], opts: AutogradBackwardOptions): void;
  (
    tensors: Tensor | Tensor[],
    gradTensors: GradTensors | undefined,
    retainGraph?: boolean,
    createGraph?: boolean,
    inputs?: Tensor | Tensor[],
  ): void;
}

/**
 * torch.autograd.backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None): the sum
 * of the outputs' vector-Jacobian products accumulated into the leaves' .grad in one pass (each shared node runs
 * once). `gradTensors` holds one gradient per output (null for a one-element output's implicit 1).
 */
export const backward = checked(
  'autograd.backward',
  {
    args: {
      tensors: TENSORS,
      gradTensors: optional(nullable(union(tensor, array(nullable(tensor), 'an array of Tensors or nulls')))),
      retainGraph: optional(bool),
      createGraph: optional(bool),
      inputs: optional(TENSORS),
    },
  },
  (
    tensors: Tensor | Tensor[],
    gradTensors?: Tensor | (Tensor | null)[] | null,
    retainGraph?: boolean,
    createGraph: boolean = false,
    inputs?: Tensor | Tensor[],
  ): void => {
    const outs = Array.isArray(tensors) ? tensors : [tensors];
    if (outs.length === 0)
      throw new AutogradError('autograd.backward: got no tensors to backpropagate from; pass [y] or y');
    const gs = gradTensors == null ? outs.map(() => null) : Array.isArray(gradTensors) ? gradTensors : [gradTensors];
    if (gs.length !== outs.length)
      throw new AutogradError(
        `autograd.backward: got ${outs.length} tensor${outs.length === 1 ? '' : 's'} but ${gs.length} gradient` +
          `${gs.length === 1 ? '' : 's'}; pass one gradient per tensor (null for a one-element tensor's implicit 1)`,
      );
    const opts = { retainGraph: retainGraph ?? createGraph, createGraph };
    if (inputs === undefined) {
      runBackward(outs, gs, opts);
      return;
    }
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    if (ins.length === 0)
      throw new AutogradError('autograd.backward: inputs is empty; leave it out to accumulate into every leaf');
    const got = runBackward(outs, gs, opts, ins, 'autograd.backward');
    ins.forEach((t, i) => {
      const g = got[i];
      if (!g) return;
      // Accumulate as a leaf would: a fresh copy the first time (the engine may reuse g), a sum afterwards.
      if (createGraph) t._grad = t._grad ? add(t._grad, g) : clone(g);
      else noGrad(() => (t._grad = t._grad ? add(t._grad, g) : clone(g.detach())));
    });
  },
) as AutogradBackward;
