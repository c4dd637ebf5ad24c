/**
 * @file Pooling and resampling with PyTorch 1.13's semantics: maxPool1d/2d (with indices), avgPool1d/2d,
 * adaptiveAvgPool1d/2d and interpolate (nearest, nearest-exact, linear, bilinear).
 * Max pooling is a primitive, for speed: one kernel finds each window's max and argmax (the first on ties, the last
 * NaN, as PyTorch), its VJP scatters the cotangent to the argmax and its JVP gathers there. The rest are
 * compositions, so their gradients, JVPs and second derivatives come from the ops they are made of:
 * - average pooling is a convolution with a ones kernel over the zero-padded input, divided by each window's count;
 * - adaptive pooling and (bi)linear interpolation are separable linear maps, a constant matrix per spatial dim
 *   applied with matmul; nearest interpolation is indexSelect.
 * Every check (ranks, sizes, options) runs in the public function before anything is computed.
 */

import type { Pool2dParams, View } from '../backend/backend.js';
import {
  array,
  bool,
  checked,
  custom,
  int,
  nullable,
  number,
  oneOf,
  optional,
  tensor as tensorArg,
  union,
} from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { contiguousStrides, numel } from '../core/shape.js';
import { emptyTensor, type Tensor } from '../tensor/tensor.js';
import { conv2d, type SpatialSize, tuple } from './conv.js';
import { ones, tensor } from './creation.js';
import { apply, defineOp, type OpDef } from './define.js';
import { add, div, mul } from './elementwise.js';
import { indexSelect } from './indexing.js';
import { pad } from './join.js';
import { matmul } from './linalg.js';
import { testedOp } from './registry.js';
import { isTensor } from './scalar.js';
import { clone, reshape, squeeze, transpose, unsqueeze } from './shape.js';

export interface MaxPoolOptions {
  /** The step between windows; default the kernel size. */
  stride?: SpatialSize | null;
  /** −∞ padding on both sides of each spatial dim, at most half the kernel. Default 0. */
  padding?: SpatialSize;
  /** The spacing between a window's taps. Default 1. */
  dilation?: SpatialSize;
  /** Rounds the output size up, so a last partial window is kept (if it starts inside the input or left padding). */
  ceilMode?: boolean;
  /** Also return the argmax of each window: int32, flat over each input plane (h·W + w), as PyTorch. */
  returnIndices?: boolean;
}

export interface AvgPoolOptions {
  stride?: SpatialSize | null;
  /** Zero padding on both sides of each spatial dim, at most half the kernel. Default 0. */
  padding?: SpatialSize;
  ceilMode?: boolean;
  /** Count the zero padding in each window's divisor (default true), as PyTorch. */
  countIncludePad?: boolean;
}
export interface AvgPool2dOptions extends AvgPoolOptions {
  /** Divide every window's sum by this instead of its size. */
  divisorOverride?: number | null;
}

/** A size that must be ≥ 1 (a kernel, a stride, a dilation): one for every spatial dim, or one per dim. */
const SIZE1 = union(int({ min: 1 }), array(int({ min: 1 }), 'an array of whole numbers ≥ 1'));
/** A padding: one for every spatial dim, or one per dim (at most half the kernel: the op checks that). */
const SIZE0 = union(int({ min: 0 }), array(int({ min: 0 }), 'an array of whole numbers ≥ 0'));
/** PyTorch's stride=None is the kernel size; so is an empty list. */
const STRIDE = optional(nullable(SIZE1));
/** kernel_size is not a camelCase slip the binder can find (required parameters are not options). */
const RENAMES = { kernel_size: 'kernelSize, the second argument' };

/**
 * `max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False)`, and
 * max_pool1d's and the *_with_indices forms.
 */
const MAX_POOL_ARGS = {
  args: {
    input: tensorArg,
    kernelSize: SIZE1,
    stride: STRIDE,
    padding: optional(SIZE0),
    dilation: optional(SIZE1),
    ceilMode: optional(bool),
    returnIndices: optional(bool),
  },
  renames: RENAMES,
};
type MaxPoolPositional = [stride: SpatialSize | null, padding: SpatialSize, dilation: SpatialSize, ceilMode: boolean];
type MaxPoolRequired = [input: Tensor, kernelSize: SpatialSize];

