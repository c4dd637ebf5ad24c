/**
 * @file In-place ops (x.add_(y), mul_, clamp_, fill_, copy_, maskedFill_, …) with PyTorch's semantics. Each is its
 * out-of-place op computed from a copy of x and written back into x's storage, after which x takes over the
 * result's autograd identity. One helper, `inplace`, does it for all of them: the checks (before anything changes),
 * the version bump that backward's saved-tensor check relies on, and, for a view, re-pointing its base's history at
 * a copy-slices node so gradients reach both the base's old history and the values written into the view.
 */
import { copyTangents, forwardLevel } from '../autograd/forward.js';
import { modes, noGrad } from '../autograd/mode.js';
import type { Node } from '../autograd/node.js';
import { kernels } from '../backend/index.js';
import { checked, nullable, number, optional, scalarOrTensor, tensor } from '../core/args.js';
import { DEFAULT_FLOAT, DTYPES, type DType, intValue, isFloating, isInteger } from '../core/dtype.js';
import { AutogradError, DTypeError, fmtShape, ShapeError } from '../core/errors.js';
import { broadcastShapes, isContiguous, numel, sameShape } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { emptyLike, full, zeros } from './creation.js';
import { apply, bview, defineOp, installViewRefresh, type OpDef } from './define.js';
import { add, binaryInto, clamp, div, mul, sub, toDtype, where } from './elementwise.js';
import { installMethods } from './methods.js';
import { testedOp } from './registry.js';
import { lift, resultTypeOf, type TensorLike } from './scalar.js';
import { clone, contiguous } from './shape.js';

// ----- copy-slices: the base of a view that was written in place -----------------------------------------------

/** Where a view lies in a contiguous tensor of its base's shape (offset 0): the view's own strides and offset. */
interface Region {
  shape: number[];
  strides: number[];
  offset: number;
}

/**
 * base with src written into region: the new value of a base after an in-place op on one of its views. A primitive
 * because no composition of existing ops writes through arbitrary strides (a view of a view of a view).
 */
const copySlicesOp: OpDef<Region> = defineOp<Region>({
  name: 'copySlices',
  backwardName: 'CopySlices',
  infer: ([base]) => ({ shape: base.shape.slice(), dtype: base.dtype }),
  forward: (k, out, [base, src], p) => {
    k.copy(out._view(), base._view());
    k.copy(
      { buf: out._storage.buf, dtype: out.dtype, shape: p.shape, strides: p.strides, offset: p.offset },
      src._view(),
    );
  },
  saveInputs: 'none',
  linear: true,
  // The base's old values survive outside the region only; src's values are exactly the region.
  vjp: (g, c) => [
    c.needs[0] && copySlices(g, zeros(c.params.shape, { dtype: g.dtype }), c.params),
    c.needs[1] && asStrided(g, c.params),
  ],
  flops: () => 0,
});

function copySlices(base: Tensor, src: Tensor, region: Region): Tensor {
  return apply(copySlicesOp, [base, src], region);
}

/** The region of a contiguous tensor as a view: copy-slices' adjoint for src. Its own adjoint embeds into zeros. */
const asStridedOp: OpDef<Region> = defineOp<Region>({
  name: 'asStrided',
  infer: ([x], p) => ({ shape: p.shape, dtype: x.dtype }),
  view: (x, p) => ({ strides: p.strides, offset: x._offset + p.offset }),
  saveInputs: 'none',
  vjp: (g, c) => [copySlices(zeros(c.inShapes[0], { dtype: g.dtype }), g, c.params)],
  // Not `linear`: a tangent may be non-contiguous, and the region's strides only mean something on a contiguous one.
  jvp: ([t], c) => asStrided(t!, c.params),
  flops: () => 0,
});

function asStrided(x: Tensor, region: Region): Tensor {
  return apply(asStridedOp, [contiguous(x)], region);
}

// ----- the helper every in-place op goes through -----------------------------------------------------------------

/** Histories that in-place ops installed: a tensor's own after a write, or CopySlices on a base. */
const inplaceNodes = new WeakSet<Node>();

