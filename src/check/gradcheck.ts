/**
 * @file The public verification API: gradcheck (analytic vs central finite differences in float64, every input
 * element), gradgradcheck (the same for second derivatives), and adjointCheck (⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ with the
 * ops' own JVP and VJP rules, plus the JVP against a finite-difference directional derivative).
 */
import { forwardAD, makeDual, tangentOf } from '../autograd/forward.js';
import { noGrad } from '../autograd/mode.js';
import { AdjointError, DTypeError, fmtShape } from '../core/errors.js';
import { randomNormal } from '../core/rng.js';
import { grad } from '../ops/autograd.js';
import { fromTypedArray, Tensor } from '../tensor/tensor.js';

export type CheckedFn = (...xs: Tensor[]) => Tensor | Tensor[];

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Compare one random projection vᵀJ instead of the whole Jacobian (numel(out) times fewer backward passes). */
  fastMode?: boolean;
}

export interface GradcheckReport {
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  /** The worst element: input number, flat index into it, and (output element) analytic vs numeric value. */
  worst: { input: number; index: number; output: number; analytic: number; numeric: number } | null;
}

function outputs(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

function flatOut(r: Tensor | Tensor[]): Float64Array {
  const parts = outputs(r).map((t) => Float64Array.from(t.dataSync() as ArrayLike<number>));
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Float64Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function randomLike(t: Tensor): Tensor {
  const d = new Float64Array(t.numel());
  for (let i = 0; i < d.length; i++) d[i] = randomNormal();
  return fromTypedArray(d, t.shape, t.dtype);
}

function checkInputs(fn: string, inputs: readonly Tensor[]): number[] {
  const diff: number[] = [];
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new AdjointError(`${fn}: input ${i} is not a Tensor`);
    if (!x.requiresGrad) return;
    if (x.dtype !== 'float64')
      throw new DTypeError(
        `${fn}: input ${i} (shape ${fmtShape(x.shape)}) is ${x.dtype}; finite differences need float64 inputs — create them with {dtype: 'float64'} or call .double()`,
      );
    diff.push(i);
  });
  return diff;
}

/** Analytic Jacobian rows (or one projected row) of fn at inputs, w.r.t. the inputs that require grad. */
function analytic(fn: CheckedFn, inputs: Tensor[], diff: number[], vs: Float64Array[]): Float64Array[][] {
  const outs = outputs(fn(...inputs));
  const sizes = outs.map((o) => o.numel());
  return vs.map((v) => {
    const rows = diff.map((i) => new Float64Array(inputs[i].numel()));
    const gradOutputs: Tensor[] = [];
    let o = 0;
    const live: Tensor[] = [];
    outs.forEach((t, k) => {
      if (t.requiresGrad) {
        live.push(t);
        gradOutputs.push(fromTypedArray(v.slice(o, o + sizes[k]), t.shape, t.dtype));
      }
      o += sizes[k];
    });
    if (!live.length) return rows;
    const gs = grad(
      live,
      diff.map((i) => inputs[i]),
      { gradOutputs, retainGraph: true, allowUnused: true },
    );
    gs.forEach((g, j) => {
      if (!g) return;
      if (g.shape.join() !== inputs[diff[j]].shape.join())
        throw new AdjointError(
          `gradcheck: the gradient for input ${diff[j]} has shape ${fmtShape(g.shape)}, expected ${fmtShape(inputs[diff[j]].shape)}`,
        );
      rows[j].set(g.dataSync() as ArrayLike<number>);
    });
    return rows;
  });
}

/**
 * Central differences of fn w.r.t. each element of each differentiable input: numeric[j][elem] = ∂out/∂x (flat).
 * Grad mode stays on and perturbed inputs keep requiresGrad, so fn may itself differentiate (gradgradcheck).
 */
function numeric(fn: CheckedFn, inputs: Tensor[], diff: number[], eps: number): Float64Array[][] {
  return diff.map((i) => {
    const x = inputs[i];
    const base = Float64Array.from(x.dataSync() as ArrayLike<number>);
    const cols: Float64Array[] = [];
    for (let e = 0; e < base.length; e++) {
      const eval1 = (delta: number) => {
        const d = base.slice();
        d[e] += delta;
        const xs = inputs.slice();
        xs[i] = fromTypedArray(d, x.shape, 'float64').requiresGrad_(true);
        return flatOut(fn(...xs));
      };
      const plus = eval1(eps);
      const minus = eval1(-eps);
      const col = new Float64Array(plus.length);
      for (let k = 0; k < col.length; k++) col[k] = (plus[k] - minus[k]) / (2 * eps);
      cols.push(col);
    }
    return cols;
  });
}

