/**
 * @file Joining, splitting and rearranging: cat (the primitive that copies inputs into regions of one output; its
 * adjoint is slicing), constant pad (a primitive whose adjoint is pad with the negated widths, i.e. the slice that
 * undoes it), flip (a copy through negative strides; its adjoint is flip), and the compositions built on them —
 * stack, split, chunk, unbind, repeat, tile, tril/triu and the reflect/replicate/circular pads — whose gradients
 * follow from the ops they are made of.
 */
import type { View } from '../backend/backend.js';
import { array, checked, dim as dimArg, int, nullable, number, oneOf, optional, tensor, union } from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { type DType, intValue, isInteger, promoteTypes } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { contiguousStrides, normDim, sameShape } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { arange, zeros } from './creation.js';
import { apply, defineOp, type OpDef, shapeText } from './define.js';
import { ge, le, mul, sub, where } from './elementwise.js';
import { installMethods } from './methods.js';
import { testedOp } from './registry.js';
import { clone, expand, flatten, reshape, slice, squeeze, unsqueeze } from './shape.js';

function flatArgs(args: (number | number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/** Dims given as one array or as separate arguments (`x.flip(0, 1)`, `x.flip([0, 1])`): the first, then the rest. */
const DIMS = union(dimArg, array(dimArg, 'an array of dims'));
/** Counts (repeat, tile) as one array or separate arguments; that they are ≥ 0 is checked with the whole list. */
const COUNTS = union(int(), array(int(), 'an array of whole numbers'));
const TENSORS = array(tensor, 'an array of Tensors');

function wholeArgs(op: string, what: string, list: readonly number[], min: number): void {
  for (const v of list)
    if (!Number.isInteger(v) || v < min)
      throw new ValueError(`${op}: ${what} must be whole numbers ≥ ${min}, got ${fmtShape(list)}`);
}

/** Normalised, distinct dims; the error names the op, the shape and the repeated dim. */
function distinctDims(op: string, dims: readonly number[], x: Tensor): number[] {
  const out = dims.map((d) => normDim(op, d, x.ndim, x.shape));
  if (x.ndim === 0) return [];
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d))
      throw new ShapeError(
        `${op}: dims ${fmtShape(dims)} name dim ${d} more than once for a tensor of shape ${fmtShape(x.shape)}; list each dim once`,
      );
    seen.add(d);
  }
  return out;
}

/**
 * Pieces (split, chunk, unbind) joined into one tensor so the op table can check them: each piece is flattened and
 * scaled by its position, so a gradient routed to the wrong piece shows up.
 */
function joinPieces(ts: readonly Tensor[]): Tensor {
  return cat(
    ts.map((t, i) => mul(flatten(t), i + 1)),
    0,
  );
}

/** joinPieces in PyTorch, for the samples' torch expressions: `pieces` is Python source for a list of tensors of x. */
const torchJoinPieces = (pieces: string): string =>
  `lambda x: torch.cat([p.flatten() * (i + 1) for i, p in enumerate(${pieces})])`;

// ----- flip ----------------------------------------------------------------------------------------------------

/** x seen with the given dims reversed: negative strides, offset at each flipped dim's last element. */
function flippedView(x: Tensor, dims: readonly number[]): View {
  const strides = x._strides.slice();
  let offset = x._offset;
  for (const d of dims) {
    if (x.shape[d] === 0) continue;
    offset += (x.shape[d] - 1) * strides[d];
    strides[d] = -strides[d];
  }
  return { ...x._view(), strides, offset };
}

const flipOp: OpDef<{ dims: number[] }> = defineOp<{ dims: number[] }>({
  name: 'flip',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  // PyTorch's flip returns a copy, so the negative-stride view is read by one copy kernel and never escapes.
  overwrites: true,
  forward: (k, out, [x], p) => k.copy(out._view(), flippedView(x, p.dims)),
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [apply(flipOp, [g], c.params)],
  flops: () => 0,
  explain: (a) => [`flip(${a.dy}, [${a.params.dims.join(', ')}])`],
});

const FLIP_ARGS = { args: { input: tensor, dims: DIMS }, rest: dimArg };