/**
 * Whether writing through x must also rewrite its base's history (x is what PyTorch calls a differentiable view).
 * A view recorded by a view op is; so is a view with no history of a base with none, so that filling slices of
 * zeros with values that require grad (`b.slice(0, 0, 1).copy_(w)`) reaches w. A detached alias is not: detach()
 * also sets _base, and has no history while its base has one. A view with no history whose base got its history
 * from an in-place write was made before that write, so it is tracked too (`rows = [b[0], b[1]]`, then both are
 * written). The one case this gets wrong is a detach() made after such a write, which is then written with values
 * that require grad: it rewrites the base's history, where PyTorch would not (telling the two apart needs detach()
 * to stop setting _base).
 */
function isTrackedView(x: Tensor): boolean {
  const base = x._base;
  if (!base) return false;
  if (x.gradFn) return (x.gradFn.op as OpDef).view !== undefined;
  return !base._requiresGrad || (base.gradFn !== null && inplaceNodes.has(base.gradFn));
}

interface InplaceSpec {
  /** The operands besides x: their shapes must broadcast to x's, and any that requires grad is recorded. */
  operands: readonly TensorLike[];
  /** The dtype of the out-of-place result, which must cast to x's dtype; null where any cast is allowed (fill_). */
  dtype: DType | null;
  /** The out-of-place op on (a copy of) x and the operands; its result has x's shape. */
  compute: (x: Tensor, operands: readonly TensorLike[]) => Tensor;
  /** A fast path for when nothing is recorded: write straight into x; false when it does not apply here. */
  direct?: (x: Tensor) => boolean | void;
}

const shapeOf = (v: TensorLike): readonly number[] => (typeof v === 'object' ? v.shape : []);
const needsGrad = (v: TensorLike): boolean => typeof v === 'object' && v._requiresGrad;

/**
 * Every check an in-place op makes, before anything is computed or written. Returns where x lies in its base when
 * the write must be recorded through the base, else null.
 */
function check(x: Tensor, name: string, s: InplaceSpec, tracked: boolean): Region | null {
  const outOfPlace = name.slice(0, -1);
  const shape = broadcastShapes(name, x.shape, ...s.operands.map(shapeOf));
  if (!sameShape(shape, x.shape))
    throw new ShapeError(
      `${name}: the result would have shape ${fmtShape(shape)} (x ${fmtShape(x.shape)} broadcast with ` +
        `${s.operands.map((o) => fmtShape(shapeOf(o))).join(' and ')}), but an in-place op cannot change x's shape ` +
        `${fmtShape(x.shape)}; use the out-of-place x.${outOfPlace}(...)`,
    );
  if (s.dtype !== null && DTYPES[s.dtype].category > DTYPES[x.dtype].category)
    throw new DTypeError(
      `${name}: the result type ${s.dtype} cannot be cast to x's dtype ${x.dtype} in place (PyTorch's casting rule ` +
        `forbids float → int and int → bool); use the out-of-place x.${outOfPlace}(...), or cast x first (x.float())`,
    );
  for (let i = 0; i < x.ndim; i++)
    if (x._strides[i] === 0 && x.shape[i] > 1)
      throw new ShapeError(
        `${name}: x of shape ${fmtShape(x.shape)} is expanded (dim ${i} has stride 0), so more than one of its ` +
          `elements refers to a single memory location; clone() it before writing in place`,
      );
  if (!tracked) return null;
  if (x.isLeaf && x._requiresGrad)
    throw new AutogradError(
      `${name}: a leaf tensor of shape ${fmtShape(x.shape)} that requires grad is being used in an in-place ` +
        `operation: autograd would lose the value it differentiates at. To update a parameter, do it without ` +
        `recording: ad.noGrad(() => x.${name}(...)); to compute with it, use the out-of-place x.${outOfPlace}(...)`,
    );
  const base = x._base;
  if (!base || !isTrackedView(x)) return null;
  if (base.isLeaf && base._requiresGrad)
    throw new AutogradError(
      `${name}: a view of shape ${fmtShape(x.shape)} of a leaf tensor of shape ${fmtShape(base.shape)} that ` +
        `requires grad is being used in an in-place operation. Update the leaf inside ad.noGrad(() => ...), or ` +
        `clone() the view first, or use the out-of-place x.${outOfPlace}(...)`,
    );
  // Tensors that own their storage are allocated contiguous at offset 0, so a view's strides and offset into the
  // storage are also its place in the base. Anything else would be a kind of tensor this code does not know.
  if (base._offset !== 0 || !isContiguous(base.shape, base._strides) || base._storage.size !== numel(base.shape))
    throw new AutogradError(
      `${name}: in-place on a view of shape ${fmtShape(x.shape)} whose base (shape ${fmtShape(base.shape)}) does ` +
        `not own its storage contiguously is not supported; clone() the view first`,
    );
  return { shape: x.shape.slice(), strides: x._strides.slice(), offset: x._offset };
}

