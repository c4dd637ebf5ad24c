/**
 * @file The convolution layers Conv1d, Conv2d, ConvTranspose1d and ConvTranspose2d, with torch.nn's parameter names,
 * layouts and default initialisation, so weights move both ways: weight [out, in/groups, ...kernel] (transposed:
 * [in, out/groups, ...kernel]) from kaiming_uniform_(a = √5), i.e. U(−1/√fanIn, 1/√fanIn) with fanIn = weight.shape[1]
 * times the kernel's size, and bias [out] from U(−1/√fanIn, 1/√fanIn). Non-zero padding modes pad explicitly, then
 * convolve without padding, as PyTorch does.
 */
import { DEFAULT_FLOAT, type DType } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { conv1d, conv2d, convTranspose1d, convTranspose2d, type SpatialSize } from '../ops/conv.js';
import { empty } from '../ops/creation.js';
import { pad } from '../ops/join.js';
import type { Tensor } from '../tensor/tensor.js';
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

const MODES: readonly string[] = ['zeros', 'reflect', 'replicate', 'circular'];

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

  constructor(
    layer: string,
    nd: number,
    inChannels: number,
    outChannels: number,
    kernelSize: SpatialSize,
    transposed: boolean,
    opts: ConvLayerOptions & { outputPadding?: SpatialSize },
  ) {
    super();
    const at = `${layer}(${inChannels}, ${outChannels}, ${JSON.stringify(kernelSize)})`;
    const tuple = (what: string, v: SpatialSize, min: number): number[] => {
      const list = typeof v === 'number' ? new Array<number>(nd).fill(v) : Array.from(v);
      if (list.length !== nd || !list.every((e) => Number.isInteger(e) && e >= min))
        throw new ValueError(
          `${at}: ${what} must be a whole number ≥ ${min} or ${nd} of them, got ${JSON.stringify(v)}`,
        );
      return list;
    };
    for (const [what, n] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const)
      if (!Number.isInteger(n) || n < 1) throw new ValueError(`${at}: ${what} must be a whole number ≥ 1, got ${n}`);
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1)
      throw new ValueError(`${at}: groups must be a whole number ≥ 1, got ${groups}`);
    if (inChannels % groups !== 0 || outChannels % groups !== 0)
      throw new ShapeError(
        `${at}: groups=${groups} must divide both inChannels (${inChannels}) and outChannels (${outChannels}), ` +
          `since each group convolves inChannels/groups channels into outChannels/groups: pick a common divisor`,
      );
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = tuple('kernelSize', kernelSize, 1);
    this.stride = tuple('stride', opts.stride ?? 1, 1);
    const padding = opts.padding ?? 0;
    if (typeof padding === 'string') {
      if (transposed || (padding !== 'same' && padding !== 'valid'))
        throw new ValueError(
          `${at}: padding '${padding}' is not supported${transposed ? ' by a transposed convolution; give numbers' : "; use numbers, 'same' or 'valid'"}`,
        );
      if (padding === 'same' && this.stride.some((s) => s !== 1))
        throw new ValueError(
          `${at}: padding='same' keeps the input's size, which stride ${fmtShape(this.stride)} cannot; use stride 1 ` +
            `or give the padding as numbers`,
        );
      this.padding = padding;
    } else this.padding = tuple('padding', padding, 0);
    this.dilation = tuple('dilation', opts.dilation ?? 1, 1);
    this.transposed = transposed;
    this.outputPadding = tuple('outputPadding', opts.outputPadding ?? 0, 0);
    this.groups = groups;
    const mode = opts.paddingMode ?? 'zeros';
    if (!MODES.includes(mode) || (transposed && mode !== 'zeros'))
      throw new ValueError(
        `${at}: paddingMode must be ${transposed ? "'zeros' for a transposed convolution" : MODES.map((m) => `'${m}'`).join(', ')}, got '${mode}'`,
      );
    this.paddingMode = mode;
    const dtype = opts.dtype ?? DEFAULT_FLOAT;
    const shape = transposed
      ? [inChannels, outChannels / groups, ...this.kernelSize]
      : [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = Parameter(empty(shape, { dtype }));
    this.bias = (opts.bias ?? true) ? Parameter(empty([outChannels], { dtype })) : null;
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

/** 1-D convolution over [N, C, L] (or [C, L]): weight [out, in/groups, k], bias [out] (torch.nn.Conv1d). */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialSize, opts: ConvLayerOptions = {}) {
    super('Conv1d', 1, inChannels, outChannels, kernelSize, false, opts);
  }
  override forward(input: Tensor): Tensor {
    return this._conv(conv1d, input);
  }
}

/** 2-D convolution over [N, C, H, W] (or [C, H, W]): weight [out, in/groups, kH, kW], bias [out] (torch.nn.Conv2d). */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialSize, opts: ConvLayerOptions = {}) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, false, opts);
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
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialSize, opts: ConvTransposeLayerOptions = {}) {
    super('ConvTranspose1d', 1, inChannels, outChannels, kernelSize, true, opts);
  }
  override forward(input: Tensor, outputSize?: readonly number[] | null): Tensor {
    return this._transposeConv(convTranspose1d, input, outputSize);
  }
}

/** 2-D transposed convolution: weight [in, out/groups, kH, kW], bias [out] (torch.nn.ConvTranspose2d). */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialSize, opts: ConvTransposeLayerOptions = {}) {
    super('ConvTranspose2d', 2, inChannels, outChannels, kernelSize, true, opts);
  }
  override forward(input: Tensor, outputSize?: readonly number[] | null): Tensor {
    return this._transposeConv(convTranspose2d, input, outputSize);
  }
}
