/**
 * @file Convolution: conv1d, conv2d, convTranspose1d and convTranspose2d (torch.nn.functional's). One trilinear form
 * ⟨conv(x, w), y⟩ gives three primitives, each the adjoint of another in one argument:
 *   conv2d(x, w) → y,   convTranspose(y, w) → x,   correlate(x, y) → w.
 * So the backward of convolution is its adjoint — dX is the transposed convolution of dY with W (W's kernel taps
 * scattered, i.e. the flipped kernel), dW the correlation of X with dY — and ConvTranspose's forward IS that same
 * adjoint, whose own backward is conv (for its input) and the same correlation (for W). Each primitive is bilinear,
 * so its JVP is the sum of the op applied with one tangent at a time, and all higher derivatives come from the same
 * three ops. conv and its transpose also take the bias (added in the kernel, for speed: a broadcast add is a second
 * pass over the output); its gradient is Σ dY over batch and space. 1-D convolutions are 2-D ones over a unit height.
 */
import type { Conv2dParams } from '../backend/backend.js';
import { array, checked, int, nullable, oneOf, optional, tensor, union } from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { checkSameDtype, type DType, isFloating, promoteTypes } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { numel } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, defineOp, type OpDef, type RuleCtx, shapeText, sumText } from './define.js';
import { add } from './elementwise.js';
import { sum } from './reduce.js';
import { testedOp } from './registry.js';
import { expand, reshape, squeeze, unsqueeze } from './shape.js';

// ----- the three primitives ------------------------------------------------------------------------------------

/** The geometry plus the spatial size of the op's output, which the shapes alone do not fix (stride, padding). */
interface ConvOpParams extends Conv2dParams {
  size: readonly [number, number];
  /** For messages: the public op (conv1d, convTranspose2d, …) and the shapes its caller passed, before lifting to 4-D. */
  op?: string;
  shapes?: readonly (readonly number[] | undefined)[];
}

/**
 * The dtype rule of conv and its transpose, as PyTorch's: input, weight and bias share one dtype (`expected scalar
 * type Float but found Double`), nothing is promoted; so a float64 input to a float32 Conv2d raises.
 */
function convDtype(ins: readonly Tensor[], p: ConvOpParams, fallback: string): DType {
  const d = ins[0].dtype;
  if (ins[1].dtype === d && (ins.length < 3 || ins[2].dtype === d)) return d;
  checkSameDtype(p.op ?? fallback, [
    ['input', ins[0], p.shapes?.[0]],
    ['weight', ins[1], p.shapes?.[1]],
    ['bias', ins[2], p.shapes?.[2]],
  ]);
  return ins[0].dtype;
}

const geometry = (p: ConvOpParams): Conv2dParams => ({
  stride: p.stride,
  padding: p.padding,
  dilation: p.dilation,
  groups: p.groups,
});

/** For messages: the public op and its caller's shapes (see ConvOpParams). */
type Caller = Pick<ConvOpParams, 'op' | 'shapes'>;

/** y = conv(x, w) + b: x [N, C, H, W], w [O, C/g, kH, kW], b [O] or null → [N, O, size]. */
function conv(x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, size: readonly number[], by?: Caller): Tensor {
  return apply(convOp, b ? [x, w, b] : [x, w], { ...p, size: [size[0], size[1]], ...by });
}
/** x = convᵀ(y, w) + b, the adjoint of conv in x: y [N, O, OH, OW], w [O, C/g, kH, kW], b [C] or null → [N, C, size]. */
function convT(y: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, size: readonly number[], by?: Caller): Tensor {
  return apply(convTransposeOp, b ? [y, w, b] : [y, w], { ...p, size: [size[0], size[1]], ...by });
}
/** w = correlate(x, y), the adjoint of conv in w: x [N, C, H, W], y [N, O, OH, OW] → [O, C/g, size]. */
function correlate(x: Tensor, y: Tensor, p: Conv2dParams, size: readonly number[]): Tensor {
  return apply(convWeightOp, [x, y], { ...p, size: [size[0], size[1]] });
}