/**
 * Runs an in-place op: check, compute out of place, write into x's storage, bump the storage's version (shared by a
 * base and all its views, so any saved copy of them is now known to be stale), and hand x the result's history.
 * Written through a view, the base's history becomes CopySlices(old base, result) and the view's a view of that,
 * as in PyTorch.
 */
function inplace(x: Tensor, name: string, s: InplaceSpec): Tensor {
  // A view made before its base had history does not require grad itself, but its values now do.
  const tracked =
    modes().grad &&
    (x._requiresGrad || s.operands.some(needsGrad) || (x._base?._requiresGrad === true && isTrackedView(x)));
  const region = check(x, name, s, tracked);
  if (!tracked && s.direct && forwardLevel() === 0 && s.direct(x) !== false) {
    x._storage.version++;
    return x;
  }
  // Recorded ops read a copy of x, so the values they save are not the storage about to be overwritten (PyTorch
  // saves the original self the same way). An operand that is x itself reads the copy too.
  const src = tracked ? snapshot(x, region) : x;
  let r = s.compute(
    src,
    s.operands.map((o) => (o === x ? src : o)),
  );
  if (r.dtype !== x.dtype) r = toDtype(r, x.dtype);
  kernels().copy(x._view(), r._view());
  x._storage.version++;
  const base = x._base;
  if (region && base) {
    // Only the node is kept: the value it computes is what the base's storage now holds. (The copy costs O(base);
    // a node made without running the forward would avoid it, at the price of a second path besides apply.)
    const newBase = copySlices(base, r, region);
    base.gradFn = newBase.gradFn;
    base._requiresGrad = newBase._requiresGrad;
    inplaceNodes.add(newBase.gradFn!);
    const view = asStrided(base, region);
    x.gradFn = view.gradFn;
    x._requiresGrad = view._requiresGrad;
  } else if (tracked) {
    x.gradFn = r.gradFn;
    x._requiresGrad = r._requiresGrad;
    if (r.gradFn) inplaceNodes.add(r.gradFn);
  }
  if (forwardLevel() !== 0) copyTangents(r, x);
  return x;
}

/**
 * A copy of x's values that carries x's autograd identity (and tangent): what the recorded op reads. A view whose
 * base's history changed after its own was recorded (a write to the base or to another view of it) gets a fresh
 * view of the base's history instead, as PyTorch regenerates a view's grad_fn.
 */
function snapshot(x: Tensor, region: Region | null): Tensor {
  const c = noGrad(() => clone(x));
  const bfn = x._base?.gradFn;
  const stale = region !== null && bfn && (x.gradFn === null || bfn.seq > x.gradFn.seq);
  const id = stale ? asStrided(x._base!, region) : x;
  c.gradFn = id.gradFn;
  c._requiresGrad = id._requiresGrad;
  copyTangents(x, c);
  return c;
}

/**
 * Called by apply for every input whose base has history: a view made before its base was written in place (directly
 * or through another view) gets a fresh view of the base's new history, so gradients flow to the values it now has.
 */
installViewRefresh((x) => {
  if (!modes().grad) return;
  const base = x._base!;
  const bfn = base.gradFn!;
  if (!inplaceNodes.has(bfn)) return;
  if (x.gradFn !== null && x.gradFn.seq > bfn.seq) return;
  if (base._offset !== 0 || !isContiguous(base.shape, base._strides)) return;
  const v = asStrided(base, { shape: x.shape.slice(), strides: x._strides.slice(), offset: x._offset });
  x.gradFn = v.gradFn;
  x._requiresGrad = v._requiresGrad;
});

// ----- the ops ---------------------------------------------------------------------------------------------------

/**
 * x ← x op y computed by the binary primitive straight into x's storage: one pass instead of compute, then copy
 * back (an optimizer step is a few of these per parameter). Only where that is exactly the out-of-place result:
 * x contiguous (kernels write contiguous outs) and y not sharing x's storage (no element read after it is written).
 */
