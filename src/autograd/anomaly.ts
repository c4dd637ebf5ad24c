/**
 * @file Anomaly mode (PyTorch's torch.autograd.detect_anomaly, extended to the forward pass): while it is on, every
 * op's output, every VJP's gradients and every JVP's tangent are scanned, and the first NaN or ±Inf that an op
 * PRODUCES from finite values throws an AnomalyError naming the op, where it was called, its input shapes and which
 * output or input gradient went bad. Values that were already non-finite on the way in are passed along without a
 * throw: the op that made them has thrown already, or they came from the user's data. Off, it costs apply and the
 * engine one boolean check each (the running context's `modes().anomaly`, mode.ts); the stacks are captured only
 * while it is on.
 */
import { bool, checked, fn } from '../core/args.js';
import { isFloating } from '../core/dtype.js';
import { AdjointError, fmtPosition, fmtShape } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { modes, scope } from './mode.js';
import type { Grad, Node } from './node.js';

/** How deep we are inside code whose results are checked elsewhere (rules run by the engine; synchronous). */
export const anomaly = { quiet: 0 };

/**
 * Turns anomaly mode on or off for the rest of the innermost scope (outside any scope: the default everywhere);
 * returns the previous setting (torch.autograd.set_detect_anomaly).
 */
export const setDetectAnomaly = checked(
  'setDetectAnomaly',
  { args: { mode: bool } },
  function setDetectAnomaly(mode: boolean): boolean {
    const m = modes();
    const prev = m.anomaly;
    m.anomaly = mode;
    return prev;
  },
);

export const isAnomalyEnabled = checked('isAnomalyEnabled', {}, function isAnomalyEnabled(): boolean {
  return modes().anomaly;
});

/**
 * Runs fn with anomaly mode on (torch.autograd.detect_anomaly). An async fn keeps it on across its awaits; other
 * async work running meanwhile is not checked (scoped as noGrad is).
 */
export const detectAnomaly = checked('detectAnomaly', { args: { fn } }, function detectAnomaly<T>(fn: () => T): T {
  const m = modes();
  return scope('detectAnomaly', { grad: m.grad, anomaly: true, levels: m.levels, visible: m.visible }, fn);
}) as <T>(fn: () => T) => T;

export type AnomalyPhase = 'forward' | 'backward' | 'forward-mode';

/** The first NaN or ±Inf an op produced from finite values, with where the op was called. */
export class AnomalyError extends AdjointError {
  override name = 'AnomalyError';
  constructor(
    message: string,
    /** The op's public name: `log`, `sqrt`, `matmul`. */
    readonly op: string,
    /** forward: the op's output; backward: a gradient its VJP returned; forward-mode: a tangent its JVP returned. */
    readonly phase: AnomalyPhase,
    /** The op's input shapes, in argument order. */
    readonly inputShapes: readonly (readonly number[])[],
    /** What went bad: 'output', or `grad of input ${i}` / 'tangent of the output'. */
    readonly which: string,
    /** For backward: the input whose gradient went bad; otherwise null. */
    readonly input: number | null,
    /** The graph node's name (`SqrtBackward`). */
    readonly backwardName: string,
    /** The user's stack frames where the op was called (library frames removed); empty if none was captured. */
    readonly createdAt: readonly string[],
  ) {
    super(message);
  }
}

/** What an anomaly check needs of an op definition. */
interface OpInfo {
  name: string;
  backwardName: string;
  view?: unknown;
}

/** Where each node recorded in anomaly mode was created (an Error whose stack V8 formats only when read). */
const traces = new WeakMap<object, Error>();

// This file's folder is src/autograd/ (or dist/autograd/): frames under its parent are the library's own.
const LIB_ROOT = new URL('..', import.meta.url);
const LIB_PATHS = [LIB_ROOT.href, decodeURIComponent(LIB_ROOT.pathname)];

function captureTrace(): Error {
  const limit = Error.stackTraceLimit;
  // Library frames come first and are many (op wrapper, apply, this file); keep enough to reach the user's.
  Error.stackTraceLimit = 64;
  const e = new Error('created here');
  Error.stackTraceLimit = limit;
  return e;
}

/** The stack's frames outside the library and Node's internals, at most `max`; the raw top frames if none are. */
export function userFrames(stack: string | undefined, max = 6): string[] {
  const frames = (stack ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at '));
  const user = frames.filter(
    (f) =>
      !LIB_PATHS.some((p) => f.includes(p)) &&
      !f.includes('/node_modules/') &&
      !f.includes('node:internal') &&
      !f.includes('(node:'),
  );
  return (user.length ? user : frames).slice(0, max);
}

/** The flat index of the first non-finite element of a float tensor, or -1 (ints and bools are always finite). */
function firstNonFinite(t: Tensor): number {
  if (!isFloating(t.dtype)) return -1;
  const d = t.dataSync();
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return i;
  return -1;
}

function countNonFinite(t: Tensor): number {
  const d = t.dataSync();
  let n = 0;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) n++;
  return n;
}

function allFinite(ts: readonly (Tensor | null | undefined)[]): boolean {
  for (const t of ts) if (t && firstNonFinite(t) >= 0) return false;
  return true;
}

function describe(t: Tensor, at: number): string {
  const v = t.dataSync()[at];
  const n = countNonFinite(t);
  const where = t.ndim === 0 ? '' : ` at ${fmtPosition(t.shape, at)}`;
  const more = n > 1 ? ` (${n} of ${t.numel()} elements are non-finite)` : '';
  return `${v}${where}${more}`;
}

const shapesOf = (ts: readonly (Tensor | null | undefined)[]) =>
  ts.map((t) => (t ? `${t.dtype} ${fmtShape(t.shape)}` : '—')).join(', ');

