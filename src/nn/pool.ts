/**
 * @file The pooling and resampling layers MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d and Upsample: torch.nn's
 * modules over the functional ops of src/ops/pool.ts. They hold no parameters; their reprs are torch's, which print
 * the sizes as given (MaxPool2d(kernel_size=2, …)) except AvgPool1d's, which torch turns into tuples.
 */
import { ValueError } from '../core/errors.js';
import type { SpatialSize } from '../ops/conv.js';
import {
  type AvgPool2dOptions,
  type AvgPoolOptions,
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  avgPool1d,
  avgPool2d,
  type InterpolateMode,
  interpolate,
  type MaxPoolOptions,
  maxPool1d,
  maxPool2d,
} from '../ops/pool.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

const pyBool = (b: boolean) => (b ? 'True' : 'False');
/** Python's repr of a float: 2 → 2.0. */
const pyFloat = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
/** Python's str of a size as the user gave it: 2, (2, 3), (3,), None. */
function py(v: number | readonly (number | null)[] | null, f: (n: number) => string = String): string {
  if (v === null) return 'None';
  if (typeof v === 'number') return f(v);
  const items = v.map((e) => (e === null ? 'None' : f(e)));
  return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;
}
const single = (v: SpatialSize) => (typeof v === 'number' ? [v] : Array.from(v));

/**
 * What a max-pooling layer's forward returns: the values, or [values, indices] when built with returnIndices true;
 * either when returnIndices is a boolean the compiler cannot pin down.
 */
export type MaxPoolResult<R extends boolean> = R extends true ? [Tensor, Tensor] : Tensor;

/**
 * What MaxPool1d and MaxPool2d share: the window as given (torch prints it so) and the repr. R is returnIndices as
 * the compiler sees it at construction — `new MaxPool2d(2)` is a MaxPool2d<false> whose forward returns a Tensor,
 * `new MaxPool2d(2, {returnIndices: true})` a MaxPool2d<true> whose forward returns [values, indices] — so no use
 * needs a cast.
 */
export class MaxPoolNd<R extends boolean = false> extends Module {
  readonly kernelSize: SpatialSize;
  readonly stride: SpatialSize;
  readonly padding: SpatialSize;
  readonly dilation: SpatialSize;
  readonly returnIndices: R;
  readonly ceilMode: boolean;

  constructor(kernelSize: SpatialSize, opts: MaxPoolOptions & { returnIndices?: R } = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.returnIndices = (opts.returnIndices ?? false) as R;
    this.ceilMode = opts.ceilMode ?? false;
  }

  get _opts(): MaxPoolOptions {
    return {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
      returnIndices: this.returnIndices,
    };
  }

  override extraRepr(): string {
    return (
      `kernel_size=${py(this.kernelSize)}, stride=${py(this.stride)}, padding=${py(this.padding)}, ` +
      `dilation=${py(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`
    );
  }
}

/** 1-D max pooling (torch.nn.MaxPool1d); with returnIndices, forward returns [values, indices]. */
export class MaxPool1d<R extends boolean = false> extends MaxPoolNd<R> {
  override forward(input: Tensor): MaxPoolResult<R> {
    // The one cast: the functional op's result follows the returnIndices this layer was built with.
    return maxPool1d(input, this.kernelSize, this._opts) as MaxPoolResult<R>;
  }
}

/** 2-D max pooling (torch.nn.MaxPool2d); with returnIndices, forward returns [values, indices]. */
export class MaxPool2d<R extends boolean = false> extends MaxPoolNd<R> {
  override forward(input: Tensor): MaxPoolResult<R> {
    return maxPool2d(input, this.kernelSize, this._opts) as MaxPoolResult<R>;
  }
}

/** 1-D average pooling (torch.nn.AvgPool1d). */
export class AvgPool1d extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: SpatialSize, opts: AvgPoolOptions = {}) {
    super();
    // torch stores AvgPool1d's sizes as 1-tuples (and so prints them).
    this.kernelSize = single(kernelSize);
    this.stride = single(opts.stride ?? kernelSize);
    this.padding = single(opts.padding ?? 0);
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
  }

  override forward(input: Tensor): Tensor {
    return avgPool1d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${py(this.kernelSize)}, stride=${py(this.stride)}, padding=${py(this.padding)}`;
  }
}

/** 2-D average pooling (torch.nn.AvgPool2d). */
export class AvgPool2d extends Module {
  readonly kernelSize: SpatialSize;
  readonly stride: SpatialSize;
  readonly padding: SpatialSize;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: SpatialSize, opts: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride ?? null;
  }

  override forward(input: Tensor): Tensor {
    return avgPool2d(input, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
      divisorOverride: this.divisorOverride,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${py(this.kernelSize)}, stride=${py(this.stride)}, padding=${py(this.padding)}`;
  }
}

type OutputSize = number | readonly (number | null)[];

/** Average pooling to a fixed output size, whatever the input's (torch.nn.AdaptiveAvgPool1d). */
export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: number) {
    super();
  }
  override forward(input: Tensor): Tensor {
    return adaptiveAvgPool1d(input, this.outputSize);
  }
  override extraRepr(): string {
    return `output_size=${py(this.outputSize)}`;
  }
}

/** Average pooling to a fixed output size (null keeps that dim), whatever the input's (torch.nn.AdaptiveAvgPool2d). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: OutputSize) {
    super();
  }
  override forward(input: Tensor): Tensor {
    return adaptiveAvgPool2d(input, this.outputSize);
  }
  override extraRepr(): string {
    return `output_size=${py(this.outputSize)}`;
  }
}

export interface UpsampleOptions {
  size?: SpatialSize | null;
  scaleFactor?: number | readonly number[] | null;
  /** Default 'nearest'. */
  mode?: InterpolateMode;
  alignCorners?: boolean | null;
  recomputeScaleFactor?: boolean | null;
}

/** Resamples [N, C, L] or [N, C, H, W] to a size or by a scale factor (torch.nn.Upsample, via interpolate). */
export class Upsample extends Module {
  readonly size: SpatialSize | null;
  readonly scaleFactor: number | readonly number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;
  readonly recomputeScaleFactor: boolean | null;

  constructor(opts: UpsampleOptions = {}) {
    super();
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
      throw new ValueError(
        `Upsample: takes an options object like {scaleFactor: 2} or {size: [H, W], mode: 'bilinear'}, got ` +
          `${JSON.stringify(opts)}`,
      );
    this.size = opts.size ?? null;
    this.scaleFactor = opts.scaleFactor ?? null;
    this.mode = opts.mode ?? 'nearest';
    this.alignCorners = opts.alignCorners ?? null;
    this.recomputeScaleFactor = opts.recomputeScaleFactor ?? null;
  }

  override forward(input: Tensor): Tensor {
    return interpolate(input, {
      size: this.size,
      scaleFactor: this.scaleFactor,
      mode: this.mode,
      alignCorners: this.alignCorners,
      recomputeScaleFactor: this.recomputeScaleFactor,
    });
  }

  override extraRepr(): string {
    const info = this.scaleFactor !== null ? `scale_factor=${py(this.scaleFactor, pyFloat)}` : `size=${py(this.size)}`;
    return `${info}, mode=${this.mode}`;
  }
}