function directBinary(name: string, y: TensorLike, alpha?: number): (x: Tensor) => boolean {
  return (x) => {
    // An int64 result is range-checked by apply before anything is written (checkInt64 in define.ts), so int64
    // takes the out-of-place path.
    if (!isContiguous(x.shape, x._strides) || x.dtype === 'int64') return false;
    if (typeof y === 'object' && y._storage === x._storage) return false;
    // x ± alpha·y of one float dtype (an optimizer step): the product and the sum in one pass.
    if (alpha !== undefined && alpha !== 1 && typeof y === 'object' && y.dtype === x.dtype && isFloating(x.dtype)) {
      kernels().addScaled(x._view(), x._view(), bview(y, x.shape), name === 'sub' ? -alpha : alpha);
      return true;
    }
    const yy = noGrad(() => {
      const t = typeof y === 'object' ? y : lift(`${name}_`, [x, y])[1];
      return alpha !== undefined && alpha !== 1 ? mul(t, alpha) : t;
    });
    binaryInto(name, x, x, yy);
    return true;
  };
}

const ALL = (): Tensor => full([], true);

/** Whether t leaves out's storage alone, or is exactly out (the same elements: an elementwise kernel may alias it). */
function disjointOrSame(t: Tensor, out: Tensor): boolean {
  if (t._storage !== out._storage) return true;
  return (
    t._offset === out._offset && sameShape(t.shape, out.shape) && t._strides.every((s, i) => s === out._strides[i])
  );
}

/**
 * out ← x + alpha·y in one pass of the fused `addScaled` kernel: the optimizers' update of their state under noGrad
 * (PyTorch's `torch.add(x, y, alpha=alpha, out=out)`), with out null for a fresh result. Exactly the composed ops'
 * values: the product is rounded once as `mul` rounds it, and IEEE addition commutes, so `buf.mul_(μ).add_(d)` is
 * `_addScaledInto(buf, d, buf, μ)`. The kernel runs when nothing is recorded (grad mode off, no forward AD), x, y
 * and out have one shape and one float dtype, out is contiguous and x and y each leave out's storage alone or are
 * out itself; otherwise the composed ops run. Not public API.
 */
export function _addScaledInto(out: Tensor | null, x: Tensor, y: Tensor, alpha: number): Tensor {
  const direct =
    !modes().grad &&
    forwardLevel() === 0 &&
    isFloating(x.dtype) &&
    y.dtype === x.dtype &&
    sameShape(x.shape, y.shape) &&
    (out === null ||
      (out.dtype === x.dtype &&
        sameShape(out.shape, x.shape) &&
        isContiguous(out.shape, out._strides) &&
        disjointOrSame(x, out) &&
        disjointOrSame(y, out)));
  if (!direct) {
    const r = add(x, y, { alpha });
    return out === null ? r : copy_(out, r);
  }
  const o = out ?? emptyLike(x);
  kernels().addScaled(o._view(), x._view(), y._view(), alpha);
  o._storage.version++;
  return o;
}

/** PyTorch's `x.mul_(other)`; add_ and sub_ also take the keyword-only alpha. */
const BINARY_ARGS = { args: { input: tensor, other: scalarOrTensor } };
const ALPHA_ARGS = { ...BINARY_ARGS, options: { alpha: optional(number()) } };

/** x += alpha · y, in place. */
export const add_ = testedOp({
  name: 'add_',
  fn: checked(
    'add_',
    ALPHA_ARGS,
    (x: Tensor, y: TensorLike, opts?: { alpha?: number }): Tensor =>
      inplace(x, 'add_', {
        operands: [y],
        dtype: resultTypeOf('add_', opts?.alpha !== undefined ? [x, y, opts.alpha] : [x, y]),
        compute: (a, [b]) => (opts ? add(a, b, opts) : add(a, b)),
        direct: directBinary('add', y, opts?.alpha),
      }),
  ),
  samples: [
    { args: [[3, 4], [4]], call: (f, x, y) => f(x.clone(), y), torch: 'lambda x, y: x.clone().add_(y)' },
    {
      args: [[3, 4], []],
      call: (f, x, y) => f(x.clone(), y, { alpha: 2 }),
      torch: 'lambda x, y: x.clone().add_(y, alpha=2)',
    },
    { args: [[3]], call: (f, x) => f(x.clone(), 2.5), torch: 'lambda x: x.clone().add_(2.5)' },
  ],
});

