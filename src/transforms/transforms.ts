/**
 * @file JAX-style function transforms over pytrees: jvp (forward mode, the ops' JVP rules), vjp, grad and
 * valueAndGrad (reverse mode, the ops' VJP rules), jacobian (VJP rows or JVP columns), hessian and hvp
 * (forward-over-reverse), and linearize (the linear map J and its adjoint Jᵀ as callables).
 *
 * They compose to any order because each one differentiates with respect to its own inputs while staying
 * differentiable for whoever called it: a reverse transform runs f on an alias of each input (a new graph node its
 * own backward pass stops at, and an outer one goes through), asks for a differentiable backward pass (createGraph)
 * only when an outer reverse pass or forward-AD level could see the result, and a forward transform opens its own
 * forward-AD level, nested inside any outer one. No transform writes to any tensor's .grad.
 */

import { copyTangents, forwardAD, forwardLevel, makeDual, tangentOf } from '../autograd/forward.js';
import { enableGrad, isGradEnabled } from '../autograd/mode.js';
import { AccumulateGrad, type Node } from '../autograd/node.js';
import { any, array, bool, checked, fn, int, oneOf, optional, union } from '../core/args.js';
import { isFloating } from '../core/dtype.js';
import { AutogradError, DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { grad as autogradGrad } from '../ops/autograd.js';
import { onesLike, zeros, zerosLike } from '../ops/creation.js';
import { apply, defineOp } from '../ops/define.js';
import { stack } from '../ops/join.js';
import { reshape } from '../ops/shape.js';
import { fromTypedArray, Tensor } from '../tensor/tensor.js';
import { describeValue, flattenUpTo, type TreeDef, treeFlatten, treeUnflatten } from './pytree.js';

// ----- the input alias ---------------------------------------------------------------------------------------

/** One per reverse-transform call, shared by its aliases: set while that call's own backward pass runs. */
interface Cut {
  cut: boolean;
}

/**
 * The identity as a graph node (a view of the whole input). A reverse transform differentiates with respect to it:
 * its backward pass reads the gradient arriving here and stops (cut), while an outer backward pass flows through to
 * the caller's tensor. reshape/view to the same shape return the input itself, so they cannot serve.
 */
const aliasOp = defineOp<Cut>({
  name: 'alias',
  backwardName: 'TransformInputBackward',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  view: (x) => ({ strides: x._strides.slice(), offset: x._offset }),
  saveInputs: 'none',
  vjp: (g, c) => [c.params.cut ? null : g],
  jvp: ([t]) => t!,
  flops: () => 0,
});

/**
 * The tensor f sees for input x: an alias that stays connected to x's graph when an outer reverse pass could
 * differentiate through x (grad mode on and x requires grad), else a fresh leaf. Forward-mode tangents carry over
 * either way. Integer and bool tensors are not differentiated and pass through as they are.
 */
function lift(x: Tensor, cut: Cut, gradOn: boolean): { t: Tensor; outer: boolean } {
  if (!isFloating(x.dtype)) return { t: x, outer: false };
  if (gradOn && x.requiresGrad && !x.gradFn?.freed)
    return { t: enableGrad(() => apply(aliasOp, [x], cut)), outer: true };
  const t = x.detach().requiresGrad_(true);
  copyTangents(x, t);
  t.name = x.name;
  return { t, outer: false };
}

/**
 * Whether the graph of outs reaches a tensor that requires grad other than this call's inputs (a tensor f closes
 * over, or an outer transform's input): then an outer reverse pass can differentiate the results, so the backward
 * pass must be recorded.
 */
function reachesOutside(outs: readonly Tensor[], cut: Cut, own: ReadonlySet<Tensor>): boolean {
  const seen = new Set<Node>();
  const stack: Node[] = [];
  for (const o of outs) {
    if (o.gradFn) stack.push(o.gradFn);
    else if (o.requiresGrad && !own.has(o)) return true;
  }
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    // This call's own input aliases end the search; another call's alias is looked through (its input may be
    // one of ours, as when grad(grad(f)) differentiates the inner call's result).
    if (n.op === aliasOp && n.ctx.params === cut) continue;
    for (const e of n.edges) {
      if (e === null) continue;
      if (e instanceof AccumulateGrad) {
        if (!own.has(e.tensor)) return true;
      } else stack.push(e);
    }
  }
  return false;
}