/** Reverses the order of elements along the given dims (a copy, as in PyTorch). */
export const flip = testedOp({
  name: 'flip',
  fn: checked(
    'flip',
    FLIP_ARGS,
    (x: Tensor, ...dims: (number | number[])[]): Tensor =>
      apply(flipOp, [x], { dims: distinctDims('flip', flatArgs(dims), x) }),
  ),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, [0]), torch: 'lambda x: torch.flip(x, [0])' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, [-1, 0]), torch: 'lambda x: torch.flip(x, [-1, 0])' },
    { args: [[3, 1]], call: (f, x) => f(x, 0, 1), torch: 'lambda x: torch.flip(x, [0, 1])' },
    { args: [[]], call: (f, x) => f(x, [0]), torch: 'lambda x: torch.flip(x, [0])' },
    { args: [[0, 3]], call: (f, x) => f(x, [0, 1]), torch: 'lambda x: torch.flip(x, [0, 1])' },
  ],
});

// ----- pad -----------------------------------------------------------------------------------------------------

interface PadParams {
  /** (before, after) per dim of the input, negative to crop. */
  pads: [number, number][];
  value: number;
}

// A primitive for speed: one fill and one strided copy, where a composition would build and add a zeros block per
// side and dim.
const padOp: OpDef<PadParams> = defineOp<PadParams>({
  name: 'constantPad',
  backwardName: 'ConstantPadNdBackward',
  infer: ([x], p) => ({ shape: x.shape.map((n, d) => n + p.pads[d][0] + p.pads[d][1]), dtype: x.dtype }),
  forward: (k, out, [x], p) => {
    if (p.value !== 0) k.fill(out._view(), p.value);
    // The kept part of x (negative pads crop it) lands after the positive leading pads.
    const shape: number[] = [];
    let src = x._offset;
    let dst = 0;
    const outStrides = contiguousStrides(out.shape);
    for (let d = 0; d < x.ndim; d++) {
      const [before, after] = p.pads[d];
      shape.push(x.shape[d] - Math.max(0, -before) - Math.max(0, -after));
      src += Math.max(0, -before) * x._strides[d];
      dst += Math.max(0, before) * outStrides[d];
    }
    if (shape.some((s) => s <= 0)) return;
    k.copy(
      { buf: out._storage.buf, dtype: out.dtype, shape, strides: outStrides, offset: dst },
      { ...x._view(), shape, offset: src },
    );
  },
  saveInputs: 'none',
  // Padding's adjoint crops what it added and zero-pads what it cropped: pad with the negated widths.
  vjp: (g, c) => [apply(padOp, [g], { pads: c.params.pads.map(([a, b]): [number, number] => [-a, -b]), value: 0 })],
  // Affine in x: the constant drops out of the tangent.
  jvp: ([t], c) => apply(padOp, [t!], { ...c.params, value: 0 }),
  flops: () => 0,
  explain: (a) => [{ rhs: `crop(${a.dy}) to ${shapeText(a.inShapes[0])}`, shapes: shapeText(a.outShape) }],
});

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';
const PAD_MODES: readonly PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

export interface PadOptions {
  mode?: PadMode;
  value?: number | null;
}

/**
 * Pads (or, with negative widths, crops) x. `pad` lists (before, after) pairs from the last dim backwards, as
 * PyTorch's F.pad: [left, right, top, bottom, …]. Modes: 'constant' (fills with value, default 0), 'reflect'
 * (mirrors without repeating the edge), 'replicate' (repeats the edge), 'circular' (wraps around).
 */
