/**
 * @file Forward mode (dual tensors): inside `forwardAD(fn)`, a tensor made with makeDual carries a tangent, and every
 * op pushes tangents forward with its JVP rule. One level for now; nesting (jvp of jvp) is the transforms issue's.
 */
import { AutogradError, fmtShape } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';

let level = 0;
let nextLevel = 1;

/** The active forward-AD level, 0 when forward mode is off (the fast path in every op checks this). */
export function forwardLevel(): number {
  return level;
}

/** Runs fn with forward-mode AD on; tangents made inside vanish when it returns. */
export function forwardAD<T>(fn: () => T): T {
  if (level !== 0) throw new AutogradError('forwardAD: nested forward-AD levels are not supported yet');
  level = nextLevel++;
  try {
    return fn();
  } finally {
    level = 0;
  }
}

/**
 * Runs a JVP rule: the rule reads primal values only, so this level is switched off while it runs (otherwise the
 * rule's own ops would push tangents of tangents, forever).
 */
export function atPrimalLevel<T>(fn: () => T): T {
  const prev = level;
  level = 0;
  try {
    return fn();
  } finally {
    level = prev;
  }
}

/** The tangent of t at the active level, or null. */
export function tangentOf(t: Tensor): Tensor | null {
  return level !== 0 && t._tangent !== null && t._tangentLevel === level ? t._tangent : null;
}

/** Attaches a tangent to a tensor (the tensor itself is returned as a new view-less alias). */
export function makeDual(primal: Tensor, tangent: Tensor): Tensor {
  if (level === 0) throw new AutogradError('makeDual: call it inside forwardAD(() => ...)');
  if (!sameShape(primal.shape, tangent.shape))
    throw new AutogradError(
      `makeDual: the tangent's shape ${fmtShape(tangent.shape)} must equal the primal's ${fmtShape(primal.shape)}`,
    );
  if (primal.dtype !== tangent.dtype)
    throw new AutogradError(`makeDual: the tangent's dtype ${tangent.dtype} must equal the primal's ${primal.dtype}`);
  setTangent(primal, tangent);
  return primal;
}

/** @internal */
export function setTangent(t: Tensor, tangent: Tensor): void {
  t._tangent = tangent;
  t._tangentLevel = level;
}

export function unpackDual(t: Tensor): { primal: Tensor; tangent: Tensor | null } {
  return { primal: t, tangent: tangentOf(t) };
}