/** t cut from the graph (keeping its forward-mode tangents), for results nothing outside can differentiate. */
function release(t: unknown): unknown {
  if (!(t instanceof Tensor) || !t.requiresGrad) return t;
  const d = t.detach();
  copyTangents(t, d);
  d.name = t.name;
  return d;
}

// ----- reverse mode: the core every reverse transform uses -------------------------------------------------------

interface Pullback {
  out: unknown;
  outLeaves: Tensor[];
  outDef: TreeDef;
  /** Per primal, per tensor leaf: the input cotangent (zeros if unused), null for integer leaves. */
  pull(seeds: readonly (Tensor | null)[]): (Tensor | null)[][];
}

/** Runs f on lifted primals and returns its output with a pullback that may be called any number of times. */
function vjpCore(f: (...args: any[]) => unknown, primals: readonly unknown[]): Pullback {
  const gradOn = isGradEnabled();
  const cut: Cut = { cut: false };
  const flat = primals.map((p) => treeFlatten(p));
  let outer = false;
  const own = new Set<Tensor>();
  const lifted = flat.map(([leaves]) =>
    leaves.map((x) => {
      const l = lift(x, cut, gradOn);
      if (l.outer) outer = true;
      else if (l.t !== x) own.add(l.t);
      return l.t;
    }),
  );
  const out = enableGrad(() => f(...lifted.map((ls, i) => treeUnflatten(flat[i][1], ls))));
  const [outLeaves, outDef] = treeFlatten(out);
  if (gradOn && !outer) outer = reachesOutside(outLeaves, cut, own);
  const targets = lifted.flat().filter((t) => t.requiresGrad);

  const pull = (seeds: readonly (Tensor | null)[]): (Tensor | null)[][] => {
    const roots: Tensor[] = [];
    const gradOutputs: Tensor[] = [];
    let seedsNeedGrad = false;
    seeds.forEach((s, k) => {
      if (s === null || !outLeaves[k].requiresGrad) return;
      roots.push(outLeaves[k]);
      gradOutputs.push(s);
      if (s.requiresGrad) seedsNeedGrad = true;
    });
    const recordOn = isGradEnabled();
    // Recorded when an outer reverse pass may differentiate the result: through the inputs or closed-over tensors,
    // through the seeds, or through tangents an outer forward-AD level carries (a tangent may itself require grad).
    const keep = outer || (recordOn && seedsNeedGrad);
    const createGraph = keep || (recordOn && forwardLevel() > 0);
    let gs: (Tensor | null)[] = targets.map(() => null);
    if (roots.length && targets.length) {
      cut.cut = true;
      try {
        gs = autogradGrad(roots, targets, { gradOutputs, createGraph, retainGraph: true, allowUnused: true });
      } finally {
        cut.cut = false;
      }
    }
    let k = 0;
    return lifted.map((ls) =>
      ls.map((t) => {
        if (!t.requiresGrad) return null;
        const g = gs[k++] ?? zerosLike(t);
        return keep ? g : (release(g) as Tensor);
      }),
    );
  };
  return { out: outer ? out : treeUnflatten(outDef, outLeaves.map(release)), outLeaves, outDef, pull };
}

