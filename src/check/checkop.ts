/**
 * @file checkOp and assertOp: every check we run on our own ops, run on one op (typically a user's ad.defineOp) at
 * sample inputs, with a report that says which rule is wrong and where. Four checks, each against a different
 * witness, so that together they tell the rules apart:
 * - vjp: the VJP rule against central finite differences (gradcheck), element by element;
 * - vjp second order: the VJP rule's own derivatives (gradgradcheck), so createGraph gives right answers;
 * - jvp: the JVP rule against finite differences, one Jacobian column (input element) at a time;
 * - adjoint identity: ⟨J·u, v⟩ from the JVP rule against ⟨u, Jᵀ·v⟩ from the VJP rule (adjointCheck), per input.
 * A wrong VJP fails vjp and the identity while jvp passes; a wrong JVP the reverse. Both failing finite differences
 * while agreeing with each other means the forward is not differentiable the way the rules say: a surrogate
 * gradient (straight-through estimator) or a kink at the sample.
 */

import { forwardAD, makeDual, tangentOf } from '../autograd/forward.js';
import { noGrad } from '../autograd/mode.js';
import { array, bool, checked, fn, number, optional, record, scalarOrTensor } from '../core/args.js';
import { isFloating } from '../core/dtype.js';
import { AdjointError, DTypeError, fmtPosition, fmtShape, ValueError } from '../core/errors.js';
import { lift, type TensorLike } from '../ops/scalar.js';
import { fromTypedArray, type Tensor } from '../tensor/tensor.js';
import { adjointCheck, type GradcheckReport, gradcheck, gradgradcheck } from './gradcheck.js';

export type OpCheckName = 'vjp' | 'vjp second order' | 'jvp' | 'adjoint identity';

export interface OpCheck {
  check: OpCheckName;
  ok: boolean;
  /** Not run: the op has no rule of that kind (a custom op without a jvp or vjp). Skipped checks count as ok. */
  skipped: boolean;
  /** Which sample (index into `samples`). */
  sample: number;
  /** The op input where the worst disagreement is; null when the check is not tied to one (or threw). */
  input: number | null;
  /** Flat element index into that input (null for the adjoint identity, which is one number per input). */
  index: number | null;
  /** Flat element index into the output (null where not applicable). */
  output: number | null;
  /**
   * The reference value: finite differences for vjp, jvp and second order; ⟨u, Jᵀ·v⟩ (from the VJP rule) for the
   * adjoint identity.
   */
  expected: number | null;
  /** The rule's value: the VJP's or JVP's Jacobian entry; ⟨J·u, v⟩ (from the JVP rule) for the adjoint identity. */
  got: number | null;
  /** The worst absolute error (relative, for the adjoint identity). */
  error: number;
  message: string;
}

export interface OpReport {
  ok: boolean;
  /** The op's name. */
  op: string;
  /** Which rule is wrong, in words ('the VJP rule is wrong', ...), or that every check passed. */
  verdict: string;
  checks: OpCheck[];
}

export interface CheckOpOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /**
   * Tolerances: |got − expected| ≤ atol + rtol·|expected|. Defaults: atol 1e-5, rtol 1e-3 for the checks against finite
   * differences; atol 1e-8, rtol 1e-6 for the adjoint identity, which compares two exact computations. Given values
   * apply to every check.
   */
  atol?: number;
  rtol?: number;
  /** Run the second-order check (default true); turn it off for ops whose VJP is not meant to be differentiated. */
  secondOrder?: boolean;
}

/** The op being checked: any function of tensors; a custom op's spec says which rules it has. */
type CheckedOp = ((...xs: any[]) => Tensor) & {
  spec?: { vjp?: unknown; jvp?: unknown; nondiffInputs?: readonly number[] };
};

/**
 * Runs the four checks on `op` at each sample (an array of its inputs: float64 tensors, which are differentiated
 * unless the op lists them in nondiffInputs; numbers and integer or bool tensors, which are passed as they are).
 * Never throws for a wrong rule: the report says what failed; see assertOp for the throwing form.
 */