export const pad = testedOp({
  name: 'pad',
  fn: checked(
    'pad',
    {
      args: {
        input: tensor,
        pad: array(int(), 'an array of whole numbers (negative ones crop)'),
        mode: optional(oneOf(PAD_MODES)),
        value: optional(nullable(number({ infinite: true }))),
      },
    },
    (x: Tensor, pad: readonly number[], mode: PadMode = 'constant', value: number | null = null): Tensor => {
      const at = `pad (${mode}): x has shape ${fmtShape(x.shape)} and pad is ${fmtShape(pad)}`;
      if (!Array.isArray(pad) || pad.some((v) => !Number.isInteger(v)))
        throw new ValueError(`${at}; pad must be an array of whole numbers (negative ones crop)`);
      if (pad.length % 2 !== 0)
        throw new ValueError(`${at}; pad must hold (before, after) pairs, so its length must be even`);
      const k = pad.length / 2;
      if (k > x.ndim)
        throw new ShapeError(
          `${at}; it pads ${k} dims but x has only ${x.ndim}: give at most ${2 * x.ndim} numbers, last dim first`,
        );
      const pads: [number, number][] = x.shape.map(() => [0, 0]);
      for (let i = 0; i < k; i++) pads[x.ndim - 1 - i] = [pad[2 * i], pad[2 * i + 1]];
      if (mode === 'constant') {
        pads.forEach(([b, a], d) => {
          if (x.shape[d] + b + a < 0)
            throw new ShapeError(
              `${at}; dim ${d} (size ${x.shape[d]}) padded by ${b} and ${a} would have size ${x.shape[d] + b + a}; ` +
                `sizes cannot be negative, so crop less`,
            );
        });
        // An integer x takes the value truncated, and it must fit, as PyTorch's pad checks.
        const v = value ?? 0;
        return apply(padOp, [x], { pads, value: isInteger(x.dtype) ? intValue('pad', v, x.dtype, 'value') : v });
      }
      if (value !== null)
        throw new ValueError(`${at}; mode '${mode}' takes no value (only 'constant' fills with one); drop value`);
      // PyTorch leaves at least one leading (batch or channel) dim unpadded in these modes.
      if (k >= x.ndim)
        throw new ShapeError(
          `${at}; mode '${mode}' pads the trailing dims of a batch: it pads ${plural(k, 'dim')}, so x needs at least ` +
            `${k + 1} ` +
            `(unsqueeze(0) to add a batch dim)`,
        );
      let y = x;
      for (let d = x.ndim - k; d < x.ndim; d++) y = padDim(y, d, pads[d][0], pads[d][1], mode, at);
      return y === x ? clone(x) : y;
    },
  ) as (
    ...a: PyArgs<[input: Tensor, pad: readonly number[]], [mode: PadMode, value: number | null], PadOptions>
  ) => Tensor,
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, [1, 2]), torch: 'lambda x: F.pad(x, [1, 2])' },
    {
      args: [[3, 4]],
      call: (f, x) => f(x, [1, -1, -1, 2], { value: 0.5 }),
      torch: 'lambda x: F.pad(x, [1, -1, -1, 2], value=0.5)',
    },
    { args: [[2, 3, 4]], call: (f, x) => f(x, [0, 0, 2, 1]), torch: 'lambda x: F.pad(x, [0, 0, 2, 1])' },
    { args: [[]], call: (f, x) => f(x, [], { value: 3 }), torch: 'lambda x: F.pad(x, [], value=3)' },
    {
      args: [[0, 3]],
      call: (f, x) => f(x, [1, 1, 1, 0], { value: -1 }),
      torch: 'lambda x: F.pad(x, [1, 1, 1, 0], value=-1)',
    },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, [1, 2], { mode: 'reflect' }),
      torch: "lambda x: F.pad(x, [1, 2], mode='reflect')",
    },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, [3, -1, -1, 2], { mode: 'reflect' }),
      torch: "lambda x: F.pad(x, [3, -1, -1, 2], mode='reflect')",
    },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, [1, 2, 2, 0], { mode: 'replicate' }),
      torch: "lambda x: F.pad(x, [1, 2, 2, 0], mode='replicate')",
    },
    {
      args: [[2, 3]],
      call: (f, x) => f(x, [-1, 3], { mode: 'replicate' }),
      torch: "lambda x: F.pad(x, [-1, 3], mode='replicate')",
    },
    // PyTorch 1.13's circular mode wants a batch dim as well as a channel dim, so the expressions add one.
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, [1, 2, -1, 2], { mode: 'circular' }),
      torch: "lambda x: F.pad(x[None], [1, 2, -1, 2], mode='circular')[0]",
    },
    {
      args: [[2, 4]],
      call: (f, x) => f(x, [3, -1], { mode: 'circular' }),
      torch: "lambda x: F.pad(x[None], [3, -1], mode='circular')[0]",
    },
    {
      args: [[0, 4]],
      call: (f, x) => f(x, [1, 1], { mode: 'reflect' }),
      torch: "lambda x: F.pad(x, [1, 1], mode='reflect')",
    },
  ],
});

