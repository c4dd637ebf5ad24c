/**
 * @file The reverse-mode engine: walk the recorded graph from the outputs in reverse topological order, call each
 * node's VJP, sum each cotangent back to its input's shape (broadcasting's adjoint, done once, here), and accumulate
 * into .grad at the leaves. Backward rules are ordinary differentiable ops, so with createGraph the backward pass is
 * itself recorded and can be differentiated again. Without createGraph, a sum of cotangents is kept in a buffer the
 * engine allocated and nobody else holds, and later cotangents (a slice's region of it, see accumulateInto) are
 * added into it in place, so the pieces of one tensor cost O(piece) each instead of one input-sized tensor each.
 */
import { describe, isTensorLike } from '../core/args.js';
import type { DType } from '../core/dtype.js';
import { AutogradError, fmtShape } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { _engineScope, _release, KEEP, R_ENGINE } from '../tensor/lifetime.js';
import { nextStorageId } from '../tensor/storage.js';
import type { Tensor } from '../tensor/tensor.js';
import { anomaly, checkBackward } from './anomaly.js';
import { modes } from './mode.js';
import { _freeSaved, AccumulateGrad, type Node } from './node.js';

/** The few ops the engine needs, installed by the ops layer so this layer does not import it. */
export interface EngineOps {
  sumTo(g: Tensor, shape: readonly number[]): Tensor;
  add(a: Tensor, b: Tensor): Tensor;
  addInPlace(a: Tensor, b: Tensor): void;
  cast(g: Tensor, dtype: DType): Tensor;
  clone(g: Tensor): Tensor;
  onesLike(t: Tensor): Tensor;
  zeros(shape: readonly number[], dtype: DType): Tensor;
}
let ops: EngineOps;
export function installEngineOps(o: EngineOps): void {
  ops = o;
}

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

type Target = Node | AccumulateGrad;

/**
 * The profiler's span around each node's turn in backward (src/debug/profiler.ts): begin returns a token end is
 * handed back, also when the rule throws. Null keeps the loop to one branch per node.
 */
export interface NodeSpan {
  begin(node: Node | AccumulateGrad): number;
  end(token: number, node: Node | AccumulateGrad): void;
}
let nodeSpan: NodeSpan | null = null;
/** @internal installs (or, with null, removes) the profiler's node span; returns the previous one. */
export function _setNodeSpan(s: NodeSpan | null): NodeSpan | null {
  const prev = nodeSpan;
  nodeSpan = s;
  return prev;
}
let epochCounter = 0;
/** The running backward's epoch, its nesting depth, and the first storage id it allocated. */
let currentEpoch = 0;
let depth = 0;
let firstStorage = 0;
/** Whether the running backward may add into gradients it owns (it records no graph). */
let inPlace = false;

function rootEdge(t: Tensor, i: number, fn: string): Target {
  if (t.gradFn) return t.gradFn;
  if (t._requiresGrad) return (t._accumulator ??= new AccumulateGrad(t));
  throw new AutogradError(
    `${fn}: tensor ${i} (shape ${fmtShape(t.shape)}) does not require grad and has no gradFn; ` +
      `set requiresGrad on the inputs you differentiate with respect to, and do not compute it under noGrad. ` +
      `To differentiate a gradient (x.grad), compute it with {createGraph: true} (backward or autograd.grad)`,
  );
}

function rootGrad(t: Tensor, g: Tensor | null | undefined, fn: string): Tensor {
  if (g) {
    if (!sameShape(g.shape, t.shape))
      throw new AutogradError(
        `${fn}: the gradient has shape ${fmtShape(g.shape)} but the output has shape ${fmtShape(t.shape)}; they must match`,
      );
    // In the output's dtype, as PyTorch casts it: rules such as matmul's take operands of one dtype only.
    return g.dtype === t.dtype ? g : ops.cast(g, t.dtype);
  }
  if (t.numel() !== 1)
    throw new AutogradError(
      `${fn}: the output has shape ${fmtShape(t.shape)} (${t.numel()} elements); a gradient can be created implicitly ` +
        `only for one-element outputs. Pass one of shape ${fmtShape(t.shape)} (y.backward(ad.onesLike(y))) or reduce first (y.sum().backward())`,
    );
  return ops.onesLike(t);
}

