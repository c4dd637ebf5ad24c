/**
 * @file defineOp and apply: an op is one object — shape/dtype rule, forward (kernels or a view), VJP, JVP, FLOP
 * count — and apply is the single path every op call takes: check, compute, record for reverse mode, push tangents
 * for forward mode. Broadcasting's adjoint is not here or in any rule: the engine sums gradients back to each
 * input's shape.
 */

import { checkedTangent, checkForward } from '../autograd/anomaly.js';
import { belowLevel, forwardLevel, levelAt, setTangent, tangentOf } from '../autograd/forward.js';
import { modes } from '../autograd/mode.js';
import { AccumulateGrad, type Edge, type Grad, Node, type RuleCtx } from '../autograd/node.js';
import type { View } from '../backend/backend.js';
import { type Kernels, kernels } from '../backend/index.js';
import { type DType, INT64_MAX } from '../core/dtype.js';
import { AdjointError, AutogradError, fmtPosition, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { broadcastStrides, checkNumel, type Shape, sameShape } from '../core/shape.js';
import { _throwReleased, RELEASED } from '../tensor/lifetime.js';
import { emptyTensor, Tensor } from '../tensor/tensor.js';

export type { Grad, RuleCtx } from '../autograd/node.js';

export interface OutMeta {
  shape: number[];
  dtype: DType;
}

export interface OpDef<P = any> {
  /** The public name, camelCased PyTorch (`logSoftmax`). */
  name: string;
  /** The gradFn name shown when printing (`LogSoftmaxBackward`). */
  backwardName: string;
  /**
   * The shape/dtype rule: the only place the op's inputs are checked; throws before anything is allocated. Only a
   * `compute` op (a user-defined one) may return null: its output's shape is whatever compute returns.
   */
  infer: (ins: readonly Tensor[], p: P) => OutMeta | null;
  /** Computes into `out` (freshly allocated, contiguous, zero-filled unless `overwrites`) with kernels. */
  forward?: (k: Kernels, out: Tensor, ins: readonly Tensor[], p: P) => void;
  /**
   * The forward writes every element of `out` before reading any, so `out` may be a recycled buffer that is not
   * zero-filled first (elementwise, matmul, copies, softmax, scans). Default false: `out` starts as zeros, which
   * accumulating kernels (scatter-add, reductions into a view) rely on. test/lifetime.test.ts runs every sample with
   * such buffers poisoned (NaN) to hold each op that sets it to its word.
   */
  overwrites?: boolean;
  /**
   * For ops defined by users (ad.defineOp): the output computed with ordinary tensor ops, which run without
   * recording a graph and without forward mode — the op's own vjp and jvp stand in for theirs.
   */
  compute?: (ins: readonly Tensor[], p: P) => Tensor;
  /** For view ops: strides and offset of the output over input 0's storage; no kernel runs. */
  view?: (x: Tensor, p: P, out: OutMeta) => { strides: number[]; offset: number };
  /** Output-shaped cotangents per input; the engine sums each back to its input's shape and dtype. */
  vjp?: (g: Tensor, c: RuleCtx<P>) => readonly Grad[];
  /**
   * The VJP for input 0 added straight into dst (input 0's shape and dtype, contiguous, a buffer the engine owns),
   * for views whose VJP embeds g in zeros (slice): the pieces of one tensor then land in one buffer at O(piece)
   * each. Used only when backward records no graph; vjp stays the definition (createGraph, anomaly mode).
   */
  accumulateInto?: (dst: Tensor, g: Tensor, c: RuleCtx<P>) => void;
  /**
   * The tangent of the output from the inputs' tangents. A null tangent is a symbolic zero (the input has none):
   * rules skip its term rather than multiply zeros (c.needs[i] is false for it).
   */
  jvp?: (t: readonly (Tensor | null)[], c: RuleCtx<P>) => Tensor;
  /** Linear in its differentiable inputs: the JVP is the op applied to the tangents. */
  linear?: boolean;
  /**
   * Which inputs backward needs: all, none, input j only when another input needs a gradient (mul, matmul), or
   * these input numbers (an index, not the tensor it indexes).
   */
  saveInputs?: 'all' | 'none' | 'others' | readonly number[];
  saveOutput?: boolean;
  /** False for ops whose output never has a gradient (comparisons, argmax). */
  differentiable?: boolean;
  /** Inputs that never receive a gradient (indices, masks). */
  nondiffInputs?: readonly number[];
  /**
   * What to do instead when an int64 result leaves int64's exact range (apply checks every int64 output, see
   * checkInt64): `sum in float64: x.sum(dim, keepdim, {dtype: 'float64'})`. Default: compute in float64.
   */
  int64Fix?: string;
  /** Floating-point operations for one call, for the profiler and explain mode. */
  flops?: (ins: readonly Tensor[], out: OutMeta, p: P) => number;
  /**
   * Explain mode (ad.explain): the VJP written as equations, one right-hand side per input (null where no gradient
   * flows), in the names it is given. Without it an input's line reads `dX = <BackwardName>(dY)`.
   */
  explain?: (a: ExplainArgs<P>) => readonly ExplainTerm[];
}

/** The names and shapes an explain template writes its equations with. */
export interface ExplainArgs<P = any> {
  /** Each input's name: the tensor's name, a generated one (t3), or a constant's value (0.5). */
  x: readonly string[];
  /** The output's name. */
  y: string;
  /** The name of the output's gradient (dY). */
  dy: string;
  params: P;
  inShapes: readonly (readonly number[])[];
  inDtypes: readonly DType[];
  outShape: readonly number[];
}

/**
 * One input's gradient: its right-hand side (`dY · Wᵀ`), or that and the shapes of its operands
 * (`[128×10]·[10×512]`); explain adds `→ [input shape]` and, where the input was broadcast, the sum back to it.
 */
export type ExplainTerm =
  | string
  | {
      rhs: string;
      /** The operands' shapes as printed; default: the output's shape. */
      shapes?: string;
      /** The shape rhs has, when it is not the input's (a broadcast batch); explain sums it back. */
      shape?: readonly number[];
    }
  | null;

/** `[128×512]`: shapes as explain prints them (`[]` for a scalar). */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join('×')}]`;
}

/** A sum over dims as explain writes it: Σ_rows / Σ_cols for a matrix's dim 0 / 1, Σ over every dim, or Σ_{0,2}. */
export function sumText(dims: readonly number[], ndim: number): string {
  if (dims.length === 0) return '';
  if (dims.length === ndim) return 'Σ';
  if (ndim === 2) return dims[0] === 0 ? 'Σ_rows' : 'Σ_cols';
  return `Σ_{${dims.join(',')}}`;
}

export type OpSpec<P> = Omit<OpDef<P>, 'backwardName'> & { backwardName?: string };

export function defineOp<P = undefined>(spec: OpSpec<P>): OpDef<P> {
  const backwardName = spec.backwardName ?? `${spec.name[0].toUpperCase()}${spec.name.slice(1)}Backward`;
  return { ...spec, backwardName };
}

/** An observer of every op call (profiler, explain); null keeps the hot path free. */
type OpObserver = (op: OpDef, ins: readonly Tensor[], out: Tensor, p: unknown) => void;
let observer: OpObserver | null = null;
export function setOpObserver(fn: OpObserver | null): OpObserver | null {
  const prev = observer;
  observer = fn;
  return prev;
}

/**
 * Regenerates the history of a view whose base was written in place after the view was made (PyTorch does the
 * same), so ops read the view's new values with the right gradient. Installed by the in-place module.
 */
type ViewRefresh = (x: Tensor) => void;
let refreshView: ViewRefresh | null = null;
export function installViewRefresh(fn: ViewRefresh): void {
  refreshView = fn;
}

/**
 * The profiler's span around each op call (src/debug/profiler.ts): begin returns a token that end is handed back,
 * also when the call throws (out is then null). Null keeps the hot path to one branch.
 */
export interface OpSpan {
  begin(op: OpDef, ins: readonly Tensor[]): number;
  end(token: number, op: OpDef, ins: readonly Tensor[], out: Tensor | null, p: unknown): void;
}
let opSpan: OpSpan | null = null;
/** @internal installs (or, with null, removes) the profiler's op span; returns the previous one. */
export function _setOpSpan(s: OpSpan | null): OpSpan | null {
  const prev = opSpan;
  opSpan = s;
  return prev;
}

/** Runs op on inputs: the single dispatch path. */
export function apply<P>(op: OpDef<P>, ins: readonly Tensor[], p: P): Tensor {
  if (opSpan === null) return dispatch(op, ins, p);
  const span = opSpan;
  const token = span.begin(op as OpDef, ins);
  let out: Tensor | null = null;
  try {
    out = dispatch(op, ins, p);
    return out;
  } finally {
    span.end(token, op as OpDef, ins, out, p);
  }
}

function dispatch<P>(op: OpDef<P>, ins: readonly Tensor[], p: P): Tensor {
  for (let i = 0; i < ins.length; i++) {
    const x = ins[i];
    if ((x._lifeFlags & RELEASED) !== 0) _throwReleased(x, op.name);
    if (refreshView !== null) {
      const b = x._base;
      if (b !== null && b.gradFn !== null) refreshView(x);
    }
  }
  const meta = op.infer(ins, p);
  let out: Tensor;
  if (op.compute) out = computeUnrecorded(op, ins, p, meta);
  else if (op.view) {
    const x = ins[0];
    const { strides, offset } = op.view(x, p, meta!);
    out = new Tensor(x._storage, meta!.shape, strides, offset);
    out._base = x._base ?? x;
  } else {
    checkNumel(op.name, meta!.shape);
    out = emptyTensor(meta!.shape, meta!.dtype, op.overwrites === true);
    op.forward!(kernels(), out, ins, p);
    if (meta!.dtype === 'int64') checkInt64(op, out);
  }
  out._madeBy = op.name;
  const differentiable = op.differentiable !== false;
  const m = modes();
  if (differentiable && m.grad) record(op, ins, out, p);
  // Before tangents are pushed, so a bad primal is reported as itself rather than as a bad tangent.
  if (m.anomaly) checkForward(op, ins, out);
  if (differentiable && m.visible !== 0) pushTangent(op, ins, out, p);
  if (observer) observer(op as OpDef, ins, out, p);
  return out;
}

/**
 * int64 lives in a Float64Array, exact only for integers up to 2^53 − 1 in magnitude. A kernel's int64 output past
 * that (a sum, a product, a cast of a huge float) has lost its low bits, so it throws here, naming the op and the
 * fix, instead of being handed out; the output is fresh, so nothing the caller holds has changed. (int32 results
 * wrap as PyTorch's do; PyTorch's int64 wraps past 2^63 − 1.)
 */
function checkInt64(op: OpDef, out: Tensor): void {
  const st = out._storage;
  const a = st.backend.readSync(st.buf, 'int64', st.size);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v <= INT64_MAX && v >= -INT64_MAX) continue;
    throw new ValueError(
      `${op.name}: the int64 result ${v}${out.ndim ? ` at ${fmtPosition(out.shape, i)} of ${fmtShape(out.shape)}` : ''} is ` +
        `beyond ±(2^53 − 1) = ±${INT64_MAX}, the integers adjoint's int64 holds exactly (its storage is float64; ` +
        `PyTorch's int64 would wrap past 2^63 − 1); ${op.int64Fix ?? 'compute in float64 instead (x.double())'}`,
    );
  }
}