/** x −= alpha · y, in place. */
export const sub_ = testedOp({
  name: 'sub_',
  fn: checked(
    'sub_',
    ALPHA_ARGS,
    (x: Tensor, y: TensorLike, opts?: { alpha?: number }): Tensor =>
      inplace(x, 'sub_', {
        operands: [y],
        dtype: resultTypeOf('sub_', opts?.alpha !== undefined ? [x, y, opts.alpha] : [x, y]),
        compute: (a, [b]) => (opts ? sub(a, b, opts) : sub(a, b)),
        direct: resultTypeOf('sub_', [x, y]) === 'bool' ? undefined : directBinary('sub', y, opts?.alpha),
      }),
  ),
  samples: [
    {
      args: [
        [3, 4],
        [3, 1],
      ],
      call: (f, x, y) => f(x.clone(), y, { alpha: -0.5 }),
      torch: 'lambda x, y: x.clone().sub_(y, alpha=-0.5)',
    },
  ],
});

/** x *= y, in place. */
export const mul_ = testedOp({
  name: 'mul_',
  fn: checked(
    'mul_',
    BINARY_ARGS,
    (x: Tensor, y: TensorLike): Tensor =>
      inplace(x, 'mul_', {
        operands: [y],
        dtype: resultTypeOf('mul_', [x, y]),
        compute: (a, [b]) => mul(a, b),
        direct: directBinary('mul', y),
      }),
  ),
  samples: [
    { args: [[3, 4], [4]], call: (f, x, y) => f(x.clone(), y), torch: 'lambda x, y: x.clone().mul_(y)' },
    { args: [[3]], call: (f, x) => f(x.clone(), -1.5), torch: 'lambda x: x.clone().mul_(-1.5)' },
    { args: [[3]], call: (f, x) => f(x.clone(), x), torch: 'lambda x: x.clone().mul_(x)' },
  ],
});

/** x /= y, in place (true division, so an integer x cannot hold the result). */
export const div_ = testedOp({
  name: 'div_',
  fn: checked('div_', BINARY_ARGS, (x: Tensor, y: TensorLike): Tensor => {
    const t = resultTypeOf('div_', [x, y]);
    return inplace(x, 'div_', {
      operands: [y],
      dtype: isFloating(t) ? t : DEFAULT_FLOAT,
      compute: (a, [b]) => div(a, b),
      direct: directBinary('div', y),
    });
  }),
  samples: [
    {
      args: [[3, 4], { shape: [4], low: 0.5, high: 2 }],
      call: (f, x, y) => f(x.clone(), y),
      torch: 'lambda x, y: x.clone().div_(y)',
    },
  ],
});

/** A bound of clamp_: a number (±Infinity allowed) or null for none. */
const BOUND = optional(nullable(number({ infinite: true })));

const CLAMP_ARGS = { args: { input: tensor, min: BOUND, max: BOUND } };

/** Limits x to [min, max] in place; either bound may be null. */
export const clamp_ = testedOp({
  name: 'clamp_',
  fn: checked('clamp_', CLAMP_ARGS, (x: Tensor, min: number | null = null, max: number | null = null): Tensor => {
    const bounds = [min, max].filter((b): b is number => b !== null);
    return inplace(x, 'clamp_', {
      operands: [],
      dtype: resultTypeOf('clamp_', [x, ...bounds]),
      compute: (a) => clamp(a, min, max),
    });
  }),
  samples: [
    {
      args: [
        {
          shape: [3, 4],
          values: [
            [-1.7, -0.5, 0.3, 1.9],
            [0.1, -0.2, 1.3, -1.4],
            [0.7, 0.8, -0.9, 1.1],
          ],
        },
      ],
      call: (f, x) => f(x.clone(), -1, 1),
      torch: 'lambda x: x.clone().clamp_(-1, 1)',
    },
  ],
});

function checkValue(name: string, value: TensorLike): void {
  if (typeof value === 'object' && value.ndim !== 0)
    throw new ShapeError(
      `${name}: the value must be a number or a 0-d tensor, got a tensor of shape ${fmtShape(value.shape)}; ` +
        `use copy_ to write a tensor of values`,
    );
}

/**
 * Sets every element of x to value (a number or a 0-d tensor), in place. x keeps requiring grad and its history
 * gets a zero gradient, as in PyTorch; a value tensor gets the sum of x's gradient.
 */
