/**
 * @file Activation modules (torch.nn.ReLU, GELU, SiLU, Tanh, Sigmoid, Softmax, LogSoftmax, LeakyReLU, ELU, Softplus):
 * parameter-free wrappers of the functional ops, with PyTorch's constructor arguments and reprs.
 */
import { bool, checkMethods, dim, number, oneOf, optional, type Signature, sig, tensor } from '../core/args.js';
import { elu, gelu, leakyRelu, relu, sigmoid, silu, softplus, tanh } from '../ops/elementwise.js';
import { copy_ } from '../ops/inplace.js';
import { clone } from '../ops/shape.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** A float as Python's repr prints it (0.5, 1.0, 1e-05), for reprs that match PyTorch's. */
function pyFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}

/**
 * f(input), written into the input when the layer was built with inplace (PyTorch's relu_ and friends). As the
 * in-place ops do (src/ops/inplace.ts), f reads a copy, so what its backward saved is not the tensor overwritten.
 */
function applied(inplace: boolean, input: Tensor, f: (x: Tensor) => Tensor): Tensor {
  return inplace ? copy_(input, f(clone(input))) : f(input);
}

const INPLACE = { inplace: optional(bool) };

/** torch.nn.ReLU(inplace=False). */
const RELU = sig('ReLU', { args: INPLACE });

/** max(0, x); with inplace, written into the input. */
export class ReLU extends Module {
  readonly inplace: boolean;
  constructor(inplace?: boolean | { inplace?: boolean });
  constructor(...args: unknown[]) {
    super();
    this.inplace = RELU.bind(args).inplace ?? false;
  }
  override forward(input: Tensor): Tensor {
    return applied(this.inplace, input, relu);
  }
  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** torch.nn.GELU(approximate='none'). */
const GELU_SIG = sig('GELU', { args: { approximate: optional(oneOf(['none', 'tanh'])) } });

/** x·Φ(x), or its tanh approximation with approximate 'tanh'. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(approximate?: 'none' | 'tanh' | { approximate?: 'none' | 'tanh' });
  constructor(...args: unknown[]) {
    super();
    this.approximate = GELU_SIG.bind(args).approximate ?? 'none';
  }
  override forward(input: Tensor): Tensor {
    return gelu(input, { approximate: this.approximate });
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** torch.nn.SiLU(inplace=False). */
const SILU = sig('SiLU', { args: INPLACE });

/** x·sigmoid(x); with inplace, written into the input. */
export class SiLU extends Module {
  readonly inplace: boolean;
  constructor(inplace?: boolean | { inplace?: boolean });
  constructor(...args: unknown[]) {
    super();
    this.inplace = SILU.bind(args).inplace ?? false;
  }
  override forward(input: Tensor): Tensor {
    return applied(this.inplace, input, silu);
  }
  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** torch.nn.Tanh(): no arguments. */
const TANH = sig('Tanh');

export class Tanh extends Module {
  constructor();
  constructor(...args: unknown[]) {
    super();
    TANH.bind(args);
  }
  override forward(input: Tensor): Tensor {
    return tanh(input);
  }
}

/** torch.nn.Sigmoid(): no arguments. */
const SIGMOID = sig('Sigmoid');

export class Sigmoid extends Module {
  constructor();
  constructor(...args: unknown[]) {
    super();
    SIGMOID.bind(args);
  }
  override forward(input: Tensor): Tensor {
    return sigmoid(input);
  }
}

/** torch.nn.Softmax(dim), with dim required: PyTorch's implicit choice of dim is deprecated. */
const SOFTMAX = sig('Softmax', { args: { dim } });

/** softmax along dim (required: PyTorch's implicit choice of dim is deprecated). */
export class Softmax extends Module {
  readonly dim: number;
  constructor(dim: number | { dim: number });
  constructor(...args: unknown[]) {
    super();
    this.dim = SOFTMAX.bind(args).dim;
  }
  override forward(input: Tensor): Tensor {
    return softmax(input, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** torch.nn.LogSoftmax(dim), with dim required as for Softmax. */
const LOG_SOFTMAX = sig('LogSoftmax', { args: { dim } });

/** logSoftmax along dim. */
export class LogSoftmax extends Module {
  readonly dim: number;
  constructor(dim: number | { dim: number });
  constructor(...args: unknown[]) {
    super();
    this.dim = LOG_SOFTMAX.bind(args).dim;
  }
  override forward(input: Tensor): Tensor {
    return logSoftmax(input, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** torch.nn.LeakyReLU(negative_slope=0.01, inplace=False). */
const LEAKY_RELU = sig('LeakyReLU', { args: { negativeSlope: optional(number()), ...INPLACE } });

/** max(0, x) + negativeSlope·min(0, x); with inplace, written into the input. */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(
    negativeSlope?: number | { negativeSlope?: number; inplace?: boolean },
    inplace?: boolean | { inplace?: boolean },
  );
  constructor(...args: unknown[]) {
    super();
    const a = LEAKY_RELU.bind(args);
    this.negativeSlope = a.negativeSlope ?? 0.01;
    this.inplace = a.inplace ?? false;
  }
  override forward(input: Tensor): Tensor {
    return applied(this.inplace, input, (x) => leakyRelu(x, this.negativeSlope));
  }
  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

/** torch.nn.ELU(alpha=1.0, inplace=False). */
const ELU_SIG = sig('ELU', { args: { alpha: optional(number()), ...INPLACE } });

/** x for x > 0, alpha·(exp(x) − 1) otherwise; with inplace, written into the input. */
export class ELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;
  constructor(alpha?: number | { alpha?: number; inplace?: boolean }, inplace?: boolean | { inplace?: boolean });
  constructor(...args: unknown[]) {
    super();
    const a = ELU_SIG.bind(args);
    this.alpha = a.alpha ?? 1;
    this.inplace = a.inplace ?? false;
  }
  override forward(input: Tensor): Tensor {
    return applied(this.inplace, input, (x) => elu(x, this.alpha));
  }
  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

/** torch.nn.Softplus(beta=1, threshold=20). */
const SOFTPLUS = sig('Softplus', { args: { beta: optional(number()), threshold: optional(number()) } });

/** log(1 + exp(beta·x)) / beta, linear above threshold. */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(beta?: number | { beta?: number; threshold?: number }, threshold?: number | { threshold?: number });
  constructor(...args: unknown[]) {
    super();
    const a = SOFTPLUS.bind(args);
    this.beta = a.beta ?? 1;
    this.threshold = a.threshold ?? 20;
  }
  override forward(input: Tensor): Tensor {
    return softplus(input, { beta: this.beta, threshold: this.threshold });
  }
  override extraRepr(): string {
    // PyTorch's defaults are Python ints, so its repr prints them without a decimal point.
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** Each class's constructor signature, and its forward(input: Tensor). */
const SIGNATURES: [{ prototype: Module; name: string }, Signature<any, any>][] = [
  [ReLU, RELU],
  [GELU, GELU_SIG],
  [SiLU, SILU],
  [Tanh, TANH],
  [Sigmoid, SIGMOID],
  [Softmax, SOFTMAX],
  [LogSoftmax, LOG_SOFTMAX],
  [LeakyReLU, LEAKY_RELU],
  [ELU, ELU_SIG],
  [Softplus, SOFTPLUS],
];
for (const [cls, s] of SIGNATURES) {
  s.describes(cls);
  checkMethods(cls, { forward: { args: { input: tensor } } });
}
