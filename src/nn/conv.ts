/**
 * @file The convolution layers Conv1d, Conv2d, ConvTranspose1d and ConvTranspose2d, with torch.nn's parameter names,
 * layouts and default initialisation, so weights move both ways: weight [out, in/groups, ...kernel] (transposed:
 * [in, out/groups, ...kernel]) from kaiming_uniform_(a = √5), i.e. U(−1/√fanIn, 1/√fanIn) with fanIn = weight.shape[1]
 * times the kernel's size, and bias [out] from U(−1/√fanIn, 1/√fanIn). Non-zero padding modes pad explicitly, then
 * convolve without padding, as PyTorch does.
 */
import { array, bool, checkMethods, custom, int, nullable, oneOf, optional, sig, tensor, union } from '../core/args.js';
import { DEFAULT_FLOAT, type DType } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { conv1d, conv2d, convTranspose1d, convTranspose2d, type SpatialSize } from '../ops/conv.js';
import { empty } from '../ops/creation.js';
import { pad } from '../ops/join.js';
import type { Tensor } from '../tensor/tensor.js';
import { FLOAT_DTYPE, SIZE, spatial } from './args.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { Module, Parameter } from './module.js';

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface ConvLayerOptions {
  /** Default 1. */
  stride?: SpatialSize;
  /** Numbers (both sides of each dim), 'valid' (none) or 'same' (stride 1 only). Default 0. */
  padding?: SpatialSize | 'same' | 'valid';
  dilation?: SpatialSize;
  /** Default 1; must divide both channel counts. */
  groups?: number;
  /** Learn an additive bias per output channel. Default true. */
  bias?: boolean;
  /** How the input is padded: zeros (default), or reflect / replicate / circular, done by pad() before the conv. */
  paddingMode?: PaddingMode;
  /** The parameters' dtype; default float32. */
  dtype?: DType;
}

export interface ConvTransposeLayerOptions {
  stride?: SpatialSize;
  padding?: SpatialSize;
  outputPadding?: SpatialSize;
  groups?: number;
  bias?: boolean;
  dilation?: SpatialSize;
  /** Only 'zeros' for transposed convolutions, as in PyTorch. */
  paddingMode?: 'zeros';
  dtype?: DType;
}

const MODES = ['zeros', 'reflect', 'replicate', 'circular'] as const;

/** The arguments of torch's _ConvNd, sizes as lists of one entry per spatial dim (what the layers hand ConvNd). */
export type ConvNdArgs = [
  inChannels: number,
  outChannels: number,
  kernelSize: readonly number[],
  stride: readonly number[],
  padding: readonly number[] | 'same' | 'valid',
  dilation: readonly number[],
  transposed: boolean,
  outputPadding: readonly number[],
  groups: number,
  bias: boolean,
  paddingMode: PaddingMode,
  opts?: { dtype?: DType },
];

const list = (min: number) => array(int({ min }), `a list of whole numbers ≥ ${min} (one per spatial dim)`);
const KERNEL_LIST = list(1);

/**
 * torch's _ConvNd(in_channels, out_channels, kernel_size, stride, padding, dilation, transposed, output_padding,
 * groups, bias, padding_mode, *, dtype=None): every argument required, the sizes as lists (the layers turn a number
 * into one per spatial dim). Construct Conv1d, Conv2d, ConvTranspose1d or ConvTranspose2d rather than this.
 */
const CONV_ND_SPEC = {
  args: {
    inChannels: SIZE,
    outChannels: SIZE,
    kernelSize: custom<number[]>(
      'a non-empty list of whole numbers ≥ 1 (one per spatial dim)',
      (v) => Array.isArray(v) && v.length > 0 && KERNEL_LIST.ok(v),
      'custom',
      [3],
    ),
    stride: KERNEL_LIST,
    padding: union(list(0), oneOf(['same', 'valid'])),
    dilation: list(1),
    transposed: bool,
    outputPadding: list(0),
    groups: SIZE,
    bias: bool,
    paddingMode: oneOf(MODES),
  },
  options: { dtype: FLOAT_DTYPE },
};
const CONV_ND = sig('ConvNd', CONV_ND_SPEC);
const CONV_TRANSPOSE_ND = sig('ConvTransposeNd', CONV_ND_SPEC);