const spatial = (s: readonly number[]) => s.slice(2);

/**
 * The tangent of a bilinear op plus an optional bias: op(ta, b) + op(a, tb) + tbias (broadcast over batch and space),
 * the same op and geometry, skipping the symbolic zeros.
 */
function bilinearJvp(op: () => OpDef<ConvOpParams>) {
  return ([ta, tb, tbias]: readonly (Tensor | null)[], c: RuleCtx<ConvOpParams>): Tensor => {
    const [a, b] = c.inputs;
    const terms: Tensor[] = [];
    if (ta) terms.push(apply(op(), [ta, b!], c.params));
    if (tb) terms.push(apply(op(), [a!, tb], c.params));
    if (tbias) terms.push(expand(reshape(tbias, [tbias.shape[0], 1, 1]), [...c.outShape]));
    return terms.reduce((u, v) => add(u, v));
  };
}

const macs = (y: readonly number[], w: readonly number[]) => numel(y) * w[1] * w[2] * w[3];
/** The bias's gradient: Σ dY over batch and space. */
const biasGrad = (g: Tensor) => sum(g, [0, 2, 3]);
const biasText = (dy: string) => `${sumText([0, 2, 3], 4)} ${dy}`;

const convOp: OpDef<ConvOpParams> = defineOp<ConvOpParams>({
  name: 'conv2d',
  backwardName: 'ConvolutionBackward',
  infer: (ins, p) => ({ shape: [ins[0].shape[0], ins[1].shape[0], ...p.size], dtype: convDtype(ins, p, 'conv2d') }),
  overwrites: true,
  forward: (k, out, [x, w, b], p) => k.conv2d(out._view(), x._view(), w._view(), b ? b._view() : null, geometry(p)),
  saveInputs: [0, 1],
  // The adjoint in each argument: dX = convᵀ(dY, W), dW = correlate(X, dY), db = Σ dY.
  vjp: (g, c) => {
    const [x, w] = c.inputs;
    const p = geometry(c.params);
    return [
      c.needs[0] && convT(g, w!, null, p, spatial(c.inShapes[0])),
      c.needs[1] && correlate(x!, g, p, spatial(c.inShapes[1])),
      c.needs[2] && biasGrad(g),
    ];
  },
  jvp: bilinearJvp(() => convOp),
  flops: ([, w], out) => 2 * macs(out.shape, w.shape),
  explain: ({ x: [x, w], dy, inShapes: [sx, sw], outShape }) => [
    { rhs: `convTranspose2d(${dy}, ${w})`, shapes: `${shapeText(outShape)}⋆${shapeText(sw)}` },
    { rhs: `correlate(${x}, ${dy})`, shapes: `${shapeText(sx)}⋆${shapeText(outShape)}` },
    { rhs: biasText(dy), shapes: shapeText(outShape) },
  ],
});

const convTransposeOp: OpDef<ConvOpParams> = defineOp<ConvOpParams>({
  name: 'convTranspose2d',
  backwardName: 'ConvolutionBackward',
  infer: (ins, p) => ({
    shape: [ins[0].shape[0], ins[1].shape[1] * p.groups, ...p.size],
    dtype: convDtype(ins, p, 'convTranspose2d'),
  }),
  forward: (k, out, [y, w, b], p) =>
    k.conv2dTranspose(out._view(), y._view(), w._view(), b ? b._view() : null, geometry(p)),
  saveInputs: [0, 1],
  // The adjoint of an adjoint is the map itself: dY = conv(dX, W); W's gradient is the same correlation, with the
  // output's cotangent in x's place; db = Σ dX.
  vjp: (g, c) => {
    const [y, w] = c.inputs;
    const p = geometry(c.params);
    return [
      c.needs[0] && conv(g, w!, null, p, spatial(c.inShapes[0])),
      c.needs[1] && correlate(g, y!, p, spatial(c.inShapes[1])),
      c.needs[2] && biasGrad(g),
    ];
  },
  jvp: bilinearJvp(() => convTransposeOp),
  flops: ([y, w]) => 2 * macs(y.shape, w.shape),
  explain: ({ x: [y, w], dy, inShapes: [sy, sw], outShape }) => [
    { rhs: `conv2d(${dy}, ${w})`, shapes: `${shapeText(outShape)}⋆${shapeText(sw)}` },
    { rhs: `correlate(${dy}, ${y})`, shapes: `${shapeText(outShape)}⋆${shapeText(sy)}` },
    { rhs: biasText(dy), shapes: shapeText(outShape) },
  ],
});

