/**
 * @file The parameter types the layers' signatures share (src/core/args.ts declares them): feature counts, the float
 * dtypes a layer's parameters may have, probabilities, eps, the `int | tuple` sizes of the convolution and pooling
 * layers, and the transformer layers' arguments. Internal to src/nn: not re-exported by its index.
 */
import { type Arg, array, bool, custom, fn, int, number, oneOf, optional, tuple, union } from '../core/args.js';
import { gelu, relu } from '../ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TransformerActivation } from './attention.js';

/** A feature or channel count that may be 0 (Linear(0, 3), as PyTorch allows). */
export const FEATURES = int({ min: 0 });
/** A count that must be at least 1 (hidden size, channels of a convolution, heads, groups). */
export const SIZE = int({ min: 1 });
/** A layer's parameter dtype: its parameters are floating point. */
export const FLOAT_DTYPE = optional(oneOf(['float32', 'float64']));
/** A dropout probability. */
export const PROB = number({ min: 0, max: 1 });
/** The eps added to a variance (0 is allowed, as the norm ops allow it). */
export const EPS = number({ min: 0 });

/** A whole number ≥ min or exactly nd of them: a convolution's kernel size, stride, padding or dilation. */
export function spatial(nd: number, min: number): Arg<number | number[]> {
  const one = int({ min });
  const several = tuple(
    new Array<Arg<number>>(nd).fill(one),
    `a list of ${nd === 1 ? 'one such number' : `${nd} such numbers`}`,
  ) as Arg<number[]>;
  return union(one, several);
}

/** A whole number ≥ min or a list of them, its length the op's to check (a pooling window, stride or padding). */
export function sizes(min: number): Arg<number | number[]> {
  return union(int({ min }), array(int({ min })));
}

/**
 * The arguments of TransformerEncoderLayer and TransformerDecoderLayer after dModel and nhead, in PyTorch's order
 * (device, which adjoint has not, left out).
 */
export const TRANSFORMER_LAYER_ARGS = {
  dimFeedforward: optional(SIZE),
  dropout: optional(PROB),
  activation: optional(
    custom<TransformerActivation>(
      "'relu', 'gelu' or a function of a Tensor",
      (v) => v === 'relu' || v === 'gelu' || fn.ok(v),
      'custom',
      'relu',
    ),
  ),
  layerNormEps: optional(EPS),
  batchFirst: optional(bool),
  normFirst: optional(bool),
};

/** A transformer layer's activation argument as the function its feed-forward block applies. */
export function activationFn(a: TransformerActivation): (x: Tensor) => Tensor {
  return a === 'relu' ? (x) => relu(x) : a === 'gelu' ? (x) => gelu(x) : a;
}