function checkOpFn(op: CheckedOp, samples: readonly (readonly TensorLike[])[], opts: CheckOpOptions = {}): OpReport {
  if (typeof op !== 'function') throw new ValueError(`checkOp: op must be a function of tensors, got ${typeof op}`);
  const name = op.name || 'op';
  if (!Array.isArray(samples) || samples.length === 0 || samples.some((s) => !Array.isArray(s)))
    throw new ValueError(
      `checkOp(${name}): samples must be a non-empty array of samples, each an array of the op's inputs, e.g. [[x1], [x2]]`,
    );
  const hasVjp = op.spec ? op.spec.vjp !== undefined : true;
  const hasJvp = op.spec ? op.spec.jvp !== undefined : true;
  const nondiff = op.spec?.nondiffInputs ?? [];
  const fd = { eps: opts.eps ?? 1e-6, atol: opts.atol ?? 1e-5, rtol: opts.rtol ?? 1e-3 };
  const adj = { eps: fd.eps, atol: opts.atol ?? 1e-8, rtol: opts.rtol ?? 1e-6 };
  const checks: OpCheck[] = [];

  samples.forEach((sample, s) => {
    const inputs = prepare(name, sample, s, nondiff);
    const diff = inputs.flatMap((x, i) => (x.requiresGrad ? [i] : []));
    const outShape = noGrad(() => op(...inputs)).shape;
    const fn = (...xs: Tensor[]) => op(...xs);
    const entry = (check: OpCheckName, e: Partial<OpCheck>): OpCheck => ({
      check,
      ok: true,
      skipped: false,
      sample: s,
      input: null,
      index: null,
      output: null,
      expected: null,
      got: null,
      error: 0,
      message: '',
      ...e,
    });
    const guarded = (check: OpCheckName, run: () => OpCheck): OpCheck => {
      try {
        return run();
      } catch (e) {
        const err = e as Error;
        return entry(check, { ok: false, error: Number.NaN, message: `threw ${err.name}: ${err.message}` });
      }
    };
    const skip = (check: OpCheckName, rule: string) =>
      entry(check, { skipped: true, message: `skipped: the op has no ${rule} rule` });

    // vjp: the whole Jacobian from the VJP rule against finite differences.
    checks.push(
      !hasVjp
        ? skip('vjp', 'vjp')
        : guarded('vjp', () => {
            const r = gradcheck(fn, inputs, fd);
            return fromGradcheck(entry('vjp', {}), r, inputs, outShape, 'the VJP');
          }),
    );

    // vjp second order: derivatives of x, v ↦ vᵀ·J(x), which createGraph differentiates.
    if (opts.secondOrder === false) checks.push(entry('vjp second order', { skipped: true, message: 'skipped' }));
    else
      checks.push(
        !hasVjp
          ? skip('vjp second order', 'vjp')
          : guarded('vjp second order', () => {
              const r = gradgradcheck(fn, inputs, fd);
              const e = entry('vjp second order', { ok: r.ok, error: r.maxAbsError });
              const w = r.worst;
              if (!w) return { ...e, message: 'no differentiable input' };
              const n = inputs.length;
              // w.output indexes the gradients of the differentiated inputs, concatenated.
              let k = w.output;
              let j = 0;
              while (j < diff.length - 1 && k >= inputs[diff[j]].numel()) k -= inputs[diff[j++]].numel();
              const gradAt = `the gradient of input ${diff[j]} at ${fmtPosition(inputs[diff[j]].shape, k)}`;
              const at =
                w.input < n
                  ? `input ${w.input} at ${fmtPosition(inputs[w.input].shape, w.index)}`
                  : `the output cotangent v at ${fmtPosition(outShape, w.index)}`;
              return {
                ...e,
                input: w.input < n ? w.input : null,
                index: w.index,
                output: null,
                expected: w.numeric,
                got: w.analytic,
                message: r.ok
                  ? `max abs error ${fmt(r.maxAbsError)}`
                  : `the derivative of ${gradAt} (from the VJP) with respect to ${at}: ` +
                    `differentiating the rule gives ${fmt(w.analytic)}, finite differences of it give ` +
                    `${fmt(w.numeric)}; write the VJP with differentiable ops on its inputs and output (no detach, ` +
                    `no dataSync/item, no constants built from values)`,
              };
            }),
      );

    // jvp: each Jacobian column from the JVP rule against finite differences.
    checks.push(
      !hasJvp
        ? skip('jvp', 'jvp')
        : guarded('jvp', () =>
            fromGradcheck(entry('jvp', {}), jvpVsFd(fn, inputs, diff, fd), inputs, outShape, 'the JVP'),
          ),
    );

    // adjoint identity, per input so a failure says which input's rules disagree.
    checks.push(
      !hasVjp || !hasJvp
        ? skip('adjoint identity', hasVjp ? 'jvp' : 'vjp')
        : guarded('adjoint identity', () => {
            const per = diff.map((i) => {
              const r = adjointCheck(
                fn,
                inputs.map((x, j) => (j === i ? x : x.detach())),
                adj,
              );
              const scale = Math.max(Math.abs(r.jvpSide), Math.abs(r.vjpSide));
              return { i, r, ok: Math.abs(r.jvpSide - r.vjpSide) <= adj.atol + adj.rtol * scale };
            });
            if (!per.length) return entry('adjoint identity', { message: 'no differentiable input' });
            // The failing input with the largest error, else the largest error among the passing ones.
            const pool = per.some((p) => !p.ok) ? per.filter((p) => !p.ok) : per;
            const { i, r, ok } = pool.reduce((a, b) => (b.r.relError > a.r.relError ? b : a));
            return entry('adjoint identity', {
              ok,
              input: i,
              expected: r.vjpSide,
              got: r.jvpSide,
              error: r.relError,
              message: ok
                ? `max rel error ${fmt(r.relError)}`
                : `input ${i}, random u and v: ⟨J·u, v⟩ from the JVP is ${fmt(r.jvpSide)}, but ⟨u, Jᵀ·v⟩ from ` +
                  `the VJP is ${fmt(r.vjpSide)} (rel error ${fmt(r.relError)}): the two rules are not transposes ` +
                  `of each other`,
            });
          }),
    );
  });

  const ok = checks.every((c) => c.ok);
  return { ok, op: name, verdict: verdict(checks), checks };
}