/** Runs a compute op's forward with recording and forward mode off; the result is a fresh alias it owns. */
function computeUnrecorded<P>(op: OpDef<P>, ins: readonly Tensor[], p: P, meta: OutMeta | null): Tensor {
  // Synchronous, so the current frame is changed and put back: nothing else runs meanwhile.
  const m = modes();
  const prev = m.grad;
  m.grad = false;
  let r: Tensor;
  try {
    r = belowLevel(0, () => op.compute!(ins, p));
  } finally {
    m.grad = prev;
  }
  if (!(r instanceof Tensor))
    throw new AdjointError(`${op.name}: forward must return a Tensor, got ${r === null ? 'null' : typeof r}`);
  if (meta && (!sameShape(meta.shape, r.shape) || meta.dtype !== r.dtype))
    throw new ShapeError(
      `${op.name}: forward returned a ${r.dtype} tensor of shape ${fmtShape(r.shape)}, but the op's shape rule ` +
        `says ${meta.dtype} ${fmtShape(meta.shape)}; fix the forward or the shape rule`,
    );
  // A new tensor object, so recording never re-points an input's (or anyone else's) history.
  const out = new Tensor(r._storage, r.shape, r._strides, r._offset);
  out._base = r._base;
  return out;
}

function record<P>(op: OpDef<P>, ins: readonly Tensor[], out: Tensor, p: P): void {
  const n = ins.length;
  let any = false;
  const needs = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const need = ins[i]._requiresGrad && !(op.nondiffInputs?.includes(i) ?? false);
    needs[i] = need;
    if (need) any = true;
  }
  if (!any) return;
  const edges: Edge[] = new Array(n);
  const saved: (Tensor | undefined)[] = new Array(n);
  const versions: number[] = new Array(n + 1);
  const mode = op.saveInputs ?? 'all';
  for (let i = 0; i < n; i++) {
    const x = ins[i];
    edges[i] = needs[i] ? (x.gradFn ?? (x._accumulator ??= new AccumulateGrad(x))) : null;
    let keep = mode === 'all' || (typeof mode === 'object' && mode.includes(i));
    if (mode === 'others') for (let j = 0; j < n && !keep; j++) keep = j !== i && needs[j];
    if (keep) {
      saved[i] = x;
      versions[i] = x._storage.version;
      x._storage._refs++; // the graph's reference, dropped by _freeSaved when backward frees the node
    }
  }
  if (op.saveOutput) {
    versions[n] = out._storage.version;
    out._storage._refs++;
  }
  const ctx: RuleCtx<P> = {
    inputs: saved,
    out: op.saveOutput ? out : undefined,
    params: p,
    needs,
    inShapes: ins.map((x) => x.shape),
    inDtypes: ins.map((x) => x.dtype),
    outShape: out.shape,
  };
  out.gradFn = new Node(op, edges, ctx, versions, needs);
  out._requiresGrad = true;
}