/**
 * One dim of a reflect/replicate/circular pad, composed from slice, flip, expand and cat. Reflect and replicate pad
 * the whole dim and then crop (PyTorch's index arithmetic); circular crops first and wraps the remainder.
 */
function padDim(y: Tensor, d: number, before: number, after: number, mode: PadMode, at: string): Tensor {
  const n = y.shape[d];
  const lp = Math.max(before, 0);
  const rp = Math.max(after, 0);
  const cropL = Math.max(-before, 0);
  const cropR = Math.max(-after, 0);
  const outSize = n + before + after;
  const where_ = `dim ${d} (size ${n}) padded by ${before} and ${after}`;
  if (mode === 'circular') {
    const m = n - cropL - cropR;
    if (m < 0) throw new ShapeError(`${at}; ${where_} crops more than the dim holds; crop less`);
    if (lp > m || rp > m)
      throw new ShapeError(
        `${at}; ${where_}: circular padding wraps at most once, so each pad must be ≤ the size left after cropping (${m})`,
      );
    const kept = slice(y, d, cropL, n - cropR);
    const parts = [lp > 0 && slice(kept, d, m - lp, m), kept, rp > 0 && slice(kept, d, 0, rp)];
    return cat(
      parts.filter((t): t is Tensor => t !== false),
      d,
    );
  }
  if (outSize <= 0)
    throw new ShapeError(
      `${at}; ${where_} would have size ${outSize}; mode '${mode}' needs a result of size ≥ 1, so crop less`,
    );
  if (mode === 'reflect' && (before >= n || after >= n))
    throw new ShapeError(
      `${at}; ${where_}: reflect padding must be smaller than the dim (≤ ${n - 1}) so the edge is not repeated; ` +
        `use 'replicate' or 'circular' for wider pads`,
    );
  if (mode === 'replicate' && n === 0 && (lp > 0 || rp > 0))
    throw new ShapeError(`${at}; ${where_}: an empty dim has no edge value to replicate`);
  const edge = (start: number, len: number): Tensor => {
    const e = slice(y, d, start, start + 1);
    const shape = e.shape.slice();
    shape[d] = len;
    return expand(e, shape);
  };
  const left = lp === 0 ? null : mode === 'reflect' ? flip(slice(y, d, 1, lp + 1), d) : edge(0, lp);
  const right = rp === 0 ? null : mode === 'reflect' ? flip(slice(y, d, n - 1 - rp, n - 1), d) : edge(n - 1, rp);
  const full =
    left || right
      ? cat(
          [left, y, right].filter((t): t is Tensor => t !== null),
          d,
        )
      : y;
  return cropL || cropR ? slice(full, d, cropL, full.shape[d] - cropR) : full;
}

// ----- cat / stack ---------------------------------------------------------------------------------------------

interface CatParams {
  dim: number;
  shape: number[];
  dtype: DType;
  /** Each input's start along dim in the output. */
  starts: number[];
  /** Inputs of shape [0] that PyTorch's legacy rule skips. */
  skip: boolean[];
}

// A primitive for speed: each input is copied once into its region of the output, where a composition (padding
// every input to the full size and adding) would touch the whole output once per input.
const catOp: OpDef<CatParams> = defineOp<CatParams>({
  name: 'cat',
  infer: (_xs, p) => ({ shape: p.shape, dtype: p.dtype }),
  forward: (k, out, xs, p) => {
    const strides = contiguousStrides(out.shape);
    xs.forEach((x, i) => {
      if (p.skip[i] || x.numel() === 0) return;
      k.copy(
        { buf: out._storage.buf, dtype: out.dtype, shape: x.shape, strides, offset: p.starts[i] * strides[p.dim] },
        x._view(),
      );
    });
  },
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) =>
    c.inShapes.map((s, i) =>
      c.params.skip[i]
        ? zeros([0], { dtype: g.dtype })
        : slice(g, c.params.dim, c.params.starts[i], c.params.starts[i] + s[c.params.dim]),
    ),
  flops: () => 0,
  explain: ({ dy, params: p, inShapes, outShape }) =>
    inShapes.map((s, i) =>
      p.skip[i]
        ? null
        : { rhs: `${dy}[${p.starts[i]}:${p.starts[i] + s[p.dim]}] of dim ${p.dim}`, shapes: shapeText(outShape) },
    ),
});