const convWeightOp: OpDef<ConvOpParams> = defineOp<ConvOpParams>({
  name: 'convWeight',
  backwardName: 'ConvolutionWeightBackward',
  infer: ([x, y], p) => ({
    shape: [y.shape[1], x.shape[1] / p.groups, ...p.size],
    dtype: promoteTypes(x.dtype, y.dtype),
  }),
  forward: (k, out, [x, y], p) => k.conv2dWeightGrad(out._view(), x._view(), y._view(), geometry(p)),
  saveInputs: 'others',
  // ⟨correlate(x, y), G⟩ = ⟨conv(x, G), y⟩ = ⟨x, convᵀ(y, G)⟩.
  vjp: (g, c) => {
    const [x, y] = c.inputs;
    const p = geometry(c.params);
    return [
      c.needs[0] && convT(y!, g, null, p, spatial(c.inShapes[0])),
      c.needs[1] && conv(x!, g, null, p, spatial(c.inShapes[1])),
    ];
  },
  jvp: bilinearJvp(() => convWeightOp),
  flops: ([, y], out) => 2 * numel(y.shape) * out.shape[1] * out.shape[2] * out.shape[3],
  explain: ({ x: [x, y], dy, inShapes: [sx, sy], outShape }) => [
    { rhs: `convTranspose2d(${y}, ${dy})`, shapes: `${shapeText(sy)}⋆${shapeText(outShape)}` },
    { rhs: `conv2d(${x}, ${dy})`, shapes: `${shapeText(sx)}⋆${shapeText(outShape)}` },
  ],
});

// ----- argument checks -----------------------------------------------------------------------------------------

/** A size per spatial dim: one number for every dim, or one per dim. */
export type SpatialSize = number | readonly number[];

export interface ConvOptions {
  /** The step between output positions, per spatial dim (a number applies to every dim). Default 1. */
  stride?: SpatialSize;
  /**
   * Zero padding on both sides of each spatial dim, or 'valid' (none) or 'same' (the output keeps the input's size;
   * stride 1 only; an odd total puts the extra element after, as PyTorch). Default 0.
   */
  padding?: SpatialSize | 'same' | 'valid';
  /** The spacing between kernel taps. Default 1. */
  dilation?: SpatialSize;
  /** Splits the channels into groups convolved separately: in and out channels must both divide by it. Default 1. */
  groups?: number;
}

export interface ConvTransposeOptions {
  stride?: SpatialSize;
  /** The padding of the convolution this is the adjoint of: it crops that much from each side of the output. */
  padding?: SpatialSize;
  /** Extra size added to one side of each output dim, to pick among the input sizes a strided conv maps alike. */
  outputPadding?: SpatialSize;
  groups?: number;
  dilation?: SpatialSize;
}

/** A spatial size that must be ≥ 1 (stride, dilation, a kernel): one for every dim, or one per dim. */
const SIZE1 = union(int({ min: 1 }), array(int({ min: 1 }), 'an array of whole numbers ≥ 1'));
/** A spatial size that may be 0 (padding). How many entries it must have is checked with the input's dims. */
const SIZE0 = union(int({ min: 0 }), array(int({ min: 0 }), 'an array of whole numbers ≥ 0'));
const BIAS = optional(nullable(tensor));

