/**
 * @file ad.gradReport: after backward, one row per parameter — the L2 norm of its gradient, of the parameter, and
 * the update-to-parameter ratio lr·‖g‖/‖p‖ (how large one plain SGD step is relative to the parameter; around 1e-3
 * is the usual healthy range) — with vanishing, exploding, non-finite and missing gradients flagged. The norms are
 * computed on the host in float64, scaled so that large float64 values cannot overflow the sum of squares.
 */
import { checked, custom, number, optional } from '../core/args.js';
import { fmtShape, ValueError } from '../core/errors.js';
import { shapeText } from '../ops/define.js';
import { Tensor } from '../tensor/tensor.js';

/** What gradReport accepts: a module (namedParameters()), a Map or plain object of named tensors, or an array. */
export type NamedTensors =
  | { namedParameters(): Iterable<readonly [string, Tensor]> }
  | ReadonlyMap<string, Tensor>
  | Readonly<Record<string, Tensor>>
  | readonly Tensor[];

export interface GradReportOptions {
  /** The learning rate in the update ratio lr·‖g‖/‖p‖ (default 1: the ratio ‖g‖/‖p‖ itself). */
  lr?: number;
  /** Gradient norms below this are flagged as vanishing (default 1e-7). */
  vanishing?: number;
  /** Gradient norms above this are flagged as exploding (default 1e3). */
  exploding?: number;
}

export type GradFlag = '' | 'no grad' | 'non-finite' | 'vanishing' | 'exploding';

export interface GradReportRow {
  name: string;
  shape: readonly number[];
  /** ‖grad‖₂, or null when the parameter has no gradient. */
  gradNorm: number | null;
  /** ‖param‖₂ */
  paramNorm: number;
  /** lr·‖grad‖/‖param‖ (Infinity for a zero parameter with a nonzero gradient), or null without a gradient. */
  ratio: number | null;
  flag: GradFlag;
}

export interface GradReport {
  rows: GradReportRow[];
  lr: number;
  /** The norm of all gradients together, as clipGradNorm measures it (‖(g₁, g₂, …)‖₂). */
  totalGradNorm: number;
  /** The rows with a flag. */
  flagged: GradReportRow[];
  /** An aligned table of the rows, then the total and the thresholds. */
  toString(): string;
}

function entries(params: NamedTensors): [string, Tensor][] {
  const check = (name: string, t: unknown): [string, Tensor] => {
    if (!(t instanceof Tensor))
      throw new ValueError(
        `gradReport: parameter '${name}' is ${t === null ? 'null' : typeof t}, not a Tensor; pass a module ` +
          `(namedParameters()), a Map or object of named tensors, or an array of tensors`,
      );
    return [name, t];
  };
  if (Array.isArray(params)) return params.map((t, i) => check(t instanceof Tensor && t.name ? t.name : `[${i}]`, t));
  if (params instanceof Map) return [...params].map(([k, t]) => check(String(k), t));
  const named = (params as { namedParameters?: unknown }).namedParameters;
  if (typeof named === 'function')
    return [...(named.call(params) as Iterable<readonly [string, Tensor]>)].map(([k, t]) => check(k, t));
  if (params === null || typeof params !== 'object')
    throw new ValueError(
      `gradReport: expected a module (namedParameters()), a Map or object of named tensors, or an array of tensors; ` +
        `got ${params === null ? 'null' : typeof params}`,
    );
  return Object.entries(params as Record<string, Tensor>).map(([k, t]) => check(k, t));
}

/** ‖t‖₂ in float64: NaN if any element is NaN, Infinity if any is infinite. */
export function l2norm(t: Tensor): number {
  const d = t.dataSync();
  let scale = 0;
  for (let i = 0; i < d.length; i++) {
    const a = Math.abs(Number(d[i]));
    if (a !== a) return Number.NaN;
    if (a > scale) scale = a;
  }
  if (scale === 0 || scale === Infinity) return scale;
  let s = 0;
  for (let i = 0; i < d.length; i++) {
    const r = Number(d[i]) / scale;
    s += r * r;
  }
  return scale * Math.sqrt(s);
}

