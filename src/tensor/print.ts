/**
 * @file PyTorch-style printing, a port of torch 1.13's `_tensor_str.py` with its default print options:
 * `tensor([[1.0000, 2.0000]], dtype=float32, grad_fn=<MmBackward>)`. Two deliberate differences: the dtype is
 * always printed (JS users cannot tell float32 from int32 by the digits, and our default integer dtype is int32, not
 * the int64 PyTorch omits), and
 * grad_fn names carry no version digit (`MmBackward`, not `MmBackward0`).
 */
import { tangentOf } from '../autograd/forward.js';
import type { Tensor } from './tensor.js';

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE = 3;
const LINEWIDTH = 80;

/** Whether the exact decimal expansion `digits` (a toFixed/toExponential(100) string's tail) is a tie: 5000… */
function isTie(tail: string): boolean {
  return /^50*$/.test(tail);
}

/**
 * Python's `'{:.Nf}'` and `'{:.Ne}'`: correctly rounded with ties to even, where JS's toFixed and toExponential round
 * exact ties up (0.03125 → '0.0312' in Python, '0.0313' in JS). Only dyadic values with few digits can tie, and
 * toFixed/toExponential(100) print those exactly.
 */
function pyFormat(v: number, digits: number, sci: boolean): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const a = Math.abs(v);
  let s = sci ? a.toExponential(digits) : a.toFixed(digits);
  const exact = sci ? a.toExponential(100) : a < 1e21 ? a.toFixed(100) : '';
  if (exact) {
    const [mant, exp] = exact.split('e');
    const point = mant.indexOf('.');
    const cut = digits === 0 ? point : point + 1 + digits;
    const kept = mant.slice(0, cut);
    if (isTie(mant.slice(cut).replace('.', '')) && Number(kept[kept.length - 1]) % 2 === 0)
      s = sci ? `${kept}e${exp}` : kept;
  }
  // Python writes at least two exponent digits: 1.0000e+05.
  if (sci) s = s.replace(/e([+-])(\d)$/, 'e$10$2');
  return sign + s;
}

interface Formatter {
  width: number;
  format(v: number): string;
}

/** torch's _Formatter: one shared mode and width for every printed value (the summarised ones only). */
function makeFormatter(values: readonly number[], floating: boolean): Formatter {
  let width = 1;
  if (!floating) {
    for (const v of values) width = Math.max(width, String(v).length);
    return { width, format: (v) => String(v).padStart(width) };
  }
  let intMode = true;
  let sciMode = false;
  const nz = values.filter((v) => Number.isFinite(v) && v !== 0);
  if (nz.length) {
    let mn = Infinity;
    let mx = 0;
    for (const v of nz) {
      const a = Math.abs(v);
      if (a < mn) mn = a;
      if (a > mx) mx = a;
      if (v !== Math.ceil(v)) intMode = false;
    }
    // Width comes from the nonzero finite values only, as in torch: nan, inf and 0 may print unpadded or wider.
    if (mx / mn > 1000 || mx > 1e8 || (!intMode && mn < 1e-4)) {
      sciMode = true;
      for (const v of nz) width = Math.max(width, pyFormat(v, PRECISION, true).length);
    } else if (intMode) {
      for (const v of nz) width = Math.max(width, pyFormat(v, 0, false).length + 1);
    } else {
      for (const v of nz) width = Math.max(width, pyFormat(v, PRECISION, false).length);
    }
  }
  const format = (v: number): string => {
    let s: string;
    if (sciMode) s = pyFormat(v, PRECISION, true);
    else if (intMode) s = pyFormat(v, 0, false) + (Number.isFinite(v) ? '.' : '');
    else s = pyFormat(v, PRECISION, false);
    return s.padStart(width);
  };
  return { width, format };
}

/** The indices printed along a dim: all, or EDGE from each end with null where `...` goes. */
function shown(n: number, summarize: boolean): (number | null)[] {
  if (summarize && n > 2 * EDGE) {
    const idx: (number | null)[] = [];
    for (let i = 0; i < EDGE; i++) idx.push(i);
    idx.push(null);
    for (let i = n - EDGE; i < n; i++) idx.push(i);
    return idx;
  }
  return Array.from({ length: n }, (_, i) => i);
}

/** The body between `tensor(` and the suffixes, torch's _tensor_str. */
function bodyString(t: Tensor, indent: number): string {
  if (t.numel() === 0) return '[]';
  const data = t.dataSync() as ArrayLike<number>;
  const shape = t.shape;
  const summarize = data.length > THRESHOLD;
  const inner = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));

  // The formatter sees only the values that will be printed (torch's get_summarized_data).
  const values: number[] = [];
  const collect = (dim: number, off: number) => {
    if (dim === shape.length) {
      values.push(data[off]);
      return;
    }
    for (const i of shown(shape[dim], summarize)) if (i !== null) collect(dim + 1, off + i * inner[dim]);
  };
  collect(0, 0);
  const fmt =
    t.dtype === 'bool'
      ? makeBoolFormatter(values)
      : makeFormatter(values, t.dtype === 'float32' || t.dtype === 'float64');

  const render = (dim: number, off: number, ind: number): string => {
    if (dim === shape.length) return fmt.format(data[off]);
    const idx = shown(shape[dim], summarize);
    if (dim === shape.length - 1) {
      const items = idx.map((i) => (i === null ? ' ...' : fmt.format(data[off + i])));
      const perLine = Math.max(1, Math.floor((LINEWIDTH - ind) / (fmt.width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(ind + 1)}`)}]`;
    }
    const parts = idx.map((i) => (i === null ? '...' : render(dim + 1, off + i * inner[dim], ind + 1)));
    return `[${parts.join(`,${'\n'.repeat(shape.length - dim - 1)}${' '.repeat(ind + 1)}`)}]`;
  };
  return render(0, 0, indent);
}

function makeBoolFormatter(values: readonly number[]): Formatter {
  const str = (v: number) => (v ? 'True' : 'False');
  const width = Math.max(1, ...values.map((v) => str(v).length));
  return { width, format: (v) => str(v).padStart(width) };
}

/** torch's _add_suffixes: a suffix that would pass the line width starts a new line. */
function addSuffixes(text: string, suffixes: readonly string[], indent: number): string {
  const out = [text];
  let lastLineLen = text.length - text.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (lastLineLen + s.length + 2 > LINEWIDTH) {
      out.push(`,\n${' '.repeat(indent)}${s}`);
      lastLineLen = indent + s.length;
    } else {
      out.push(`, ${s}`);
      lastLineLen += s.length + 2;
    }
  }
  out.push(')');
  return out.join('');
}

export function formatTensor(t: Tensor): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];
  // An empty tensor shows its shape unless it is 1-d, as NumPy does.
  if (t.numel() === 0 && t.ndim !== 1) suffixes.push(`size=(${t.shape.join(', ')}${t.ndim === 1 ? ',' : ''})`);
  suffixes.push(`dtype=${t.dtype}`);
  if (t.gradFn) suffixes.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffixes.push('requires_grad=True');
  const tangent = tangentOf(t);
  if (tangent) suffixes.push(`tangent=${formatTensor(tangent)}`);
  return addSuffixes(prefix + bodyString(t, indent), suffixes, indent);
}