/** `conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)`, conv1d's too. */
const CONV_ARGS = {
  args: {
    input: tensor,
    weight: tensor,
    bias: BIAS,
    stride: optional(SIZE1),
    padding: optional(
      union(int({ min: 0 }), array(int({ min: 0 }), 'an array of whole numbers ≥ 0'), oneOf(['same', 'valid'])),
    ),
    dilation: optional(SIZE1),
    groups: optional(int({ min: 1 })),
  },
  renames: { padding_mode: "the Conv module's paddingMode, or pad(x, …, {mode}) before a 'valid' conv" },
};
type ConvPositional = [
  bias: Tensor | null,
  stride: SpatialSize,
  padding: SpatialSize | 'same' | 'valid',
  dilation: SpatialSize,
  groups: number,
];
type ConvFn = (
  ...a: PyArgs<[input: Tensor, weight: Tensor], ConvPositional, ConvOptions & { bias?: Tensor | null }>
) => Tensor;

/**
 * `conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1)`, in
 * PyTorch's order (groups before dilation, unlike conv2d).
 */
const CONV_TRANSPOSE_ARGS = {
  args: {
    input: tensor,
    weight: tensor,
    bias: BIAS,
    stride: optional(SIZE1),
    padding: optional({
      ...SIZE0,
      what: "a whole number ≥ 0 or an array of them ('same' and 'valid' exist for conv, not for its transpose)",
    }),
    outputPadding: optional(SIZE0),
    groups: optional(int({ min: 1 })),
    dilation: optional(SIZE1),
  },
  renames: CONV_ARGS.renames,
};
type ConvTransposeFn = (
  ...a: PyArgs<
    [input: Tensor, weight: Tensor],
    [
      bias: Tensor | null,
      stride: SpatialSize,
      padding: SpatialSize,
      outputPadding: SpatialSize,
      groups: number,
      dilation: SpatialSize,
    ],
    ConvTransposeOptions & { bias?: Tensor | null }
  >
) => Tensor;

/** n whole numbers ≥ min from a number or an n-array; the error names the op, the option and the shapes. */
export function tuple(op: string, what: string, v: SpatialSize, n: number, min: number, at: string): number[] {
  const list = typeof v === 'number' ? new Array<number>(n).fill(v) : Array.from(v);
  if (list.length !== n || !list.every((e) => Number.isInteger(e) && e >= min))
    throw new ValueError(
      `${op}: ${what} must be a whole number ≥ ${min} or ${n} of them (one per spatial dim), got ` +
        `${JSON.stringify(v)} (${at})`,
    );
  return list;
}

function checkFloat(op: string, ts: readonly [string, Tensor | null][], at: string): void {
  for (const [what, t] of ts)
    if (t && !isFloating(t.dtype))
      throw new DTypeError(
        `${op}: ${what} is ${t.dtype} but convolution needs floating point (${at}); cast it with ${what}.float()`,
      );
}

const dimNames = (nd: number) => (nd === 2 ? ['H', 'W'] : ['L']);
const sizeText = (s: readonly number[]) => s.join(' × ');

/** Checks the ranks and returns the channel count, the spatial sizes and whether there is a batch dim. */
function checkRanks(op: string, nd: number, input: Tensor, weight: Tensor, wLayout: string, at: string) {
  const sp = dimNames(nd).join(', ');
  if (input.ndim !== nd + 1 && input.ndim !== nd + 2)
    throw new ShapeError(
      `${op}: ${at}; the input must be [N, C, ${sp}] (batched) or [C, ${sp}] (unbatched), but it has ` +
        `${input.ndim} dims` +
        (input.ndim === nd ? `: unsqueeze(0) to add a channel dim` : '') +
        (input.ndim > nd + 2 ? `: flatten the extra leading dims into the batch` : '') +
        (nd === 1 && input.ndim === 4 ? ' (or use conv2d for images)' : ''),
    );
  if (weight.ndim !== nd + 2)
    throw new ShapeError(
      `${op}: ${at}; the weight must be [${wLayout}, ${dimNames(nd)
        .map((d) => `k${d}`)
        .join(', ')}] (${nd + 2} dims), but it has ${weight.ndim}`,
    );
  const batched = input.ndim === nd + 2;
  return { batched, channels: input.shape[batched ? 1 : 0], size: input.shape.slice(-nd) };
}

