/**
 * @file The parameter types the layers' signatures share (src/core/args.ts declares them): feature counts, the float
 * dtypes a layer's parameters may have, probabilities, eps, and the `int | tuple` sizes of the convolution and
 * pooling layers. Internal to src/nn: not re-exported by its index.
 */
import { type Arg, array, int, number, oneOf, optional, tuple, union } from '../core/args.js';

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