/** Python's repr of a tuple, as torch prints the layer's sizes: (3, 3) or (3,). */
const pyTuple = (v: readonly number[]) => `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;

/**
 * What the convolution layers share (torch's _ConvNd): the geometry as tuples, the parameters, the initialisation
 * and the repr.
 */
export class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly transposed: boolean;
  readonly outputPadding: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  weight: Tensor;
  bias: Tensor | null;
  /** F.pad's widths (last dim first) for a non-zeros paddingMode, as torch's _reversed_padding_repeated_twice. */
  _reversedPadding: number[];

  constructor(...args: ConvNdArgs);
  constructor(...args: unknown[]) {
    super();
    const a = (this instanceof ConvTransposeNd ? CONV_TRANSPOSE_ND : CONV_ND).bind(args);
    const { inChannels, outChannels, kernelSize, stride, padding, groups, transposed } = a;
    const nd = kernelSize.length;
    const at = `${this.constructor.name}(${inChannels}, ${outChannels}, ${fmtShape(kernelSize)})`;
    for (const [what, v] of [
      ['stride', stride],
      ['padding', padding],
      ['dilation', a.dilation],
      ['outputPadding', a.outputPadding],
    ] as const)
      if (typeof v !== 'string' && v.length !== nd)
        throw new ValueError(
          `${at}: ${what} has ${v.length} entries but the kernel has ${nd} spatial dims; give one per dim`,
        );
    if (inChannels % groups !== 0 || outChannels % groups !== 0)
      throw new ShapeError(
        `${at}: groups=${groups} must divide both inChannels (${inChannels}) and outChannels (${outChannels}), ` +
          `since each group convolves inChannels/groups channels into outChannels/groups: pick a common divisor`,
      );
    if (typeof padding === 'string') {
      if (transposed)
        throw new ValueError(`${at}: padding '${padding}' is not supported by a transposed convolution; give numbers`);
      if (padding === 'same' && stride.some((s) => s !== 1))
        throw new ValueError(
          `${at}: padding='same' keeps the input's size, which stride ${fmtShape(stride)} cannot; use stride 1 ` +
            `or give the padding as numbers`,
        );
    }
    const mode = a.paddingMode;
    if (transposed && mode !== 'zeros')
      throw new ValueError(`${at}: paddingMode must be 'zeros' for a transposed convolution, got '${mode}'`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = [...kernelSize];
    this.stride = [...stride];
    this.padding = typeof padding === 'string' ? padding : [...padding];
    this.dilation = [...a.dilation];
    this.transposed = transposed;
    this.outputPadding = [...a.outputPadding];
    this.groups = groups;
    this.paddingMode = mode;
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    const shape = transposed
      ? [inChannels, outChannels / groups, ...this.kernelSize]
      : [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = Parameter(empty(shape, { dtype }));
    this.bias = a.bias ? Parameter(empty([outChannels], { dtype })) : null;
    // Last dim first, before and after: 'same' puts the odd element after, as F.conv's own 'same'.
    this._reversedPadding = [];
    for (let d = nd - 1; d >= 0; d--) {
      if (this.padding === 'same') {
        const total = this.dilation[d] * (this.kernelSize[d] - 1);
        this._reversedPadding.push(Math.floor(total / 2), total - Math.floor(total / 2));
      } else {
        const p = this.padding === 'valid' ? 0 : this.padding[d];
        this._reversedPadding.push(p, p);
      }
    }
    this.resetParameters();
  }

  /** PyTorch's initialisation: kaiming_uniform_(a = √5) for the weight, U(−1/√fanIn, 1/√fanIn) for the bias. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${pyTuple(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }

  /** The convolution with this layer's geometry; padding modes other than zeros pad first. */
  _conv(fn: typeof conv2d, input: Tensor): Tensor {
    const opts = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === 'zeros') return fn(input, this.weight, this.bias, { ...opts, padding: this.padding });
    return fn(pad(input, this._reversedPadding, { mode: this.paddingMode }), this.weight, this.bias, {
      ...opts,
      padding: 0,
    });
  }
}

/**
 * torch.nn.Conv1d/Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
 * bias=True, padding_mode='zeros', *, dtype=None).
 */
function convSignature(name: string, nd: number) {
  return sig(name, {
    args: {
      inChannels: SIZE,
      outChannels: SIZE,
      kernelSize: spatial(nd, 1),
      stride: optional(spatial(nd, 1)),
      padding: optional(union(spatial(nd, 0), oneOf(['same', 'valid']))),
      dilation: optional(spatial(nd, 1)),
      groups: optional(SIZE),
      bias: optional(bool),
      paddingMode: optional(oneOf(MODES)),
    },
    options: { dtype: FLOAT_DTYPE },
  });
}