/** maxPool2d and maxPool1d as called: the values, or with returnIndices (positional or by name) values and indices. */
export interface MaxPoolFn {
  (
    ...a: PyArgs<
      MaxPoolRequired,
      [...MaxPoolPositional, returnIndices: false],
      MaxPoolOptions & { returnIndices?: false }
    >
  ): Tensor;
  (input: Tensor, kernelSize: SpatialSize, opts: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
  (
    input: Tensor,
    kernelSize: SpatialSize,
    stride: SpatialSize | null | undefined,
    padding: SpatialSize | undefined,
    dilation: SpatialSize | undefined,
    ceilMode: boolean | undefined,
    returnIndices: true,
  ): [Tensor, Tensor];
  (
    ...a: PyArgs<MaxPoolRequired, [...MaxPoolPositional, returnIndices: boolean], MaxPoolOptions>
  ): Tensor | [Tensor, Tensor];
}
type MaxPoolWithIndicesFn = (
  ...a: PyArgs<MaxPoolRequired, [...MaxPoolPositional, returnIndices: boolean], MaxPoolOptions>
) => [Tensor, Tensor];

/** `avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None)`. */
/** avg_pool2d's divisor_override: PyTorch takes any nonzero whole number (or None); shared with nn.AvgPool2d. */
export const DIVISOR_OVERRIDE = optional(
  nullable(custom<number>('a nonzero whole number', (v) => Number.isSafeInteger(v) && v !== 0, 'number', 2)),
);

const AVG_POOL_ARGS = {
  args: {
    input: tensorArg,
    kernelSize: SIZE1,
    stride: STRIDE,
    padding: optional(SIZE0),
    ceilMode: optional(bool),
    countIncludePad: optional(bool),
  },
  renames: RENAMES,
};
type AvgPoolPositional = [
  stride: SpatialSize | null,
  padding: SpatialSize,
  ceilMode: boolean,
  countIncludePad: boolean,
];

const dimNames = (nd: number) => (nd === 2 ? 'H, W' : 'L');

/**
 * The input as [N, C, H, W]: checks the rank ([N, C, …] or unbatched [C, …]), non-empty channel and spatial dims, and
 * the dtype; a 1-D input gains a unit height.
 */
function lift(op: string, nd: number, x: unknown, at: string) {
  if (!isTensor(x)) throw new ValueError(`${op}: the input must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  if (x.ndim !== nd + 1 && x.ndim !== nd + 2)
    throw new ShapeError(
      `${op}: ${at}; the input must be [N, C, ${dimNames(nd)}] (batched) or [C, ${dimNames(nd)}] (unbatched), but ` +
        `it has ${x.ndim} dims` +
        (x.ndim === nd ? ': unsqueeze(0) to add a channel dim' : '') +
        (x.ndim > nd + 2 ? `: flatten the extra leading dims into the batch` : ''),
    );
  const batched = x.ndim === nd + 2;
  if (x.shape.slice(batched ? 1 : 0).some((n) => n === 0))
    throw new ShapeError(
      `${op}: ${at}; only the batch dim may be empty: the channel and spatial dims need at least one element`,
    );
  if (!isFloating(x.dtype))
    throw new DTypeError(
      `${op}: the input is ${x.dtype} but pooling needs floating point (${at}); cast it with .float()`,
    );
  let x4 = batched ? x : unsqueeze(x, 0);
  if (nd === 1) x4 = unsqueeze(x4, 2);
  return { x4, batched };
}
function unlift(y: Tensor, batched: boolean, nd: number): Tensor {
  const b = nd === 1 ? squeeze(y, 2) : y;
  return batched ? b : squeeze(b, 0);
}

/** PyTorch's pooling_output_shape: a ceil-mode window must start inside the input or its left padding. */
function poolOutSize(n: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = n + 2 * p - d * (k - 1) - 1;
  let out = Math.floor((span + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= n + p) out--;
  return out;
}

interface Window {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
  out: number[];
}

/** Parses and checks a pooling window; the sizes are padded to 2-D ([1, …] for 1-D). */
function poolWindow(
  op: string,
  nd: number,
  size: readonly number[],
  kernelSize: SpatialSize,
  opts: { stride?: SpatialSize | null; padding?: SpatialSize; dilation?: SpatialSize; ceilMode?: boolean },
  at: string,
): Window {
  const kernel = tuple(op, 'kernelSize', kernelSize, nd, 1, at);
  const s = opts.stride;
  const stride =
    s === undefined || s === null || (Array.isArray(s) && s.length === 0) ? kernel : tuple(op, 'stride', s, nd, 1, at);
  const padding = tuple(op, 'padding', opts.padding ?? 0, nd, 0, at);
  const dilation = tuple(op, 'dilation', opts.dilation ?? 1, nd, 1, at);
  padding.forEach((p, i) => {
    if (p > Math.floor(kernel[i] / 2))
      throw new ValueError(
        `${op}: padding ${fmtShape(padding)} must be at most half the kernel size ${fmtShape(kernel)} in each dim ` +
          `(${at}), so every window holds some input: reduce the padding or enlarge the kernel`,
      );
  });
  const out = size.map((n, i) => poolOutSize(n, kernel[i], stride[i], padding[i], dilation[i], opts.ceilMode ?? false));
  if (out.some((n) => n < 1))
    throw new ShapeError(
      `${op}: ${at}; the input's size ${fmtShape(size)} with padding ${fmtShape(padding)} is smaller than the ` +
        `window (kernel ${fmtShape(kernel)}${dilation.some((d) => d > 1) ? `, dilation ${fmtShape(dilation)}` : ''}), ` +
        `so the output would be ${fmtShape(out)}: use a smaller kernel or a larger input`,
    );
  const two = (v: number[], fill: number) => (nd === 1 ? [fill, v[0]] : v);
  return {
    kernel: two(kernel, 1),
    stride: two(stride, 1),
    padding: two(padding, 0),
    dilation: two(dilation, 1),
    out: two(out, 1),
  };
}

/** The padded plane that the windows exactly cover. */
function windowExtent(w: Window): { hp: number; wp: number } {
  return {
    hp: (w.out[0] - 1) * w.stride[0] + w.dilation[0] * (w.kernel[0] - 1) + 1,
    wp: (w.out[1] - 1) * w.stride[1] + w.dilation[1] * (w.kernel[1] - 1) + 1,
  };
}

/** Pads x4's planes with value (before: the padding; after: whatever the last window needs, or a crop). */
function padToWindows(x4: Tensor, w: Window, value: number): Tensor {
  const [H, W] = x4.shape.slice(2);
  const { hp, wp } = windowExtent(w);
  return pad(x4, [w.padding[1], wp - W - w.padding[1], w.padding[0], hp - H - w.padding[0]], 'constant', value);
}

// ----- max pooling ---------------------------------------------------------------------------------------------

/** A max pool's window (the kernel's Pool2dParams), and the argmax its forward leaves for the rules. */
interface MaxPoolParams {
  window: Pool2dParams;
  out: readonly [number, number];
  /** Set by the forward: int32 [N, C, OH, OW], each window's winner as h·W + w. */
  indices: Tensor | null;
}

/**
 * Max pooling of [N, C, H, W], a primitive for speed (the composition through an argmax over gathered windows was
 * 42% of a CNN step): one kernel pass yields the values and the argmax, the VJP scatters the cotangent to the
 * argmax and the JVP gathers the tangent there. The scatter and the gather below are each other's adjoint, so every
 * order of derivative stays a pair of index passes.
 */
const maxPoolOp: OpDef<MaxPoolParams> = defineOp<MaxPoolParams>({
  name: 'maxPool2d',
  infer: ([x], p) => ({ shape: [x.shape[0], x.shape[1], p.out[0], p.out[1]], dtype: x.dtype }),
  forward: (k, out, [x], p) => {
    const indices = emptyTensor(out.shape, 'int32');
    k.maxPool2d(out._view(), indices._view(), x._view(), p.window);
    p.indices = indices;
  },
  saveInputs: 'none',
  vjp: (g, c) => [apply(maxPoolScatterOp, [g, c.params.indices!], { inShape: c.inShapes[0], window: c.params.window })],
  jvp: ([t], c) => apply(maxPoolGatherOp, [t!, c.params.indices!], { window: c.params.window }),
  flops: (_ins, out, p) => numel(out.shape) * p.window.kernel[0] * p.window.kernel[1],
});

/**
 * g [N, C, OH, OW] scattered (summed) into zeros [N, C, H, W] at the argmax: max pooling's adjoint. `window` is
 * the pool that made the indices, which lets a kernel write each window's taps once instead of zero fill + scatter.
 */
interface ScatterParams {
  inShape: readonly number[];
  window: Pool2dParams;
}
const maxPoolScatterOp: OpDef<ScatterParams> = defineOp<ScatterParams>({
  name: 'maxPool2dScatter',
  backwardName: 'MaxPool2dBackwardBackward',
  infer: ([g], p) => ({ shape: [...p.inShape], dtype: g.dtype }),
  forward: (k, out, [g, indices], p) => k.maxPool2dBackward(out._view(), g._view(), indices._view(), p.window),
  flops: ([g]) => numel(g.shape),
  linear: true,
  nondiffInputs: [1],
  saveInputs: [1],
  vjp: (gg, c) => [apply(maxPoolGatherOp, [gg, c.inputs[1]!], { window: c.params.window }), null],
});

/** x [N, C, H, W] read at the argmax into [N, C, OH, OW]: the scatter's adjoint (and max pooling's JVP); `window` passes on to the scatter. */
const maxPoolGatherOp: OpDef<{ window: Pool2dParams }> = defineOp<{ window: Pool2dParams }>({
  name: 'maxPool2dGather',
  infer: ([x, indices]) => ({ shape: [...indices.shape], dtype: x.dtype }),
  forward: (k, out, [x, indices]) => {
    const [N, C, H, W] = x.shape;
    let v = x._view();
    if (v.strides[2] !== W * v.strides[3]) {
      const dense = emptyTensor(x.shape, x.dtype);
      k.copy(dense._view(), v);
      v = dense._view();
    }
    const L = out.shape[2] * out.shape[3];
    const flat = (t: View, shape: number[]): View => ({ ...t, shape, strides: contiguousStrides(shape) });
    k.gather(
      flat(out._view(), [N, C, L]),
      { ...v, shape: [N, C, H * W], strides: [v.strides[0], v.strides[1], v.strides[3]] },
      2,
      flat(indices._view(), [N, C, L]),
    );
  },
  linear: true,
  nondiffInputs: [1],
  saveInputs: [1],
  vjp: (g, c) => [
    apply(maxPoolScatterOp, [g, c.inputs[1]!], { inShape: c.inShapes[0], window: c.params.window }),
    null,
  ],
});

/**
 * Along one spatial dim, the first output position whose window has no tap inside the input (only padding), or −1.
 */
function emptyWindow(out: number, n: number, k: number, s: number, p: number, d: number): number {
  for (let i = 0; i < out; i++) {
    let inside = false;
    for (let a = 0; a < k && !inside; a++) {
      const h = i * s - p + a * d;
      inside = h >= 0 && h < n;
    }
    if (!inside) return i;
  }
  return -1;
}

function maxPoolNd(op: string, nd: number, x: Tensor, kernelSize: SpatialSize, opts: MaxPoolOptions): [Tensor, Tensor] {
  const at = `input is ${isTensor(x) ? fmtShape(x.shape) : String(x)}, kernelSize ${JSON.stringify(kernelSize)}`;
  const { x4, batched } = lift(op, nd, x, at);
  const win = poolWindow(op, nd, x4.shape.slice(4 - nd), kernelSize, opts, at);
  const [, , H, W] = x4.shape;
  const [OH, OW] = win.out;
  // A window is only padding when it is along either dim; the first such window in row-major order is reported.
  const badH = emptyWindow(OH, H, win.kernel[0], win.stride[0], win.padding[0], win.dilation[0]);
  const badW = emptyWindow(OW, W, win.kernel[1], win.stride[1], win.padding[1], win.dilation[1]);
  if (badH >= 0 || badW >= 0) {
    const [i, j] = badH === 0 || badW < 0 ? [badH, 0] : [0, badW];
    throw new ShapeError(
      `${op}: ${at}; the window at output position ${fmtShape(nd === 1 ? [j] : [i, j])} covers only padding ` +
        `(padding ${fmtShape(win.padding.slice(2 - nd))}, dilation ${fmtShape(win.dilation.slice(2 - nd))}), so ` +
        `it has no maximum: reduce the padding or the dilation`,
    );
  }
  const pair = (v: number[]) => [v[0], v[1]] as const;
  const p: MaxPoolParams = {
    window: {
      kernel: pair(win.kernel),
      stride: pair(win.stride),
      padding: pair(win.padding),
      dilation: pair(win.dilation),
    },
    out: [OH, OW],
    indices: null,
  };
  const values = apply(maxPoolOp, [x4], p);
  return [unlift(values, batched, nd), unlift(p.indices!, batched, nd)];
}

/** The public max pools: the values, or values and indices when returnIndices is true. */
function maxPool(name: string, nd: number, withIndices: boolean) {
  return checked(
    name,
    MAX_POOL_ARGS,
    (
      x: Tensor,
      kernelSize: SpatialSize,
      stride?: SpatialSize | null,
      padding?: SpatialSize,
      dilation?: SpatialSize,
      ceilMode?: boolean,
      returnIndices?: boolean,
    ): Tensor | [Tensor, Tensor] => {
      const r = maxPoolNd(name.replace('WithIndices', ''), nd, x, kernelSize, { stride, padding, dilation, ceilMode });
      // The indices handed out are a copy: an in-place change to them must not reach the ones backward reads.
      return withIndices || returnIndices ? [r[0], clone(r[1])] : r[0];
    },
  );
}

/**
 * 2-D max pooling over [N, C, H, W] (or [C, H, W]); PyTorch's F.max_pool2d. With returnIndices it returns
 * [values, indices], the indices int32 and flat over each input plane (h·W + w), as PyTorch's. The gradient goes to
 * each window's argmax (the first on ties).
 */
export const maxPool2d = maxPool('maxPool2d', 2, false) as MaxPoolFn;

/** maxPool2d's values and indices (PyTorch's F.max_pool2d_with_indices). */
export const maxPool2dWithIndices = maxPool('maxPool2dWithIndices', 2, true) as MaxPoolWithIndicesFn;

/** 1-D max pooling over [N, C, L] (or [C, L]); PyTorch's F.max_pool1d. */
export const maxPool1d = maxPool('maxPool1d', 1, false) as MaxPoolFn;

/** maxPool1d's values and indices (PyTorch's F.max_pool1d_with_indices). */
export const maxPool1dWithIndices = maxPool('maxPool1dWithIndices', 1, true) as MaxPoolWithIndicesFn;

/** Values times (indices + 1): one tensor that checks both against PyTorch, and the gradient through the values. */
const withIndices = ([v, i]: [Tensor, Tensor]) => mul(v, add(i, 1));
const torchWithIndices = (call: string) => `lambda x: (lambda v, i: v * (i + 1))(*${call})`;

testedOp({
  name: 'maxPool2d',
  fn: maxPool2d as (...a: PyArgs<MaxPoolRequired, MaxPoolPositional, MaxPoolOptions>) => Tensor,
  samples: [
    { args: [[1, 2, 4, 4]], call: (f, x) => f(x, 2), torch: 'lambda x: F.max_pool2d(x, 2)', noVariants: true },
    {
      args: [[1, 1, 5, 5]],
      call: (f, x) => f(x, [3, 2], { stride: [2, 1], padding: 1, dilation: [1, 2], ceilMode: true }),
      torch: 'lambda x: F.max_pool2d(x, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True)',
      note: 'stride, padding, dilation and ceilMode together',
    },
    {
      args: [[2, 4, 4]],
      call: (f, x) => f(x, 3, { stride: 2, padding: 1 }),
      torch: 'lambda x: F.max_pool2d(x, 3, stride=2, padding=1)',
      note: 'unbatched',
      noVariants: true,
    },
    {
      args: [[1, 2, 4, 4]],
      call: (_f, x) => withIndices(maxPool2dWithIndices(x, 2, { padding: 1 })),
      torch: torchWithIndices('F.max_pool2d(x, 2, padding=1, return_indices=True)'),
      note: 'indices',
      noVariants: true,
    },
  ],
  singularSamples: [
    {
      args: [
        {
          shape: [1, 1, 3, 3],
          values: [
            [
              [
                [1, 1, 0],
                [1, 1, 2],
                [0, 2, 2],
              ],
            ],
          ],
        },
      ],
      call: (_f, x) => withIndices(maxPool2dWithIndices(x, 2, { stride: 1 })),
      torch: torchWithIndices('F.max_pool2d(x, 2, stride=1, return_indices=True)'),
      note: 'ties: the gradient goes to the first maximum',
    },
  ],
});

testedOp({
  name: 'maxPool1d',
  fn: maxPool1d as (...a: PyArgs<MaxPoolRequired, MaxPoolPositional, MaxPoolOptions>) => Tensor,
  samples: [
    {
      args: [[1, 2, 7]],
      call: (f, x) => f(x, 3, { stride: 2, padding: 1 }),
      torch: 'lambda x: F.max_pool1d(x, 3, stride=2, padding=1)',
    },
    {
      args: [[2, 6]],
      call: (_f, x) => withIndices(maxPool1dWithIndices(x, 2, { dilation: 2, ceilMode: true })),
      torch: torchWithIndices('F.max_pool1d(x, 2, dilation=2, ceil_mode=True, return_indices=True)'),
      note: 'unbatched, indices, a last window past the end',
      noVariants: true,
    },
  ],
});

// ----- average pooling -----------------------------------------------------------------------------------------

function avgPoolNd(op: string, nd: number, x: Tensor, kernelSize: SpatialSize, opts: AvgPool2dOptions): Tensor {
  const at = `input is ${isTensor(x) ? fmtShape(x.shape) : String(x)}, kernelSize ${JSON.stringify(kernelSize)}`;
  const { x4, batched } = lift(op, nd, x, at);
  const win = poolWindow(op, nd, x4.shape.slice(4 - nd), kernelSize, opts, at);
  const divisorOverride = opts.divisorOverride ?? null;
  if (divisorOverride !== null && (!Number.isInteger(divisorOverride) || divisorOverride === 0))
    throw new ValueError(`${op}: divisorOverride must be a nonzero whole number, got ${divisorOverride} (${at})`);
  const [N, C, H, W] = x4.shape;
  const [OH, OW] = win.out;
  const [kh, kw] = win.kernel;
  // PyTorch's divisor: the window clipped to the padded input (countIncludePad) or to the input itself.
  const divisor = new Float64Array(OH * OW);
  const counted = (start: number, k: number, n: number, p: number) => {
    const end = Math.min(start + k, n + p);
    const size = end - start;
    return (opts.countIncludePad ?? true) ? size : Math.min(end, n) - Math.max(start, 0);
  };
  for (let i = 0; i < OH; i++)
    for (let j = 0; j < OW; j++)
      divisor[i * OW + j] =
        divisorOverride ??
        counted(i * win.stride[0] - win.padding[0], kh, H, win.padding[0]) *
          counted(j * win.stride[1] - win.padding[1], kw, W, win.padding[1]);
  // Each plane is an image of one channel, so the window sums are one conv with a ones kernel.
  const planes = padToWindows(reshape(x4, [N * C, 1, H, W]), win, 0);
  const sums = conv2d(planes, ones([1, 1, kh, kw], { dtype: x4.dtype }), null, { stride: win.stride });
  const y = div(reshape(sums, [N, C, OH, OW]), tensor(divisor, { dtype: x4.dtype, shape: [OH, OW] }));
  return unlift(y, batched, nd);
}

/**
 * 2-D average pooling over [N, C, H, W] (or [C, H, W]); PyTorch's F.avg_pool2d, with its divisor: the window's size
 * clipped to the padded input (countIncludePad, the default) or to the input, or divisorOverride.
 */
export const avgPool2d = testedOp({
  name: 'avgPool2d',
  fn: checked(
    'avgPool2d',
    {
      ...AVG_POOL_ARGS,
      args: {
        ...AVG_POOL_ARGS.args,
        divisorOverride: DIVISOR_OVERRIDE,
      },
    },
    (
      x: Tensor,
      kernelSize: SpatialSize,
      stride?: SpatialSize | null,
      padding?: SpatialSize,
      ceilMode?: boolean,
      countIncludePad?: boolean,
      divisorOverride?: number | null,
    ): Tensor =>
      avgPoolNd('avgPool2d', 2, x, kernelSize, { stride, padding, ceilMode, countIncludePad, divisorOverride }),
  ) as (
    ...a: PyArgs<MaxPoolRequired, [...AvgPoolPositional, divisorOverride: number | null], AvgPool2dOptions>
  ) => Tensor,
  samples: [
    { args: [[1, 2, 4, 4]], call: (f, x) => f(x, 2), torch: 'lambda x: F.avg_pool2d(x, 2)', noVariants: true },
    {
      args: [[1, 1, 5, 5]],
      call: (f, x) => f(x, [3, 2], { stride: [2, 1], padding: 1, ceilMode: true, countIncludePad: false }),
      torch: 'lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1, ceil_mode=True, count_include_pad=False)',
      note: 'ceilMode without the padding in the divisor',
    },
    {
      args: [[1, 1, 5, 5]],
      call: (f, x) => f(x, 2, { padding: 1, ceilMode: true }),
      torch: 'lambda x: F.avg_pool2d(x, 2, padding=1, ceil_mode=True)',
      note: 'ceilMode with the padding in the divisor',
      noVariants: true,
    },
    {
      args: [[2, 4, 4]],
      call: (f, x) => f(x, 3, { stride: 2, padding: 1, divisorOverride: 5 }),
      torch: 'lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, divisor_override=5)',
      note: 'unbatched, divisorOverride',
      noVariants: true,
    },
  ],
});

/** 1-D average pooling over [N, C, L] (or [C, L]); PyTorch's F.avg_pool1d. */
export const avgPool1d = testedOp({
  name: 'avgPool1d',
  fn: checked(
    'avgPool1d',
    AVG_POOL_ARGS,
    (
      x: Tensor,
      kernelSize: SpatialSize,
      stride?: SpatialSize | null,
      padding?: SpatialSize,
      ceilMode?: boolean,
      countIncludePad?: boolean,
    ): Tensor => avgPoolNd('avgPool1d', 1, x, kernelSize, { stride, padding, ceilMode, countIncludePad }),
  ) as (...a: PyArgs<MaxPoolRequired, AvgPoolPositional, AvgPoolOptions>) => Tensor,
  samples: [
    {
      args: [[1, 2, 7]],
      call: (f, x) => f(x, 3, { stride: 2, padding: 1 }),
      torch: 'lambda x: F.avg_pool1d(x, 3, stride=2, padding=1)',
    },
    {
      args: [[2, 6]],
      call: (f, x) => f(x, 4, { stride: 3, padding: 2, ceilMode: true, countIncludePad: false }),
      torch: 'lambda x: F.avg_pool1d(x, 4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)',
      note: 'unbatched',
      noVariants: true,
    },
  ],
});

// ----- adaptive average pooling --------------------------------------------------------------------------------

/**
 * The averaging matrix [out, n] of adaptive pooling along one dim: row i averages [⌊i·n/out⌋, ⌈(i+1)·n/out⌉), as
 * PyTorch's windows.
 */
function adaptiveMatrix(n: number, out: number): Float64Array {
  const m = new Float64Array(out * n);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * n) / out);
    const end = Math.ceil(((i + 1) * n) / out);
    for (let j = start; j < end; j++) m[i * n + j] = 1 / (end - start);
  }
  return m;
}

