/**
 * @file ad.explain: the backward pass of a recorded graph written as adjoint equations with shapes, in the order the
 * engine runs them (`dW1 = Xᵀ · dH1    [784×128]·[128×512] → [784×512]`). Each op contributes its own lines through
 * its definition's `explain` template; broadcasting's adjoint (a sum back to the input's shape) is added here, once,
 * as the engine adds it; ops without a template read `dX = <Op>Backward(dY)`. Nothing is computed: the graph is read.
 */

import { AccumulateGrad, type Node } from '../autograd/node.js';
import { array, checked, optional, record, tensor, union } from '../core/args.js';
import { sameShape } from '../core/shape.js';
import { type ExplainTerm, shapeText, sumText } from '../ops/define.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Graph, type GraphOptions, opOf, type Target, walkGraph } from './graph.js';

/** One line of the backward pass: a gradient (or a contribution to one) from the gradient of an op's output. */
export interface AdjointEquation {
  /** The gradient on the left: `dW1`. */
  grad: string;
  /** The tensor it is the gradient of: `W1`. */
  of: string;
  /** `=`, or `+=` for a second (third, …) contribution to a gradient that several uses add up. */
  assign: '=' | '+=';
  /** The right-hand side: `Xᵀ · dH1`. */
  rhs: string;
  /** Operand shapes and the result's: `[784×128]·[128×512] → [784×512]`. */
  shapes: string;
  /** The gradient's shape (the input's). */
  shape: readonly number[];
  /** The op whose VJP this is (`matmul`), the graph node (`MmBackward`), and which of its inputs. */
  op: string;
  node: string;
  input: number;
  /** The gradient lands in a leaf's .grad. */
  leaf: boolean;
  /** The line as printed (without column alignment). */
  text: string;
}

/** One op of the forward pass, as recorded. */
export interface ForwardStep {
  /** The output's name. */
  name: string;
  op: string;
  inputs: string[];
  /** Input shapes → output shape. */
  shapes: string;
  text: string;
}

export interface Explanation {
  /** The recorded ops in the order they ran. */
  forward: ForwardStep[];
  /** The seed, then every gradient line in the order backward computes it. */
  backward: AdjointEquation[];
  /** Both, with aligned columns. */
  toString(): string;
}

export interface ExplainOptions extends GraphOptions {}

/** Dims summed to bring a gradient of shape `from` back to `to` (leading dims, and dims where `to` has 1). */
function broadcastDims(from: readonly number[], to: readonly number[]): number[] {
  const lead = from.length - to.length;
  const dims: number[] = [];
  for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) dims.push(i);
  return dims;
}

/** The operand itself, or in parentheses when it is an expression. */
function atom(s: string): string {
  return /^[\p{L}\p{N}_.ᵀ−-]+$/u.test(s) ? s : `(${s})`;
}

interface Resolved {
  rhs: string;
  shapes: string;
  /** The shape rhs has; the input's unless the op broadcast it. */
  shape: readonly number[];
}

function resolve(term: ExplainTerm, n: Node, i: number, dy: string): Resolved {
  const out = n.ctx.outShape;
  if (term === null || term === undefined)
    return { rhs: `${n.name}(${dy})`, shapes: shapeText(out), shape: n.ctx.inShapes[i] };
  if (typeof term === 'string') return { rhs: term, shapes: shapeText(out), shape: out };
  return { rhs: term.rhs, shapes: term.shapes ?? shapeText(out), shape: term.shape ?? n.ctx.inShapes[i] };
}

function pad(s: string, w: number): string {
  let n = 0;
  for (const _ of s) n++;
  return s + ' '.repeat(Math.max(0, w - n));
}
function len(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Rows of cells, each column padded to its widest cell. */
function align(rows: readonly string[][], indent = '  ', gap = ' '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, len(c))));
  return rows.map((r) => (indent + r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]))).join(gap)).trimEnd());
}

function forwardSteps(g: Graph): ForwardStep[] {
  return g.nodes.map((n) => {
    const name = g.name(n);
    const op = n.op.name;
    const inputs = n.ctx.inShapes.map((_s, i) => g.inputName(n, i));
    const out = g.meta.get(n)!.shape;
    const shapes = `${n.ctx.inShapes.map(shapeText).join(', ')} → ${shapeText(out)}`;
    return { name, op, inputs, shapes, text: `${name} = ${op}(${inputs.join(', ')})    ${shapes}` };
  });
}

