/**
 * @file softmax and logSoftmax. They are primitives, not compositions of exp, sum and div, for numerical stability
 * (the kernel subtracts each line's max, so exp never overflows, and logSoftmax is x − max − log Σ exp(x − max),
 * never the log of an underflowed 0) and for speed (one kernel, one output, no temporaries). Their VJP and JVP
 * rules are written with differentiable ops on the saved output, so second derivatives work.
 */
import type { View } from '../backend/backend.js';
import { checked, dim as dimArg, dtype as dtypeArg, optional, tensor } from '../core/args.js';
import { type DType, isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape } from '../core/errors.js';
import { normDim, numel } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, defineOp, sumText } from './define.js';
import { add, exp, mul, sub, toDtype } from './elementwise.js';
import { installMethods } from './methods.js';
import { sum } from './reduce.js';
import { type Sample, testedOp } from './registry.js';

interface SoftmaxParams {
  dim: number;
}

export interface SoftmaxOptions {
  /** Cast the input to this dtype first (PyTorch's dtype argument), e.g. to compute a float32 input in float64. */
  dtype?: DType;
}

/** A 0-d tensor is one line of length 1 for the kernel, which needs a dim to walk. */
function lineView(t: Tensor): View {
  const v = t._view();
  return t.ndim === 0 ? { ...v, shape: [1], strides: [1] } : v;
}

const softmaxOp = defineOp<SoftmaxParams>({
  name: 'softmax',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  overwrites: true,
  forward: (k, out, [x], p) => k.softmax('softmax', lineView(out), lineView(x), p.dim),
  saveInputs: 'none',
  saveOutput: true,
  // y ⊙ (g − Σ g ⊙ y): the Jacobian diag(y) − y yᵀ applied without forming it.
  vjp: (g, c) => [_softmaxVjp(g, c.out!, c.params.dim)],
  jvp: ([t], c) => {
    const y = c.out!;
    return mul(y, sub(t!, sum(mul(t!, y), c.params.dim, true)));
  },
  flops: (ins) => 4 * numel(ins[0].shape),
  explain: ({ dy, y, params, outShape }) => [`${y} ⊙ (${dy} − ${lineSum(params.dim, outShape.length)}(${dy} ⊙ ${y}))`],
});

/**
 * Softmax's VJP y ⊙ (g − Σ g ⊙ y) as one primitive, for speed: one kernel pass and one output instead of mul, sum,
 * sub and mul with three temporaries (the kernel rounds each step as they would, so the values are theirs). Its own
 * rules are compositions, so softmax's second derivatives still work: with s = Σ g ⊙ y, the output's cotangent u
 * gives dg = _softmaxVjp(u, y) and dy = u ⊙ (g − s) − g ⊙ Σ u ⊙ y.
 */
const softmaxBackwardOp = defineOp<SoftmaxParams>({
  name: 'softmaxBackward',
  backwardName: 'SoftmaxBackwardBackward',
  infer: ([, y]) => ({ shape: y.shape.slice(), dtype: y.dtype }),
  forward: (k, out, [g, y], p) => k.softmaxBackward(lineView(out), lineView(g), lineView(y), p.dim),
  saveInputs: 'all',
  vjp: (u, c) => {
    const [g, y] = c.inputs as [Tensor, Tensor];
    const d = c.params.dim;
    const uy = c.needs[1] ? sum(mul(u, y), d, true) : null;
    return [
      c.needs[0] && _softmaxVjp(u, y, d),
      c.needs[1] && sub(mul(u, sub(g, sum(mul(g, y), d, true))), mul(g, uy!)),
    ];
  },
  jvp: ([tg, ty], c) => {
    const [g, y] = c.inputs as [Tensor, Tensor];
    const d = c.params.dim;
    // d[y ⊙ (g − s)] = ty ⊙ (g − s) + y ⊙ (tg − ds), ds = Σ (tg ⊙ y + g ⊙ ty).
    const parts = [tg && mul(tg, y), ty && mul(g, ty)].filter((t): t is Tensor => !!t);
    const ds = sum(parts.length === 2 ? add(parts[0], parts[1]) : parts[0], d, true);
    const yTerm = mul(y, tg ? sub(tg, ds) : mul(ds, -1));
    return ty ? add(mul(ty, sub(g, sum(mul(g, y), d, true))), yTerm) : yTerm;
  },
  flops: (ins) => 4 * numel(ins[1].shape),
});