/** The public cotangent tree → one seed per output leaf, checked against the output's shapes and dtypes. */
function seedsFrom(fn: string, p: Pullback, cotangent: unknown): (Tensor | null)[] {
  const paths = p.outDef.leafPaths('out');
  return flattenUpTo(p.outDef, cotangent, { fn, what: 'the cotangent', ref: "f's output" }, true).map((c, k) => {
    const o = p.outLeaves[k];
    if (c === null || c === undefined) return null;
    if (!(c instanceof Tensor))
      throw new AutogradError(
        `${fn}: the cotangent for ${paths[k]} must be a Tensor (or null for zero), got ${describeValue(c)}`,
      );
    if (!sameShape(c.shape, o.shape))
      throw new ShapeError(
        `${fn}: the cotangent for ${paths[k]} has shape ${fmtShape(c.shape)} but f's output there has shape ` +
          `${fmtShape(o.shape)}; pass a cotangent shaped like the output`,
      );
    if (c.dtype !== o.dtype)
      throw new DTypeError(
        `${fn}: the cotangent for ${paths[k]} is ${c.dtype} but f's output there is ${o.dtype}; cast it with ` +
          `.to('${o.dtype}')`,
      );
    if (!isFloating(o.dtype)) return null;
    return c;
  });
}

/** Each primal's tree rebuilt around its cotangent leaves. */
function primalTrees(primals: readonly unknown[], grads: (Tensor | null)[][]): unknown[] {
  return primals.map((p, i) => treeUnflatten(treeFlatten(p)[1], grads[i]));
}

/**
 * f's output at the primals and its pullback: `vjpFn(cotangent)` (a tree shaped like the output; null leaves are
 * zero) returns the cotangents of the primals, one tree per primal — uᵀ·J without forming J. vjpFn may be called
 * any number of times.
 */
function vjpFn<A extends unknown[], R>(f: (...args: A) => R, ...primals: A): [R, (cotangent: R) => A] {
  checkFn('vjp', f);
  const p = vjpCore(f as (...args: any[]) => unknown, primals);
  checkTensorOutput('vjp', p);
  const vjpFn = (cotangent: R): A => primalTrees(primals, p.pull(seedsFrom('vjp', p, cotangent))) as A;
  return [p.out as R, vjpFn];
}

// ----- grad and valueAndGrad --------------------------------------------------------------------------------------

export interface GradOptions {
  /** Which argument(s) to differentiate with respect to: a number gives one gradient, an array a tuple. */
  argnums?: number | readonly number[];
  /** f returns [value, aux]; aux is returned alongside, not differentiated. */
  hasAux?: boolean;
}

function checkFn(fn: string, f: unknown): void {
  if (typeof f !== 'function')
    throw new AutogradError(`${fn}: the first argument must be the function to transform, got ${describeValue(f)}`);
}

function checkTensorOutput(fn: string, p: Pullback): void {
  if (p.outLeaves.length === 0)
    throw new AutogradError(
      `${fn}: f must return a Tensor or a pytree (array/object) of tensors, but it returned ${describeValue(p.out)}`,
    );
}

function normArgnums(fn: string, argnums: number | readonly number[], nargs: number): number[] {
  const list = typeof argnums === 'number' ? [argnums] : Array.isArray(argnums) ? argnums : null;
  if (list === null || list.length === 0)
    throw new AutogradError(
      `${fn}: argnums must be an integer or a non-empty array of integers, got ${describeValue(argnums)}`,
    );
  const seen = new Set<number>();
  return list.map((a) => {
    if (typeof a !== 'number' || !Number.isInteger(a))
      throw new AutogradError(
        `${fn}: argnums must be integers (argument positions), got ${describeValue(a)}; use e.g. {argnums: 0} or {argnums: [0, 1]}`,
      );
    if (a < -nargs || a >= nargs)
      throw new AutogradError(
        nargs === 0
          ? `${fn}: argnums ${a} is out of range: f was called with no arguments; pass the argument to differentiate`
          : `${fn}: argnums ${a} is out of range: f was called with ${nargs} argument${nargs === 1 ? '' : 's'}, so ` +
              `argnums must be in 0..${nargs - 1} (or -${nargs}..-1 from the end)`,
      );
    const n = a < 0 ? a + nargs : a;
    if (seen.has(n)) throw new AutogradError(`${fn}: argnums names argument ${n} twice; list each argument once`);
    seen.add(n);
    return n;
  });
}