const CAT_ARGS = { args: { tensors: TENSORS, dim: optional(dimArg) } };

/**
 * Concatenates tensors along an existing dim; the result has the promoted dtype of all inputs. As in PyTorch, 1-D
 * empty tensors (shape [0]) are skipped whatever the other shapes are.
 */
export const cat = testedOp({
  name: 'cat',
  fn: checked('cat', CAT_ARGS, (tensors: readonly Tensor[], dim = 0): Tensor => {
    if (!Array.isArray(tensors) || tensors.length === 0)
      throw new ValueError('cat: expected a non-empty array of tensors; pass [a, b, …]');
    const all = tensors.map((t) => fmtShape(t.shape)).join(', ');
    tensors.forEach((t, i) => {
      if (t.ndim === 0)
        throw new ShapeError(
          `cat: tensor ${i} is 0-d (shapes ${all}); 0-d tensors cannot be concatenated: unsqueeze(0) them or use stack`,
        );
    });
    let dtype = tensors[0].dtype;
    for (const t of tensors) dtype = promoteTypes(dtype, t.dtype);
    const skip = tensors.map((t) => t.ndim === 1 && t.shape[0] === 0);
    const ref = skip.indexOf(false);
    if (ref < 0) return apply(catOp, tensors, { dim: 0, shape: [0], dtype, starts: tensors.map(() => 0), skip });
    const first = tensors[ref];
    const d = normDim('cat', dim, first.ndim, first.shape);
    const shape = first.shape.slice();
    shape[d] = 0;
    const starts = tensors.map((t, i) => {
      if (skip[i]) return 0;
      if (t.ndim !== first.ndim)
        throw new ShapeError(
          `cat: tensor ${i} has ${plural(t.ndim, 'dim')} but tensor ${ref} has ${first.ndim} (shapes ${all}); every tensor needs ` +
            `the same number of dims: reshape or unsqueeze them`,
        );
      for (let j = 0; j < t.ndim; j++)
        if (j !== d && t.shape[j] !== first.shape[j])
          throw new ShapeError(
            `cat: tensor ${i} has shape ${fmtShape(t.shape)} but tensor ${ref} has ${fmtShape(first.shape)} (shapes ${all}); ` +
              `sizes must match except in the cat dim ${d} (dim ${j}: ${first.shape[j]} ≠ ${t.shape[j]})`,
          );
      const s = shape[d];
      shape[d] += t.shape[d];
      return s;
    });
    return apply(catOp, tensors, { dim: d, shape, dtype, starts, skip });
  }),
  samples: [
    {
      args: [
        [2, 3],
        [4, 3],
      ],
      call: (f, a, b) => f([a, b], 0),
      torch: 'lambda a, b: torch.cat([a, b], 0)',
    },
    {
      args: [
        [2, 3],
        [2, 1],
        [2, 0],
      ],
      call: (f, a, b, c) => f([a, b, c], -1),
      torch: 'lambda a, b, c: torch.cat([a, b, c], -1)',
    },
    {
      args: [[2, 3], { shape: [1, 3], dtype: 'int32', low: -3, high: 3 }],
      call: (f, a, b) => f([a, b]),
      torch: 'lambda a, b: torch.cat([a, b])',
    },
    {
      args: [[2, 3], { shape: [0] }],
      call: (f, a, b) => f([b, a], 1),
      torch: 'lambda a, b: torch.cat([b, a], 1)',
      note: 'legacy [0] skip',
    },
    { args: [[4]], call: (f, a) => f([a]), torch: 'lambda a: torch.cat([a])' },
  ],
});

const STACK_ARGS = { args: { tensors: TENSORS, dim: optional(dimArg) } };

