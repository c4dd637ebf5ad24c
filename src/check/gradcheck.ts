/**
 * @file The public verification API: gradcheck (analytic vs central finite differences in float64, every input
 * element), gradgradcheck (the same for second derivatives), adjointCheck (⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ with the
 * ops' own JVP and VJP rules, plus the JVP against a finite-difference directional derivative), and checkGrads
 * (JAX's check_grads: both modes, to any order, along random directions).
 */

import { forwardAD, makeDual, tangentOf } from '../autograd/forward.js';
import { noGrad } from '../autograd/mode.js';
import { array, bool, checked, fn, int, number, oneOf, optional, tensor, union } from '../core/args.js';
import { isFloating } from '../core/dtype.js';
import { AdjointError, DTypeError, fmtPosition, fmtShape } from '../core/errors.js';
import { randomNormal } from '../core/rng.js';
import type { Shape } from '../core/shape.js';
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
function gradcheckFn(fn: CheckedFn, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckReport {
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
function assertGradcheckFn(fn: CheckedFn, inputs: Tensor[], opts?: GradcheckOptions): GradcheckReport {
  const r = gradcheck(fn, inputs, opts);
  if (!r.ok) throw new AdjointError(describe('gradcheck', r));
  return r;
}

/**
 * Second derivatives: gradchecks x, v ↦ vᵀ·∂fn/∂x (computed with createGraph) against finite differences, for a
 * random v, so both the VJP rules and their own derivatives are checked.
 */
function gradgradcheckFn(fn: CheckedFn, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckReport {
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

function assertGradgradcheckFn(fn: CheckedFn, inputs: Tensor[], opts?: GradcheckOptions): GradcheckReport {
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
  /** Whether the identity holds (`ok` also requires the JVP to match finite differences). */
  identityOk: boolean;
  /** Max abs difference between J·u and the central-difference directional derivative. */
  jvpFdError: number;
}

/**
 * The adjoint identity ⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ for random u (one per differentiable input) and v (per output): the
 * forward-mode and reverse-mode rules must be transposes of each other.
 */
function adjointCheckFn(
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
  const identityOk = absErr <= atol + rtol * Math.max(Math.abs(jvpSide), Math.abs(vjpSide));
  return { ok: identityOk && jvpFdError < 1e-4, jvpSide, vjpSide, relError, identityOk, jvpFdError };
}

// checkGrads: JAX's check_grads. Every derivative is checked along random directions against central differences of
// the function it differentiates, and higher orders check the derivatives of the JVP and VJP functions themselves.

export type GradMode = 'fwd' | 'rev';

export interface CheckGradsOptions {
  /** 1: the JVP and VJP; 2 (default): also the JVP and VJP of each of those, i.e. every pair of modes. */
  order?: number;
  /** The modes checked at each order (default both): ['fwd'] at order 2 checks the JVP and the JVP of the JVP. */
  modes?: readonly GradMode[];
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Tolerance per output element (default 1e-5), and relative to the numeric value (default 1e-3). */
  atol?: number;
  rtol?: number;
}

export interface CheckGradsFailure {
  /** The derivative that is wrong, outermost first: 'JVP', 'VJP', 'JVP of JVP', 'VJP of JVP', 'JVP of VJP', ... */
  check: string;
  /** The mode of the outermost derivative (a JVP of a VJP is 'fwd'). */
  mode: GradMode;
  order: number;
  /**
   * The input the wrong derivative is taken along (fwd) or with respect to (rev), numbered among the inputs of the
   * function checked: at order 2, inputs past the original n are its tangents (JVP) or cotangents (VJP), as
   * `inputName` says. -1 when the error could not be pinned on one input.
   */
  input: number;
  inputName: string;
  /**
   * For fwd, the output holding the worst element, numbered among the floating-point outputs of the function checked
   * (`message` names it); -1 for rev, where the outputs are seen through a random projection.
   */
  output: number;
  /** Flat element index of the worst element: into that output (fwd) or into the input (rev); -1 when unknown. */
  index: number;
  analytic: number;
  numeric: number;
  message: string;
}

export interface CheckGradsReport {
  ok: boolean;
  /**
   * Every check run, in order; for order 2 and both modes (as JAX runs them): 'JVP', 'JVP of JVP', 'VJP of JVP',
   * 'VJP', 'JVP of VJP' (forward-over-reverse), 'VJP of VJP'.
   */
  checks: string[];
  failures: CheckGradsFailure[];
}

/** One function under check: the user's, or a JVP or VJP function derived from the one below it. */
interface Level {
  fn: CheckedFn;
  inputs: Tensor[];
  /** The inputs differentiated (float64, requiring grad); the others are passed through unchanged. */
  diff: number[];
  inNames: string[];
  /** One per floating-point output, in order. */
  outNames: string[];
}

interface Tols {
  eps: number;
  atol: number;
  rtol: number;
}

function floatOutputs(r: Tensor | Tensor[]): Tensor[] {
  return outputs(r).filter((o) => isFloating(o.dtype));
}

function flatFloat(r: Tensor | Tensor[]): Float64Array {
  return flatOut(floatOutputs(r));
}

function zerosOf(t: Tensor): Tensor {
  return fromTypedArray(new Float64Array(t.numel()), t.shape, t.dtype);
}

function randomArray(n: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = randomNormal();
  return a;
}

/** (fn(x + εu) − fn(x − εu)) / 2ε over the float outputs, flattened; inputs without a direction stay put. */
function fdAlong(lv: Level, dirs: (Float64Array | null)[], eps: number): Float64Array {
  const at = (s: number) =>
    flatFloat(
      lv.fn(
        ...lv.inputs.map((x, i) => {
          const u = dirs[i];
          if (!u) return x;
          const a = x.dataSync();
          const d = new Float64Array(a.length);
          for (let e = 0; e < a.length; e++) d[e] = a[e] + s * u[e];
          // Still a leaf that requires grad: a derived VJP function differentiates with respect to it.
          return fromTypedArray(d, x.shape, 'float64').requiresGrad_(true);
        }),
      ),
    );
  const plus = at(eps);
  const minus = at(-eps);
  const r = new Float64Array(plus.length);
  for (let k = 0; k < r.length; k++) r[k] = (plus[k] - minus[k]) / (2 * eps);
  return r;
}

/** J·u with the ops' JVP rules, flattened over the float outputs (a symbolic-zero tangent reads as zeros). */
function jvpAlong(lv: Level, dirs: (Float64Array | null)[]): { flat: Float64Array; shapes: Shape[] } {
  const ts = forwardAD(() => {
    const duals = lv.inputs.map((x, i) => (dirs[i] ? makeDual(x, fromTypedArray(dirs[i]!, x.shape, x.dtype)) : x));
    return floatOutputs(lv.fn(...duals)).map((o) => tangentOf(o) ?? zerosOf(o));
  });
  return { flat: flatOut(ts), shapes: ts.map((t) => t.shape) };
}

/** Jᵀ·w with the ops' VJP rules, one flat array per differentiated input (zeros where unused). */
function vjpWith(lv: Level, outs: Tensor[], ws: Float64Array[]): Float64Array[] {
  const live = outs.map((o, k) => [o, k] as const).filter(([o]) => o.requiresGrad);
  const res = lv.diff.map((i) => new Float64Array(lv.inputs[i].numel()));
  if (!live.length || !lv.diff.length) return res;
  const gs = grad(
    live.map(([o]) => o),
    lv.diff.map((i) => lv.inputs[i]),
    { gradOutputs: live.map(([o, k]) => fromTypedArray(ws[k], o.shape, o.dtype)), allowUnused: true },
  );
  gs.forEach((g, j) => {
    if (!g) return;
    const x = lv.inputs[lv.diff[j]];
    if (g.shape.join() !== x.shape.join())
      throw new AdjointError(
        `the gradient for ${lv.inNames[lv.diff[j]]} has shape ${fmtShape(g.shape)}, expected ${fmtShape(x.shape)}`,
      );
    res[j].set(g.dataSync() as ArrayLike<number>);
  });
  return res;
}

/** Which output, and which element of it, flat position p of the concatenated float outputs is. */
function locate(lv: Level, shapes: Shape[], p: number): { output: number; index: number; where: string } {
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  let k = 0;
  while (k < sizes.length - 1 && p >= sizes[k]) p -= sizes[k++];
  return { output: k, index: p, where: `${lv.outNames[k]} at ${fmtPosition(shapes[k], p)} (element ${p})` };
}

function fmtNum(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/**
 * The JVP along a random direction in every differentiated input at once, elementwise against central differences;
 * on a mismatch, again one input at a time to say which input's rule is wrong and at which output element.
 */
function checkJvp(lv: Level, check: string, order: number, t: Tols): CheckGradsFailure | null {
  if (!lv.diff.length) return null;
  const us = lv.inputs.map((x, i) => (lv.diff.includes(i) ? randomArray(x.numel()) : null));
  let shapes: Shape[] = [];
  const worst = (dirs: (Float64Array | null)[]) => {
    const { flat: a, shapes: sh } = jvpAlong(lv, dirs);
    shapes = sh;
    const n = fdAlong(lv, dirs, t.eps);
    let best: { p: number; score: number; a: number; n: number } | null = null;
    for (let p = 0; p < n.length; p++) {
      const err = Math.abs(a[p] - n[p]);
      const score = Number.isNaN(err) ? Infinity : err / (t.atol + t.rtol * Math.abs(n[p]));
      if (score > 1 && (!best || score > best.score)) best = { p, score, a: a[p], n: n[p] };
    }
    return best;
  };
  const all = worst(us);
  if (!all) return null;
  let found: { input: number; p: number; score: number; a: number; n: number } | null = null;
  for (const i of lv.diff) {
    const w = worst(us.map((u, j) => (j === i ? u : null)));
    if (w && (!found || w.score > found.score)) found = { input: i, ...w };
  }
  const f = found ?? { input: -1, ...all };
  const at = locate(lv, shapes, f.p);
  const along = f.input >= 0 ? `along ${lv.inNames[f.input]}` : 'along all inputs together';
  return {
    check,
    mode: 'fwd',
    order,
    input: f.input,
    inputName: f.input >= 0 ? lv.inNames[f.input] : '',
    output: at.output,
    index: at.index,
    analytic: f.a,
    numeric: f.n,
    message:
      `${check} (order ${order}, fwd) ${along}: ${at.where}: forward mode gives ${fmtNum(f.a)}, ` +
      `finite differences ${fmtNum(f.n)}`,
  };
}

/** Above this many elements a failing VJP is not localised to an element (that costs two evaluations each). */
const LOCALISE_LIMIT = 4096;

/**
 * The VJP through a random projection: ⟨u, Jᵀw⟩ against ⟨w, finite-difference J·u⟩, for random u and w (JAX's
 * check_vjp). On a mismatch, per input, then per element of the worst input: (Jᵀw)ₑ against the central difference
 * of ⟨w, f⟩ in that element.
 */
function checkVjp(lv: Level, check: string, order: number, t: Tols): CheckGradsFailure | null {
  if (!lv.diff.length) return null;
  const outs = floatOutputs(lv.fn(...lv.inputs));
  const w = randomArray(outs.reduce((n, o) => n + o.numel(), 0));
  let at = 0;
  const ws = outs.map((o) => w.slice(at, (at += o.numel())));
  const gs = vjpWith(lv, outs, ws);
  const us = lv.inputs.map((x, i) => (lv.diff.includes(i) ? randomArray(x.numel()) : null));
  // ⟨w, J·u⟩ by finite differences, and the tolerance an elementwise check of J·u would allow it.
  const project = (dirs: (Float64Array | null)[]) => {
    const fd = fdAlong(lv, dirs, t.eps);
    let n = 0;
    let tol = 0;
    for (let p = 0; p < fd.length; p++) {
      n += w[p] * fd[p];
      tol += Math.abs(w[p]) * (t.atol + t.rtol * Math.abs(fd[p]));
    }
    return { n, tol };
  };
  // ⟨u, Jᵀw⟩ by reverse mode, for the j-th differentiated input.
  const dot = (j: number) => {
    const u = us[lv.diff[j]]!;
    let s = 0;
    for (let e = 0; e < u.length; e++) s += u[e] * gs[j][e];
    return s;
  };
  const all = project(us);
  let aAll = 0;
  for (let j = 0; j < lv.diff.length; j++) aAll += dot(j);
  if (Math.abs(aAll - all.n) <= all.tol) return null;
  let found: { j: number; a: number; n: number; score: number } | null = null;
  for (let j = 0; j < lv.diff.length; j++) {
    const { n, tol } = project(us.map((u, k) => (k === lv.diff[j] ? u : null)));
    const a = dot(j);
    const score = Number.isNaN(a - n) ? Infinity : Math.abs(a - n) / tol;
    if (score > 1 && (!found || score > found.score)) found = { j, a, n, score };
  }
  const base = { check, mode: 'rev' as const, order, output: -1 };
  const projected = (a: number, n: number) =>
    `⟨u, Jᵀw⟩ = ${fmtNum(a)} from reverse mode, ⟨w, J·u⟩ = ${fmtNum(n)} from finite differences`;
  if (!found)
    return {
      ...base,
      input: -1,
      inputName: '',
      index: -1,
      analytic: aAll,
      numeric: all.n,
      message: `${check} (order ${order}, rev), all inputs together: ${projected(aAll, all.n)}`,
    };
  const i = lv.diff[found.j];
  const x = lv.inputs[i];
  const where = `${check} (order ${order}, rev) for ${lv.inNames[i]}`;
  const named = { ...base, input: i, inputName: lv.inNames[i] };
  if (x.numel() > LOCALISE_LIMIT)
    return {
      ...named,
      index: -1,
      analytic: found.a,
      numeric: found.n,
      message: `${where}: ${projected(found.a, found.n)}`,
    };
  let worst = { e: -1, a: 0, n: 0, score: -1 };
  for (let e = 0; e < x.numel(); e++) {
    const u = new Float64Array(x.numel());
    u[e] = 1;
    const fd = fdAlong(
      lv,
      lv.inputs.map((_, k) => (k === i ? u : null)),
      t.eps,
    );
    let n = 0;
    for (let p = 0; p < fd.length; p++) n += w[p] * fd[p];
    const a = gs[found.j][e];
    const score = Number.isNaN(a - n) ? Infinity : Math.abs(a - n) / (t.atol + t.rtol * Math.abs(n));
    if (score > worst.score) worst = { e, a, n, score };
  }
  return {
    ...named,
    index: worst.e,
    analytic: worst.a,
    numeric: worst.n,
    message:
      `${where} at ${fmtPosition(x.shape, worst.e)} (element ${worst.e}): reverse mode gives ${fmtNum(worst.a)}, ` +
      `finite differences ${fmtNum(worst.n)}`,
  };
}

/**
 * x, u ↦ J(x)·u: the JVP as a function of the primals and the tangents (random ones for the check), run with
 * forward mode inside, so checking its derivatives checks the JVP rules' own derivatives.
 */
function jvpLevel(lv: Level): Level {
  const n = lv.inputs.length;
  const fn: CheckedFn = (...xs) =>
    forwardAD(() => {
      const duals = xs.slice(0, n).map((x, i) => {
        const j = lv.diff.indexOf(i);
        return j < 0 ? x : makeDual(x, xs[n + j]);
      });
      return floatOutputs(lv.fn(...duals)).map((o) => tangentOf(o) ?? zerosOf(o));
    });
  const tangents = lv.diff.map((i) => randomLike(lv.inputs[i]).requiresGrad_(true));
  return {
    fn,
    inputs: [...lv.inputs, ...tangents],
    diff: [...lv.diff, ...tangents.map((_, j) => n + j)],
    inNames: [...lv.inNames, ...lv.diff.map((i) => `the tangent of ${lv.inNames[i]}`)],
    outNames: lv.outNames.map((s) => `the tangent of ${s}`),
  };
}

/**
 * x, w ↦ J(x)ᵀ·w: the VJP as a function of the primals and the cotangents, computed with createGraph so that it can
 * be differentiated again in either mode (a JVP of it is forward-over-reverse).
 */
function vjpLevel(lv: Level): Level {
  const n = lv.inputs.length;
  const fn: CheckedFn = (...xs) => {
    const outs = floatOutputs(lv.fn(...xs.slice(0, n)));
    const live = outs.map((o, k) => [o, xs[n + k]] as const).filter(([o]) => o.requiresGrad);
    const wrt = lv.diff.map((i) => xs[i]);
    const gs = live.length
      ? grad(
          live.map(([o]) => o),
          wrt,
          { gradOutputs: live.map(([, w]) => w), createGraph: true, allowUnused: true },
        )
      : wrt.map(() => null);
    return gs.map((g, j) => g ?? zerosOf(wrt[j]));
  };
  const cotangents = floatOutputs(lv.fn(...lv.inputs)).map((o) => randomLike(o).requiresGrad_(true));
  return {
    fn,
    inputs: [...lv.inputs, ...cotangents],
    diff: [...lv.diff, ...cotangents.map((_, k) => n + k)],
    inNames: [...lv.inNames, ...lv.outNames.map((s) => `the cotangent of ${s}`)],
    outNames: lv.diff.map((i) => `the gradient for ${lv.inNames[i]}`),
  };
}

/**
 * JAX's check_grads: the JVP (fwd) and VJP (rev) rules of fn against central finite differences along random
 * directions, and at order 2 every derivative of those — the JVP of the JVP, the VJP of the JVP, the JVP of the VJP
 * (forward-over-reverse) and the VJP of the VJP — against finite differences of the JVP or VJP function (the
 * tangents and cotangents are inputs too, so linearity in them is checked as well). Inputs that require grad must be
 * float64; the others are held fixed. Returns a report naming, for each failure, the check, mode, order, input and
 * element; see assertCheckGrads for the throwing form.
 */
function checkGradsFn(fn: CheckedFn, inputs: Tensor[], opts: CheckGradsOptions = {}): CheckGradsReport {
  const order = opts.order ?? 2;
  const modes = opts.modes ?? ['fwd', 'rev'];
  if (!Number.isInteger(order) || order < 1)
    throw new AdjointError(`checkGrads: order must be a positive integer, got ${order}`);
  for (const m of modes)
    if (m !== 'fwd' && m !== 'rev') throw new AdjointError(`checkGrads: modes must be 'fwd' or 'rev', got '${m}'`);
  const t: Tols = { eps: opts.eps ?? 1e-6, atol: opts.atol ?? 1e-5, rtol: opts.rtol ?? 1e-3 };
  const diff = checkInputs('checkGrads', inputs);
  const outs = outputs(fn(...inputs));
  const base: Level = {
    fn,
    inputs,
    diff,
    inNames: inputs.map((_, i) => `input ${i}`),
    outNames: outs.flatMap((o, k) => (isFloating(o.dtype) ? [`output ${k}`] : [])),
  };
  const report: CheckGradsReport = { ok: true, checks: [], failures: [] };
  const fail = (f: CheckGradsFailure) => {
    report.ok = false;
    report.failures.push(f);
  };
  const threw = (check: string, mode: GradMode, order: number, e: unknown) =>
    fail({
      check,
      mode,
      order,
      input: -1,
      inputName: '',
      output: -1,
      index: -1,
      analytic: Number.NaN,
      numeric: Number.NaN,
      message: `${check} (order ${order}, ${mode}) threw ${(e as Error).name ?? 'an error'}: ${(e as Error).message ?? e}`,
    });
  const run = (lv: Level, left: number, of: string) => {
    const depth = order - left + 1;
    for (const mode of modes) {
      const check = `${mode === 'fwd' ? 'JVP' : 'VJP'}${of ? ` of ${of}` : ''}`;
      report.checks.push(check);
      let r: CheckGradsFailure | null = null;
      try {
        r = mode === 'fwd' ? checkJvp(lv, check, depth, t) : checkVjp(lv, check, depth, t);
      } catch (e) {
        threw(check, mode, depth, e);
      }
      if (r) fail(r);
      if (left > 1) {
        let next: Level | null = null;
        try {
          next = mode === 'fwd' ? jvpLevel(lv) : vjpLevel(lv);
        } catch (e) {
          threw(check, mode, depth, e);
        }
        if (next) run(next, left - 1, check);
      }
    }
  };
  run(base, order, '');
  return report;
}

/** checkGrads that throws an AdjointError listing every failing check when any fails. */
function assertCheckGradsFn(fn: CheckedFn, inputs: Tensor[], opts?: CheckGradsOptions): CheckGradsReport {
  const r = checkGrads(fn, inputs, opts);
  if (!r.ok)
    throw new AdjointError(
      `checkGrads failed ${r.failures.length} of ${r.checks.length} checks:\n` +
        r.failures.map((f) => `  ${f.message}`).join('\n'),
    );
  return r;
}

// ----- the public checks, with their declared parameters (torch.autograd.gradcheck's names) -------------------------

const INPUTS = union(tensor, array(tensor, 'an array of Tensors'));
/** A single input tensor is the one-element list, as PyTorch takes a tensor or a tuple. */
function inputList<F>(f: F): F {
  return ((fn: CheckedFn, inputs: Tensor | Tensor[], opts?: object) =>
    (f as (a: unknown, b: Tensor[], c?: object) => unknown)(fn, Array.isArray(inputs) ? inputs : [inputs], opts)) as F;
}
const TOLERANCES = {
  eps: optional(number({ gt: 0 })),
  atol: optional(number({ min: 0 })),
  rtol: optional(number({ min: 0 })),
};
const GRADCHECK = { args: { func: fn, inputs: INPUTS }, options: { ...TOLERANCES, fastMode: optional(bool) } };
const CHECK_GRADS = {
  args: { func: fn, inputs: INPUTS },
  options: {
    ...TOLERANCES,
    order: optional(int({ min: 1 })),
    modes: optional(array(oneOf(['fwd', 'rev']), "an array of 'fwd' and 'rev'")),
  },
};
export const gradcheck = checked('gradcheck', GRADCHECK, inputList(gradcheckFn));
export const assertGradcheck = checked('assertGradcheck', GRADCHECK, inputList(assertGradcheckFn));
export const gradgradcheck = checked('gradgradcheck', GRADCHECK, inputList(gradgradcheckFn));
export const assertGradgradcheck = checked('assertGradgradcheck', GRADCHECK, inputList(assertGradgradcheckFn));
export const adjointCheck = checked(
  'adjointCheck',
  { args: { func: fn, inputs: INPUTS }, options: TOLERANCES },
  inputList(adjointCheckFn),
);
export const checkGrads = checked('checkGrads', CHECK_GRADS, inputList(checkGradsFn));
export const assertCheckGrads = checked('assertCheckGrads', CHECK_GRADS, inputList(assertCheckGradsFn));