/** The value and aux from f's output, checked: value a one-element floating tensor. */
function splitValue(fn: string, out: unknown, hasAux: boolean): { value: Tensor; aux: unknown } {
  let value = out;
  let aux: unknown;
  if (hasAux) {
    if (!Array.isArray(out) || out.length !== 2)
      throw new AutogradError(
        `${fn}: with {hasAux: true} f must return a pair [value, aux], but it returned ${describeValue(out)}; ` +
          `return [loss, aux], or drop hasAux`,
      );
    [value, aux] = out;
  }
  if (!(value instanceof Tensor))
    throw new AutogradError(
      `${fn}: f must return a Tensor${hasAux ? ' as the first element of [value, aux]' : ''} (a one-element loss), ` +
        `but it returned ${describeValue(value)}${hasAux ? '' : '; if it returns [loss, aux], pass {hasAux: true}'}`,
    );
  if (value.numel() !== 1)
    throw new ShapeError(
      `${fn}: f must return a one-element tensor (a scalar), but it returned shape ${fmtShape(value.shape)} ` +
        `(${value.numel()} elements); reduce it first (.sum() or .mean()), or use vjp or jacobian for a non-scalar output`,
    );
  if (!isFloating(value.dtype))
    throw new DTypeError(
      `${fn}: f must return a floating-point tensor, but it returned a ${value.dtype} one; only real-valued ` +
        `functions have gradients`,
    );
  return { value, aux };
}

function valueAndGradImpl(
  fn: string,
  f: (...args: any[]) => unknown,
  opts: GradOptions,
): (...args: unknown[]) => [unknown, unknown] {
  checkFn(fn, f);
  const hasAux = opts.hasAux ?? false;
  return (...args: unknown[]) => {
    const argnums = normArgnums(fn, opts.argnums ?? 0, args.length);
    for (const a of argnums)
      if (treeFlatten(args[a])[0].length === 0)
        throw new AutogradError(
          `${fn}: argument ${a} holds no tensor to differentiate with respect to (it is ${describeValue(args[a])}); ` +
            `pass a Tensor or a pytree of tensors there, or choose another argument with argnums`,
        );
    const g = (...sel: unknown[]) => {
      const full = args.slice();
      argnums.forEach((a, k) => {
        full[a] = sel[k];
      });
      return f(...full);
    };
    const p = vjpCore(
      g,
      argnums.map((a) => args[a]),
    );
    const { value, aux } = splitValue(fn, p.out, hasAux);
    // The seed is 1 for the value's leaf (the first) and nothing for aux.
    const seeds = p.outLeaves.map((o, k) => (k === 0 ? onesLike(o) : null));
    const trees = primalTrees(
      argnums.map((a) => args[a]),
      p.pull(seeds),
    );
    const grads = typeof opts.argnums === 'object' ? trees : trees[0];
    return [hasAux ? [value, aux] : value, grads];
  };
}

type Picked<A extends unknown[], K extends readonly number[]> = { -readonly [I in keyof K]: A[K[I] & number] };

/**
 * The function computing f's value and its gradient with respect to argument `argnums` (default 0; an array gives a
 * tuple). f must return a one-element tensor, or [value, aux] with {hasAux: true}; returns [value, grads] or
 * [[value, aux], grads]. Gradients have their argument's structure (tensors in pytrees; integer tensors get null).
 */
function valueAndGradFn<A extends unknown[], const K extends number = 0>(
  f: (...args: A) => Tensor,
  opts?: { argnums?: K; hasAux?: false },
): (...args: A) => [Tensor, A[K]];
function valueAndGradFn<A extends unknown[], const K extends readonly number[]>(
  f: (...args: A) => Tensor,
  opts: { argnums: K; hasAux?: false },
): (...args: A) => [Tensor, Picked<A, K>];
function valueAndGradFn<A extends unknown[], Aux, const K extends number = 0>(
  f: (...args: A) => [Tensor, Aux],
  opts: { argnums?: K; hasAux: true },
): (...args: A) => [[Tensor, Aux], A[K]];
function valueAndGradFn<A extends unknown[], Aux, const K extends readonly number[]>(
  f: (...args: A) => [Tensor, Aux],
  opts: { argnums: K; hasAux: true },
): (...args: A) => [[Tensor, Aux], Picked<A, K>];
function valueAndGradFn(f: (...args: any[]) => unknown, opts: GradOptions = {}): (...args: any[]) => any {
  return valueAndGradImpl('valueAndGrad', f, opts);
}