/**
 * Runs backward from `roots`. With `capture`, returns the gradients flowing into those tensors instead of writing
 * .grad (autograd.grad); otherwise accumulates into leaves' .grad.
 */
export function runBackward(
  roots: readonly Tensor[],
  grads: readonly (Tensor | null | undefined)[],
  opts: BackwardOptions,
  capture?: readonly Tensor[],
  fn = 'backward',
): (Tensor | null)[] {
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const targets = roots.map((t, i) => rootEdge(t, i, fn));
  const seeds = roots.map((t, i) => rootGrad(t, grads[i], fn));

  // Where captured gradients are read: a tensor's producing node, or its leaf accumulator.
  const captureAt = new Map<Target, number[]>();
  capture?.forEach((t, i) => {
    const at: Target | null = t.gradFn ?? (t._requiresGrad ? (t._accumulator ??= new AccumulateGrad(t)) : null);
    if (!at)
      throw new AutogradError(
        `${fn}: input ${i} (shape ${fmtShape(t.shape)}) does not require grad, so no gradient can reach it`,
      );
    const list = captureAt.get(at) ?? [];
    list.push(i);
    captureAt.set(at, list);
  });
  const captured: (Tensor | null)[] = capture ? capture.map(() => null) : [];

  // With capture (autograd.grad), only nodes on a path to a captured tensor run, as in PyTorch: no other rule,
  // hook, retained gradient or freed-graph error.
  const needed = capture ? neededNodes(targets, captureAt) : null;

  // Count, for each node, how many edges from reachable nodes point at it (scratch fields, stamped by epoch).
  const epoch = ++epochCounter;
  const stack: Target[] = [];
  for (const t of targets) {
    if (needed !== null && !needed.has(t)) continue;
    if (t._epoch !== epoch) {
      t._epoch = epoch;
      t._deps = 0;
      t._grad = null;
      t._owned = null;
      stack.push(t);
    }
  }
  while (stack.length) {
    const n = stack.pop()!;
    if (n instanceof AccumulateGrad) continue;
    if (n.freed)
      throw new AutogradError(
        `${fn}: trying to backward through the graph a second time (${n.name} was freed by an earlier backward). ` +
          `Pass {retainGraph: true} to the first backward if you need to backward through it again`,
      );
    const edges = n.edges;
    for (let i = 0; i < edges.length; i++) {
      const e = edges[i];
      if (!e || (needed !== null && !needed.has(e))) continue;
      if (e._epoch !== epoch) {
        e._epoch = epoch;
        e._deps = 1;
        e._grad = null;
        e._owned = null;
        stack.push(e);
      } else e._deps++;
    }
  }

  const ready: Target[] = [];
  for (const t of targets) if ((needed === null || needed.has(t)) && t._deps === 0 && !ready.includes(t)) ready.push(t);

  // The walk is synchronous, so the current frame's grad mode is changed and put back: nothing else runs meanwhile.
  const m = modes();
  const prevMode = m.grad;
  const prevEpoch = currentEpoch;
  const prevFirst = firstStorage;
  const prevInPlace = inPlace;
  inPlace = !createGraph;
  currentEpoch = epoch;
  firstStorage = nextStorageId();
  depth++;
  // Cotangents consumed by their node are released to the pool, except under createGraph (they are graph values
  // then) and in a backward nested inside another one's rule.
  const recycle = !createGraph && depth === 1;
  // In anomaly mode the ops inside VJP rules and accumulation are not checked one by one: checkBackward checks
  // each rule's result, so a fault is reported as the backward of the op whose rule produced it.
  const quiet = m.anomaly;
  if (quiet) anomaly.quiet++;
  /** One node's turn: its hooks, its rule (or the leaf's accumulation), and its edges' countdown. */
  const step = (node: Target): void => {
    let g = node._grad;
    node._grad = null;
    node._owned = null;
    const caps = capture ? captureAt.get(node) : undefined;
    if (node instanceof AccumulateGrad) {
      if (g) {
        const seen = accumulateLeaf(node.tensor, g, createGraph, caps, captured);
        // Added into .grad (or copied, or taken over through a handle of its own): this handle is done.
        if (recycle && !caps && !captured.length && !seen._gradShared && madeHere(seen)) _release(seen, R_ENGINE);
      }
      return;
    }
    if (g && node.hooks) {
      for (const h of node.hooks) g = hookResult(h(g), g);
      markShared(g); // a hook may keep what it saw
    }
    if (g && node.retained) {
      node.retained._grad = createGraph ? g : g.detach();
      markShared(g);
    }
    if (g && caps) {
      for (const i of caps) captured[i] = captured[i] ? ops.add(captured[i]!, g) : g;
      markShared(g);
    }
    // The rule consumes g; views of it it passes on (a transpose's) may then be taken over by one leaf.
    if (g && g._storage.gradBy === g) g._storage.gradBy = null;
    if (g && node.op.vjp) {
      node.checkVersions();
      const ctx = node.ctx;
      const into = node.op.accumulateInto;
      if (into !== undefined && inPlace && !m.anomaly && accumulateRegion(node, g, into, needed)) {
        // added into the input's owned gradient
      } else {
        const vjp = node.op.vjp;
        const out = recycle ? _engineScope(() => vjp(g as Tensor, ctx)) : vjp(g, ctx);
        if (m.anomaly) checkBackward(node, g, out);
        for (let i = 0; i < node.edges.length; i++) {
          const e = node.edges[i];
          const gi = out[i];
          if (!e || !gi || (needed !== null && !needed.has(e))) continue;
          const fitted = fitTo(gi, ctx.inShapes[i], ctx.inDtypes[i]);
          // The rule's unreduced cotangent, summed down by fitTo, is garbage nobody else saw.
          if (recycle && fitted !== gi && gi !== g && once(out, gi) && madeHere(gi)) _release(gi, R_ENGINE);
          accumulate(e, fitted);
        }
        if (recycle && out.includes(g)) {
          g = null; // passed on as it is (clone's, add's rule): it lives on as another node's gradient
        }
      }
      // g is consumed: a cotangent this backward made and handed to this node alone goes back to the pool.
      if (recycle && g !== null && !g._gradShared && madeHere(g)) _release(g, R_ENGINE);
    }
    if (!retainGraph) {
      node.freed = true;
      _freeSaved(node);
    }
    const edges = node.edges;
    for (let i = 0; i < edges.length; i++) {
      const e = edges[i];
      if (e && (needed === null || needed.has(e)) && --e._deps === 0) ready.push(e);
    }
  };
  m.grad = createGraph;
  try {
    targets.forEach((t, i) => {
      if (needed === null || needed.has(t)) accumulate(t, seeds[i]);
    });
    while (ready.length) {
      const node = ready.pop()!;
      if (nodeSpan === null) {
        step(node);
        continue;
      }
      const span = nodeSpan;
      const token = span.begin(node);
      try {
        step(node);
      } finally {
        span.end(token, node);
      }
    }
  } finally {
    if (quiet) anomaly.quiet--;
    m.grad = prevMode;
    currentEpoch = prevEpoch;
    firstStorage = prevFirst;
    inPlace = prevInPlace;
    depth--;
  }
  return captured;
}

