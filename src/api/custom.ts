/**
 * @file `ad.defineOp`: user-defined ops with their own adjoint. The user writes the forward with ordinary tensor ops
 * and the VJP (and optionally the JVP) with differentiable ops; the result is an op like the built-in ones — one
 * node in the graph, printed as `<Name>Backward`, usable by backward, autograd.grad, createGraph and forward mode.
 * It is a thin layer over the internal OpDef's `compute` hook: apply runs the forward unrecorded and without
 * forward mode, so the op's own rules stand in for those of the ops inside it, and the engine sums output-shaped
 * gradients back to each input's shape exactly as for built-in ops.
 */
import { any, checked, record } from '../core/args.js';
import { AdjointError, AutogradError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { broadcastShapes, sameShape } from '../core/shape.js';
import { zeros } from '../ops/creation.js';
import { apply, defineOp as defineOpDef, type Grad, type OpDef, type RuleCtx } from '../ops/define.js';
import { toDtype } from '../ops/elementwise.js';
import { lift, type TensorLike } from '../ops/scalar.js';
import { clone, expand } from '../ops/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** What a VJP rule sees besides the output's cotangent. */
export interface VjpContext {
  /**
   * The op's inputs as it was called (numbers lifted to 0-d tensors). An input left out of `saveInputs` throws when
   * read, saying how to save it.
   */
  inputs: readonly Tensor[];
  /** The op's output; saved only with `saveOutput: true` (reading it otherwise throws, saying so). */
  output: Tensor;
  /** needs[i]: does input i need a gradient? A rule may return null for the others and skip their work. */
  needs: readonly boolean[];
}

/** What a JVP rule sees besides the inputs' tangents. */
export interface JvpContext {
  inputs: readonly Tensor[];
  output: Tensor;
}

export interface CustomOpSpec {
  /** The op's name (letters, digits, _): errors name it, and its gradFn prints as `<Name>Backward`. */
  name: string;
  /**
   * The output, written with ordinary tensor ops. It runs without recording a graph and without forward mode: the
   * op's own vjp and jvp are its derivative.
   */
  forward: (...inputs: Tensor[]) => Tensor;
  /**
   * The cotangent of each input from the output's cotangent g: one entry per input, null where there is none. Each may
   * have the input's shape or any shape the input broadcasts to (the output's): the engine sums it back, so a rule
   * never handles broadcasting. Write it with differentiable ops so second derivatives (createGraph) work.
   */
  vjp?: (g: Tensor, ctx: VjpContext) => readonly (Tensor | null | undefined)[];
  /**
   * The output's tangent from the inputs' tangents (null: a zero tangent, skip its term). A result of a shape that
   * broadcasts to the output's is expanded to it.
   */
  jvp?: (tangents: readonly (Tensor | null)[], ctx: JvpContext) => Tensor;
  /** The output shape from the input shapes; it runs before the forward, and should throw on inputs it rejects. */
  shape?: (...inputShapes: number[][]) => readonly number[];
  /** Which inputs the VJP reads (default 'all'): saving fewer frees memory sooner. */
  saveInputs?: 'all' | 'none' | readonly number[];
  /** Keep the output for the VJP (ctx.output), default false. */
  saveOutput?: boolean;
  /** Inputs that never get a gradient or tangent (indices, masks). */
  nondiffInputs?: readonly number[];
}

/** A user-defined op: call it like a built-in one; numbers are lifted the way built-in ops lift scalars. */
export interface CustomOp {
  (...inputs: TensorLike[]): Tensor;
  /** The spec it was defined with. */
  readonly spec: Readonly<CustomOpSpec>;
}

interface CustomParams {
  /** The shape rule's answer, checked against the forward's result; null without a shape rule. */
  shape: number[] | null;
}

const FIELDS = ['name', 'forward', 'vjp', 'jvp', 'shape', 'saveInputs', 'saveOutput', 'nondiffInputs'];

/**
 * Defines an op from its forward and its derivative rules:
 * ```ts
 * const swish = ad.defineOp({
 *   name: 'swish',
 *   forward: (x) => x.mul(x.sigmoid()),
 *   vjp: (g, { inputs: [x] }) => [g.mul(dswish(x))],
 *   jvp: ([t], { inputs: [x] }) => t!.mul(dswish(x)),
 * });
 * ```
 * The spec is checked here, so a typo fails at definition, not at the first backward.
 */
function defineOpFn(spec: CustomOpSpec): CustomOp {
  validate(spec);
  const { name, forward, vjp, jvp } = spec;
  const saveInputs = vjp ? (spec.saveInputs ?? 'all') : 'none';
  const nondiff = spec.nondiffInputs ?? [];
  const def: OpDef<CustomParams> = defineOpDef<CustomParams>({
    name,
    infer: () => null,
    compute: (ins, p) => {
      const r = forward(...ins);
      if (!(r instanceof Tensor)) return r;
      if (p.shape && !sameShape(p.shape, r.shape))
        throw new ShapeError(
          `${name}: forward returned shape ${fmtShape(r.shape)}, but the shape rule says ${fmtShape(p.shape)} for ` +
            `input shapes ${ins.map((x) => fmtShape(x.shape)).join(', ')}; fix the forward or the shape rule`,
        );
      // The output is a new tensor, as for every op that is not a view: one that shares an input's storage would let
      // an in-place write to it change that input behind autograd's back.
      for (const x of ins) if (x._storage === r._storage) return clone(r);
      return r;
    },
    vjp: (g, c) => (vjp ? checkedVjp(name, vjp, g, c) : missingRule(name, 'vjp')),
    jvp: (ts, c) => (jvp ? checkedJvp(name, jvp, ts, c) : missingRule(name, 'jvp')),
    saveInputs,
    saveOutput: vjp !== undefined && spec.saveOutput === true,
    nondiffInputs: nondiff,
  });
  const arity = forward.length;
  const op = (...args: TensorLike[]): Tensor => {
    if (args.length < arity)
      throw new ValueError(
        `${name}: expects ${arity} input${arity === 1 ? '' : 's'} (its forward takes ${arity}), got ${args.length}`,
      );
    const ins = lift(name, args);
    return apply(def, ins, { shape: spec.shape ? runShapeRule(name, spec.shape, ins) : null });
  };
  Object.defineProperty(op, 'name', { value: name });
  Object.defineProperty(op, 'spec', { value: Object.freeze({ ...spec }), enumerable: true });
  return op as CustomOp;
}

/** The spec's fields are checked by validate, which names the op: the signature checks only that one spec came. */
export const defineOp = checked(
  'defineOp',
  { args: { spec: record(any, 'a spec object {name, forward, vjp, jvp?, shape?}') } },
  defineOpFn,
);

function validate(spec: CustomOpSpec): void {
  if (spec === null || typeof spec !== 'object')
    throw new ValueError(`defineOp: expects a spec object {name, forward, vjp, jvp?, shape?}, got ${String(spec)}`);
  const name = spec.name;
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new ValueError(
      `defineOp: name must be a non-empty string of letters, digits and _ (it names the op in errors and its ` +
        `gradFn, e.g. 'swish' → SwishBackward), got ${JSON.stringify(name) ?? String(name)}`,
    );
  const where = `defineOp(${name})`;
  for (const k of Object.keys(spec))
    if (!FIELDS.includes(k))
      throw new ValueError(`${where}: unknown field '${k}'; the fields are ${FIELDS.join(', ')}`);
  if (typeof spec.forward !== 'function')
    throw new ValueError(`${where}: forward must be a function (...inputs) => Tensor, got ${typeof spec.forward}`);
  for (const k of ['vjp', 'jvp', 'shape'] as const)
    if (spec[k] !== undefined && typeof spec[k] !== 'function')
      throw new ValueError(`${where}: ${k} must be a function, got ${typeof spec[k]}`);
  if (!spec.vjp && !spec.jvp)
    throw new ValueError(
      `${where}: give at least one derivative rule: vjp (g, {inputs, output, needs}) => gradients for reverse mode, ` +
        `and/or jvp (tangents, {inputs, output}) => tangent for forward mode`,
    );
  const indexList = (k: 'saveInputs' | 'nondiffInputs', v: unknown) => {
    if (!Array.isArray(v) || v.some((i) => !Number.isInteger(i) || i < 0))
      throw new ValueError(
        `${where}: ${k} must be ${k === 'saveInputs' ? "'all', 'none' or " : ''}an array of input numbers ` +
          `(whole numbers ≥ 0), got ${JSON.stringify(v)}`,
      );
  };
  if (spec.saveInputs !== undefined && spec.saveInputs !== 'all' && spec.saveInputs !== 'none')
    indexList('saveInputs', spec.saveInputs);
  if (spec.nondiffInputs !== undefined) indexList('nondiffInputs', spec.nondiffInputs);
  if (spec.saveOutput !== undefined && typeof spec.saveOutput !== 'boolean')
    throw new ValueError(`${where}: saveOutput must be true or false, got ${JSON.stringify(spec.saveOutput)}`);
}

/** Runs the user's shape rule before anything is computed; its errors come back naming the op and every shape. */
function runShapeRule(name: string, rule: NonNullable<CustomOpSpec['shape']>, ins: readonly Tensor[]): number[] {
  const shapes = ins.map((x) => x.shape.slice());
  const list = shapes.map(fmtShape).join(', ');
  let r: unknown;
  try {
    r = rule(...shapes);
  } catch (e) {
    throw new ShapeError(`${name}: input shapes ${list} rejected by the shape rule: ${(e as Error).message ?? e}`, {
      cause: e,
    });
  }
  if (!Array.isArray(r) || r.some((d) => !Number.isInteger(d) || d < 0))
    throw new ShapeError(
      `${name}: the shape rule must return the output shape as an array of whole numbers ≥ 0; for input shapes ` +
        `${list} it returned ${JSON.stringify(r)}`,
    );
  return r.slice();
}

function missingRule(name: string, rule: 'vjp' | 'jvp'): never {
  if (rule === 'vjp')
    throw new AutogradError(
      `${name}: backward reached this custom op, but it was defined without a vjp rule, so reverse mode ` +
        `(backward, autograd.grad) cannot go through it; add vjp: (g, {inputs, output, needs}) => [...] to its ` +
        `defineOp spec, or use forward mode`,
    );
  throw new AutogradError(
    `${name}: forward mode (forwardAD/makeDual, jvp) reached this custom op, but it was defined without a jvp ` +
      `rule; add jvp: (tangents, {inputs, output}) => tangent to its defineOp spec, or use reverse mode`,
  );
}

/** The saved inputs and output as the user's rule sees them: what was not saved throws a fix when read. */
function savedCtx(name: string, c: RuleCtx<CustomParams>): VjpContext {
  const inputs: Tensor[] = [];
  for (let i = 0; i < c.inShapes.length; i++) {
    const x = c.inputs[i];
    if (x) inputs[i] = x;
    else
      Object.defineProperty(inputs, i, {
        enumerable: true,
        get: () => {
          throw new AutogradError(
            `${name}: the vjp read input ${i}, which was not saved; add ${i} to the op's saveInputs (or leave ` +
              `saveInputs out to save every input)`,
          );
        },
      });
  }
  return {
    inputs,
    needs: c.needs,
    get output(): Tensor {
      if (c.out) return c.out;
      throw new AutogradError(`${name}: the vjp read ctx.output, which was not saved; set saveOutput: true on the op`);
    },
  };
}

function checkedVjp(
  name: string,
  vjp: NonNullable<CustomOpSpec['vjp']>,
  g: Tensor,
  c: RuleCtx<CustomParams>,
): readonly Grad[] {
  const n = c.inShapes.length;
  const r = vjp(g, savedCtx(name, c));
  if (!Array.isArray(r))
    throw new AdjointError(
      `${name}: the vjp must return an array with one gradient (or null) per input (${n}), got ${typeof r}`,
    );
  if (r.length > n)
    throw new AdjointError(`${name}: the vjp returned ${r.length} gradients for ${n} input${n === 1 ? '' : 's'}`);
  for (let i = 0; i < n; i++) {
    if (!c.needs[i]) continue;
    if (i >= r.length)
      throw new AdjointError(
        `${name}: the vjp returned ${r.length} gradient${r.length === 1 ? '' : 's'}, but input ${i} (shape ` +
          `${fmtShape(c.inShapes[i])}) needs one; return null for it explicitly if it has none`,
      );
    const gi = r[i];
    if (gi === null || gi === undefined) continue;
    if (!(gi instanceof Tensor))
      throw new AdjointError(`${name}: the vjp's gradient for input ${i} must be a Tensor or null, got ${typeof gi}`);
    if (!reducesTo(gi.shape, c.inShapes[i]))
      throw new ShapeError(
        `${name}: the vjp's gradient for input ${i} has shape ${fmtShape(gi.shape)}, but the input has shape ` +
          `${fmtShape(c.inShapes[i])}; return the input's shape or one it broadcasts to (e.g. the output's ` +
          `${fmtShape(c.outShape)}), which the engine sums back`,
      );
  }
  return r;
}

/** Does `shape` broadcast to `g` (so sumTo can bring a gradient of shape g back to it)? */
function reducesTo(g: readonly number[], shape: readonly number[]): boolean {
  if (shape.length > g.length) return false;
  const lead = g.length - shape.length;
  for (let i = 0; i < shape.length; i++) if (shape[i] !== 1 && shape[i] !== g[lead + i]) return false;
  return true;
}

function checkedJvp(
  name: string,
  jvp: NonNullable<CustomOpSpec['jvp']>,
  ts: readonly (Tensor | null)[],
  c: RuleCtx<CustomParams>,
): Tensor {
  const out = c.out!;
  // Only inputs without a derivative (nondiffInputs) carry tangents: the output's tangent is zero.
  if (ts.every((t) => t === null)) return zeros(out.shape, { dtype: out.dtype });
  const r = jvp(ts, { inputs: c.inputs as Tensor[], output: out });
  if (!(r instanceof Tensor))
    throw new AdjointError(`${name}: the jvp must return a Tensor (the output's tangent), got ${typeof r}`);
  let t = r;
  if (!sameShape(t.shape, out.shape)) {
    let fits = true;
    try {
      fits = sameShape(broadcastShapes(name, t.shape, out.shape), out.shape);
    } catch {
      fits = false;
    }
    if (!fits)
      throw new ShapeError(
        `${name}: the jvp returned a tangent of shape ${fmtShape(t.shape)}, but the output has shape ` +
          `${fmtShape(out.shape)}; return the output's shape (or one that broadcasts to it)`,
      );
    t = expand(t, out.shape as number[]);
  }
  return toDtype(t, out.dtype);
}