/** 0.0123 → `0.0123`, 12345 → `1.23e+4`: four significant digits in the middle range, exponents outside it. */
export function fmtNumber(x: number): string {
  if (x === 0) return '0';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e4) return String(Number(x.toPrecision(4)));
  return x.toExponential(2);
}

function pad(s: string, w: number, right = false): string {
  let n = 0;
  for (const _ of s) n++;
  const fill = ' '.repeat(Math.max(0, w - n));
  return right ? fill + s : s + fill;
}

/**
 * Per-parameter gradient norms, parameter norms and update ratios lr·‖g‖/‖p‖, with vanishing (< 1e-7), exploding
 * (> 1e3), non-finite and missing gradients flagged. Call it after backward, before the optimizer step.
 */
function gradReportFn(params: NamedTensors, opts: GradReportOptions = {}): GradReport {
  const lr = opts.lr ?? 1;
  const low = opts.vanishing ?? 1e-7;
  const high = opts.exploding ?? 1e3;
  if (!(lr > 0)) throw new ValueError(`gradReport: lr must be a number > 0, got ${lr}`);
  let total = 0;
  const rows = entries(params).map(([name, p]): GradReportRow => {
    const paramNorm = l2norm(p);
    const g = p.grad;
    if (!g) return { name, shape: p.shape, gradNorm: null, paramNorm, ratio: null, flag: 'no grad' };
    if (g.numel() !== p.numel())
      throw new ValueError(
        `gradReport: '${name}' has shape ${fmtShape(p.shape)} but its .grad has shape ${fmtShape(g.shape)}`,
      );
    const gradNorm = l2norm(g);
    total = Math.hypot(total, gradNorm);
    const ratio = gradNorm === 0 ? 0 : (lr * gradNorm) / paramNorm;
    const flag: GradFlag = !Number.isFinite(gradNorm)
      ? 'non-finite'
      : gradNorm < low
        ? 'vanishing'
        : gradNorm > high
          ? 'exploding'
          : '';
    return { name, shape: p.shape, gradNorm, paramNorm, ratio, flag };
  });

  return {
    rows,
    lr,
    totalGradNorm: total,
    flagged: rows.filter((r) => r.flag !== ''),
    toString() {
      const head = ['parameter', 'shape', '‖grad‖', '‖param‖', `lr·‖grad‖/‖param‖`, 'flag'];
      const cells = rows.map((r) => [
        r.name,
        shapeText(r.shape),
        r.gradNorm === null ? '—' : fmtNumber(r.gradNorm),
        fmtNumber(r.paramNorm),
        r.ratio === null ? '—' : fmtNumber(r.ratio),
        r.flag === '' ? '' : `⚠ ${r.flag}`,
      ]);
      const all = [head, ...cells];
      const widths = head.map((_h, i) => Math.max(...all.map((c) => [...c[i]].length)));
      // Names and shapes read left to right; numbers line up on the right.
      const line = (c: string[]) =>
        c
          .map((s, i) => pad(s, widths[i], i >= 2 && i <= 4))
          .join('   ')
          .trimEnd();
      const bad = rows.filter((r) => r.flag !== '').length;
      return [
        line(head),
        ...cells.map(line),
        '',
        `total ‖grad‖ ${fmtNumber(total)} over ${rows.length} parameter${rows.length === 1 ? '' : 's'}; lr = ${lr}; ` +
          `flags: vanishing ‖grad‖ < ${low}, exploding ‖grad‖ > ${high}` +
          (bad ? `; ${bad} flagged` : '; none flagged'),
      ].join('\n');
    },
  };
}

/** A module, a Map or object of named tensors, or an array of tensors (checked in detail by gradReport itself). */
const NAMED = custom<NamedTensors>(
  'a Module, a Map or object of named Tensors, or an array of Tensors',
  (v) => typeof v === 'object' && v !== null,
  { objects: true },
);
export const gradReport = checked(
  'gradReport',
  {
    args: { params: NAMED },
    options: {
      lr: optional(number({ gt: 0 })),
      vanishing: optional(number({ min: 0 })),
      exploding: optional(number({ gt: 0 })),
    },
  },
  gradReportFn,
);