/** Joins equally shaped tensors along a new dim. */
export const stack = testedOp({
  name: 'stack',
  fn: checked('stack', STACK_ARGS, (tensors: readonly Tensor[], dim = 0): Tensor => {
    if (!Array.isArray(tensors) || tensors.length === 0)
      throw new ValueError('stack: expected a non-empty array of tensors; pass [a, b, …]');
    const first = tensors[0];
    tensors.forEach((t, i) => {
      if (!sameShape(t.shape, first.shape))
        throw new ShapeError(
          `stack: every tensor must have the same shape, but tensor 0 has ${fmtShape(first.shape)} and tensor ${i} ` +
            `has ${fmtShape(t.shape)} (shapes ${tensors.map((u) => fmtShape(u.shape)).join(', ')}); use cat to join ` +
            `along an existing dim`,
        );
    });
    const d = normDim('stack', dim, first.ndim + 1, first.shape);
    return cat(
      tensors.map((t) => unsqueeze(t, d)),
      d,
    );
  }),
  samples: [
    { args: [[3], [3]], call: (f, a, b) => f([a, b]), torch: 'lambda a, b: torch.stack([a, b])' },
    {
      args: [
        [2, 3],
        [2, 3],
        [2, 3],
      ],
      call: (f, a, b, c) => f([a, b, c], -1),
      torch: 'lambda a, b, c: torch.stack([a, b, c], -1)',
    },
    { args: [[], []], call: (f, a, b) => f([a, b]), torch: 'lambda a, b: torch.stack([a, b])' },
    {
      args: [
        [0, 2],
        [0, 2],
      ],
      call: (f, a, b) => f([a, b], 1),
      torch: 'lambda a, b: torch.stack([a, b], 1)',
    },
  ],
});

// ----- split / chunk / unbind ----------------------------------------------------------------------------------

function dimOf(op: string, x: Tensor, dim: number): number {
  if (x.ndim === 0)
    throw new ShapeError(`${op}: x is 0-d (shape []); ${op} needs at least 1 dim: reshape(x, [1]) first`);
  return normDim(op, dim, x.ndim, x.shape);
}

const SPLIT_ARGS = {
  args: {
    tensor,
    splitSizeOrSections: union(int({ min: 0 }), array(int({ min: 0 }), 'an array of whole numbers ≥ 0')),
    dim: optional(dimArg),
  },
};

/**
 * Views of consecutive pieces along dim: pieces of splitSize (the last may be smaller), or of the listed sizes,
 * which must add up to the dim's size.
 */
export const split = checked(
  'split',
  SPLIT_ARGS,
  (x: Tensor, splitSizeOrSections: number | readonly number[], dim = 0): Tensor[] => {
    const d = dimOf('split', x, dim);
    const n = x.shape[d];
    let sizes: number[];
    if (typeof splitSizeOrSections === 'number') {
      const s = splitSizeOrSections;
      if (!Number.isInteger(s) || s < 0)
        throw new ValueError(
          `split: the split size must be a whole number ≥ 0, got ${s} (x has shape ${fmtShape(x.shape)})`,
        );
      if (s === 0 && n !== 0)
        throw new ValueError(
          `split: a split size of 0 works only on an empty dim, but dim ${d} of shape ${fmtShape(x.shape)} has ` +
            `size ${n}; use a size ≥ 1`,
        );
      const count = n === 0 ? 1 : Math.ceil(n / s);
      sizes = Array.from({ length: count }, (_, i) => Math.min(s, n - i * s));
    } else {
      sizes = Array.from(splitSizeOrSections);
      wholeArgs('split', 'the section sizes', sizes, 0);
      const total = sizes.reduce((a, b) => a + b, 0);
      if (total !== n)
        throw new ShapeError(
          `split: the section sizes ${fmtShape(sizes)} add up to ${total}, but dim ${d} of shape ${fmtShape(x.shape)} ` +
            `has size ${n}; they must add up exactly`,
        );
    }
    let start = 0;
    return sizes.map((s) => {
      const piece = slice(x, d, start, start + s);
      start += s;
      return piece;
    });
  },
);
testedOp({
  name: 'split',
  fn: (x: Tensor, s: number | number[], dim?: number) => joinPieces(split(x, s, dim)),
  samples: [
    { args: [[5, 2]], call: (f, x) => f(x, 2), torch: torchJoinPieces('torch.split(x, 2)') },
    { args: [[5, 2]], call: (f, x) => f(x, [1, 0, 4]), torch: torchJoinPieces('torch.split(x, [1, 0, 4])') },
    { args: [[2, 5]], call: (f, x) => f(x, 3, -1), torch: torchJoinPieces('torch.split(x, 3, -1)') },
    { args: [[0, 2]], call: (f, x) => f(x, 2), torch: torchJoinPieces('torch.split(x, 2)') },
  ],
});

