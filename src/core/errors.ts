/**
 * @file Typed errors. Every message names the op, the operands' shapes, the rule that was broken and the fix.
 */
export class AdjointError extends Error {
  override name = 'AdjointError';
}
/** A shape, size or dimension does not fit the op's rule. */
export class ShapeError extends AdjointError {
  override name = 'ShapeError';
}
/** A dtype is unknown, unpromotable or not supported by the op. */
export class DTypeError extends AdjointError {
  override name = 'DTypeError';
}
/** Misuse of the autograd engine: freed graphs, in-place faults, non-scalar backward. */
export class AutogradError extends AdjointError {
  override name = 'AutogradError';
}
/** An index or dim is out of range. */
export class IndexError extends AdjointError {
  override name = 'IndexError';
}
/** A value is invalid (negative size, non-integer, wrong data length). */
export class ValueError extends AdjointError {
  override name = 'ValueError';
}

/**
 * A backend kernel failed while it ran — a trap in generated WebAssembly, on the calling thread or a worker — or a
 * worker thread stopped answering. The call produced no result and changed nothing.
 */
export class KernelError extends AdjointError {
  override name = 'KernelError';
}

/**
 * A tensor was used after it was released (t.dispose(), `using`, the end of the ad.scope that made it, or its .grad
 * slot letting go of it): its buffer may already hold another tensor's data, so nothing reads it.
 */
export class ReleasedTensorError extends AdjointError {
  override name = 'ReleasedTensorError';
}

/**
 * A call's arguments do not fit its declared parameters (src/core/args.ts): a wrong type, an unknown or snake_case
 * option, a surplus positional argument, an out-of-range value. A ValueError, so code that catches those keeps working.
 */
export class ArgumentError extends ValueError {
  override name = 'ArgumentError';
}

/** `[2, 3]` the way shapes print in every message. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** `[i, j, k]`: the multi-index of flat position i in a tensor of this shape, for messages about one element. */
export function fmtPosition(shape: readonly number[], i: number): string {
  const pos = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    pos[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return fmtShape(pos);
}