/** The weight's leading dims, for messages: conv's and its transpose's. */
const CONV_WEIGHT = 'outChannels, inChannels/groups';
const CONVT_WEIGHT = 'inChannels, outChannels/groups';

/**
 * What conv and its transpose check first, in this order: floating-point operands, the ranks, and groups. Returns
 * the shapes' text that their messages end with, the channel count, the spatial sizes, whether there is a batch dim,
 * and groups.
 */
function checkOperands(
  op: string,
  nd: number,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: { groups?: number },
  wLayout: string,
) {
  const at =
    `input is ${fmtShape(input.shape)}, weight is ${fmtShape(weight.shape)}` +
    (bias ? `, bias is ${fmtShape(bias.shape)}` : '');
  checkFloat(
    op,
    [
      ['input', input],
      ['weight', weight],
      ['bias', bias],
    ],
    at,
  );
  const ranks = checkRanks(op, nd, input, weight, wLayout, at);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1)
    throw new ValueError(`${op}: groups must be a whole number ≥ 1, got ${groups} (${at})`);
  return { at, groups, ...ranks };
}

function checkBias(op: string, bias: Tensor | null, channels: number, at: string): void {
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== channels))
    throw new ShapeError(`${op}: ${at}; the bias must be [${channels}], one per output channel`);
}

/** Lifts to the 2-D primitives' layout: a batch dim and, for 1-D, a unit height. */
function to4d(x: Tensor, batched: boolean, nd: number): Tensor {
  const b = batched ? x : unsqueeze(x, 0);
  return nd === 1 ? unsqueeze(b, 2) : b;
}
function from4d(y: Tensor, batched: boolean, nd: number): Tensor {
  const b = nd === 1 ? squeeze(y, 2) : y;
  return batched ? b : squeeze(b, 0);
}
/** Per-dim geometry in 2-D: a 1-D conv runs over a unit height with a one-tap kernel. */
const as2d = (v: readonly number[], fill: number): [number, number] => (v.length === 1 ? [fill, v[0]] : [v[0], v[1]]);

/**
 * Runs one of the 2-D primitives (conv or convT) on the input lifted to its layout, with the geometry per spatial dim
 * and the output's spatial size, and returns the result in the input's layout.
 */
function in4d(
  prim: typeof conv,
  op: string,
  nd: number,
  batched: boolean,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: { stride: number[]; padding: number[]; dilation: number[]; groups: number },
  out: readonly number[],
): Tensor {
  const y = prim(
    to4d(input, batched, nd),
    nd === 1 ? unsqueeze(weight, 2) : weight,
    bias,
    { stride: as2d(g.stride, 1), padding: as2d(g.padding, 0), dilation: as2d(g.dilation, 1), groups: g.groups },
    as2d(out, 1),
    { op, shapes: [input.shape, weight.shape, bias?.shape] },
  );
  return from4d(y, batched, nd);
}

// ----- conv1d / conv2d -----------------------------------------------------------------------------------------

