/**
 * @file The linear layers and the shape-only ones: Linear, Bilinear, Identity, Flatten, Unflatten — torch.nn's
 * parameter names, shapes and default initialisation (Linear: kaiming_uniform_(a = √5), i.e. U(−1/√in, 1/√in), for
 * the weight and U(−1/√in, 1/√in) for the bias; Bilinear: U(−1/√in1, 1/√in1) for both), so weights move both ways.
 */

import { linear } from '../api/functional.js';
import { any, array, bool, checkMethods, dim, int, optional, sig, tensor } from '../core/args.js';
import { DEFAULT_FLOAT, type DType } from '../core/dtype.js';
import { empty } from '../ops/creation.js';
import { bilinear, unflatten } from '../ops/nnops.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { FEATURES, FLOAT_DTYPE } from './args.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { Module, Parameter } from './module.js';

export interface LinearOptions {
  /** Learn an additive bias. Default true. */
  bias?: boolean;
  /** The parameters' dtype; default float32. */
  dtype?: DType;
}

const pyBool = (b: boolean) => (b ? 'True' : 'False');

/** torch.nn.Linear(in_features, out_features, bias=True, *, dtype=None). */
const LINEAR = sig('Linear', {
  args: { inFeatures: FEATURES, outFeatures: FEATURES, bias: optional(bool) },
  options: { dtype: FLOAT_DTYPE },
});

/** y = x·Wᵀ + b: weight [outFeatures, inFeatures], bias [outFeatures] (torch.nn.Linear). */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, bias?: boolean | LinearOptions, opts?: LinearOptions);
  constructor(...args: unknown[]) {
    super();
    const a = LINEAR.bind(args);
    this.inFeatures = a.inFeatures;
    this.outFeatures = a.outFeatures;
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    this.weight = Parameter(empty([a.outFeatures, a.inFeatures], { dtype }));
    this.bias = (a.bias ?? true) ? Parameter(empty([a.outFeatures], { dtype })) : null;
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

  override forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

LINEAR.describes(Linear);
checkMethods(Linear, { forward: { args: { input: tensor } } });

/** torch.nn.Bilinear(in1_features, in2_features, out_features, bias=True, *, dtype=None). */
const BILINEAR = sig('Bilinear', {
  args: { in1Features: FEATURES, in2Features: FEATURES, outFeatures: FEATURES, bias: optional(bool) },
  options: { dtype: FLOAT_DTYPE },
});

/** y = x1ᵀ·A·x2 + b: weight [outFeatures, in1Features, in2Features], bias [outFeatures] (torch.nn.Bilinear). */
export class Bilinear extends Module {
  readonly in1Features: number;
  readonly in2Features: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(
    in1Features: number,
    in2Features: number,
    outFeatures: number,
    bias?: boolean | LinearOptions,
    opts?: LinearOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = BILINEAR.bind(args);
    this.in1Features = a.in1Features;
    this.in2Features = a.in2Features;
    this.outFeatures = a.outFeatures;
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    this.weight = Parameter(empty([a.outFeatures, a.in1Features, a.in2Features], { dtype }));
    this.bias = (a.bias ?? true) ? Parameter(empty([a.outFeatures], { dtype })) : null;
    this.resetParameters();
  }

  /** PyTorch's initialisation: U(−1/√in1Features, 1/√in1Features) for the weight and the bias. */
  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.weight.shape[1]);
    uniform_(this.weight, -bound, bound);
    if (this.bias) uniform_(this.bias, -bound, bound);
  }

  override forward(input1: Tensor, input2: Tensor): Tensor {
    return bilinear(input1, input2, this.weight, this.bias);
  }

  override extraRepr(): string {
    return (
      `in1_features=${this.in1Features}, in2_features=${this.in2Features}, ` +
      `out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`
    );
  }
}

BILINEAR.describes(Bilinear);
checkMethods(Bilinear, { forward: { args: { input1: tensor, input2: tensor } } });

/**
 * torch.nn.Identity(*args, **kwargs): takes any arguments, positional or an options object, and ignores them all,
 * as PyTorch's does, so it can stand in for any layer whose arguments are already written out. Hence `any`.
 */
const IDENTITY = sig('Identity', { rest: any });

/** Returns its input unchanged (the same tensor); any constructor arguments are ignored, as in PyTorch. */
export class Identity extends Module {
  constructor(...args: unknown[]) {
    super();
    IDENTITY.bind(args);
  }
  override forward(input: Tensor): Tensor {
    return input;
  }
}

IDENTITY.describes(Identity);
checkMethods(Identity, { forward: { args: { input: tensor } } });

/** torch.nn.Flatten(start_dim=1, end_dim=-1). */
const FLATTEN = sig('Flatten', { args: { startDim: optional(dim), endDim: optional(dim) } });

/** Merges dims startDim..endDim into one (default: all but the batch dim), as torch.nn.Flatten. */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(startDim?: number | { startDim?: number; endDim?: number }, endDim?: number | { endDim?: number });
  constructor(...args: unknown[]) {
    super();
    const a = FLATTEN.bind(args);
    this.startDim = a.startDim ?? 1;
    this.endDim = a.endDim ?? -1;
  }
  override forward(input: Tensor): Tensor {
    return flatten(input, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

FLATTEN.describes(Flatten);
checkMethods(Flatten, { forward: { args: { input: tensor } } });

/** torch.nn.Unflatten(dim, unflattened_size); named dims (a string dim) do not exist in adjoint. */
const UNFLATTEN = sig('Unflatten', {
  args: { dim, unflattenedSize: array(int(), 'an array of whole numbers (one may be -1)') },
});

/** Splits dim into unflattenedSize (one entry may be -1), as torch.nn.Unflatten. */
export class Unflatten extends Module {
  readonly dim: number;
  readonly unflattenedSize: readonly number[];
  constructor(dim: number, unflattenedSize: readonly number[]);
  constructor(...args: unknown[]) {
    super();
    const a = UNFLATTEN.bind(args);
    this.dim = a.dim;
    this.unflattenedSize = a.unflattenedSize.slice();
  }
  override forward(input: Tensor): Tensor {
    return unflatten(input, this.dim, this.unflattenedSize);
  }
  override extraRepr(): string {
    const s = this.unflattenedSize;
    return `dim=${this.dim}, unflattened_size=(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
  }
}

UNFLATTEN.describes(Unflatten);
checkMethods(Unflatten, { forward: { args: { input: tensor } } });