function frameBlock(frames: readonly string[], what: string): string {
  if (!frames.length) return `\n  ${what}: not recorded (the op ran before anomaly mode was switched on)`;
  return `\n  ${what}:\n${frames.map((f) => `    ${f}`).join('\n')}`;
}

/** The usual cause of a non-finite result of common ops, and the usual fix. */
const HINTS: Record<string, { forward?: string; backward?: string }> = {
  log: { forward: 'log(0) is -Infinity and log of a negative number is NaN: clamp the input (x.clamp(1e-12).log())' },
  div: { forward: 'x/0 is ±Infinity and 0/0 is NaN: guard the denominator (y.add(1e-12) or ad.where(y.ne(0), …))' },
  sqrt: {
    forward: 'sqrt of a negative number is NaN: clamp the input to ≥ 0 first',
    backward: "sqrt's gradient 0.5/sqrt(x) is infinite at x = 0: add a small epsilon inside (x.add(1e-12).sqrt())",
  },
  rsqrt: { backward: "rsqrt's gradient is infinite at 0: add a small epsilon inside" },
  pow: {
    forward: 'a negative base to a fractional power is NaN, and 0 to a negative power is Infinity',
    backward: "pow's gradient y·x^(y−1) is infinite at x = 0 for 0 < y < 1: add a small epsilon to the base",
  },
  exp: { forward: 'exp overflows beyond x ≈ 88.7 in float32 (709.8 in float64): subtract the max first (logsumexp)' },
  reciprocal: { forward: '1/0 is Infinity: guard the input' },
};

function hint(op: string, phase: 'forward' | 'backward'): string {
  const h = HINTS[op]?.[phase];
  return h ? `\n  Likely fix: ${h}.` : '';
}

/**
 * Called by apply for every op while anomaly mode is on (after the output was computed and, if so, recorded):
 * remembers where a recorded node was created, and throws if the output is non-finite while the inputs are not.
 */
export function checkForward(op: OpInfo, ins: readonly Tensor[], out: Tensor): void {
  if (out.gradFn !== null && !traces.has(out.gradFn)) traces.set(out.gradFn, captureTrace());
  // A view shares its input's values; inside backward and JVP rules the engine checks the rule's result instead.
  if (anomaly.quiet > 0 || op.view) return;
  const bad = firstNonFinite(out);
  if (bad < 0 || !allFinite(ins)) return;
  const frames = userFrames((out.gradFn ? traces.get(out.gradFn) : captureTrace())?.stack);
  const shapes = ins.map((x) => x.shape);
  throw new AnomalyError(
    `${op.name}: produced a non-finite output from finite inputs (anomaly mode): ${describe(out, bad)}.` +
      `\n  op: ${op.name} (${op.backwardName} in the graph), inputs: ${shapesOf(ins)}, output: ${out.dtype} ${fmtShape(out.shape)}` +
      hint(op.name, 'forward') +
      frameBlock(frames, 'called at'),
    op.name,
    'forward',
    shapes,
    'output',
    null,
    op.backwardName,
    frames,
  );
}

/**
 * Called by the engine after a node's VJP ran (anomaly mode on): throws if a gradient it returned is non-finite while
 * the incoming gradient and every value the rule saved are finite.
 */
export function checkBackward(node: Node, g: Tensor, grads: readonly Grad[]): void {
  for (let i = 0; i < grads.length; i++) {
    const gi = grads[i];
    if (!gi || !node.edges[i]) continue;
    const bad = firstNonFinite(gi);
    if (bad < 0) continue;
    const ctx = node.ctx;
    if (!allFinite([g, ...ctx.inputs, ctx.out])) return;
    const frames = userFrames(traces.get(node)?.stack);
    const op = node.op.name;
    const shapes = ctx.inShapes.map((s, j) => `${ctx.inDtypes[j]} ${fmtShape(s)}`).join(', ');
    throw new AnomalyError(
      `${node.name}: the VJP of ${op} returned a non-finite gradient for input ${i} ` +
        `(${fmtShape(ctx.inShapes[i])}) from a finite incoming gradient and finite saved values (anomaly mode): ` +
        `${describe(gi, bad)}.` +
        `\n  op: ${op}, inputs: ${shapes}, output: ${fmtShape(ctx.outShape)}; the forward values were finite, ` +
        `so the derivative itself is infinite or undefined there` +
        hint(op, 'backward') +
        frameBlock(frames, `${op} was called at`),
      op,
      'backward',
      ctx.inShapes,
      `grad of input ${i}`,
      i,
      node.name,
      frames,
    );
  }
}

/**
 * Runs a JVP rule quietly (its inner ops are not checked one by one) and throws if the tangent it returns is
 * non-finite while the op's inputs and their tangents are finite.
 */
export function checkedTangent(
  op: OpInfo,
  ins: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
  rule: () => Tensor,
): Tensor {
  anomaly.quiet++;
  let t: Tensor;
  try {
    t = rule();
  } finally {
    anomaly.quiet--;
  }
  const bad = firstNonFinite(t);
  if (bad >= 0 && allFinite(ins) && allFinite(tangents)) {
    const frames = userFrames(captureTrace().stack);
    throw new AnomalyError(
      `${op.name}: its JVP returned a non-finite tangent from finite inputs and tangents (anomaly mode): ${describe(t, bad)}.` +
        `\n  op: ${op.name}, inputs: ${shapesOf(ins)}` +
        hint(op.name, 'backward') +
        frameBlock(frames, 'called at'),
      op.name,
      'forward-mode',
      ins.map((x) => x.shape),
      'tangent of the output',
      null,
      op.backwardName,
      frames,
    );
  }
  return t;
}