/**
 * The function computing the gradient of f (a one-element output) with respect to argument `argnums`; with
 * {hasAux: true}, f returns [value, aux] and the function returns [grads, aux].
 */
function gradFn<A extends unknown[], const K extends number = 0>(
  f: (...args: A) => Tensor,
  opts?: { argnums?: K; hasAux?: false },
): (...args: A) => A[K];
function gradFn<A extends unknown[], const K extends readonly number[]>(
  f: (...args: A) => Tensor,
  opts: { argnums: K; hasAux?: false },
): (...args: A) => Picked<A, K>;
function gradFn<A extends unknown[], Aux, const K extends number = 0>(
  f: (...args: A) => [Tensor, Aux],
  opts: { argnums?: K; hasAux: true },
): (...args: A) => [A[K], Aux];
function gradFn<A extends unknown[], Aux, const K extends readonly number[]>(
  f: (...args: A) => [Tensor, Aux],
  opts: { argnums: K; hasAux: true },
): (...args: A) => [Picked<A, K>, Aux];
function gradFn(f: (...args: any[]) => unknown, opts: GradOptions = {}): (...args: any[]) => any {
  return gradImpl('grad', f, opts);
}

function gradImpl(fn: string, f: (...args: any[]) => unknown, opts: GradOptions = {}): (...args: any[]) => any {
  const vg = valueAndGradImpl(fn, f, opts);
  return (...args: unknown[]) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, (v as unknown[])[1]] : g;
  };
}

// ----- forward mode ------------------------------------------------------------------------------------------------

/** A tangent tree: the primal's structure, with a Tensor (or null, a zero tangent) at each tensor leaf. */
export type Tangent<T> = T extends Tensor
  ? Tensor | null
  : T extends readonly unknown[]
    ? { [K in keyof T]: Tangent<T[K]> }
    : T extends Record<string, unknown>
      ? { [K in keyof T]: Tangent<T[K]> }
      : T;

interface Pushforward {
  out: unknown;
  outLeaves: Tensor[];
  outDef: TreeDef;
  /** Per output leaf: its tangent (zeros where f's output does not depend on the inputs), null for integer leaves. */
  tangents: (Tensor | null)[];
}

/** Checks the tangents against the primals' leaves: one tensor (or null) per leaf, same shape and dtype. */
function checkTangents(
  fn: string,
  leaves: readonly Tensor[],
  def: TreeDef,
  tangents: unknown,
  names: { what: string; ref: string },
): (Tensor | null)[] {
  const paths = def.leafPaths(names.ref);
  const tpaths = def.leafPaths(names.what);
  return flattenUpTo(def, tangents, { fn, ...names }, true).map((t, k) => {
    const x = leaves[k];
    if (t === null || t === undefined) return null;
    if (!(t instanceof Tensor))
      throw new AutogradError(
        `${fn}: the tangent ${tpaths[k]} must be a Tensor (or null for a zero tangent), got ${describeValue(t)}`,
      );
    if (!isFloating(x.dtype))
      throw new DTypeError(
        `${fn}: ${paths[k]} is a ${x.dtype} tensor, which has no tangent; pass null as ${tpaths[k]}`,
      );
    if (!sameShape(t.shape, x.shape))
      throw new ShapeError(
        `${fn}: the tangent ${tpaths[k]} has shape ${fmtShape(t.shape)} but the primal ${paths[k]} has shape ` +
          `${fmtShape(x.shape)}; each tangent must have its primal's shape and dtype`,
      );
    if (t.dtype !== x.dtype)
      throw new DTypeError(
        `${fn}: the tangent ${tpaths[k]} is ${t.dtype} but the primal ${paths[k]} is ${x.dtype}; each tangent must ` +
          `have its primal's shape and dtype (cast with .to('${x.dtype}'))`,
      );
    return t;
  });
}