/**
 * torch.nn.ConvTranspose1d/2d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
 * groups=1, bias=True, dilation=1, padding_mode='zeros', *, dtype=None).
 */
function convTransposeSignature(name: string, nd: number) {
  return sig(name, {
    args: {
      inChannels: SIZE,
      outChannels: SIZE,
      kernelSize: spatial(nd, 1),
      stride: optional(spatial(nd, 1)),
      padding: optional(spatial(nd, 0)),
      outputPadding: optional(spatial(nd, 0)),
      groups: optional(SIZE),
      bias: optional(bool),
      dilation: optional(spatial(nd, 1)),
      paddingMode: optional(
        custom<'zeros'>(
          "'zeros' for a transposed convolution (its only padding mode, as in PyTorch)",
          (v) => v === 'zeros',
          'custom',
          'zeros',
        ),
      ),
    },
    options: { dtype: FLOAT_DTYPE },
  });
}

const CONV1D = convSignature('Conv1d', 1);
const CONV2D = convSignature('Conv2d', 2);
const CONV_TRANSPOSE1D = convTransposeSignature('ConvTranspose1d', 1);
const CONV_TRANSPOSE2D = convTransposeSignature('ConvTranspose2d', 2);

/** A layer's bound arguments as ConvNd's: every size one entry per spatial dim, the defaults filled in. */
function convNdArgs(
  a: {
    inChannels: number;
    outChannels: number;
    kernelSize: SpatialSize;
    stride?: SpatialSize;
    padding?: SpatialSize | 'same' | 'valid';
    dilation?: SpatialSize;
    outputPadding?: SpatialSize;
    groups?: number;
    bias?: boolean;
    paddingMode?: PaddingMode;
    dtype?: DType;
  },
  nd: number,
  transposed: boolean,
): ConvNdArgs {
  const each = (v: SpatialSize | undefined, dflt: number) =>
    v === undefined || typeof v === 'number' ? new Array<number>(nd).fill(v ?? dflt) : [...v];
  const padding = typeof a.padding === 'string' ? a.padding : each(a.padding, 0);
  return [
    a.inChannels,
    a.outChannels,
    each(a.kernelSize, 1),
    each(a.stride, 1),
    padding,
    each(a.dilation, 1),
    transposed,
    each(a.outputPadding, 0),
    a.groups ?? 1,
    a.bias ?? true,
    a.paddingMode ?? 'zeros',
    { dtype: a.dtype },
  ];
}

/** 1-D convolution over [N, C, L] (or [C, L]): weight [out, in/groups, k], bias [out] (torch.nn.Conv1d). */
export class Conv1d extends ConvNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SpatialSize,
    stride?: SpatialSize | ConvLayerOptions,
    padding?: SpatialSize | 'same' | 'valid' | ConvLayerOptions,
    dilation?: SpatialSize | ConvLayerOptions,
    groups?: number | ConvLayerOptions,
    bias?: boolean | ConvLayerOptions,
    paddingMode?: PaddingMode | ConvLayerOptions,
    opts?: ConvLayerOptions,
  );
  constructor(...args: unknown[]) {
    super(...convNdArgs(CONV1D.bind(args), 1, false));
  }
  override forward(input: Tensor): Tensor {
    return this._conv(conv1d, input);
  }
}

/** 2-D convolution over [N, C, H, W] (or [C, H, W]): weight [out, in/groups, kH, kW], bias [out] (torch.nn.Conv2d). */
export class Conv2d extends ConvNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SpatialSize,
    stride?: SpatialSize | ConvLayerOptions,
    padding?: SpatialSize | 'same' | 'valid' | ConvLayerOptions,
    dilation?: SpatialSize | ConvLayerOptions,
    groups?: number | ConvLayerOptions,
    bias?: boolean | ConvLayerOptions,
    paddingMode?: PaddingMode | ConvLayerOptions,
    opts?: ConvLayerOptions,
  );
  constructor(...args: unknown[]) {
    super(...convNdArgs(CONV2D.bind(args), 2, false));
  }
  override forward(input: Tensor): Tensor {
    return this._conv(conv2d, input);
  }
}

/**
 * What the transposed layers share: forward(input, outputSize?) picks the output padding that gives outputSize
 * (with or without the batch and channel dims), as torch's ConvTranspose forward(input, output_size).
 */