function convNd(op: string, nd: number, input: Tensor, weight: Tensor, bias: Tensor | null, opts: ConvOptions): Tensor {
  const { at, batched, channels, size, groups } = checkOperands(op, nd, input, weight, bias, opts, CONV_WEIGHT);
  const stride = tuple(op, 'stride', opts.stride ?? 1, nd, 1, at);
  const dilation = tuple(op, 'dilation', opts.dilation ?? 1, nd, 1, at);
  const padOpt = opts.padding ?? 0;
  const kernel = weight.shape.slice(2);
  const outChannels = weight.shape[0];
  const g = `groups=${groups}`;
  if (outChannels === 0 || outChannels % groups !== 0)
    throw new ShapeError(
      `${op}: ${at}, ${g}; the weight's out channels (dim 0, ${outChannels}) must be a positive multiple of groups, ` +
        `since each group makes outChannels/groups of them: use a multiple of ${groups}`,
    );
  if (weight.shape[1] * groups !== channels)
    throw new ShapeError(
      `${op}: ${at}, ${g}; the input has ${channels} channels (dim ${batched ? 1 : 0}) but the weight expects ` +
        `weight.shape[1]·groups = ${weight.shape[1]}·${groups} = ${weight.shape[1] * groups}` +
        (channels % groups !== 0
          ? `, and ${channels} channels do not divide into ${groups} groups: use a groups that divides both channel counts`
          : `: give a weight of shape ${fmtShape([outChannels, channels / groups, ...kernel])} (inChannels/groups ` +
            `in dim 1), or fix the input's channels`),
    );
  let padding: number[];
  if (padOpt === 'same') {
    if (stride.some((s) => s !== 1))
      throw new ValueError(
        `${op}: padding='same' keeps the input's size, which a stride of ${fmtShape(stride)} cannot (${at}); use ` +
          `stride 1, or give the padding as numbers`,
      );
    padding = kernel.map((k, i) => Math.floor((dilation[i] * (k - 1)) / 2));
  } else if (padOpt === 'valid') padding = kernel.map(() => 0);
  else if (typeof padOpt === 'string')
    throw new ValueError(`${op}: padding must be a number, ${nd} numbers, 'same' or 'valid', got '${padOpt}' (${at})`);
  else padding = tuple(op, 'padding', padOpt, nd, 0, at);
  const effective = kernel.map((k, i) => dilation[i] * (k - 1) + 1);
  const padded = size.map((n, i) => n + 2 * padding[i]);
  if (padOpt !== 'same' && effective.some((e, i) => e > padded[i]))
    throw new ShapeError(
      `${op}: ${at}; the padded input (${sizeText(padded)}, padding ${fmtShape(padding)}) is smaller than the ` +
        `${dilation.some((d) => d > 1) ? `dilated kernel (${sizeText(effective)}, dilation ${fmtShape(dilation)})` : `kernel (${sizeText(effective)})`}` +
        `, so there is no output position: use a larger input or more padding, or a smaller kernel`,
    );
  const out = padOpt === 'same' ? size : padded.map((n, i) => Math.floor((n - effective[i]) / stride[i]) + 1);
  checkBias(op, bias, outChannels, at);
  return in4d(conv, op, nd, batched, input, weight, bias, { stride, padding, dilation, groups }, out);
}

/** conv1d's and conv2d's public function: CONV_ARGS's parameters, in PyTorch's order. */
function convFn(op: string, nd: number): ConvFn {
  return checked(
    op,
    CONV_ARGS,
    (
      input: Tensor,
      weight: Tensor,
      bias: Tensor | null = null,
      stride?: SpatialSize,
      padding?: SpatialSize | 'same' | 'valid',
      dilation?: SpatialSize,
      groups?: number,
    ): Tensor => convNd(op, nd, input, weight, bias, { stride, padding, dilation, groups }),
  ) as ConvFn;
}

/**
 * 2-D convolution (cross-correlation, as in every deep-learning library) of input [N, C, H, W] (or [C, H, W]) with
 * weight [outChannels, C/groups, kH, kW], plus bias [outChannels]; PyTorch's F.conv2d. The output's size per dim is
 * ⌊(in + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1.
 */