/**
 * The backward pass of `t` as adjoint equations with shapes, in execution order, and the forward ops they belong to.
 * Names come from `tensor.name` (set it on the leaves and any intermediates you want to see by name; intermediates
 * are found through the tensors the graph saves, or pass them in `opts.tensors`); the rest are t1, t2, … in the
 * order the ops ran. Call it before backward: backward frees the saved tensors the names are read from.
 */
function explainFn(t: Tensor, opts: ExplainOptions = {}): Explanation {
  const g = walkGraph(t, opts);
  // First, so that names for values outside the graph (c1, c2, …) are numbered in forward order.
  const forward = forwardSteps(g);
  const gradName = new Map<Target, string>();
  const dOf = (x: Target) => gradName.get(x) ?? `d${g.name(x)}`;
  const seen = new Map<Target, number>();
  const backward: AdjointEquation[] = [];

  const top = g.rootTarget;
  const rootName = g.name(top);
  const seedShape = t.shape;
  backward.push({
    grad: dOf(top),
    of: rootName,
    assign: '=',
    rhs: t.numel() === 1 ? '1' : `∂loss/∂${rootName} (given)`,
    shapes: shapeText(seedShape),
    shape: seedShape,
    op: '',
    node: '',
    input: -1,
    leaf: top instanceof AccumulateGrad,
    text: '',
  });

  for (const n of g.order) {
    if (n instanceof AccumulateGrad || !n.op.vjp) continue;
    const dy = dOf(n);
    const template = opOf(n).explain;
    const x = n.ctx.inShapes.map((_s, i) => g.inputName(n, i));
    const terms = template
      ? template({
          x,
          y: g.name(n),
          dy,
          params: n.ctx.params,
          inShapes: n.ctx.inShapes,
          inDtypes: n.ctx.inDtypes,
          outShape: n.ctx.outShape,
        })
      : [];
    n.edges.forEach((e, i) => {
      if (!e) return;
      const r = resolve(terms[i] ?? null, n, i, dy);
      const inShape = n.ctx.inShapes[i];
      let { rhs, shapes } = r;
      const dims = sameShape(r.shape, inShape) ? [] : broadcastDims(r.shape, inShape);
      if (dims.length) rhs = `${sumText(dims, r.shape.length)} ${atom(rhs)}`;
      const count = seen.get(e) ?? 0;
      seen.set(e, count + 1);
      // A gradient passed on unchanged to an unnamed intermediate used once (X·W inside X·W + b) keeps its name.
      if (rhs === dy && !(e instanceof AccumulateGrad) && !g.named(e) && g.uses.get(e) === 1) {
        gradName.set(e, dy);
        return;
      }
      const result = shapeText(inShape);
      shapes = shapes === result && !dims.length ? result : `${shapes} → ${result}`;
      backward.push({
        grad: dOf(e),
        of: g.name(e),
        assign: count === 0 ? '=' : '+=',
        rhs,
        shapes,
        shape: inShape,
        op: n.op.name,
        node: n.name,
        input: i,
        leaf: e instanceof AccumulateGrad,
        text: '',
      });
    });
  }
  for (const q of backward) q.text = `${q.grad} ${q.assign} ${q.rhs}    ${q.shapes}`;
  const { generated, unsaved } = g.outside();
  const notes: string[] = [];
  if (generated.length)
    notes.push(`  ${generated.join(', ')}: tensors outside the graph (masks, indices, targets) that the ops saved`);
  const freed = g.nodes.some((n) => n.freed);
  if (freed)
    notes.push(
      '  backward has run and freed the tensors this graph saved, and with them some names and values:',
      '  call explain before backward, or pass {retainGraph: true} to it',
    );
  else if (unsaved) notes.push('  const[shape]: a tensor outside the graph that no rule needs (its value is not kept)');

  return {
    forward,
    backward,
    toString() {
      const fwd = align(forward.map((f) => [f.name, '=', `${f.op}(${f.inputs.join(', ')})`, `   ${f.shapes}`]));
      const bwd = align(backward.map((q) => [q.grad, q.assign, q.rhs, `   ${q.shapes}`]));
      return [
        'Forward (the recorded ops, in the order they ran)',
        ...fwd,
        ...notes,
        '',
        'Backward (the adjoint equations, in the order backward runs them)',
        ...bwd,
      ].join('\n');
    },
  };
}

export const explain = checked(
  'explain',
  {
    args: { tensor },
    options: {
      tensors: optional(union(array(tensor, 'an array of Tensors'), record(tensor, 'an object of named Tensors'))),
    },
  },
  explainFn,
);