/** checkOp that throws an AdjointError with the report's text when any check fails; returns the report otherwise. */
function assertOpFn(op: CheckedOp, samples: readonly (readonly TensorLike[])[], opts?: CheckOpOptions): OpReport {
  const r = checkOp(op, samples, opts);
  if (!r.ok) throw new AdjointError(formatOpReport(r));
  return r;
}

/** The report as text: the verdict, then one line per check and sample. */
function formatOpReportFn(r: OpReport): string {
  const lines = [`checkOp(${r.op}): ${r.ok ? 'ok' : 'FAILED'}: ${r.verdict}`];
  const width = Math.max(...r.checks.map((c) => c.check.length));
  for (const c of r.checks) {
    const mark = c.skipped ? '-' : c.ok ? '✓' : '✗';
    lines.push(`  ${mark} sample ${c.sample}  ${c.check.padEnd(width)}  ${c.message}`);
  }
  return lines.join('\n');
}

/** The sample's inputs for the checks: fresh leaves for the differentiated ones, the rest detached. */
function prepare(name: string, sample: readonly TensorLike[], s: number, nondiff: readonly number[]): Tensor[] {
  return lift(name, sample).map((x, i) => {
    const d = x.detach();
    if (x._wrapped || !isFloating(x.dtype) || nondiff.includes(i)) return d;
    if (x.dtype !== 'float64')
      throw new DTypeError(
        `checkOp(${name}): sample ${s}, input ${i} (shape ${fmtShape(x.shape)}) is ${x.dtype}; finite differences ` +
          `need float64 inputs; create them with {dtype: 'float64'} or call .double()`,
      );
    return d.requiresGrad_(true);
  });
}

/** A gradcheck-style report (worst element, analytic vs numeric) as a check entry. */
function fromGradcheck(
  e: OpCheck,
  r: GradcheckReport,
  inputs: readonly Tensor[],
  outShape: readonly number[],
  rule: string,
): OpCheck {
  const w = r.worst;
  if (!w) return { ...e, message: 'no differentiable input' };
  const res: OpCheck = {
    ...e,
    ok: r.ok,
    error: r.maxAbsError,
    input: w.input,
    index: w.index,
    output: w.output,
    expected: w.numeric,
    got: w.analytic,
  };
  res.message = r.ok
    ? `max abs error ${fmt(r.maxAbsError)}`
    : `input ${w.input} at ${fmtPosition(inputs[w.input].shape, w.index)}, output at ` +
      `${fmtPosition(outShape, w.output)}: ${rule} gives ∂out/∂in = ${fmt(w.analytic)}, finite differences give ` +
      `${fmt(w.numeric)}`;
  return res;
}

/**
 * The JVP rule against central differences, one basis tangent per input element: column (input i, element e) of
 * the Jacobian from forward mode vs (f(x + ε·eₑ) − f(x − ε·eₑ)) / 2ε. adjointCheck's own JVP check uses one random
 * direction, which says that the JVP is wrong but not where.
 */