export const conv2d = testedOp({
  name: 'conv2d',
  fn: convFn('conv2d', 2),
  samples: [
    { args: [[1, 2, 3, 4], [2, 2, 2, 3], [2]] },
    {
      args: [[1, 4, 4, 3], [4, 2, 2, 2], [4]],
      call: (f, x, w, b) => f(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [2, 1], groups: 2 }),
      torch: 'lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)',
      note: 'stride, padding, dilation and groups together',
    },
    {
      args: [
        [1, 2, 3, 4],
        [2, 2, 2, 2],
      ],
      call: (f, x, w) => f(x, w, null, { padding: 'same', dilation: [2, 1] }),
      torch: "lambda x, w: F.conv2d(x, w, padding='same', dilation=(2, 1))",
      note: "'same' with an even kernel: the extra padding goes after",
      noVariants: true,
    },
    {
      args: [[2, 4, 4], [2, 2, 3, 3], [2]],
      call: (f, x, w, b) => f(x, w, b, { stride: 2, padding: 1 }),
      torch: 'lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1)',
      note: 'unbatched',
      noVariants: true,
    },
    {
      args: [
        [1, 3, 3, 4],
        [3, 1, 2, 2],
      ],
      call: (f, x, w) => f(x, w, null, { groups: 3, stride: [1, 2], padding: 'valid' }),
      torch: "lambda x, w: F.conv2d(x, w, groups=3, stride=(1, 2), padding='valid')",
      note: 'depthwise',
      noVariants: true,
    },
    { args: [[0, 2, 3, 3], [2, 2, 2, 2], [2]], note: 'empty batch', noVariants: true },
  ],
  torch: 'F.conv2d',
});

/** 1-D convolution of input [N, C, L] (or [C, L]) with weight [outChannels, C/groups, k]; PyTorch's F.conv1d. */
export const conv1d = testedOp({
  name: 'conv1d',
  fn: convFn('conv1d', 1),
  samples: [
    { args: [[2, 3, 5], [2, 3, 3], [2]] },
    {
      args: [[1, 4, 7], [4, 2, 3], [4]],
      call: (f, x, w, b) => f(x, w, b, { stride: 2, padding: 2, dilation: 2, groups: 2 }),
      torch: 'lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=2, dilation=2, groups=2)',
      note: 'stride, padding, dilation and groups together',
      noVariants: true,
    },
    {
      args: [
        [2, 5],
        [2, 2, 4],
      ],
      call: (f, x, w) => f(x, w, null, { padding: 'same' }),
      torch: "lambda x, w: F.conv1d(x, w, padding='same')",
      note: "unbatched, 'same'",
      noVariants: true,
    },
  ],
  torch: 'F.conv1d',
});

// ----- convTranspose1d / convTranspose2d -----------------------------------------------------------------------

