/**
 * @file PyTorch-style printing: `tensor([[1.0000, 2.0000]], dtype=float32, grad_fn=<MmBackward>)`, with shared
 * width, scientific notation for wide ranges and `...` summaries past 1000 elements.
 */
import type { Tensor } from './tensor.js';

const EDGE = 3;
const THRESHOLD = 1000;

function floatFormatter(values: number[]): (v: number) => string {
  const finite = values.filter((v) => Number.isFinite(v));
  const allInt = finite.every((v) => Number.isInteger(v));
  const abs = finite.map(Math.abs).filter((v) => v > 0);
  const mx = abs.length ? Math.max(...abs) : 0;
  const mn = abs.length ? Math.min(...abs) : 0;
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (allInt) {
    if (mx >= 1e8)
      return (v) => (Number.isFinite(v) ? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2') : special(v));
    return (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  }
  if (mx / mn > 1000 || mx > 1e8 || mn < 1e-4)
    return (v) => (Number.isFinite(v) ? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2') : special(v));
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

export function formatTensor(t: Tensor): string {
  const data = Array.from(t.dataSync() as ArrayLike<number>);
  const summarize = data.length > THRESHOLD;
  const fmt =
    t.dtype === 'bool'
      ? (v: number) => (v ? 'True' : 'False')
      : t.dtype === 'int32'
        ? (v: number) => String(v)
        : floatFormatter(data);
  const strs = data.map(fmt);
  const width = Math.max(0, ...strs.map((s) => s.length));
  const pad = (s: string) => s.padStart(width);
  const shape = t.shape;
  const inner = (dim: number, off: number, indent: string): string => {
    if (dim === shape.length) return pad(strs[off]);
    const n = shape[dim];
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    const idx: (number | null)[] = [];
    if (summarize && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    const parts = idx.map((i) => (i === null ? '...' : inner(dim + 1, off + i * stride, `${indent} `)));
    if (dim === shape.length - 1) return `[${parts.join(', ')}]`;
    const sep = `,${'\n'.repeat(shape.length - dim - 1)}${indent} `;
    return `[${parts.join(sep)}]`;
  };
  const body = inner(0, 0, '       ');
  const extras = [`dtype=${t.dtype}`];
  if (t.numel() === 0) extras.unshift(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `tensor(${body}, ${extras.join(', ')})`;
}