export class ConvTransposeNd extends ConvNd {
  _transposeConv(fn: typeof convTranspose2d, input: Tensor, outputSize?: readonly number[] | null): Tensor {
    return fn(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding as number[],
      outputPadding: this._outputPaddingFor(input, outputSize),
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  _outputPaddingFor(input: Tensor, outputSize?: readonly number[] | null): number[] {
    if (outputSize === undefined || outputSize === null) return this.outputPadding;
    const nd = this.kernelSize.length;
    const nonSpatial = input.ndim === nd + 2 ? 2 : 1;
    const size = outputSize.length === nd + nonSpatial ? outputSize.slice(nonSpatial) : Array.from(outputSize);
    const layer = this.constructor.name;
    if (size.length !== nd)
      throw new ValueError(
        `${layer}: for an input of shape ${fmtShape(input.shape)}, outputSize must have ${nd} or ${nd + nonSpatial} ` +
          `elements, got ${fmtShape(outputSize)}`,
      );
    const padding = this.padding as number[];
    return size.map((s, d) => {
      const min =
        (input.shape[input.ndim - nd + d] - 1) * this.stride[d] -
        2 * padding[d] +
        this.dilation[d] * (this.kernelSize[d] - 1) +
        1;
      const max = min + this.stride[d] - 1;
      if (!(s >= min && s <= max))
        throw new ValueError(
          `${layer}: requested an output size of ${fmtShape(size)}, but valid sizes for dim ${d} range from ${min} ` +
            `to ${max} for an input of shape ${fmtShape(input.shape)} (the strided conv maps all of them to it)`,
        );
      return s - min;
    });
  }
}

/** 1-D transposed convolution: weight [in, out/groups, k], bias [out] (torch.nn.ConvTranspose1d). */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SpatialSize,
    stride?: SpatialSize | ConvTransposeLayerOptions,
    padding?: SpatialSize | ConvTransposeLayerOptions,
    outputPadding?: SpatialSize | ConvTransposeLayerOptions,
    groups?: number | ConvTransposeLayerOptions,
    bias?: boolean | ConvTransposeLayerOptions,
    dilation?: SpatialSize | ConvTransposeLayerOptions,
    paddingMode?: 'zeros' | ConvTransposeLayerOptions,
    opts?: ConvTransposeLayerOptions,
  );
  constructor(...args: unknown[]) {
    super(...convNdArgs(CONV_TRANSPOSE1D.bind(args), 1, true));
  }
  override forward(input: Tensor, outputSize?: readonly number[] | null): Tensor {
    return this._transposeConv(convTranspose1d, input, outputSize);
  }
}

/** 2-D transposed convolution: weight [in, out/groups, kH, kW], bias [out] (torch.nn.ConvTranspose2d). */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SpatialSize,
    stride?: SpatialSize | ConvTransposeLayerOptions,
    padding?: SpatialSize | ConvTransposeLayerOptions,
    outputPadding?: SpatialSize | ConvTransposeLayerOptions,
    groups?: number | ConvTransposeLayerOptions,
    bias?: boolean | ConvTransposeLayerOptions,
    dilation?: SpatialSize | ConvTransposeLayerOptions,
    paddingMode?: 'zeros' | ConvTransposeLayerOptions,
    opts?: ConvTransposeLayerOptions,
  );
  constructor(...args: unknown[]) {
    super(...convNdArgs(CONV_TRANSPOSE2D.bind(args), 2, true));
  }
  override forward(input: Tensor, outputSize?: readonly number[] | null): Tensor {
    return this._transposeConv(convTranspose2d, input, outputSize);
  }
}

CONV_ND.describes(ConvNd);
CONV_TRANSPOSE_ND.describes(ConvTransposeNd);
CONV1D.describes(Conv1d);
CONV2D.describes(Conv2d);
CONV_TRANSPOSE1D.describes(ConvTranspose1d);
CONV_TRANSPOSE2D.describes(ConvTranspose2d);
checkMethods(Conv1d, { forward: { args: { input: tensor } } });
checkMethods(Conv2d, { forward: { args: { input: tensor } } });
/** torch's ConvTranspose forward(input, output_size=None): the size with or without the batch and channel dims. */
const TRANSPOSE_FORWARD = {
  forward: {
    args: {
      input: tensor,
      outputSize: optional(nullable(array(int({ min: 0 }), 'a list of sizes (whole numbers ≥ 0)'))),
    },
  },
};
checkMethods(ConvTranspose1d, TRANSPOSE_FORWARD);
checkMethods(ConvTranspose2d, TRANSPOSE_FORWARD);