/**
 * Checks fn's analytic gradients against central finite differences for every element of every input that
 * requires grad (float64). Returns a report; see assertGradcheck for the throwing form.
 */
export function gradcheck(fn: CheckedFn, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckReport {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const diff = checkInputs('gradcheck', inputs);
  const nOut = noGrad(() => flatOut(fn(...inputs))).length;
  const vs: Float64Array[] = [];
  if (opts.fastMode) {
    const v = new Float64Array(nOut);
    for (let k = 0; k < nOut; k++) v[k] = randomNormal();
    vs.push(v);
  } else
    for (let k = 0; k < nOut; k++) {
      const v = new Float64Array(nOut);
      v[k] = 1;
      vs.push(v);
    }
  const num = numeric(fn, inputs, diff, eps);
  const ana = analytic(fn, inputs, diff, vs);
  const report: GradcheckReport = { ok: true, maxAbsError: 0, maxRelError: 0, worst: null };
  let worstScore = -1;
  vs.forEach((v, r) => {
    diff.forEach((inp, j) => {
      for (let e = 0; e < num[j].length; e++) {
        let n = 0;
        for (let k = 0; k < nOut; k++) if (v[k] !== 0) n += v[k] * num[j][e][k];
        const a = ana[r][j][e];
        const abs = Math.abs(a - n);
        const rel = abs / Math.max(Math.abs(n), 1e-300);
        const bad = !(abs <= atol + rtol * Math.abs(n));
        if (abs > report.maxAbsError || Number.isNaN(abs)) report.maxAbsError = Number.isNaN(abs) ? Number.NaN : abs;
        if (Math.abs(n) > 0 && rel > report.maxRelError) report.maxRelError = rel;
        const score = Number.isNaN(abs) ? Infinity : abs / (atol + rtol * Math.abs(n));
        if (score > worstScore) {
          worstScore = score;
          report.worst = { input: inp, index: e, output: opts.fastMode ? -1 : r, analytic: a, numeric: n };
        }
        if (bad) report.ok = false;
      }
    });
  });
  return report;
}

function describe(name: string, r: GradcheckReport): string {
  const w = r.worst;
  return (
    `${name} failed: max abs error ${r.maxAbsError.toExponential(3)}, max rel error ${r.maxRelError.toExponential(3)}` +
    (w
      ? `; worst at input ${w.input}, element ${w.index}${w.output >= 0 ? `, output element ${w.output}` : ''}: ` +
        `analytic ${w.analytic}, numeric ${w.numeric}`
      : '')
  );
}

/** gradcheck that throws with the report when it fails. */
export function assertGradcheck(fn: CheckedFn, inputs: Tensor[], opts?: GradcheckOptions): GradcheckReport {
  const r = gradcheck(fn, inputs, opts);
  if (!r.ok) throw new AdjointError(describe('gradcheck', r));
  return r;
}

/**
 * Second derivatives: gradchecks x, v ↦ vᵀ·∂fn/∂x (computed with createGraph) against finite differences, for a
 * random v, so both the VJP rules and their own derivatives are checked.
 */
export function gradgradcheck(fn: CheckedFn, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckReport {
  const diff = checkInputs('gradgradcheck', inputs);
  const outs = noGrad(() => outputs(fn(...inputs)));
  const vs = outs.map((o) => randomLike(o).requiresGrad_(true));
  const n = inputs.length;
  const first: CheckedFn = (...xs) => {
    const os = outputs(fn(...xs.slice(0, n)));
    const live = os.map((o, k) => [o, xs[n + k]] as const).filter(([o]) => o.requiresGrad);
    if (!live.length) return diff.map((i) => xs[i].mul(0));
    const gs = grad(
      live.map(([o]) => o),
      diff.map((i) => xs[i]),
      { gradOutputs: live.map(([, v]) => v), createGraph: true, allowUnused: true },
    );
    return gs.map((g, j) => g ?? xs[diff[j]].mul(0));
  };
  return gradcheck(first, [...inputs, ...vs], opts);
}

export function assertGradgradcheck(fn: CheckedFn, inputs: Tensor[], opts?: GradcheckOptions): GradcheckReport {
  const r = gradgradcheck(fn, inputs, opts);
  if (!r.ok) throw new AdjointError(describe('gradgradcheck', r));
  return r;
}

export interface AdjointReport {
  ok: boolean;
  /** ⟨J·u, v⟩ from the JVP rules. */
  jvpSide: number;
  /** ⟨u, Jᵀ·v⟩ from the VJP rules. */
  vjpSide: number;
  relError: number;
  /** Max abs difference between J·u and the central-difference directional derivative. */
  jvpFdError: number;
}

/**
 * The adjoint identity ⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ for random u (one per differentiable input) and v (per output): the
 * forward-mode and reverse-mode rules must be transposes of each other.
 */
export function adjointCheck(
  fn: CheckedFn,
  inputs: Tensor[],
  opts: { atol?: number; rtol?: number; eps?: number } = {},
): AdjointReport {
  const atol = opts.atol ?? 1e-8;
  const rtol = opts.rtol ?? 1e-7;
  const eps = opts.eps ?? 1e-6;
  const diff = checkInputs('adjointCheck', inputs);
  const us = inputs.map((x, i) => (diff.includes(i) ? randomLike(x) : null));
  // J·u by forward mode, through every op's JVP rule.
  const ju = noGrad(() =>
    forwardAD(() => {
      const duals = inputs.map((x, i) => (us[i] ? makeDual(x.detach(), us[i]!) : x));
      return outputs(fn(...duals)).map((o) => tangentOf(o));
    }),
  );
  const outs = outputs(fn(...inputs));
  const vs = outs.map((o) => randomLike(o));
  let jvpSide = 0;
  ju.forEach((t, k) => {
    if (!t) return;
    const a = t.dataSync();
    const b = vs[k].dataSync();
    for (let e = 0; e < a.length; e++) jvpSide += a[e] * b[e];
  });
  // Jᵀ·v by reverse mode, through every op's VJP rule.
  let vjpSide = 0;
  const live = outs.map((o, k) => [o, vs[k]] as const).filter(([o]) => o.requiresGrad);
  if (live.length && diff.length) {
    const gs = grad(
      live.map(([o]) => o),
      diff.map((i) => inputs[i]),
      { gradOutputs: live.map(([, v]) => v), allowUnused: true },
    );
    gs.forEach((g, j) => {
      if (!g) return;
      const a = g.dataSync();
      const b = us[diff[j]]!.dataSync();
      for (let e = 0; e < a.length; e++) vjpSide += a[e] * b[e];
    });
  }
  // J·u against (f(x + εu) − f(x − εu)) / 2ε.
  const shifted = (s: number) =>
    noGrad(() =>
      flatOut(
        fn(
          ...inputs.map((x, i) => {
            if (!us[i]) return x;
            const a = x.dataSync();
            const u = us[i]!.dataSync();
            const d = new Float64Array(a.length);
            for (let e = 0; e < a.length; e++) d[e] = a[e] + s * u[e];
            return fromTypedArray(d, x.shape, 'float64');
          }),
        ),
      ),
    );
  const plus = shifted(eps);
  const minus = shifted(-eps);
  let jvpFdError = 0;
  let o = 0;
  ju.forEach((t, k) => {
    const n = outs[k].numel();
    const a = t ? t.dataSync() : new Float64Array(n);
    for (let e = 0; e < n; e++) {
      const fd = (plus[o + e] - minus[o + e]) / (2 * eps);
      jvpFdError = Math.max(jvpFdError, Math.abs(a[e] - fd) / (1 + Math.abs(fd)));
    }
    o += n;
  });
  const absErr = Math.abs(jvpSide - vjpSide);
  const relError = absErr / Math.max(Math.abs(jvpSide), Math.abs(vjpSide), 1e-300);
  const ok = absErr <= atol + rtol * Math.max(Math.abs(jvpSide), Math.abs(vjpSide)) && jvpFdError < 1e-4;
  return { ok, jvpSide, vjpSide, relError, jvpFdError };
}