/**
 * Applies a constant matrix m [out, n] along spatial dim `dim` (2 = H, 3 = W) of x4: the linear maps of adaptive
 * pooling and interpolation are separable, so each dim is one matmul (and its adjoint, one matmul with mᵀ).
 */
function alongDim(x4: Tensor, dim: number, m: Float64Array, out: number): Tensor {
  const n = x4.shape[dim];
  const mat = tensor(m, { dtype: x4.dtype, shape: [out, n] });
  return dim === 3 ? matmul(x4, transpose(mat, 0, 1)) : matmul(mat, x4);
}

function adaptiveAvgPoolNd(
  op: string,
  nd: number,
  x: Tensor,
  outputSize: SpatialSize | readonly (number | null)[],
): Tensor {
  const at = `input is ${isTensor(x) ? fmtShape(x.shape) : String(x)}, outputSize ${JSON.stringify(outputSize)}`;
  const { x4, batched } = lift(op, nd, x, at);
  const size = x4.shape.slice(4 - nd);
  const given = typeof outputSize === 'number' ? new Array<number>(nd).fill(outputSize) : Array.from(outputSize);
  if (given.length !== nd || !given.every((v) => v === null || (Number.isInteger(v) && v >= 1)))
    throw new ValueError(
      `${op}: outputSize must be a whole number ≥ 1 or ${nd} of them (null keeps that dim's size), got ` +
        `${JSON.stringify(outputSize)} (${at})`,
    );
  const out = given.map((v, i) => v ?? size[i]);
  let y = x4;
  out.forEach((o, i) => {
    const dim = 4 - nd + i;
    if (o !== size[i]) y = alongDim(y, dim, adaptiveMatrix(size[i], o), o);
  });
  return unlift(y === x4 ? mul(x4, 1) : y, batched, nd);
}

