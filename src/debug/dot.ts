/**
 * @file ad.toDot: the recorded graph as Graphviz DOT text (`dot -Tsvg graph.dot > graph.svg`). Leaves that receive
 * a gradient are ellipses (name, shape, dtype); each op is a box naming the op, its output's name, shape and dtype
 * and its backward node; edges run forward, from inputs to the op that used them. Only the differentiable part of
 * the graph is drawn: constants and indices are not recorded in it.
 */

import { AccumulateGrad } from '../autograd/node.js';
import { array, checked, optional, record, str, tensor, union } from '../core/args.js';
import { shapeText } from '../ops/define.js';
import type { Tensor } from '../tensor/tensor.js';
import { type GraphOptions, type Target, walkGraph } from './graph.js';

export interface DotOptions extends GraphOptions {
  /** The graph's name in the `digraph` line. */
  title?: string;
}

/** A DOT double-quoted string: backslashes and quotes escaped, newlines as DOT's centred line breaks. */
function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function toDotFn(t: Tensor, opts: DotOptions = {}): string {
  const g = walkGraph(t, opts);
  const ids = new Map<Target, string>();
  g.leaves.forEach((l, i) => {
    ids.set(l, `leaf${i + 1}`);
  });
  g.nodes.forEach((n, i) => {
    ids.set(n, `op${i + 1}`);
  });
  const lines = [
    `digraph ${quote(opts.title ?? 'adjoint')} {`,
    '  rankdir=TB;',
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const l of g.leaves) {
    const m = g.meta.get(l)!;
    const label = `${g.name(l)}\n${shapeText(m.shape)} ${m.dtype}`;
    lines.push(`  ${ids.get(l)} [label=${quote(label)}, shape=ellipse, style=filled, fillcolor="#dbeafe"];`);
  }
  for (const n of g.nodes) {
    const m = g.meta.get(n)!;
    const label = `${n.op.name}\n${g.name(n)} ${shapeText(m.shape)} ${m.dtype}\n${n.name}`;
    const style = n === g.rootTarget ? ', style="filled,bold", fillcolor="#fde68a"' : '';
    lines.push(`  ${ids.get(n)} [label=${quote(label)}, shape=box${style}];`);
  }
  for (const n of g.nodes)
    n.edges.forEach((e, i) => {
      if (!e) return;
      // Which argument, where the order matters.
      const label = n.edges.length > 1 ? ` [label=${quote(String(i))}]` : '';
      lines.push(`  ${ids.get(e)} -> ${ids.get(n)}${label};`);
    });
  if (g.rootTarget instanceof AccumulateGrad) lines.push(`  // ${g.name(g.rootTarget)} is a leaf: no ops recorded`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

const TENSORS_OPTION = optional(
  union(array(tensor, 'an array of Tensors'), record(tensor, 'an object of named Tensors')),
);
export const toDot = checked(
  'toDot',
  { args: { tensor }, options: { tensors: TENSORS_OPTION, title: optional(str) } },
  toDotFn,
);
