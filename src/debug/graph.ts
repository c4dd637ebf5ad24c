/**
 * @file The recorded graph as explain and toDot see it: every node reachable from a tensor, the order the engine's
 * backward visits them (the same dependency count and ready stack as src/autograd/engine.ts, without running a
 * rule), and a name for every tensor in it — the tensor's own `name` where it is set, a constant's value for a 0-d
 * constant, otherwise a generated t1, t2, … in the order the ops ran. A node does not hold its output tensor (that
 * would keep every activation alive), so an intermediate's name is found through the tensors the graph does hold:
 * saved inputs and outputs, retainGrad tensors, the root, and any the caller passes.
 */
import { AccumulateGrad, Node } from '../autograd/node.js';
import type { DType } from '../core/dtype.js';
import { AutogradError, fmtShape } from '../core/errors.js';
import type { OpDef } from '../ops/define.js';
import type { Tensor } from '../tensor/tensor.js';

export type Target = Node | AccumulateGrad;

export interface GraphOptions {
  /** Tensors whose `name` should label the graph where they appear (intermediates the graph does not save). */
  tensors?: readonly Tensor[] | Record<string, Tensor>;
}

export interface Graph {
  root: Tensor;
  rootTarget: Target;
  /** Ops in the order they ran (their creation order). */
  nodes: Node[];
  /** Leaves that receive a gradient, in the order they were first used. */
  leaves: AccumulateGrad[];
  /** Every node and leaf, in the order backward visits them. */
  order: Target[];
  /** How many gradient contributions reach each node or leaf (> 1: they are summed). */
  uses: Map<Target, number>;
  /** The shape and dtype of each node's output, from its consumers (or the root). */
  meta: Map<Target, { shape: readonly number[]; dtype: DType }>;
  name(t: Target): string;
  /** True when the name was given by the user (tensor.name), not generated. */
  named(t: Target): boolean;
  /** Input i of node n: its graph name, or a name for a value outside the graph (a constant, an index). */
  inputName(n: Node, i: number): string;
  /** The c1, c2, … names inputName has handed out so far, and whether it wrote any const[shape]. */
  outside(): { generated: string[]; unsaved: boolean };
}

function rootTarget(t: Tensor): Target {
  if (t.gradFn) return t.gradFn;
  if (t.requiresGrad) return (t._accumulator ??= new AccumulateGrad(t));
  throw new AutogradError(
    `explain: the tensor (shape ${fmtShape(t.shape)}) has no gradFn and does not require grad, so there is no ` +
      `backward pass to show; compute it from tensors with requiresGrad set, and not under noGrad`,
  );
}

/** A 0-d value as a name: `0.5`, `128`, `1e-12`. */
function valueName(t: Tensor): string {
  const v = Number(t.dataSync()[0]);
  return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : String(Number(v.toPrecision(6)));
}

export function walkGraph(root: Tensor, opts: GraphOptions = {}): Graph {
  const top = rootTarget(root);

  // Reachable targets and their incoming edge counts, exactly as the engine counts dependencies.
  const uses = new Map<Target, number>([[top, 0]]);
  const stack: Target[] = [top];
  while (stack.length) {
    const n = stack.pop()!;
    if (n instanceof AccumulateGrad) continue;
    for (const e of n.edges) {
      if (!e) continue;
      const k = uses.get(e);
      if (k === undefined) {
        uses.set(e, 1);
        stack.push(e);
      } else uses.set(e, k + 1);
    }
  }

  // The engine's visiting order: a ready stack of targets whose every consumer has run.
  const left = new Map(uses);
  const order: Target[] = [];
  const ready: Target[] = [top];
  while (ready.length) {
    const n = ready.pop()!;
    order.push(n);
    if (n instanceof AccumulateGrad) continue;
    for (const e of n.edges) {
      if (!e) continue;
      const k = left.get(e)! - 1;
      left.set(e, k);
      if (k === 0) ready.push(e);
    }
  }

  const all = [...uses.keys()].sort((a, b) => a.seq - b.seq);
  const nodes = all.filter((t): t is Node => t instanceof Node);
  const leaves = all.filter((t): t is AccumulateGrad => t instanceof AccumulateGrad);

  const meta = new Map<Target, { shape: readonly number[]; dtype: DType }>();
  meta.set(top, { shape: root.shape, dtype: root.dtype });
  for (const n of nodes)
    n.edges.forEach((e, i) => {
      if (e && !meta.has(e)) meta.set(e, { shape: n.ctx.inShapes[i], dtype: n.ctx.inDtypes[i] });
    });

  // The tensors the graph holds, to read names from.
  const held: Tensor[] = [root];
  const extra = opts.tensors;
  if (extra) held.push(...(Array.isArray(extra) ? extra : Object.values(extra)));
  for (const n of nodes) {
    for (const t of n.ctx.inputs) if (t) held.push(t);
    if (n.ctx.out) held.push(n.ctx.out);
    if (n.retained) held.push(n.retained);
  }
  const given = new Map<Target, string>();
  for (const l of leaves) if (l.tensor.name) given.set(l, l.tensor.name);
  for (const n of nodes) if (n.label && uses.has(n)) given.set(n, n.label);
  for (const t of held) {
    const at = t.gradFn ?? t._accumulator;
    if (at && t.name && uses.has(at) && !given.has(at)) given.set(at, t.name);
  }

  const names = new Map(given);
  const taken = new Set(given.values());
  let counter = 0;
  const fresh = (prefix: string) => {
    let s: string;
    do s = `${prefix}${++counter}`;
    while (taken.has(s));
    taken.add(s);
    return s;
  };
  for (const t of all) if (!names.has(t)) names.set(t, fresh('t'));

  // Values outside the graph (constants, masks, indices) that rules saved: their name, value or a c-number.
  const outside = new Map<Tensor, string>();
  let constants = 0;
  const generated: string[] = [];
  let unsaved = false;
  const outsideName = (t: Tensor): string => {
    let s = outside.get(t);
    if (s === undefined) {
      if (t.name) s = t.name;
      else if (t.ndim === 0) s = valueName(t);
      else {
        do s = `c${++constants}`;
        while (taken.has(s));
        taken.add(s);
        generated.push(s);
      }
      outside.set(t, s);
    }
    return s;
  };

  return {
    root,
    rootTarget: top,
    nodes,
    leaves,
    order,
    uses,
    meta,
    name: (t) => names.get(t)!,
    named: (t) => given.has(t),
    inputName: (n, i) => {
      const e = n.edges[i];
      if (e) return names.get(e)!;
      const saved = n.ctx.inputs[i];
      if (saved) return outsideName(saved);
      unsaved = true;
      return `const${shapeOf(n.ctx.inShapes[i])}`;
    },
    outside: () => ({ generated: generated.slice(), unsaved }),
  };
}

const shapeOf = (s: readonly number[]) => `[${s.join('×')}]`;

/** The op definition behind a node (the engine sees only its NodeOp part). */
export function opOf(n: Node): OpDef {
  return n.op as OpDef;
}