/** Average pooling to a given output size (windows ⌊i·n/out⌋ … ⌈(i+1)·n/out⌉); PyTorch's F.adaptive_avg_pool2d. */
export const adaptiveAvgPool2d = testedOp({
  name: 'adaptiveAvgPool2d',
  fn: checked(
    'adaptiveAvgPool2d',
    {
      args: {
        input: tensorArg,
        outputSize: union(
          int({ min: 1 }),
          array(nullable(int({ min: 1 })), "an array of whole numbers ≥ 1 (null keeps that dim's size)"),
        ),
      },
    },
    (x: Tensor, outputSize: SpatialSize | readonly (number | null)[]): Tensor =>
      adaptiveAvgPoolNd('adaptiveAvgPool2d', 2, x, outputSize),
  ),
  samples: [
    { args: [[1, 1, 5, 7]], call: (f, x) => f(x, [3, 4]), torch: 'lambda x: F.adaptive_avg_pool2d(x, (3, 4))' },
    {
      args: [[2, 4, 4]],
      call: (f, x) => f(x, 2),
      torch: 'lambda x: F.adaptive_avg_pool2d(x, 2)',
      note: 'unbatched',
      noVariants: true,
    },
    {
      args: [[1, 2, 5, 3]],
      call: (f, x) => f(x, [2, null]),
      torch: 'lambda x: F.adaptive_avg_pool2d(x, (2, None))',
      note: 'null keeps a dim',
      noVariants: true,
    },
  ],
});