function convTransposeNd(
  op: string,
  nd: number,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: ConvTransposeOptions,
): Tensor {
  const { at, batched, channels, size, groups } = checkOperands(op, nd, input, weight, bias, opts, CONVT_WEIGHT);
  if (typeof opts.padding === 'string')
    throw new ValueError(
      `${op}: padding must be numbers (${at}); 'same' and 'valid' exist for conv, not for its transpose`,
    );
  const stride = tuple(op, 'stride', opts.stride ?? 1, nd, 1, at);
  const padding = tuple(op, 'padding', opts.padding ?? 0, nd, 0, at);
  const outputPadding = tuple(op, 'outputPadding', opts.outputPadding ?? 0, nd, 0, at);
  const dilation = tuple(op, 'dilation', opts.dilation ?? 1, nd, 1, at);
  const g = `groups=${groups}`;
  if (weight.shape[0] !== channels)
    throw new ShapeError(
      `${op}: ${at}; the input has ${channels} channels (dim ${batched ? 1 : 0}) but the weight, laid out ` +
        `[inChannels, outChannels/groups, …], has ${weight.shape[0]} in dim 0: they must match (a transposed conv's ` +
        `weight has the layout of the conv it is the adjoint of, so its dims 0 and 1 are the other way round)`,
    );
  if (channels % groups !== 0 || weight.shape[1] === 0)
    throw new ShapeError(
      `${op}: ${at}, ${g}; the in channels (${channels}) must divide into groups and each group needs at least ` +
        `one out channel (weight dim 1): use a groups that divides ${channels}`,
    );
  outputPadding.forEach((p, i) => {
    if (p >= stride[i] && p >= dilation[i])
      throw new ValueError(
        `${op}: outputPadding ${fmtShape(outputPadding)} must be smaller than the stride ${fmtShape(stride)} or the ` +
          `dilation ${fmtShape(dilation)} in each dim (${at}): it only picks among the output sizes that the ` +
          `strided conv maps to the same input size`,
      );
  });
  const kernel = weight.shape.slice(2);
  const out = size.map(
    (n, i) => (n - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1,
  );
  if (out.some((n) => n < 1))
    throw new ShapeError(
      `${op}: ${at}; the output would be ${sizeText(out)} per channel ((in − 1)·stride − 2·padding + ` +
        `dilation·(k − 1) + outputPadding + 1), which is too small: reduce the padding ${fmtShape(padding)}`,
    );
  const outChannels = weight.shape[1] * groups;
  checkBias(op, bias, outChannels, at);
  return in4d(convT, op, nd, batched, input, weight, bias, { stride, padding, dilation, groups }, out);
}

/** convTranspose1d's and convTranspose2d's public function: CONV_TRANSPOSE_ARGS's parameters, in PyTorch's order. */
function convTransposeFn(op: string, nd: number): ConvTransposeFn {
  return checked(
    op,
    CONV_TRANSPOSE_ARGS,
    (
      input: Tensor,
      weight: Tensor,
      bias: Tensor | null = null,
      stride?: SpatialSize,
      padding?: SpatialSize,
      outputPadding?: SpatialSize,
      groups?: number,
      dilation?: SpatialSize,
    ): Tensor => convTransposeNd(op, nd, input, weight, bias, { stride, padding, outputPadding, groups, dilation }),
  ) as ConvTransposeFn;
}

/**
 * 2-D transposed convolution: the adjoint of conv2d in its input (what conv2d's backward computes for dX), with
 * weight [inChannels, outChannels/groups, kH, kW] and bias [outChannels]; PyTorch's F.conv_transpose2d. The output's
 * size per dim is (in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.
 */
export const convTranspose2d = testedOp({
  name: 'convTranspose2d',
  fn: convTransposeFn('convTranspose2d', 2),
  samples: [
    { args: [[1, 2, 3, 3], [2, 2, 2, 2], [2]], noVariants: true },
    {
      args: [[1, 4, 2, 2], [4, 1, 3, 2], [2]],
      call: (f, x, w, b) =>
        f(x, w, b, { stride: [2, 3], padding: [1, 0], outputPadding: [1, 2], groups: 2, dilation: [1, 2] }),
      torch:
        'lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), ' +
        'groups=2, dilation=(1, 2))',
      note: 'stride, padding, outputPadding, groups and dilation together',
    },
    {
      args: [
        [1, 2, 3, 3],
        [2, 1, 2, 2],
      ],
      call: (f, x, w) => f(x, w, null, { dilation: 2, outputPadding: 1 }),
      torch: 'lambda x, w: F.conv_transpose2d(x, w, dilation=2, output_padding=1)',
      note: 'outputPadding below the dilation, not the stride',
      noVariants: true,
    },
    {
      args: [
        [2, 2, 3],
        [2, 2, 2, 2],
      ],
      call: (f, x, w) => f(x, w, null, { stride: 2, padding: 1 }),
      torch: 'lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1)',
      note: 'unbatched',
      noVariants: true,
    },
  ],
  torch: 'F.conv_transpose2d',
});

/** 1-D transposed convolution (the adjoint of conv1d in its input); PyTorch's F.conv_transpose1d. */
export const convTranspose1d = testedOp({
  name: 'convTranspose1d',
  fn: convTransposeFn('convTranspose1d', 1),
  samples: [
    {
      args: [[2, 3, 5], [3, 2, 3], [2]],
      call: (f, x, w, b) => f(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
      torch: 'lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1)',
    },
    {
      args: [
        [1, 4, 4],
        [4, 1, 2],
      ],
      call: (f, x, w) => f(x, w, null, { groups: 2, dilation: 3 }),
      torch: 'lambda x, w: F.conv_transpose1d(x, w, groups=2, dilation=3)',
      noVariants: true,
    },
  ],
  torch: 'F.conv_transpose1d',
});