function pushTangent<P>(op: OpDef<P>, ins: readonly Tensor[], out: Tensor, p: P): void {
  const depth = forwardLevel();
  const nondiff = op.nondiffInputs ?? [];
  // Outer levels first: the rule for level L runs with only the levels outside L visible, so the tangent it makes
  // carries those levels' tangents too (the cross terms of a JVP of a JVP).
  for (let d = 0; d < depth; d++) {
    const level = levelAt(d);
    let any = false;
    for (const x of ins) if (x._tangents !== null && tangentOf(x, level)) any = true;
    if (!any) continue;
    const tangents = ins.map((x, i) => (nondiff.includes(i) ? null : tangentOf(x, level)));
    const t = modes().anomaly
      ? checkedTangent(op, ins, tangents, () => belowLevel(d, () => tangentRule(op, ins, out, p, tangents, nondiff)))
      : belowLevel(d, () => tangentRule(op, ins, out, p, tangents, nondiff));
    setTangent(out, t, level);
  }
}

function tangentRule<P>(
  op: OpDef<P>,
  ins: readonly Tensor[],
  out: Tensor,
  p: P,
  tangents: (Tensor | null)[],
  nondiff: readonly number[],
): Tensor {
  // A linear op maps tangents as it maps values; index inputs pass through, absent tangents become zeros.
  if (op.linear)
    return apply(
      op,
      ins.map((x, i) => (nondiff.includes(i) ? x : (tangents[i] ?? emptyTensor(x.shape, x.dtype)))),
      p,
    );
  if (op.jvp) {
    const ctx: RuleCtx<P> = {
      inputs: ins,
      out,
      params: p,
      needs: tangents.map((t) => t !== null),
      inShapes: ins.map((x) => x.shape),
      inDtypes: ins.map((x) => x.dtype),
      outShape: out.shape,
    };
    return op.jvp(tangents, ctx);
  }
  throw new AutogradError(`${op.name}: no JVP rule, so forward mode (jvp, forwardAD) cannot pass through it`);
}

/** A kernel view of t broadcast to `shape` (stride 0 on broadcast dims). */
export function bview(t: Tensor, shape: Shape): View {
  if (t.shape.length === shape.length) {
    let same = true;
    for (let i = 0; i < shape.length; i++) if (t.shape[i] !== shape[i]) same = false;
    if (same) return t._view();
  }
  if ((t._lifeFlags & RELEASED) !== 0) _throwReleased(t, 'a kernel');
  return {
    buf: t._storage.buf,
    dtype: t.dtype,
    shape,
    strides: broadcastStrides(t.shape, t._strides, shape),
    offset: t._offset,
  };
}