/** 1-D adaptive average pooling; PyTorch's F.adaptive_avg_pool1d. */
export const adaptiveAvgPool1d = testedOp({
  name: 'adaptiveAvgPool1d',
  fn: checked(
    'adaptiveAvgPool1d',
    { args: { input: tensorArg, outputSize: SIZE1 } },
    (x: Tensor, outputSize: SpatialSize): Tensor => adaptiveAvgPoolNd('adaptiveAvgPool1d', 1, x, outputSize),
  ),
  samples: [{ args: [[1, 2, 7]], call: (f, x) => f(x, 3), torch: 'lambda x: F.adaptive_avg_pool1d(x, 3)' }],
});

// ----- interpolate ---------------------------------------------------------------------------------------------

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear';

export interface InterpolateOptions {
  /** The output's spatial size (one number for every dim, or one per dim). Give this or scaleFactor. */
  size?: SpatialSize | null;
  /** Multiplies each spatial size (the output is ⌊in · scale⌋). Give this or size. */
  scaleFactor?: number | readonly number[] | null;
  /** Default 'nearest'. 'linear' takes [N, C, L], 'bilinear' [N, C, H, W]. */
  mode?: InterpolateMode;
  /** (Bi)linear only: map the corner pixels' centres onto each other instead of the corners. Default false. */
  alignCorners?: boolean | null;
  /** Compute the sampling scale from the sizes rather than use scaleFactor as given. Default false. */
  recomputeScaleFactor?: boolean | null;
}

