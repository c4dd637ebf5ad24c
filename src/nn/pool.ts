/**
 * @file The pooling and resampling layers MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d and Upsample: torch.nn's
 * modules over the functional ops of src/ops/pool.ts. They hold no parameters; their reprs are torch's, which print
 * the sizes as given (MaxPool2d(kernel_size=2, …)) except AvgPool1d's, which torch turns into tuples.
 */
import {
  array,
  bool,
  checkMethods,
  int,
  nullable,
  number,
  oneOf,
  optional,
  sig,
  tensor,
  tuple,
  union,
} from '../core/args.js';
import type { SpatialSize } from '../ops/conv.js';
import {
  type AvgPool2dOptions,
  type AvgPoolOptions,
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  avgPool1d,
  avgPool2d,
  DIVISOR_OVERRIDE,
  type InterpolateMode,
  interpolate,
  type MaxPoolOptions,
  maxPool1d,
  maxPool2d,
} from '../ops/pool.js';
import type { Tensor } from '../tensor/tensor.js';
import { sizes, spatial } from './args.js';
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
 * torch.nn.MaxPool1d/2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False),
 * the sizes one number or one per spatial dim (nd); stride null is the kernel size. MaxPoolNd (torch's _MaxPoolNd)
 * takes the same, with lists of any length, whose length the op checks.
 */
function maxPoolSignature(name: string, nd?: number) {
  const size = (min: number) => (nd ? spatial(nd, min) : sizes(min));
  return sig(name, {
    args: {
      kernelSize: size(1),
      stride: optional(nullable(size(1))),
      padding: optional(size(0)),
      dilation: optional(size(1)),
      returnIndices: optional(bool),
      ceilMode: optional(bool),
    },
  });
}
const MAX_POOL_ND = maxPoolSignature('MaxPoolNd');
const MAX_POOL1D = maxPoolSignature('MaxPool1d', 1);
const MAX_POOL2D = maxPoolSignature('MaxPool2d', 2);

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

  constructor(kernelSize: SpatialSize, opts?: MaxPoolOptions & { returnIndices?: R });
  constructor(
    kernelSize: SpatialSize,
    stride: SpatialSize | null | undefined,
    padding?: SpatialSize,
    dilation?: SpatialSize,
    returnIndices?: R,
    ceilMode?: boolean,
    opts?: MaxPoolOptions & { returnIndices?: R },
  );
  constructor(...args: unknown[]) {
    super();
    // The layers share this constructor; each has its own signature, so messages name the one called.
    const s = this instanceof MaxPool2d ? MAX_POOL2D : this instanceof MaxPool1d ? MAX_POOL1D : MAX_POOL_ND;
    const a = s.bind(args);
    this.kernelSize = a.kernelSize;
    this.stride = a.stride ?? a.kernelSize;
    this.padding = a.padding ?? 0;
    this.dilation = a.dilation ?? 1;
    this.returnIndices = (a.returnIndices ?? false) as R;
    this.ceilMode = a.ceilMode ?? false;
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

MAX_POOL_ND.describes(MaxPoolNd);
MAX_POOL1D.describes(MaxPool1d);
MAX_POOL2D.describes(MaxPool2d);
checkMethods(MaxPool1d, { forward: { args: { input: tensor } } });
checkMethods(MaxPool2d, { forward: { args: { input: tensor } } });

/** torch.nn.AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True). */
const AVG_POOL1D = sig('AvgPool1d', {
  args: {
    kernelSize: spatial(1, 1),
    stride: optional(nullable(spatial(1, 1))),
    padding: optional(spatial(1, 0)),
    ceilMode: optional(bool),
    countIncludePad: optional(bool),
  },
});

/** 1-D average pooling (torch.nn.AvgPool1d). */
export class AvgPool1d extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(
    kernelSize: SpatialSize,
    stride?: SpatialSize | null | AvgPoolOptions,
    padding?: SpatialSize | AvgPoolOptions,
    ceilMode?: boolean | AvgPoolOptions,
    countIncludePad?: boolean | AvgPoolOptions,
    opts?: AvgPoolOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = AVG_POOL1D.bind(args);
    // torch stores AvgPool1d's sizes as 1-tuples (and so prints them).
    this.kernelSize = single(a.kernelSize);
    this.stride = single(a.stride ?? a.kernelSize);
    this.padding = single(a.padding ?? 0);
    this.ceilMode = a.ceilMode ?? false;
    this.countIncludePad = a.countIncludePad ?? true;
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

AVG_POOL1D.describes(AvgPool1d);
checkMethods(AvgPool1d, { forward: { args: { input: tensor } } });

/**
 * torch.nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
 * divisor_override=None).
 */
const AVG_POOL2D = sig('AvgPool2d', {
  args: {
    kernelSize: spatial(2, 1),
    stride: optional(nullable(spatial(2, 1))),
    padding: optional(spatial(2, 0)),
    ceilMode: optional(bool),
    countIncludePad: optional(bool),
    divisorOverride: DIVISOR_OVERRIDE,
  },
});

/** 2-D average pooling (torch.nn.AvgPool2d). */
export class AvgPool2d extends Module {
  readonly kernelSize: SpatialSize;
  readonly stride: SpatialSize;
  readonly padding: SpatialSize;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(
    kernelSize: SpatialSize,
    stride?: SpatialSize | null | AvgPool2dOptions,
    padding?: SpatialSize | AvgPool2dOptions,
    ceilMode?: boolean | AvgPool2dOptions,
    countIncludePad?: boolean | AvgPool2dOptions,
    divisorOverride?: number | null | AvgPool2dOptions,
    opts?: AvgPool2dOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = AVG_POOL2D.bind(args);
    this.kernelSize = a.kernelSize;
    this.stride = a.stride ?? a.kernelSize;
    this.padding = a.padding ?? 0;
    this.ceilMode = a.ceilMode ?? false;
    this.countIncludePad = a.countIncludePad ?? true;
    this.divisorOverride = a.divisorOverride ?? null;
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

AVG_POOL2D.describes(AvgPool2d);
checkMethods(AvgPool2d, { forward: { args: { input: tensor } } });

type OutputSize = number | readonly (number | null)[];

/** torch.nn.AdaptiveAvgPool1d(output_size). */
const ADAPTIVE_AVG_POOL1D = sig('AdaptiveAvgPool1d', { args: { outputSize: spatial(1, 1) } });

/** Average pooling to a fixed output size, whatever the input's (torch.nn.AdaptiveAvgPool1d). */
export class AdaptiveAvgPool1d extends Module {
  readonly outputSize: SpatialSize;
  constructor(outputSize: SpatialSize | { outputSize: SpatialSize });
  constructor(...args: unknown[]) {
    super();
    this.outputSize = ADAPTIVE_AVG_POOL1D.bind(args).outputSize;
  }
  override forward(input: Tensor): Tensor {
    return adaptiveAvgPool1d(input, this.outputSize);
  }
  override extraRepr(): string {
    return `output_size=${py(this.outputSize)}`;
  }
}

ADAPTIVE_AVG_POOL1D.describes(AdaptiveAvgPool1d);
checkMethods(AdaptiveAvgPool1d, { forward: { args: { input: tensor } } });

/** torch.nn.AdaptiveAvgPool2d(output_size): a size, or one per dim where null keeps the input's. */
const ADAPTIVE_AVG_POOL2D = sig('AdaptiveAvgPool2d', {
  args: {
    outputSize: union(
      int({ min: 1 }),
      tuple([nullable(int({ min: 1 })), nullable(int({ min: 1 }))], 'a list of 2 sizes ≥ 1 (null keeps that dim)'),
    ),
  },
});

/** Average pooling to a fixed output size (null keeps that dim), whatever the input's (torch.nn.AdaptiveAvgPool2d). */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: OutputSize;
  constructor(outputSize: OutputSize | { outputSize: OutputSize });
  constructor(...args: unknown[]) {
    super();
    this.outputSize = ADAPTIVE_AVG_POOL2D.bind(args).outputSize;
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

ADAPTIVE_AVG_POOL2D.describes(AdaptiveAvgPool2d);
checkMethods(AdaptiveAvgPool2d, { forward: { args: { input: tensor } } });

/**
 * torch.nn.Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None, recompute_scale_factor=None),
 * with the modes interpolate has. Whether exactly one of size and scaleFactor is given is interpolate's to say, at
 * forward, as in PyTorch.
 */
const UPSAMPLE = sig('Upsample', {
  args: {
    size: optional(nullable(sizes(1))),
    scaleFactor: optional(nullable(union(number({ gt: 0 }), array(number({ gt: 0 }))))),
    mode: optional(oneOf(['nearest', 'nearest-exact', 'linear', 'bilinear'])),
    alignCorners: optional(nullable(bool)),
    recomputeScaleFactor: optional(nullable(bool)),
  },
});

/** Resamples [N, C, L] or [N, C, H, W] to a size or by a scale factor (torch.nn.Upsample, via interpolate). */
export class Upsample extends Module {
  readonly size: SpatialSize | null;
  readonly scaleFactor: number | readonly number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;
  readonly recomputeScaleFactor: boolean | null;

  constructor(
    size?: SpatialSize | null | UpsampleOptions,
    scaleFactor?: number | readonly number[] | null | UpsampleOptions,
    mode?: InterpolateMode | UpsampleOptions,
    alignCorners?: boolean | null | UpsampleOptions,
    recomputeScaleFactor?: boolean | null | UpsampleOptions,
    opts?: UpsampleOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = UPSAMPLE.bind(args);
    this.size = a.size ?? null;
    this.scaleFactor = a.scaleFactor ?? null;
    this.mode = a.mode ?? 'nearest';
    this.alignCorners = a.alignCorners ?? null;
    this.recomputeScaleFactor = a.recomputeScaleFactor ?? null;
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

UPSAMPLE.describes(Upsample);
checkMethods(Upsample, { forward: { args: { input: tensor } } });