const CHUNK_ARGS = { args: { input: tensor, chunks: int({ min: 1 }), dim: optional(dimArg) } };

/**
 * Splits into `chunks` pieces of size ceil(n / chunks) along dim (fewer pieces when the sizes run out first), as
 * PyTorch's chunk.
 */
export const chunk = checked('chunk', CHUNK_ARGS, (x: Tensor, chunks: number, dim = 0): Tensor[] => {
  const d = dimOf('chunk', x, dim);
  if (!Number.isInteger(chunks) || chunks < 1)
    throw new ValueError(`chunk: chunks must be a whole number ≥ 1, got ${chunks} (x has shape ${fmtShape(x.shape)})`);
  const n = x.shape[d];
  // An empty dim still gives `chunks` (empty) pieces, as PyTorch does.
  if (n === 0) return split(x, new Array<number>(chunks).fill(0), d);
  return split(x, Math.ceil(n / chunks), d);
});
testedOp({
  name: 'chunk',
  fn: (x: Tensor, chunks: number, dim?: number) => joinPieces(chunk(x, chunks, dim)),
  samples: [
    { args: [[5, 2]], call: (f, x) => f(x, 3), torch: torchJoinPieces('torch.chunk(x, 3)') },
    { args: [[2, 6]], call: (f, x) => f(x, 4, -1), torch: torchJoinPieces('torch.chunk(x, 4, -1)') },
    { args: [[0, 3]], call: (f, x) => f(x, 2), torch: torchJoinPieces('torch.chunk(x, 2)') },
  ],
});

const UNBIND_ARGS = { args: { input: tensor, dim: optional(dimArg) } };

/** The slices along dim with that dim removed (views). */
export const unbind = checked('unbind', UNBIND_ARGS, (x: Tensor, dim = 0): Tensor[] => {
  const d = dimOf('unbind', x, dim);
  return Array.from({ length: x.shape[d] }, (_, i) => squeeze(slice(x, d, i, i + 1), d));
});
testedOp({
  name: 'unbind',
  fn: (x: Tensor, dim?: number) => joinPieces(unbind(x, dim)),
  samples: [
    { args: [[3, 2]], call: (f, x) => f(x, 1), torch: torchJoinPieces('torch.unbind(x, 1)') },
    { args: [[2, 3, 4]], call: (f, x) => f(x, -1), torch: torchJoinPieces('torch.unbind(x, -1)') },
    { args: [[3]], call: (f, x) => f(x), torch: torchJoinPieces('torch.unbind(x)') },
    { args: [[2, 0]], call: (f, x) => f(x, 0), torch: torchJoinPieces('torch.unbind(x, 0)') },
  ],
});

// ----- repeat / tile -------------------------------------------------------------------------------------------

const REPEAT_ARGS = { args: { input: tensor, repeats: COUNTS }, rest: int() };

/**
 * Tiles x sizes[i] times along each dim (leading sizes add dims). Composed as unsqueeze → expand → reshape, so the
 * gradient is the sum over the copies (expand's adjoint).
 */
export const repeat = testedOp({
  name: 'repeat',
  fn: checked('repeat', REPEAT_ARGS, (x: Tensor, ...sizes: (number | number[])[]): Tensor => {
    const reps = flatArgs(sizes);
    if (reps.length < x.ndim)
      throw new ShapeError(
        `repeat: got ${plural(reps.length, 'repeat count')} ${fmtShape(reps)} for x of shape ${fmtShape(x.shape)}; give at ` +
          `least one per dim (${x.ndim}); use tile() to pad the counts with leading 1s`,
      );
    wholeArgs('repeat', `the repeat counts (x has shape ${fmtShape(x.shape)})`, reps, 0);
    const shape = [...new Array<number>(reps.length - x.ndim).fill(1), ...x.shape];
    const inter = shape.flatMap((s) => [1, s]);
    const big = shape.flatMap((s, i) => [reps[i], s]);
    const y = reshape(
      expand(reshape(x, inter), big),
      shape.map((s, i) => s * reps[i]),
    );
    // repeat always returns new memory, as in PyTorch, even when every count is 1.
    return y._storage === x._storage ? clone(y) : y;
  }),
  samples: [
    { args: [[2, 3]], call: (f, x) => f(x, 2, 1, 2), torch: 'lambda x: x.repeat(2, 1, 2)' },
    { args: [[2, 3]], call: (f, x) => f(x, [1, 3]), torch: 'lambda x: x.repeat([1, 3])' },
    { args: [[]], call: (f, x) => f(x, 3, 2), torch: 'lambda x: x.repeat(3, 2)' },
    { args: [[2, 0]], call: (f, x) => f(x, 2, 2), torch: 'lambda x: x.repeat(2, 2)' },
    { args: [[3]], call: (f, x) => f(x, 0, 2), torch: 'lambda x: x.repeat(0, 2)' },
  ],
});