const MODES: readonly InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'bilinear'];

/**
 * `interpolate(input, size=None, scale_factor=None, mode='nearest', align_corners=None,
 * recompute_scale_factor=None, antialias=False)`; upsample has the first five.
 */
const UPSAMPLE_ARGS = {
  args: {
    input: tensorArg,
    size: optional(nullable(SIZE1)),
    scaleFactor: optional(nullable(union(number({ gt: 0 }), array(number({ gt: 0 }), 'an array of numbers > 0')))),
    mode: optional(oneOf(MODES)),
    alignCorners: optional(nullable(bool)),
  },
};
type UpsamplePositional = [
  size: SpatialSize | null,
  scaleFactor: number | readonly number[] | null,
  mode: InterpolateMode,
  alignCorners: boolean | null,
];
type InterpolatePositional = [...UpsamplePositional, recomputeScaleFactor: boolean | null, antialias: boolean];

/** Source rows of nearest interpolation, with PyTorch's float32 scale arithmetic (it decides ties at boundaries). */
function nearestIndex(n: number, out: number, scale: number | undefined, exact: boolean): Int32Array {
  const idx = new Int32Array(out);
  const f = Math.fround;
  const s = f(scale !== undefined && scale > 0 ? 1 / scale : n / out);
  for (let o = 0; o < out; o++) {
    if (!exact && out === n) idx[o] = o;
    else if (!exact && out === 2 * n) idx[o] = o >> 1;
    else idx[o] = Math.min(Math.floor(f(exact ? (o + 0.5) * s : f(o * s))), n - 1);
  }
  return idx;
}