/** y ⊙ (g − Σ_dim g ⊙ y), fused where g and y share a dtype (else composed, promoting as mul and sub do). */
export function _softmaxVjp(g: Tensor, y: Tensor, dim: number): Tensor {
  if (g.dtype !== y.dtype) return mul(y, sub(g, sum(mul(g, y), dim, true)));
  return apply(softmaxBackwardOp, [g, y], { dim });
}

/** The sum along softmax's dim, as explain writes it. */
function lineSum(dim: number, ndim: number): string {
  return ndim === 0 ? '' : `${sumText([dim], ndim)} `;
}

const logSoftmaxOp = defineOp<SoftmaxParams>({
  name: 'logSoftmax',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  overwrites: true,
  forward: (k, out, [x], p) => k.softmax('logSoftmax', lineView(out), lineView(x), p.dim),
  saveInputs: 'none',
  saveOutput: true,
  // g − softmax ⊙ Σ g, with softmax = exp(out).
  vjp: (g, c) => [sub(g, mul(exp(c.out!), sum(g, c.params.dim, true)))],
  jvp: ([t], c) => sub(t!, sum(mul(t!, exp(c.out!)), c.params.dim, true)),
  flops: (ins) => 4 * numel(ins[0].shape),
  explain: ({ dy, y, params, outShape }) => [`${dy} − exp(${y}) ⊙ ${lineSum(params.dim, outShape.length)}${dy}`],
});

function prepare(name: string, x: Tensor, dtype = x.dtype): Tensor {
  if (!isFloating(dtype))
    throw new DTypeError(
      `${name}: needs a floating-point tensor, got ${dtype} of shape ${fmtShape(x.shape)}; ` +
        `cast it with .float() or pass {dtype: 'float32'}`,
    );
  return toDtype(x, dtype);
}

/**
 * torch.softmax's `softmax(input, dim, dtype=None)` (F.softmax's private _stacklevel left out); the dtype also by
 * name, `x.softmax(1, {dtype: 'float64'})`.
 */
const SOFTMAX_ARGS = { args: { input: tensor, dim: dimArg, dtype: optional(dtypeArg) } };
type SoftmaxFn = (x: Tensor, dim: number, dtype?: DType | SoftmaxOptions) => Tensor;
/** The samples of softmax and logSoftmax; `t` is the PyTorch function ('torch.softmax'). */
const samples = (t: string): Sample<SoftmaxFn>[] => [
  { args: [[3, 4]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
  { args: [[3, 4]], call: (f, x) => f(x, 0), torch: `lambda x: ${t}(x, 0)` },
  { args: [[2, 3, 4]], call: (f, x) => f(x, -2), torch: `lambda x: ${t}(x, -2)` },
  { args: [[]], call: (f, x) => f(x, 0), torch: `lambda x: ${t}(x, 0)` },
  { args: [[3, 1]], call: (f, x) => f(x, -1), torch: `lambda x: ${t}(x, -1)` },
  { args: [[0, 3]], call: (f, x) => f(x, 1), torch: `lambda x: ${t}(x, 1)` },
  {
    args: [
      {
        shape: [2, 3],
        values: [
          [1000, 1001, 1002],
          [-1000, -1000.5, -999],
        ],
      },
    ],
    call: (f, x) => f(x, 1),
    torch: `lambda x: ${t}(x, 1)`,
    note: 'large values',
  },
];

/** exp(x) / Σ exp(x) along dim, computed stably; the lines along dim sum to 1. */
export const softmax = testedOp({
  name: 'softmax',
  fn: checked('softmax', SOFTMAX_ARGS, (x: Tensor, dim: number, dtype?: DType): Tensor => {
    const d = normDim('softmax', dim, x.ndim, x.shape);
    return apply(softmaxOp, [prepare('softmax', x, dtype)], { dim: d });
  }) as SoftmaxFn,
  samples: samples('torch.softmax'),
});

/** log(softmax(x)) along dim, computed stably (x − max − log Σ exp(x − max)). */
export const logSoftmax = testedOp({
  name: 'logSoftmax',
  fn: checked('logSoftmax', SOFTMAX_ARGS, (x: Tensor, dim: number, dtype?: DType): Tensor => {
    const d = normDim('logSoftmax', dim, x.ndim, x.shape);
    return apply(logSoftmaxOp, [prepare('logSoftmax', x, dtype)], { dim: d });
  }) as SoftmaxFn,
  samples: samples('torch.log_softmax'),
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    softmax(dim: number, dtype?: DType | SoftmaxOptions): Tensor;
    logSoftmax(dim: number, dtype?: DType | SoftmaxOptions): Tensor;
  }
}
installMethods({ softmax, logSoftmax });