/** f at primal leaves carrying tangents (null: none), in a forward-AD level of its own. */
function jvpCore(
  f: (...args: any[]) => unknown,
  def: TreeDef,
  leaves: readonly Tensor[],
  ts: readonly (Tensor | null)[],
): Pushforward {
  return forwardAD(() => {
    const duals = leaves.map((x, k) => (ts[k] ? makeDual(x, ts[k]!) : x));
    const out = f(...(treeUnflatten(def, duals) as unknown[]));
    const [outLeaves, outDef] = treeFlatten(out);
    const tangents = outLeaves.map((o) => (isFloating(o.dtype) ? (tangentOf(o) ?? zerosLike(o)) : null));
    return { out, outLeaves, outDef, tangents };
  });
}

function checkPrimals(fn: string, primals: unknown, tangents: unknown): void {
  if (!Array.isArray(primals))
    throw new AutogradError(
      `${fn}: primals must be an array of f's arguments ([x] for one argument), got ${describeValue(primals)}`,
    );
  if (!Array.isArray(tangents) || tangents.length !== primals.length)
    throw new AutogradError(
      `${fn}: tangents must be an array with one tangent per primal (${primals.length}), got ` +
        `${describeValue(tangents)}; pass [t] for one argument, null for a zero tangent`,
    );
}

/**
 * f's output at `primals` (an array of its arguments) and its directional derivative along `tangents` (one per
 * primal, same structure, shapes and dtypes; null is a zero tangent): [f(x), J·t], pushed forward through each op's
 * JVP rule — no finite differences, no backward pass.
 */
function jvpFn<A extends unknown[], R>(f: (...args: A) => R, primals: A, tangents: Tangent<A>): [R, R] {
  checkFn('jvp', f);
  checkPrimals('jvp', primals, tangents);
  const [leaves, def] = treeFlatten(primals);
  const ts = checkTangents('jvp', leaves, def, tangents, { what: 'tangents', ref: 'primals' });
  const r = jvpCore(f as (...args: any[]) => unknown, def, leaves, ts);
  if (r.outLeaves.length === 0)
    throw new AutogradError(
      `jvp: f must return a Tensor or a pytree (array/object) of tensors, but it returned ${describeValue(r.out)}`,
    );
  return [r.out as R, treeUnflatten(r.outDef, r.tangents) as R];
}

// ----- Jacobians and Hessians ---------------------------------------------------------------------------------------

export interface JacobianOptions {
  /** 'rev': one VJP per output element (rows); 'fwd': one JVP per input element (columns). Default 'rev'. */
  mode?: 'rev' | 'fwd';
}

function oneHot(shape: readonly number[], i: number, dtype: Tensor['dtype']): Tensor {
  const d = new Float64Array(shape.reduce((a, b) => a * b, 1));
  d[i] = 1;
  return fromTypedArray(d, shape, dtype);
}

function checkFloatOutputs(fn: string, out: unknown, outLeaves: readonly Tensor[], outDef: TreeDef): void {
  if (outLeaves.length === 0)
    throw new AutogradError(
      `${fn}: f must return a Tensor or a pytree (array/object) of tensors, but it returned ${describeValue(out)}`,
    );
  const paths = outDef.leafPaths('out');
  outLeaves.forEach((o, k) => {
    if (!isFloating(o.dtype))
      throw new DTypeError(
        `${fn}: f's output ${paths[k]} is a ${o.dtype} tensor of shape ${fmtShape(o.shape)}; a Jacobian needs ` +
          `floating-point outputs (cast it, or return it through aux)`,
      );
  });
}

/** J[o][i] of shape out_o.shape ++ x_i.shape as the tree out-structure of x-structure. */
function assemble(outDef: TreeDef, xDef: TreeDef, blocks: (Tensor | null)[][]): unknown {
  return treeUnflatten(
    outDef,
    blocks.map((row) => treeUnflatten(xDef, row)),
  );
}