/** The interpolation matrix [out, n] of linear resampling along one dim (PyTorch's source index and weights). */
function linearMatrix(n: number, out: number, scale: number | undefined, alignCorners: boolean): Float64Array {
  const m = new Float64Array(out * n);
  const s = alignCorners ? (out > 1 ? (n - 1) / (out - 1) : 0) : scale !== undefined && scale > 0 ? 1 / scale : n / out;
  for (let o = 0; o < out; o++) {
    const src = alignCorners ? s * o : Math.max(s * (o + 0.5) - 0.5, 0);
    const i0 = Math.floor(src);
    const i1 = i0 < n - 1 ? i0 + 1 : i0;
    const l1 = src - i0;
    m[o * n + i0] += 1 - l1;
    m[o * n + i1] += l1;
  }
  return m;
}

/**
 * Resamples the spatial dims of [N, C, L] or [N, C, H, W] to `size` or by `scaleFactor`; PyTorch's F.interpolate
 * (modes nearest, nearest-exact, linear, bilinear; alignCorners for the linear ones).
 */
export const interpolate = testedOp({
  name: 'interpolate',
  fn: checked(
    'interpolate',
    {
      args: { ...UPSAMPLE_ARGS.args, recomputeScaleFactor: optional(nullable(bool)), antialias: optional(bool) },
    },
    (
      input: Tensor,
      size?: SpatialSize | null,
      scaleFactor?: number | readonly number[] | null,
      mode: InterpolateMode = 'nearest',
      alignCorners?: boolean | null,
      recomputeScaleFactor?: boolean | null,
      antialias = false,
    ): Tensor => {
      const opts: InterpolateOptions = { size, scaleFactor, alignCorners, recomputeScaleFactor };
      const at = `input is ${fmtShape(input.shape)}`;
      if (antialias)
        throw new ValueError(
          `interpolate: antialias is not supported (${at}); it changes only downsampling in the linear modes: leave ` +
            'it out',
        );
      if (!MODES.includes(mode))
        throw new ValueError(`interpolate: unknown mode '${mode}' (${at}); the modes are ${MODES.join(', ')}`);
      const nd = input.ndim - 2;
      if (nd !== 1 && nd !== 2)
        throw new ShapeError(
          `interpolate: ${at}; the input must be [N, C, L] or [N, C, H, W] (a batch and a channel dim before the ` +
            `spatial ones)` +
            (input.ndim < 3 ? ': unsqueeze(0) to add a batch dim' : ''),
        );
      if (mode === 'linear' && nd !== 1)
        throw new ShapeError(`interpolate: ${at}; mode 'linear' resamples [N, C, L]: use 'bilinear' for [N, C, H, W]`);
      if (mode === 'bilinear' && nd !== 2)
        throw new ShapeError(`interpolate: ${at}; mode 'bilinear' resamples [N, C, H, W]: use 'linear' for [N, C, L]`);
      const linear = mode === 'linear' || mode === 'bilinear';
      if (!linear && opts.alignCorners !== undefined && opts.alignCorners !== null)
        throw new ValueError(
          `interpolate: alignCorners is for the interpolating modes (linear, bilinear), not '${mode}'; drop it`,
        );
      if (!isFloating(input.dtype))
        throw new DTypeError(`interpolate: the input is ${input.dtype} (${at}); cast it with .float()`);
      const hasSize = opts.size !== undefined && opts.size !== null;
      const hasScale = opts.scaleFactor !== undefined && opts.scaleFactor !== null;
      if (hasSize === hasScale)
        throw new ValueError(
          `interpolate: give exactly one of size and scaleFactor (${at}), got ${hasSize ? 'both' : 'neither'}`,
        );
      const spatial = input.shape.slice(2);
      let out: number[];
      let scales: (number | undefined)[] = spatial.map(() => undefined);
      if (hasSize) out = tuple('interpolate', 'size', opts.size as SpatialSize, nd, 1, at);
      else {
        const sf = opts.scaleFactor as number | readonly number[];
        const list = typeof sf === 'number' ? new Array<number>(nd).fill(sf) : Array.from(sf);
        if (list.length !== nd || !list.every((v) => Number.isFinite(v) && v > 0))
          throw new ValueError(
            `interpolate: scaleFactor must be a positive number or ${nd} of them, got ${JSON.stringify(sf)} (${at})`,
          );
        out = spatial.map((n, i) => Math.floor(n * list[i]));
        if (out.some((o) => o < 1))
          throw new ShapeError(
            `interpolate: ${at}; scaleFactor ${JSON.stringify(sf)} gives an output of ${fmtShape(out)}: use a larger factor`,
          );
        if (!opts.recomputeScaleFactor) scales = list;
      }
      let y = input;
      // The last dim first, as PyTorch's separable kernels combine the weights.
      for (let i = nd - 1; i >= 0; i--) {
        const dim = 2 + i;
        if (linear) {
          const m = linearMatrix(spatial[i], out[i], scales[i], opts.alignCorners ?? false);
          y = nd === 1 ? squeeze(alongDim(unsqueeze(y, 2), 3, m, out[i]), 2) : alongDim(y, dim, m, out[i]);
        } else y = indexSelect(y, dim, tensor(nearestIndex(spatial[i], out[i], scales[i], mode === 'nearest-exact')));
      }
      return y;
    },
  ) as (...a: PyArgs<[input: Tensor], InterpolatePositional, InterpolateOptions & { antialias?: boolean }>) => Tensor,
  samples: [
    {
      args: [[1, 1, 3, 4]],
      call: (f, x) => f(x, { scaleFactor: 2 }),
      torch: 'lambda x: F.interpolate(x, scale_factor=2)',
    },
    {
      args: [[1, 2, 3, 4]],
      call: (f, x) => f(x, { size: [5, 7] }),
      torch: 'lambda x: F.interpolate(x, size=(5, 7))',
      noVariants: true,
    },
    {
      args: [[1, 1, 4, 5]],
      call: (f, x) => f(x, { size: [3, 7], mode: 'nearest-exact' }),
      torch: "lambda x: F.interpolate(x, size=(3, 7), mode='nearest-exact')",
      noVariants: true,
    },
    {
      args: [[1, 2, 3, 4]],
      call: (f, x) => f(x, { size: [5, 6], mode: 'bilinear', alignCorners: true }),
      torch: "lambda x: F.interpolate(x, size=(5, 6), mode='bilinear', align_corners=True)",
      noVariants: true,
    },
    {
      args: [[1, 2, 3, 4]],
      call: (f, x) => f(x, { scaleFactor: [1.5, 2], mode: 'bilinear' }),
      torch: "lambda x: F.interpolate(x, scale_factor=(1.5, 2), mode='bilinear')",
      noVariants: true,
    },
    {
      args: [[1, 1, 5, 6]],
      call: (f, x) => f(x, { size: [3, 4], mode: 'bilinear' }),
      torch: "lambda x: F.interpolate(x, size=(3, 4), mode='bilinear')",
      note: 'downsampling',
      noVariants: true,
    },
    {
      args: [[2, 3, 4]],
      call: (f, x) => f(x, { scaleFactor: 2.5, mode: 'linear' }),
      torch: "lambda x: F.interpolate(x, scale_factor=2.5, mode='linear')",
      noVariants: true,
    },
  ],
});

/** PyTorch's deprecated F.upsample: interpolate under its old name. */
export const upsample = checked(
  'upsample',
  UPSAMPLE_ARGS,
  (
    input: Tensor,
    size?: SpatialSize | null,
    scaleFactor?: number | readonly number[] | null,
    mode?: InterpolateMode,
    alignCorners?: boolean | null,
  ): Tensor => interpolate(input, size, scaleFactor, mode, alignCorners),
) as (...a: PyArgs<[input: Tensor], UpsamplePositional, InterpolateOptions>) => Tensor;