/**
 * What a gradient hook returned: nothing keeps the gradient; a tensor replaces it and must have its shape and dtype
 * (PyTorch: "hook has changed the size / type of value"); anything else is the user's mistake, said as such.
 */
function hookResult(r: unknown, g: Tensor): Tensor {
  if (r === undefined || r === null) return g;
  if (isTensorLike(r) && r.dtype === g.dtype && sameShape(r.shape, g.shape)) return r as Tensor;
  const async = typeof (r as { then?: unknown }).then === 'function';
  throw new AutogradError(
    `registerHook: a gradient hook returned ${describe(r)}, but the gradient it was given is a ${g.dtype} tensor ` +
      `of shape ${fmtShape(g.shape)}; return a tensor of that shape and dtype to replace it, or nothing to keep it` +
      (async ? ' (hooks run synchronously inside backward: an async hook cannot replace the gradient)' : ''),
  );
}

/** The nodes from which a captured tensor can be reached (post-order walk of the graph from the roots). */
function neededNodes(starts: readonly Target[], captureAt: ReadonlyMap<Target, number[]>): Set<Target> {
  const need = new Set<Target>();
  const done = new Set<Target>();
  const stack: [Target, number][] = starts.map((t) => [t, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [n, i] = top;
    if (i === 0 && done.has(n)) {
      stack.pop();
      continue;
    }
    const edges = n instanceof AccumulateGrad ? [] : n.edges;
    if (i < edges.length) {
      top[1]++;
      const e = edges[i];
      if (e && !done.has(e)) stack.push([e, 0]);
      continue;
    }
    stack.pop();
    done.add(n);
    if (captureAt.has(n) || edges.some((e) => e !== null && need.has(e))) need.add(n);
  }
  return need;
}

/** Broadcasting's adjoint and dtype, once for every rule: sum over broadcast dims, cast to the input's dtype. */
function fitTo(g: Tensor, shape: readonly number[], dtype: DType): Tensor {
  if (!sameShape(g.shape, shape)) g = ops.sumTo(g, shape);
  if (g.dtype !== dtype) g = ops.cast(g, dtype);
  return g;
}

function accumulate(t: Target, g: Tensor): void {
  if (g._gradEpoch === currentEpoch) g._gradShared = true;
  else {
    g._gradEpoch = currentEpoch;
    g._gradShared = false;
  }
  // Two gradients over one storage (a tensor and its view, or two views) share it as surely as one tensor twice.
  const st = g._storage;
  if (st.gradEpoch === currentEpoch) {
    if (st.gradBy !== null && st.gradBy !== g) st.gradShared = true;
    else st.gradBy = g;
  } else {
    st.gradEpoch = currentEpoch;
    st.gradBy = g;
    st.gradShared = false;
  }
  const had = t._grad;
  if (had === null) t._grad = g;
  else if (!inPlace || had.dtype !== g.dtype || !sameShape(had.shape, g.shape)) t._grad = ops.add(had, g);
  else {
    // Two gradients stored alike but not row-major (the transposed weight gradient of x·Wᵀ, once per time step)
    // are summed in their own memory order, so the owned sum keeps that layout and every later add is contiguous.
    const p = sharedLayout(had, g);
    if (t._owned === had) {
      if (p) ops.addInPlace(had.permute(p), g.permute(p));
      else ops.addInPlace(had, g);
    } else own(t, p ? ops.add(had.permute(p), g.permute(p)).permute(inversePerm(p)) : ops.add(had, g));
  }
}

/**
 * The permutation that makes both a and b contiguous when they have the same strides and those strides are a
 * dense layout other than row-major (a transpose of a contiguous buffer); null otherwise.
 */
function sharedLayout(a: Tensor, b: Tensor): number[] | null {
  const sa = a._strides;
  const sb = b._strides;
  const n = sa.length;
  if (n < 2 || a.isContiguous()) return null;
  for (let i = 0; i < n; i++) if (sa[i] !== sb[i]) return null;
  const p = Array.from({ length: n }, (_, i) => i).sort((i, j) => sa[j] - sa[i]);
  let expect = 1;
  for (let k = n - 1; k >= 0; k--) {
    const d = p[k];
    if (a.shape[d] !== 1 && sa[d] !== expect) return null;
    expect *= a.shape[d];
  }
  return p;
}

function inversePerm(p: readonly number[]): number[] {
  const inv = new Array<number>(p.length);
  for (let i = 0; i < p.length; i++) inv[p[i]] = i;
  return inv;
}

/** Makes a fresh gradient, allocated by this run and seen by nobody else, t's owned pending gradient. */
function own(t: Target, g: Tensor): void {
  t._grad = g;
  t._owned = g;
  g._gradEpoch = currentEpoch;
  g._gradShared = false;
  const st = g._storage;
  st.gradEpoch = currentEpoch;
  st.gradBy = g;
  st.gradShared = false;
}

/**
 * A view's cotangent added straight into the region of its input's gradient (op.accumulateInto), in a buffer this
 * run owns: the first piece allocates it (zeros, or a copy of a gradient already pending), later ones add O(piece)
 * each. False when the shapes or dtypes are not the plain case; the caller then runs the VJP.
 */
function accumulateRegion(
  node: Node,
  g: Tensor,
  into: NonNullable<Node['op']['accumulateInto']>,
  needed: Set<Target> | null,
): boolean {
  const ctx = node.ctx;
  const e = node.edges[0];
  if (node.edges.length !== 1 || g.dtype !== ctx.inDtypes[0] || !sameShape(g.shape, ctx.outShape)) return false;
  if (!e || (needed !== null && !needed.has(e))) return true;
  const shape = ctx.inShapes[0];
  const dtype = ctx.inDtypes[0];
  const had = e._grad;
  let dst: Tensor;
  if (had !== null && e._owned === had) dst = had;
  else if (had === null) {
    dst = ops.zeros(shape, dtype);
    own(e, dst);
  } else {
    if (had.dtype !== dtype || !sameShape(had.shape, shape)) return false;
    dst = ops.clone(had);
    own(e, dst);
  }
  into(dst, g, ctx);
  return true;
}

/** Made during this backward (so no user code, hook or saved graph holds this handle unless marked shared). */
function madeHere(t: Tensor): boolean {
  return t._storage.id >= firstStorage && (t._lifeFlags & KEEP) === 0;
}

function once(out: readonly unknown[], t: Tensor): boolean {
  return out.indexOf(t) === out.lastIndexOf(t);
}

/** @internal marks a gradient as seen by user code (a module's backward hook), so backward never recycles it. */
export function _markGradShared(g: Tensor): void {
  markShared(g);
}

function markShared(g: Tensor): void {
  g._gradEpoch = currentEpoch;
  g._gradShared = true;
  g._storage.gradEpoch = currentEpoch;
  g._storage.gradShared = true;
}

/**
 * A leaf may take over a gradient buffer instead of cloning it (as PyTorch does when nothing else holds it) when
 * this run allocated it, handed it (and its storage) to this leaf alone, and it covers its storage whole and
 * contiguously — a contiguous view of an intermediate, such as the transposed weight gradient, counts; anything
 * else is cloned.
 */
function canSteal(g: Tensor, leaf: Tensor): boolean {
  return (
    depth === 1 &&
    g._gradEpoch === currentEpoch &&
    !g._gradShared &&
    g._storage.id >= firstStorage &&
    g._storage.gradEpoch === currentEpoch &&
    !g._storage.gradShared &&
    g._offset === 0 &&
    g._storage.size === g.numel() &&
    g.dtype === leaf.dtype &&
    g.gradFn === null &&
    g.isContiguous()
  );
}

function accumulateLeaf(
  leaf: Tensor,
  g: Tensor,
  createGraph: boolean,
  caps: number[] | undefined,
  captured: (Tensor | null)[],
): Tensor {
  if (leaf._hooks) {
    for (const h of leaf._hooks) g = hookResult(h(g), g);
    markShared(g); // a hook may keep what it saw, so .grad must not become it
  }
  if (caps) {
    for (const i of caps) captured[i] = captured[i] ? ops.add(captured[i]!, g) : g;
    return g;
  }
  if (captured.length) return g; // autograd.grad never writes .grad
  // The graph casts each gradient to its input's dtype when it was recorded; a leaf converted since (model.double()
  // after the forward) would otherwise get a gradient of its old dtype.
  if (g.dtype !== leaf.dtype || (leaf._grad !== null && leaf._grad.dtype !== leaf.dtype))
    throw new AutogradError(
      `backward: the gradient for a leaf of shape ${fmtShape(leaf.shape)} is ${g.dtype} but the leaf is now ` +
        `${leaf.dtype} (its dtype changed after the graph was recorded, e.g. by model.double()); run the forward ` +
        'again after converting the model',
    );
  const had = leaf._grad;
  if (!had) leaf._grad = createGraph ? ops.clone(g) : canSteal(g, leaf) ? g.detach() : ops.clone(g).detach();
  else if (createGraph || had._requiresGrad) leaf._grad = ops.add(had, g);
  else ops.addInPlace(had, g);
  return g;
}