function jacRev(fn: string, f: (x: any) => unknown, x: unknown): unknown {
  const [xLeaves, xDef] = treeFlatten(x);
  const p = vjpCore(f, [x]);
  checkFloatOutputs(fn, p.out, p.outLeaves, p.outDef);
  const blocks = p.outLeaves.map((o, k) => {
    const rows: (Tensor | null)[][] = xLeaves.map(() => []);
    for (let e = 0; e < o.numel(); e++) {
      const gs = p.pull(p.outLeaves.map((_, j) => (j === k ? oneHot(o.shape, e, o.dtype) : null)))[0];
      gs.forEach((g, i) => {
        rows[i].push(g);
      });
    }
    return xLeaves.map((xi, i) => {
      if (!isFloating(xi.dtype)) return null;
      const shape = [...o.shape, ...xi.shape];
      return rows[i].length ? reshape(stack(rows[i] as Tensor[], 0), shape) : zeros(shape, { dtype: xi.dtype });
    });
  });
  return assemble(p.outDef, xDef, blocks);
}

function jacFwd(fn: string, f: (x: any) => unknown, x: unknown): unknown {
  const [xLeaves, xDef] = treeFlatten(x);
  const g = (...a: unknown[]) => f(a[0]);
  const [leaves, def] = treeFlatten([x]);
  let first: Pushforward | null = null;
  const cols: Tensor[][][] = xLeaves.map(() => []);
  for (let i = 0; i < xLeaves.length; i++) {
    const xi = xLeaves[i];
    if (!isFloating(xi.dtype)) continue;
    for (let e = 0; e < xi.numel(); e++) {
      const r = jvpCore(
        g,
        def,
        leaves,
        leaves.map((_, j) => (j === i ? oneHot(xi.shape, e, xi.dtype) : null)),
      );
      if (first === null) {
        checkFloatOutputs(fn, r.out, r.outLeaves, r.outDef);
        first = r;
      }
      r.tangents.forEach((t, k) => {
        (cols[i][k] ??= []).push(t!);
      });
    }
  }
  // With no input element to push, f still runs once for its output's structure.
  const r: Pushforward = first ?? jvpCore(g, def, leaves, []);
  if (first === null) checkFloatOutputs(fn, r.out, r.outLeaves, r.outDef);
  const blocks = r.outLeaves.map((o, k) =>
    xLeaves.map((xi, i) => {
      if (!isFloating(xi.dtype)) return null;
      const shape = [...o.shape, ...xi.shape];
      const c = cols[i][k];
      return c?.length ? reshape(stack(c, -1), shape) : zeros(shape, { dtype: o.dtype });
    }),
  );
  return assemble(r.outDef, xDef, blocks);
}

/**
 * The Jacobian of f at x, shaped out.shape ++ x.shape: rows from VJPs (mode 'rev', one per output element) or
 * columns from JVPs ('fwd', one per input element). For pytrees, a tree shaped like f's output whose every tensor
 * leaf is replaced by a tree shaped like x (JAX's convention).
 */
function jacobianFn(f: (x: Tensor) => Tensor, x: Tensor, opts?: JacobianOptions): Tensor;
function jacobianFn<X, R>(f: (x: X) => R, x: X, opts?: JacobianOptions): any;
function jacobianFn(f: (x: any) => unknown, x: unknown, opts: JacobianOptions = {}): any {
  checkFn('jacobian', f);
  const mode = opts.mode ?? 'rev';
  if (mode !== 'rev' && mode !== 'fwd')
    throw new ValueError(`jacobian: mode must be 'rev' (VJP rows) or 'fwd' (JVP columns), got ${describeValue(mode)}`);
  return mode === 'rev' ? jacRev('jacobian', f, x) : jacFwd('jacobian', f, x);
}

/**
 * The Hessian of f (a one-element output) at x, shaped x.shape ++ x.shape: forward-over-reverse, one JVP of the
 * gradient per input element. For a pytree x, a tree shaped like x of trees shaped like x.
 */