function jvpVsFd(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  diff: readonly number[],
  o: { eps: number; atol: number; rtol: number },
): GradcheckReport {
  const report: GradcheckReport = { ok: true, maxAbsError: 0, maxRelError: 0, worst: null };
  let worstScore = -1;
  const plain = inputs.map((x) => x.detach());
  for (const i of diff) {
    const x = plain[i];
    const base = Float64Array.from(x.dataSync() as ArrayLike<number>);
    for (let e = 0; e < base.length; e++) {
      const dir = new Float64Array(base.length);
      dir[e] = 1;
      const jvp = noGrad(() =>
        forwardAD(() => {
          const xs = plain.slice();
          xs[i] = makeDual(x, fromTypedArray(dir, x.shape, 'float64'));
          const out = fn(...xs);
          const t = tangentOf(out);
          return t ? Float64Array.from(t.dataSync() as ArrayLike<number>) : new Float64Array(out.numel());
        }),
      );
      const at = (delta: number) => {
        const d = base.slice();
        d[e] += delta;
        const xs = plain.slice();
        xs[i] = fromTypedArray(d, x.shape, 'float64');
        return Float64Array.from(noGrad(() => fn(...xs)).dataSync() as ArrayLike<number>);
      };
      const plus = at(o.eps);
      const minus = at(-o.eps);
      for (let k = 0; k < jvp.length; k++) {
        const n = (plus[k] - minus[k]) / (2 * o.eps);
        const a = jvp[k];
        const abs = Math.abs(a - n);
        if (!(abs <= o.atol + o.rtol * Math.abs(n))) report.ok = false;
        if (abs > report.maxAbsError || Number.isNaN(abs)) report.maxAbsError = Number.isNaN(abs) ? Number.NaN : abs;
        if (Math.abs(n) > 0) report.maxRelError = Math.max(report.maxRelError, abs / Math.abs(n));
        const score = Number.isNaN(abs) ? Infinity : abs / (o.atol + o.rtol * Math.abs(n));
        if (score > worstScore) {
          worstScore = score;
          report.worst = { input: i, index: e, output: k, analytic: a, numeric: n };
        }
      }
    }
  }
  return report;
}

/** Which rule is wrong, from which checks failed: each rule fails against its own witnesses and passes the others. */
function verdict(checks: readonly OpCheck[]): string {
  const bad = (name: OpCheckName) => checks.some((c) => c.check === name && !c.ok);
  const threw = checks.filter((c) => !c.ok && c.message.startsWith('threw'));
  const vjp = bad('vjp');
  const jvp = bad('jvp');
  const adj = bad('adjoint identity');
  const second = bad('vjp second order');
  const parts: string[] = [];
  if (vjp && !jvp) parts.push('the VJP rule is wrong (it disagrees with finite differences; the JVP agrees with them)');
  else if (jvp && !vjp)
    parts.push('the JVP rule is wrong (it disagrees with finite differences; the VJP agrees with them)');
  else if (vjp && jvp)
    parts.push(
      adj
        ? 'both the VJP and the JVP rules are wrong (each disagrees with finite differences and with the other)'
        : 'the VJP and JVP rules agree with each other (the adjoint identity holds) but not with finite ' +
            'differences: the forward is not differentiable the way the rules say (a surrogate gradient such as a ' +
            'straight-through estimator, or a kink or jump at a sample), or both rules are wrong the same way',
    );
  else if (adj)
    parts.push(
      'the VJP and JVP rules are not transposes of each other (the adjoint identity fails) though each is within ' +
        'the finite-difference tolerance: one of them is slightly wrong; tighten atol/rtol to see which',
    );
  if (second)
    parts.push(
      "the VJP rule's own derivative is wrong (second order, createGraph): it is not built from differentiable ops " +
        'on its inputs and output',
    );
  if (threw.length && !parts.length) parts.push(`a check threw: ${threw[0].message}`);
  if (!parts.length) {
    const skipped = checks.filter((c) => c.skipped).map((c) => c.check);
    return skipped.length
      ? `every rule that exists agrees with finite differences (skipped: ${[...new Set(skipped)].join(', ')})`
      : 'every rule agrees with finite differences, to second order, and the VJP and JVP are transposes';
  }
  return parts.join('; ');
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(6))) : v.toExponential(3);
}

// ----- the public functions, with their declared parameters ------------------------------------------------------------

const CHECK_OP = {
  args: {
    op: fn,
    samples: array(array(scalarOrTensor, 'an array of inputs'), 'an array of samples (each an array of inputs)'),
  },
  options: {
    eps: optional(number({ gt: 0 })),
    atol: optional(number({ min: 0 })),
    rtol: optional(number({ min: 0 })),
    secondOrder: optional(bool),
  },
};
export const checkOp = checked('checkOp', CHECK_OP, checkOpFn);
export const assertOp = checked('assertOp', CHECK_OP, assertOpFn);
// A report is the object checkOp returned: handed on to the formatter as it is.
export const formatOpReport = checked('formatOpReport', { args: { report: record() } }, formatOpReportFn);
