/**
 * @file Forward mode (dual tensors): inside `forwardAD(fn)`, a tensor made with makeDual carries a tangent, and every
 * op pushes tangents forward with its JVP rule. Levels nest (a JVP of a JVP): each tensor keeps one tangent per
 * level, and the rule for level L runs with only the levels below L visible, so the tangent it produces carries its
 * own lower-level tangents — the second-order terms. The levels belong to the running context's modes (mode.ts).
 */
import { checked, fn, tensor } from '../core/args.js';
import { AutogradError, fmtShape } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { modes, scope } from './mode.js';

let nextLevel = 1;

/** How many forward-AD levels ops see: 0 when forward mode is off (the fast path in every op checks this). */
export function forwardLevel(): number {
  return modes().visible;
}

/** The level id at a visible depth (0 = outermost). */
export function levelAt(depth: number): number {
  return modes().levels[depth];
}

/** The innermost visible level id, 0 when none. */
export function innermostLevel(): number {
  const m = modes();
  return m.visible === 0 ? 0 : m.levels[m.visible - 1];
}

/**
 * Runs fn with a new (innermost) forward-AD level; tangents made at it vanish when fn returns. An async fn keeps
 * its level across its awaits, and async work running meanwhile does not see it (scoped as noGrad is).
 */
export const forwardAD = checked('forwardAD', { args: { fn } }, function forwardAD<T>(fn: () => T): T {
  const m = modes();
  if (m.visible !== m.levels.length)
    throw new AutogradError('forwardAD: cannot open a forward-AD level inside a JVP rule');
  const levels = [...m.levels, nextLevel++];
  return scope('forwardAD', { grad: m.grad, anomaly: m.anomaly, levels, visible: levels.length }, fn);
}) as <T>(fn: () => T) => T;

/**
 * Runs a JVP rule of the level at `depth`: that level and the ones inside it are hidden while it runs (its own ops
 * must not push tangents of tangents at the same level), the outer ones stay visible. Synchronous, so it changes
 * the current frame and puts it back: nothing else runs meanwhile.
 */
export function belowLevel<T>(depth: number, fn: () => T): T {
  const m = modes();
  const prev = m.visible;
  m.visible = depth;
  try {
    return fn();
  } finally {
    m.visible = prev;
  }
}

/** The tangent of t at a level (default: the innermost visible one), or null. */
export function tangentOf(t: Tensor, level = innermostLevel()): Tensor | null {
  const ts = t._tangents;
  if (ts === null || level === 0 || !isVisible(level)) return null;
  for (let i = 0; i < ts.length; i++) if (ts[i].level === level) return ts[i].t;
  return null;
}

function isVisible(level: number): boolean {
  const m = modes();
  for (let i = 0; i < m.visible; i++) if (m.levels[i] === level) return true;
  return false;
}

/** @internal */
export function setTangent(t: Tensor, tangent: Tensor, level = innermostLevel()): void {
  const ts = (t._tangents ??= []);
  for (const e of ts)
    if (e.level === level) {
      e.t = tangent;
      return;
    }
  ts.push({ level, t: tangent });
}

/** @internal copies every visible tangent of `from` onto `to` (in-place ops hand theirs over). */
export function copyTangents(from: Tensor, to: Tensor): void {
  const m = modes();
  for (let i = 0; i < m.visible; i++) {
    const t = tangentOf(from, m.levels[i]);
    if (t) setTangent(to, t, m.levels[i]);
  }
}

/**
 * A dual tensor at the innermost level: an alias of primal (same storage, same autograd identity, its tangents at
 * outer levels) that carries `tangent`. primal itself is not changed.
 */
function makeDualFn(primal: Tensor, tangent: Tensor): Tensor {
  if (modes().visible === 0) throw new AutogradError('makeDual: call it inside forwardAD(() => ...)');
  if (!sameShape(primal.shape, tangent.shape))
    throw new AutogradError(
      `makeDual: the tangent's shape ${fmtShape(tangent.shape)} must equal the primal's ${fmtShape(primal.shape)}`,
    );
  if (primal.dtype !== tangent.dtype)
    throw new AutogradError(`makeDual: the tangent's dtype ${tangent.dtype} must equal the primal's ${primal.dtype}`);
  const d = new Tensor(primal._storage, primal.shape, primal._strides, primal._offset);
  d.gradFn = primal.gradFn;
  d._requiresGrad = primal._requiresGrad;
  d._base = primal._base;
  d._wrapped = primal._wrapped;
  // A leaf's gradient still lands in the leaf's own .grad.
  if (primal._requiresGrad && !primal.gradFn) d._accumulator = primal._accumulator ??= accumulatorFor(primal);
  d._tangents = primal._tangents ? primal._tangents.map((e) => ({ ...e })) : null;
  setTangent(d, tangent);
  return d;
}

let accumulatorFor: (t: Tensor) => NonNullable<Tensor['_accumulator']>;
/** @internal the engine's leaf sink, installed to avoid an import cycle. */
export function installAccumulatorFactory(f: typeof accumulatorFor): void {
  accumulatorFor = f;
}

function unpackDualFn(t: Tensor): { primal: Tensor; tangent: Tensor | null } {
  return { primal: t, tangent: tangentOf(t) };
}

export const makeDual = checked('makeDual', { args: { tensor, tangent: tensor } }, makeDualFn);
export const unpackDual = checked('unpackDual', { args: { tensor } }, unpackDualFn);