const TILE_ARGS = { args: { input: tensor, dims: COUNTS }, rest: int() };

/** repeat with the counts padded by leading 1s when there are fewer than x's dims (PyTorch's tile). */
export const tile = testedOp({
  name: 'tile',
  fn: checked('tile', TILE_ARGS, (x: Tensor, ...dims: (number | number[])[]): Tensor => {
    const reps = flatArgs(dims);
    return repeat(x, [...new Array<number>(Math.max(0, x.ndim - reps.length)).fill(1), ...reps]);
  }),
  samples: [
    { args: [[2, 3]], call: (f, x) => f(x, [2]), torch: 'lambda x: torch.tile(x, [2])' },
    { args: [[2, 3]], call: (f, x) => f(x, 2, 1, 2), torch: 'lambda x: torch.tile(x, [2, 1, 2])' },
    { args: [[2, 3]], call: (f, x) => f(x, []), torch: 'lambda x: torch.tile(x, [])' },
  ],
});

// ----- tril / triu ---------------------------------------------------------------------------------------------

/** keep[i, j] for the last two dims of x: compare(j - i, diagonal). */
function triMask(op: string, x: Tensor, diagonal: number, keep: typeof le): Tensor {
  if (x.ndim < 2)
    throw new ShapeError(
      `${op}: x has shape ${fmtShape(x.shape)}, but ${op} works on matrices: it needs at least 2 dims ` +
        `(the last two are the matrix)`,
    );
  if (!Number.isInteger(diagonal)) throw new ValueError(`${op}: diagonal must be a whole number, got ${diagonal}`);
  const m = x.shape[x.ndim - 2];
  const n = x.shape[x.ndim - 1];
  return keep(sub(arange(n), reshape(arange(m), [m, 1])), diagonal);
}

/** PyTorch's `tril(input, diagonal=0)`. */
const TRI_ARGS = { args: { input: tensor, diagonal: optional(int()) } };

/** The lower triangle of the last two dims: elements with j − i ≤ diagonal; the rest become 0. */
export const tril = testedOp({
  name: 'tril',
  fn: checked(
    'tril',
    TRI_ARGS,
    (x: Tensor, diagonal = 0): Tensor => where(triMask('tril', x, diagonal, le), x, 0, x.dtype),
  ),
  samples: [
    { args: [[3, 4]] },
    { args: [[2, 3, 4]], call: (f, x) => f(x, -1), torch: 'lambda x: torch.tril(x, -1)' },
    { args: [[4, 3]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.tril(x, 1)' },
    { args: [[0, 3]] },
  ],
  torch: 'torch.tril',
});

/** The upper triangle of the last two dims: elements with j − i ≥ diagonal; the rest become 0. */
export const triu = testedOp({
  name: 'triu',
  fn: checked(
    'triu',
    TRI_ARGS,
    (x: Tensor, diagonal = 0): Tensor => where(triMask('triu', x, diagonal, ge), x, 0, x.dtype),
  ),
  samples: [
    { args: [[3, 4]] },
    { args: [[2, 3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.triu(x, 1)' },
    { args: [[4, 3]], call: (f, x) => f(x, -2), torch: 'lambda x: torch.triu(x, -2)' },
    { args: [[3, 0]] },
  ],
  torch: 'torch.triu',
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    flip(...dims: (number | number[])[]): Tensor;
    split(splitSizeOrSections: number | readonly number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    unbind(dim?: number): Tensor[];
    repeat(...sizes: (number | number[])[]): Tensor;
    tile(...dims: (number | number[])[]): Tensor;
    tril(diagonal?: number): Tensor;
    triu(diagonal?: number): Tensor;
  }
}

installMethods({ flip, split, chunk, unbind, repeat, tile, tril, triu });