export const fill_ = testedOp({
  name: 'fill_',
  fn: checked('fill_', { args: { input: tensor, value: scalarOrTensor } }, (x: Tensor, value: TensorLike): Tensor => {
    checkValue('fill_', value);
    // A number must fit an integer x (truncated toward zero), as PyTorch's fill_ checks; checked before any write.
    if (typeof value === 'number' && isInteger(x.dtype)) value = intValue('fill_', value, x.dtype);
    return inplace(x, 'fill_', {
      operands: typeof value === 'object' ? [value] : [],
      dtype: null,
      compute: (a, ops) => where(ALL(), ops[0] ?? value, a),
      direct: typeof value === 'object' ? undefined : (t) => kernels().fill(t._view(), +value),
    });
  }),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x.clone(), 0.5), torch: 'lambda x: x.clone().fill_(0.5)' },
    { args: [[3, 4], []], call: (f, x, v) => f(x.clone(), v), torch: 'lambda x, v: x.clone().fill_(v)' },
  ],
});

const ZERO_ARGS = { args: { input: tensor } };

/** Sets every element of x to 0, in place. */
export const zero_ = testedOp({
  name: 'zero_',
  fn: checked(
    'zero_',
    ZERO_ARGS,
    (x: Tensor): Tensor =>
      inplace(x, 'zero_', {
        operands: [],
        dtype: null,
        compute: (a) => where(ALL(), 0, a),
        direct: (t) => kernels().fill(t._view(), 0),
      }),
  ),
  samples: [{ args: [[3, 4]], call: (f, x) => f(x.clone()), torch: 'lambda x: x.clone().zero_()' }],
});

/** Copies src (broadcast to x's shape, cast to x's dtype) into x; gradients flow to src, none to x's old values. */
export const copy_ = testedOp({
  name: 'copy_',
  fn: checked(
    'copy_',
    { args: { input: tensor, src: tensor } },
    (x: Tensor, src: Tensor): Tensor =>
      inplace(x, 'copy_', { operands: [src], dtype: null, compute: (a, [b]) => where(ALL(), b, a) }),
  ),
  samples: [
    { args: [[3, 4], [4]], call: (f, x, y) => f(x.clone(), y), torch: 'lambda x, y: x.clone().copy_(y)' },
    { args: [[3, 4], []], call: (f, x, y) => f(x.clone(), y), torch: 'lambda x, y: x.clone().copy_(y)' },
  ],
});

const MASKED_FILL_ARGS = { args: { input: tensor, mask: tensor, value: scalarOrTensor } };

/** Sets x to value where mask (bool, broadcast to x's shape) is true, in place. */
export const maskedFill_ = testedOp({
  name: 'maskedFill_',
  fn: checked('maskedFill_', MASKED_FILL_ARGS, (x: Tensor, mask: Tensor, value: TensorLike): Tensor => {
    if (mask.dtype !== 'bool')
      throw new DTypeError(
        `maskedFill_: the mask must be a bool tensor, got ${mask.dtype} (shape ${fmtShape(mask.shape)}); compare first (m.gt(0))`,
      );
    checkValue('maskedFill_', value);
    if (typeof value === 'number' && isInteger(x.dtype)) value = intValue('maskedFill_', value, x.dtype);
    return inplace(x, 'maskedFill_', {
      operands: typeof value === 'object' ? [mask, value] : [mask],
      dtype: null,
      compute: (a, [m, v]) => where(m as Tensor, v ?? value, a),
    });
  }),
  samples: [
    {
      args: [[3, 4], { shape: [4], dtype: 'bool' }],
      call: (f, x, m) => f(x.clone(), m, -1),
      torch: 'lambda x, m: x.clone().masked_fill_(m, -1)',
    },
    {
      args: [[3, 4], { shape: [3, 1], dtype: 'bool' }, []],
      call: (f, x, m, v) => f(x.clone(), m, v),
      torch: 'lambda x, m, v: x.clone().masked_fill_(m, v)',
    },
  ],
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    add_(y: TensorLike, opts?: { alpha?: number }): Tensor;
    sub_(y: TensorLike, opts?: { alpha?: number }): Tensor;
    mul_(y: TensorLike): Tensor;
    div_(y: TensorLike): Tensor;
    clamp_(min?: number | null, max?: number | null): Tensor;
    fill_(value: TensorLike): Tensor;
    zero_(): Tensor;
    copy_(src: Tensor): Tensor;
    maskedFill_(mask: Tensor, value: TensorLike): Tensor;
  }
}

installMethods({ add_, sub_, mul_, div_, clamp_, fill_, zero_, copy_, maskedFill_ });