function hessianFn(f: (x: Tensor) => Tensor, x: Tensor): Tensor;
function hessianFn<X>(f: (x: X) => Tensor, x: X): any;
function hessianFn(f: (x: any) => unknown, x: unknown): any {
  checkFn('hessian', f);
  const g = gradImpl('hessian', f);
  return jacFwd('hessian', (y) => g(y), x);
}

/** The Hessian-vector product H·v of f (a one-element output) at x, forward-over-reverse, without forming H. */
function hvpFn<X>(f: (x: X) => Tensor, x: X, v: Tangent<X>): X {
  checkFn('hvp', f);
  const g = gradImpl('hvp', f);
  const [leaves, xDef] = treeFlatten(x);
  const ts = checkTangents('hvp', leaves, xDef, v, { what: 'v', ref: 'x' });
  const r = jvpCore((y) => g(y), treeFlatten([x])[1], leaves, ts);
  return treeUnflatten(r.outDef, r.tangents) as X;
}

// ----- linearize -----------------------------------------------------------------------------------------------------

/** J at a point as callables: apply(t) = J·t (a JVP), transpose(u) = Jᵀ·u (a VJP, the adjoint). */
export interface LinearMap<X, R> {
  apply(t: Tangent<X>): R;
  transpose(u: R): X;
}

/**
 * f's output at x and its linearization there: `apply` pushes a tangent forward (JVP at x), `transpose` pulls a
 * cotangent back (VJP at the saved point). ⟨apply(t), u⟩ = ⟨t, transpose(u)⟩ for every t and u.
 */
function linearizeFn<X, R>(f: (x: X) => R, x: X): [R, LinearMap<X, R>] {
  checkFn('linearize', f);
  const p = vjpCore(f as (x: unknown) => unknown, [x]);
  checkTensorOutput('linearize', p);
  const [leaves, xDef] = treeFlatten(x);
  const def = treeFlatten([x])[1];
  const g = (...a: unknown[]) => f(a[0] as X);
  return [
    p.out as R,
    {
      apply: (t) => {
        const ts = checkTangents('linearize apply', leaves, xDef, t, { what: 't', ref: 'x' });
        return treeUnflatten(p.outDef, jvpCore(g, def, leaves, ts).tangents) as R;
      },
      transpose: (u) => primalTrees([x], p.pull(seedsFrom('linearize transpose', p, u)))[0] as X,
    },
  ];
}

// ----- the public transforms, with their declared parameters ---------------------------------------------------------
// torch.func's names and order (func, argnums, has_aux → hasAux); primals and tangents are pytrees, handed on to the
// checks above (`any` only for them).

const ARGNUMS = optional(union(int(), array(int(), 'an array of whole numbers')));

/** grad and valueAndGrad take argnums positionally or by name, as torch.func.grad(func, argnums=0, has_aux=False). */
function withArgnums<F>(g: F): F {
  return ((f: (...a: any[]) => unknown, argnums?: number | number[], opts: GradOptions = {}) =>
    (g as (f: unknown, o: GradOptions) => unknown)(f, argnums === undefined ? opts : { ...opts, argnums })) as F;
}

const GRAD_SPEC = { args: { func: fn, argnums: ARGNUMS }, options: { hasAux: optional(bool) } };
export const grad = checked('grad', GRAD_SPEC, withArgnums(gradFn));
export const valueAndGrad = checked('valueAndGrad', GRAD_SPEC, withArgnums(valueAndGradFn));
export const vjp = checked('vjp', { args: { func: fn }, rest: any }, vjpFn);
export const jvp = checked('jvp', { args: { func: fn, primals: any, tangents: any } }, jvpFn);
export const jacobian = checked(
  'jacobian',
  { args: { func: fn, x: any }, options: { mode: optional(oneOf(['rev', 'fwd'])) } },
  jacobianFn,
);
export const hessian = checked('hessian', { args: { func: fn, x: any } }, hessianFn);
export const hvp = checked('hvp', { args: { func: fn, x: any, v: any } }, hvpFn);
export const linearize = checked('linearize', { args: { func: fn, x: any } }, linearizeFn);
