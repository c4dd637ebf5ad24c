/**
 * @file Elementwise ops. A unary or binary op is defined by its scalar function (what the reference kernel
 * evaluates) and its partial derivatives as tensors; from the partials, VJP = g·∂ and JVP = Σ t·∂ follow, and since
 * the partials are built from differentiable ops, so do all higher derivatives.
 */

import type { BinaryFn, UnaryFn } from '../backend/backend.js';
import { kernels } from '../backend/index.js';
import {
  checked,
  dtype as dtypeArg,
  nullable,
  number,
  oneOf,
  optional,
  scalarOrTensor,
  tensor,
  union,
} from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { DEFAULT_FLOAT, type DType, intValue, isFloating, isInteger } from '../core/dtype.js';
import { DTypeError, fmtShape, ValueError } from '../core/errors.js';
import { broadcastShapes, numel } from '../core/shape.js';
import { erf as erfScalar } from '../core/special.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, bview, defineOp, type OpDef } from './define.js';
import { installMethods } from './methods.js';
import { type Arg, type OpTest, testedOp } from './registry.js';
import { lift, resultTypeOf, type TensorLike } from './scalar.js';
import { expand } from './shape.js';

// ---------------------------------------------------------------------------------------------------------------
// Unary family

type Partial1 = (x: Tensor, out: Tensor, p: readonly number[]) => Tensor;

interface UnarySpec {
  name: string;
  fn: UnaryFn;
  /** ∂out/∂x from the saved input and/or output; absent for ops with no gradient. */
  d?: Partial1;
  /** What d reads, so only that is saved for backward. */
  uses?: 'x' | 'out' | 'both';
  /** Integer and bool inputs compute in the default float dtype (exp, log); otherwise the dtype is kept. */
  float?: boolean;
  /** Linear ops (neg) push tangents through themselves. */
  linear?: boolean;
  flopsPerElement?: number;
  /** What to use instead on bool tensors, for ops PyTorch refuses on them (neg → logicalNot). */
  noBool?: string;
  /** Explain mode: dX from the names of dY, X and the output Y (`dY ⊙ 1[X > 0]`). */
  explain?: (dy: string, x: string, y: string, p: readonly number[]) => string;
}

function unaryOp(s: UnarySpec): OpDef<readonly number[]> {
  const uses = s.uses ?? 'x';
  return defineOp<readonly number[]>({
    name: s.name,
    infer: ([x]) => {
      if (s.noBool && x.dtype === 'bool')
        throw new DTypeError(`${s.name}: not supported on bool tensors (shape ${fmtShape(x.shape)}); use ${s.noBool}`);
      return {
        shape: x.shape.slice(),
        dtype: s.float && !isFloating(x.dtype) ? DEFAULT_FLOAT : x.dtype === 'bool' && !s.float ? 'int32' : x.dtype,
      };
    },
    overwrites: true,
    forward: (k, out, [x], p) => k.unary(s.name, s.fn, out._view(), x._view(), p),
    saveInputs: s.linear || uses === 'out' ? 'none' : 'all',
    saveOutput: uses !== 'x' && !s.linear,
    linear: s.linear,
    differentiable: s.d !== undefined || s.linear === true,
    vjp: s.linear
      ? (g, c) => [apply(ops[s.name], [g], c.params)]
      : (g, c) => [mul(g, s.d!(c.inputs[0]!, c.out!, c.params))],
    jvp: s.linear ? undefined : ([t], c) => mul(t!, s.d!(c.inputs[0]!, c.out!, c.params)),
    flops: (_i, out) => numel(out.shape) * (s.flopsPerElement ?? 1),
    explain: s.explain && ((a) => [s.explain!(a.dy, a.x[0], a.y, a.params)]),
  });
}

const ops: Record<string, OpDef<readonly number[]>> = {};
function unary(s: UnarySpec, samples: Arg[][], extra: Pick<OpTest, 'gradgrad' | 'singularSamples'> = {}) {
  const op = unaryOp(s);
  ops[s.name] = op;
  return testedOp({
    name: s.name,
    fn: checked(s.name, UNARY_ARGS, (x: Tensor) => apply(op, [x], NO_PARAMS)),
    samples: samples.map((args) => ({ args })),
    reference: (v: number) => s.fn(v, NO_PARAMS),
    // Every op of this family has PyTorch's name.
    torch: `torch.${s.name}`,
    ...extra,
  });
}
const NO_PARAMS: readonly number[] = [];
/** PyTorch's `exp(input)` and the rest of the unary family (their `out=` keyword has no counterpart here). */
const UNARY_ARGS = { args: { input: tensor } };

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const pos = (shape: number[]): Arg => ({ shape, low: 0.2, high: 3 });
const std1: Arg[][] = [[[3, 4]], [[]], [[0, 3]], [[2, 3, 4]]];
/** Integers with zeros among them: an int64 neg or abs stores 0, never the −0 a Float64Array would keep. */
const int64Sample: Arg = { shape: [3, 4], dtype: 'int64', low: -4, high: 4 };
/** Kinks at 0 (relu, abs, leakyRelu, elu): PyTorch's one-sided choice there. */
const atZero = { singularSamples: [{ args: [{ shape: [3], values: [0, -1.5, 2] }] }] };

export const neg = unary(
  { name: 'neg', fn: (x) => -x, linear: true, noBool: 'logicalNot()', explain: (dy) => `−${dy}` },
  [...std1, [int64Sample]],
);
export const exp = unary(
  { name: 'exp', fn: Math.exp, d: (_x, out) => out, uses: 'out', float: true, explain: (dy, _x, y) => `${dy} ⊙ ${y}` },
  std1,
);
export const log = unary(
  { name: 'log', fn: Math.log, d: (x) => reciprocal(x), float: true, explain: (dy, x) => `${dy} / ${x}` },
  [[pos([3, 4])], [pos([])]],
);
export const log1p = unary(
  {
    name: 'log1p',
    fn: Math.log1p,
    d: (x) => reciprocal(add(x, 1)),
    float: true,
    explain: (dy, x) => `${dy} / (1 + ${x})`,
  },
  [[{ shape: [3, 4], low: -0.8, high: 3 }]],
);
export const expm1 = unary(
  {
    name: 'expm1',
    fn: Math.expm1,
    d: (_x, out) => add(out, 1),
    uses: 'out',
    float: true,
    explain: (dy, _x, y) => `${dy} ⊙ (${y} + 1)`,
  },
  std1,
);
export const sqrt = unary(
  {
    name: 'sqrt',
    fn: Math.sqrt,
    d: (_x, out) => div(0.5, out),
    uses: 'out',
    float: true,
    explain: (dy, _x, y) => `${dy} ⊙ 0.5 / ${y}`,
  },
  [[pos([3, 4])], [pos([])]],
);
export const rsqrt = unary(
  {
    name: 'rsqrt',
    fn: (x) => 1 / Math.sqrt(x),
    d: (_x, out) => mul(pow(out, 3), -0.5),
    uses: 'out',
    float: true,
    explain: (dy, _x, y) => `${dy} ⊙ (−0.5·${y}³)`,
  },
  [[pos([3, 4])]],
);
export const reciprocal = unary(
  {
    name: 'reciprocal',
    fn: (x) => 1 / x,
    d: (_x, out) => neg(mul(out, out)),
    uses: 'out',
    float: true,
    explain: (dy, _x, y) => `−${dy} ⊙ ${y}²`,
  },
  [[pos([3, 4])]],
);
export const abs = unary(
  {
    name: 'abs',
    fn: Math.abs,
    d: (x) => sign(x),
    noBool: 'the tensor itself',
    explain: (dy, x) => `${dy} ⊙ sign(${x})`,
  },
  [...std1, [int64Sample]],
  atZero,
);
export const sign = unary(
  { name: 'sign', fn: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), d: (x) => zerosOf(x), explain: () => '0' },
  std1,
);
// Rounding: piecewise constant, so the gradient is zero wherever it exists (PyTorch's convention at the jumps too).
const halfSteps = { singularSamples: [{ args: [{ shape: [6], values: [0.5, 1.5, 2.5, -0.5, -2.5, 3] }] }] };
/** Rounds half to even, as torch.round (Math.round rounds half up). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}
export const round = unary(
  { name: 'round', fn: roundHalfEven, d: (x) => zerosOf(x), explain: () => '0' },
  std1,
  halfSteps,
);
export const floor = unary(
  { name: 'floor', fn: Math.floor, d: (x) => zerosOf(x), explain: () => '0' },
  std1,
  halfSteps,
);
export const ceil = unary({ name: 'ceil', fn: Math.ceil, d: (x) => zerosOf(x), explain: () => '0' }, std1, halfSteps);
export const trunc = unary(
  { name: 'trunc', fn: Math.trunc, d: (x) => zerosOf(x), explain: () => '0' },
  std1,
  halfSteps,
);
export const sin = unary(
  { name: 'sin', fn: Math.sin, d: (x) => cos(x), float: true, explain: (dy, x) => `${dy} ⊙ cos(${x})` },
  std1,
);
export const cos = unary(
  { name: 'cos', fn: Math.cos, d: (x) => neg(sin(x)), float: true, explain: (dy, x) => `−${dy} ⊙ sin(${x})` },
  std1,
);
export const tanh = unary(
  {
    name: 'tanh',
    fn: Math.tanh,
    d: (_x, out) => rsub(mul(out, out), 1),
    uses: 'out',
    float: true,
    explain: (dy, _x, y) => `${dy} ⊙ (1 − ${y}²)`,
  },
  std1,
);
export const sigmoid = unary(
  {
    name: 'sigmoid',
    fn: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
    d: (_x, out) => mul(out, rsub(out, 1)),
    uses: 'out',
    float: true,
    explain: (dy, _x, y) => `${dy} ⊙ ${y} ⊙ (1 − ${y})`,
  },
  std1,
);
export const erf = unary(
  {
    name: 'erf',
    fn: erfScalar,
    d: (x) => mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)),
    float: true,
    explain: (dy, x) => `${dy} ⊙ (2/√π)·exp(−${x}²)`,
  },
  std1,
);
export const relu = unary(
  {
    name: 'relu',
    fn: (x) => Math.max(x, 0),
    // A bool mask: g · mask promotes to g's dtype in one pass, with no cast pass first.
    d: (x) => gt(x, 0),
    explain: (dy, x) => `${dy} ⊙ 1[${x} > 0]`,
  },
  std1,
  atZero,
);

const leakyReluOp = unaryOp({
  name: 'leakyRelu',
  fn: (x, [slope]) => (x > 0 ? x : x * slope),
  d: (x, _o, [slope]) => where(gt(x, 0), 1, slope, x.dtype),
  explain: (dy, x, _y, [slope]) => `${dy} ⊙ where(${x} > 0, 1, ${slope})`,
});
/** max(0, x) + negativeSlope · min(0, x) */
export const leakyRelu = testedOp({
  name: 'leakyRelu',
  fn: checked(
    'leakyRelu',
    { args: { input: tensor, negativeSlope: optional(number()) } },
    (x: Tensor, negativeSlope = 0.01) => apply(leakyReluOp, [x], [negativeSlope]),
  ),
  samples: [{ args: [[3, 4]] }, { args: [[5]], call: (f, x) => f(x, 0.2), torch: 'lambda x: F.leaky_relu(x, 0.2)' }],
  torch: 'F.leaky_relu',
  ...atZero,
});

const eluOp = unaryOp({
  name: 'elu',
  fn: (x, [alpha]) => (x > 0 ? x : alpha * Math.expm1(x)),
  d: (x, out, [alpha]) => where(gt(x, 0), 1, add(out, alpha), x.dtype),
  uses: 'both',
  explain: (dy, x, y, [alpha]) => `${dy} ⊙ where(${x} > 0, 1, ${y} + ${alpha})`,
});
/** x for x > 0, alpha · (exp(x) − 1) otherwise */
export const elu = testedOp({
  name: 'elu',
  fn: checked('elu', { args: { input: tensor, alpha: optional(number()) } }, (x: Tensor, alpha = 1) =>
    apply(eluOp, [x], [alpha]),
  ),
  samples: [{ args: [[3, 4]] }, { args: [[5]], call: (f, x) => f(x, 0.5), torch: 'lambda x: F.elu(x, 0.5)' }],
  torch: 'F.elu',
  ...atZero,
});

const softplusOp = unaryOp({
  name: 'softplus',
  fn: (x, [beta, threshold]) =>
    beta * x > threshold ? x : (Math.max(beta * x, 0) + Math.log1p(Math.exp(-Math.abs(beta * x)))) / beta,
  d: (x, _o, [beta, threshold]) => where(gt(mul(x, beta), threshold), 1, sigmoid(mul(x, beta)), x.dtype),
  float: true,
  explain: (dy, x, _y, [beta, threshold]) => {
    const bx = beta === 1 ? x : `${beta}·${x}`;
    return `${dy} ⊙ where(${bx} > ${threshold}, 1, σ(${bx}))`;
  },
});
export interface SoftplusOptions {
  beta?: number;
  threshold?: number;
}
/** log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold (PyTorch's defaults: beta 1, threshold 20). */
export const softplus = testedOp({
  name: 'softplus',
  fn: checked(
    'softplus',
    { args: { input: tensor, beta: optional(number()), threshold: optional(number({ infinite: true })) } },
    (x: Tensor, beta: number = 1, threshold: number = 20): Tensor => apply(softplusOp, [x], [beta, threshold]),
  ) as (...a: PyArgs<[input: Tensor], [beta: number, threshold: number], SoftplusOptions>) => Tensor,
  samples: [
    { args: [[3, 4]] },
    {
      args: [[6]],
      call: (f, x) => f(mul(x, 10), { beta: 2, threshold: 15 }),
      torch: 'lambda x: F.softplus(x * 10, beta=2, threshold=15)',
    },
  ],
  torch: 'F.softplus',
});

const clampOp = unaryOp({
  name: 'clamp',
  fn: (x, [lo, hi]) => (x !== x ? x : Math.min(Math.max(x, lo), hi)),
  // PyTorch passes the gradient where min ≤ x ≤ max, boundaries included.
  d: (x, _o, [lo, hi]) => toDtype(logicalAnd(ge(x, lo), le(x, hi)), x.dtype),
  explain: (dy, x, _y, [lo, hi]) =>
    `${dy} ⊙ 1[${lo === -Infinity ? '' : `${lo} ≤ `}${x}${hi === Infinity ? '' : ` ≤ ${hi}`}]`,
});
/** A clamp bound: a number (±Infinity allowed), a tensor, or null for none. */
const BOUND = optional(nullable(union(number({ infinite: true }), tensor)));

/**
 * Limits x to [min, max]; either bound may be null. The result has PyTorch's type (x with the bounds as JS
 * numbers: an int tensor clamped by 0.5 is float32); bounds for an integer result must fit its dtype. Number
 * bounds are one kernel; tensor bounds (PyTorch allows them, broadcast against x) are maximum then minimum.
 */
export const clamp = testedOp({
  name: 'clamp',
  fn: checked(
    'clamp',
    { args: { input: tensor, min: BOUND, max: BOUND } },
    (x: Tensor, min: number | Tensor | null = null, max: number | Tensor | null = null): Tensor => {
      if (min === null && max === null)
        throw new ValueError('clamp: at least one of min and max must be given (null means no bound)');
      if ((min !== null && typeof min === 'object') || (max !== null && typeof max === 'object')) {
        const lo = min === null ? x : maximum(x, min);
        return max === null ? lo : minimum(lo, max);
      }
      const dt = resultTypeOf('clamp', [x, ...[min, max].filter((b): b is number => b !== null)]);
      if (isInteger(dt)) {
        if (min !== null) intValue('clamp', min, dt, 'min');
        if (max !== null) intValue('clamp', max, dt, 'max');
      }
      return apply(clampOp, [toDtype(x, dt)], [min ?? -Infinity, max ?? Infinity]);
    },
  ),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, -1, 1), torch: 'lambda x: torch.clamp(x, -1, 1)' },
    { args: [[5]], call: (f, x) => f(x, null, 0.5), torch: 'lambda x: torch.clamp(x, None, 0.5)' },
    { args: [[5]], call: (f, x) => f(x, -0.5), torch: 'lambda x: torch.clamp(x, -0.5)' },
    {
      args: [[3, 4], [3, 1], { shape: [4], low: 0.5, high: 2 }],
      call: (f, x, lo, hi) => f(x, lo, hi),
      torch: 'lambda x, lo, hi: torch.clamp(x, lo, hi)',
      note: 'tensor bounds',
    },
  ],
  singularSamples: [
    {
      args: [{ shape: [4], values: [-1, 0.5, 1, 2] }],
      call: (f, x) => f(x, -1, 1),
      torch: 'lambda x: torch.clamp(x, -1, 1)',
      note: 'at the bounds',
    },
  ],
});

// ---------------------------------------------------------------------------------------------------------------
// Binary family

type Partial2 = (x: Tensor, y: Tensor, out: Tensor) => Tensor;
interface BinarySpec {
  name: string;
  fn: BinaryFn;
  /** ∂out/∂x and ∂out/∂y; the VJP is g·∂ and the JVP tx·∂x + ty·∂y. */
  d?: [Partial2, Partial2];
  /** Custom rules for linear ops (add, sub): cheaper than multiplying by constant partials. */
  vjp?: (g: Tensor) => [Tensor, Tensor];
  linear?: boolean;
  /** promote: PyTorch's result type; float: ints become the default float (div); bool: comparisons. */
  out?: 'promote' | 'float' | 'bool';
  saveInputs?: 'all' | 'none' | 'others';
  saveOutput?: boolean;
  /** Explain mode: dX and dY from the names of the output's gradient, the inputs and the output. */
  explain?: (dz: string, x: string, y: string, z: string) => [string, string];
}

function binaryOp(s: BinarySpec): OpDef<DType> {
  return defineOp<DType>({
    name: s.name,
    infer: ([x, y], dtype) => ({ shape: broadcastShapes(s.name, x.shape, y.shape), dtype }),
    overwrites: true,
    forward: (k, out, [x, y]) => k.binary(s.name, s.fn, out._view(), bview(x, out.shape), bview(y, out.shape)),
    differentiable: s.out !== 'bool',
    linear: s.linear,
    saveInputs: s.saveInputs ?? (s.linear ? 'none' : 'all'),
    saveOutput: s.saveOutput,
    vjp: s.vjp
      ? (g) => s.vjp!(g)
      : (g, c) => {
          const [x, y] = c.inputs as Tensor[];
          return [c.needs[0] && mul(g, s.d![0](x, y, c.out!)), c.needs[1] && mul(g, s.d![1](x, y, c.out!))];
        },
    jvp: s.d
      ? ([tx, ty], c) => {
          const [x, y] = c.inputs as Tensor[];
          const a = tx && mul(tx, s.d![0](x, y, c.out!));
          const b = ty && mul(ty, s.d![1](x, y, c.out!));
          return a && b ? add(a, b) : expand(a ?? b!, c.outShape as number[]);
        }
      : undefined,
    flops: (_i, out) => numel(out.shape),
    explain: s.explain && ((a) => s.explain!(a.dy, a.x[0], a.x[1], a.y)),
  });
}

function binaryDType(s: BinarySpec, x: TensorLike, y: TensorLike): DType {
  const t = resultTypeOf(s.name, [x, y]);
  if (s.out === 'bool') return 'bool';
  if (s.out === 'float' && !isFloating(t)) return DEFAULT_FLOAT;
  return t;
}

/** Each binary primitive's spec by name, for in-place ops that write straight into their target. */
const BINARY_SPECS = new Map<string, BinarySpec>();

/**
 * Runs a binary primitive's kernel into `out` (x's shape; x and y broadcast to it), unrecorded: the fast path of
 * x.add_(y) and friends when nothing is recorded. The caller guarantees out is contiguous and y does not share
 * its storage, so each element is read before it is written.
 */
export function binaryInto(name: string, out: Tensor, x: Tensor, y: Tensor): void {
  const s = BINARY_SPECS.get(name) as BinarySpec;
  kernels().binary(s.name, s.fn, out._view(), bview(x, out.shape), bview(y, out.shape));
}

function binary(s: BinarySpec) {
  if (!BINARY_SPECS.has(s.name)) BINARY_SPECS.set(s.name, s);
  const op = binaryOp(s);
  return (x: TensorLike, y: TensorLike): Tensor => {
    const dtype = binaryDType(s, x, y);
    return apply(op, lift(s.name, [x, y]), dtype);
  };
}

const pair: Arg[][] = [
  [
    [3, 4],
    [3, 4],
  ],
  [[3, 4], [4]],
  [
    [2, 1, 4],
    [3, 1],
  ],
  [[], [3]],
  [[0, 3], [3]],
];

const addPrim = binary({
  name: 'add',
  fn: (a, b) => a + b,
  linear: true,
  vjp: (g) => [g, g],
  explain: (dz) => [dz, dz],
});
const subPrim = binary({
  name: 'sub',
  fn: (a, b) => a - b,
  linear: true,
  vjp: (g) => [g, neg(g)],
  explain: (dz) => [dz, `−${dz}`],
});

/** alpha · y for add and sub: an integer result takes alpha only if it fits, as PyTorch checks. */
function scaled(op: string, x: TensorLike, y: TensorLike, alpha: number | undefined): TensorLike {
  if (alpha === undefined || alpha === 1) return y;
  const dt = resultTypeOf(op, [x, y, alpha]);
  return mul(y, isInteger(dt) ? intValue(op, alpha, dt, 'alpha') : alpha);
}

/** PyTorch's `mul(input, other)`: the signature of every binary op (an operand may be a JS number or boolean). */
const BINARY_ARGS = { args: { input: scalarOrTensor, other: scalarOrTensor } };
/** `add(input, other, *, alpha=1)`. */
const ALPHA_ARGS = { ...BINARY_ARGS, options: { alpha: optional(number()) } };

/** x + alpha · y */
export const add = testedOp({
  name: 'add',
  fn: checked(
    'add',
    ALPHA_ARGS,
    (x: TensorLike, y: TensorLike, opts?: { alpha?: number }): Tensor => addPrim(x, scaled('add', x, y, opts?.alpha)),
  ),
  samples: [
    ...pair.map((args) => ({ args })),
    { args: [[3]], call: (f, x) => f(x, 2.5), torch: 'lambda x: torch.add(x, 2.5)' },
    {
      args: [
        { shape: [3, 4], dtype: 'int64', low: -9, high: 9 },
        { shape: [4], dtype: 'int32', low: -9, high: 9 },
      ],
      note: 'int64 + int32 → int64',
    },
    { args: [[3, 4], { shape: [4], dtype: 'int64', low: -3, high: 3 }], note: 'float64 + int64 → float64' },
  ],
  torch: 'torch.add',
});
/** x − alpha · y */
export const sub = testedOp({
  name: 'sub',
  fn: checked('sub', ALPHA_ARGS, (x: TensorLike, y: TensorLike, opts?: { alpha?: number }): Tensor => {
    if (resultTypeOf('sub', [x, y]) === 'bool')
      throw new DTypeError(
        'sub: subtracting bool tensors is not supported; use logicalXor-style ne(x, y) or cast first',
      );
    return subPrim(x, scaled('sub', x, y, opts?.alpha));
  }),
  samples: [
    ...pair.map((args) => ({ args })),
    { args: [[3], [3]], call: (f, x, y) => f(x, y, { alpha: 2 }), torch: 'lambda x, y: torch.sub(x, y, alpha=2)' },
  ],
  torch: 'torch.sub',
});
/** y − x: the reflected subtraction (`1 - x` is rsub(x, 1)). */
export const rsub = checked('rsub', BINARY_ARGS, (x: TensorLike, y: TensorLike): Tensor => subPrim(y, x));
export const mul = testedOp({
  name: 'mul',
  fn: checked(
    'mul',
    BINARY_ARGS,
    binary({
      name: 'mul',
      fn: (a, b) => a * b,
      d: [(_x, y) => y, (x) => x],
      saveInputs: 'others',
      explain: (dz, x, y) => [`${dz} ⊙ ${y}`, `${dz} ⊙ ${x}`],
    }),
  ),
  samples: [
    ...pair.map((args) => ({ args })),
    { args: [[3]], call: (f, x) => f(x, -1.5), torch: 'lambda x: torch.mul(x, -1.5)' },
    {
      args: [{ shape: [3, 4], dtype: 'int64', low: -9, high: 9 }],
      call: (f, x) => f(x, -3),
      torch: 'lambda x: torch.mul(x, -3)',
      note: 'int64 · −3 (a 0 times −3 stays 0, not −0)',
    },
    { args: [[3, 4], { shape: [3, 1], dtype: 'int64', low: -3, high: 3 }], note: 'float64 · int64 → float64' },
  ],
  torch: 'torch.mul',
});
export const div = testedOp({
  name: 'div',
  fn: checked(
    'div',
    BINARY_ARGS,
    binary({
      name: 'div',
      fn: (a, b) => a / b,
      out: 'float',
      d: [(_x, y) => reciprocal(y), (_x, y, out): Tensor => neg(div(out, y))],
      saveOutput: true,
      explain: (dz, _x, y, z) => [`${dz} / ${y}`, `−${dz} ⊙ ${z} / ${y}`],
    }),
  ),
  samples: [
    { args: [[3, 4], pos([3, 4])] },
    { args: [[3, 4], pos([4])] },
    { args: [[], pos([3])] },
    { args: [[3]], call: (f, x) => f(x, 4), torch: 'lambda x: torch.div(x, 4)' },
    { args: [pos([3])], call: (f, x) => f(2, x), torch: 'lambda x: 2 / x' },
  ],
  torch: 'torch.div',
});
const powPrim = binary({
  name: 'pow',
  fn: Math.pow,
  d: [
    // x^0 is constant, so PyTorch's gradient there is 0, also at x = 0 where y·x^(y−1) would be 0·inf = nan. The base
    // is replaced by 1 (rather than the result masked) so that no nan reaches second derivatives either.
    (x, y): Tensor => mul(y, pow(where(eq(y, 0), 1, x), sub(y, 1))),
    // PyTorch masks the exponent's gradient to 0 where the base is 0 and the exponent ≥ 0 (0^y is 0 or 1 there).
    (x, y, out): Tensor => where(logicalAnd(eq(x, 0), ge(y, 0)), 0, mul(out, log(x)), out.dtype),
  ],
  saveOutput: true,
  explain: (dz, x, y, z) => {
    // A constant exponent is folded: dY ⊙ 2·X, dY ⊙ 0.5·X^−0.5.
    const n = Number(y);
    const power = Number.isFinite(n)
      ? n === 2
        ? `2·${x}`
        : `${y}·${x}^${String(n - 1).replace('-', '−')}`
      : `${y}·${x}^(${y} − 1)`;
    return [`${dz} ⊙ ${power}`, `${dz} ⊙ ${z}·log ${x}`];
  },
});
const POW_ARGS = { args: { input: scalarOrTensor, exponent: scalarOrTensor } };

export const pow = testedOp({
  name: 'pow',
  fn: checked('pow', POW_ARGS, (x: TensorLike, y: TensorLike): Tensor => {
    if (isInteger(resultTypeOf('pow', [x, y]))) {
      const e = typeof y === 'number' ? [y] : typeof y === 'boolean' ? [] : Array.from(y.dataSync());
      if (e.some((v) => v < 0))
        throw new DTypeError(
          'pow: integers to negative integer powers are not allowed; cast the base to float first (x.float().pow(-1))',
        );
    }
    return powPrim(x, y);
  }),
  samples: [
    { args: [pos([3, 4]), [3, 4]] },
    { args: [pos([3, 4]), [4]] },
    { args: [[3, 4]], call: (f, x) => f(x, 2), torch: 'lambda x: torch.pow(x, 2)' },
    { args: [[3]], call: (f, x) => f(x, 3), torch: 'lambda x: torch.pow(x, 3)' },
    { args: [pos([3])], call: (f, x) => f(x, -0.5), torch: 'lambda x: torch.pow(x, -0.5)' },
    { args: [[3]], call: (f, x) => f(2, x), torch: 'lambda x: torch.pow(2, x)' },
  ],
  singularSamples: [
    { args: [{ shape: [3], values: [0, 1.5, -2] }], call: (f, x) => f(x, 0), torch: 'lambda x: torch.pow(x, 0)' },
    {
      args: [
        { shape: [4], values: [0, 0, 0, 2] },
        { shape: [4], values: [-1, 0, 2, 0] },
      ],
      note: 'base 0',
    },
  ],
  torch: 'torch.pow',
});
// At ties PyTorch splits the gradient evenly between the two inputs; where either is NaN (no order) both get all of
// it: 1 − [x loses] − ½[tie].
const tieSplit = (x: Tensor, y: Tensor, lose: (a: Tensor, b: Tensor) => Tensor, dt: DType) =>
  rsub(add(toDtype(lose(x, y), dt), mul(toDtype(eq(x, y), dt), 0.5)), 1);
export const maximum = testedOp({
  name: 'maximum',
  fn: checked(
    'maximum',
    BINARY_ARGS,
    binary({
      name: 'maximum',
      fn: (a, b) => (a !== a || b !== b ? Number.NaN : Math.max(a, b)),
      d: [(x, y) => tieSplit(x, y, lt, x.dtype), (x, y) => tieSplit(y, x, lt, y.dtype)],
      explain: (dz, x, y) => [
        `${dz} ⊙ (1[${x} > ${y}] + ½·1[${x} = ${y}])`,
        `${dz} ⊙ (1[${y} > ${x}] + ½·1[${x} = ${y}])`,
      ],
    }),
  ),
  samples: pair.map((args) => ({ args })),
  singularSamples: [
    {
      args: [
        { shape: [3], values: [1, 2, -3] },
        { shape: [3], values: [1, 0, -3] },
      ],
      note: 'ties',
    },
  ],
  torch: 'torch.maximum',
});
export const minimum = testedOp({
  name: 'minimum',
  fn: checked(
    'minimum',
    BINARY_ARGS,
    binary({
      name: 'minimum',
      fn: (a, b) => (a !== a || b !== b ? Number.NaN : Math.min(a, b)),
      d: [(x, y) => tieSplit(x, y, gt, x.dtype), (x, y) => tieSplit(y, x, gt, y.dtype)],
      explain: (dz, x, y) => [
        `${dz} ⊙ (1[${x} < ${y}] + ½·1[${x} = ${y}])`,
        `${dz} ⊙ (1[${y} < ${x}] + ½·1[${x} = ${y}])`,
      ],
    }),
  ),
  samples: pair.map((args) => ({ args })),
  singularSamples: [
    {
      args: [
        { shape: [3], values: [1, 2, -3] },
        { shape: [3], values: [1, 0, -3] },
      ],
      note: 'ties',
    },
  ],
  torch: 'torch.minimum',
});

function comparison(name: string, fn: BinaryFn) {
  return testedOp({
    name,
    fn: checked(name, BINARY_ARGS, binary({ name, fn, out: 'bool' })),
    differentiable: false,
    samples: [
      {
        args: [
          [3, 4],
          [3, 4],
        ],
      },
      { args: [[3, 4], [4]] },
      { args: [[3]], call: (f, x) => f(x, 0), torch: `lambda x: torch.${name}(x, 0)` },
    ],
    torch: `torch.${name}`,
  });
}
export const eq = comparison('eq', (a, b) => (a === b ? 1 : 0));
export const ne = comparison('ne', (a, b) => (a !== b ? 1 : 0));
export const lt = comparison('lt', (a, b) => (a < b ? 1 : 0));
export const le = comparison('le', (a, b) => (a <= b ? 1 : 0));
export const gt = comparison('gt', (a, b) => (a > b ? 1 : 0));
export const ge = comparison('ge', (a, b) => (a >= b ? 1 : 0));
export const logicalAnd = checked(
  'logicalAnd',
  BINARY_ARGS,
  binary({ name: 'logicalAnd', fn: (a, b) => (a !== 0 && b !== 0 ? 1 : 0), out: 'bool' }),
);
export const logicalOr = checked(
  'logicalOr',
  BINARY_ARGS,
  binary({ name: 'logicalOr', fn: (a, b) => (a !== 0 || b !== 0 ? 1 : 0), out: 'bool' }),
);
export const logicalNot = checked('logicalNot', UNARY_ARGS, (x: Tensor): Tensor => eq(x, 0));

// ---------------------------------------------------------------------------------------------------------------
// where and casts

const whereOp = defineOp<DType>({
  name: 'where',
  infer: ([c, x, y], dtype) => ({ shape: broadcastShapes('where', c.shape, x.shape, y.shape), dtype }),
  overwrites: true,
  forward: (k, out, [c, x, y]) => k.where(out._view(), bview(c, out.shape), bview(x, out.shape), bview(y, out.shape)),
  nondiffInputs: [0],
  saveInputs: 'all',
  vjp: (g, c) => {
    const cond = c.inputs[0]!;
    return [null, c.needs[1] && where(cond, g, 0), c.needs[2] && where(cond, 0, g)];
  },
  linear: true,
  flops: () => 0,
  explain: (a) => [null, `where(${a.x[0]}, ${a.dy}, 0)`, `where(${a.x[0]}, 0, ${a.dy})`],
});
const WHERE_ARGS = { args: { condition: tensor, x: scalarOrTensor, y: scalarOrTensor, dtype: optional(dtypeArg) } };

/**
 * cond ? x : y, elementwise with broadcasting; `dtype` (not in PyTorch) forces the result dtype when both are
 * numbers.
 */
export const where = testedOp({
  name: 'where',
  fn: checked('where', WHERE_ARGS, (cond: Tensor, x: TensorLike, y: TensorLike, dtype?: DType): Tensor => {
    if (cond.dtype !== 'bool')
      throw new DTypeError(
        `where: the condition must be a bool tensor, got a ${cond.dtype} tensor of shape ${fmtShape(cond.shape)}; compare first (x.gt(0))`,
      );
    const dt = dtype ?? resultTypeOf('where', [x, y]);
    // The kernel copies values as they are, so a float tensor under a forced integer dtype is cast (truncated) first.
    const ops = lift('where', [x, y], dt).map((t) => (isInteger(dt) && isFloating(t.dtype) ? toDtype(t, dt) : t));
    return apply(whereOp, [cond, ...ops], dt);
  }),
  samples: [
    { args: [{ shape: [3, 4], dtype: 'bool' }, [3, 4], [3, 4]] },
    { args: [{ shape: [3, 1], dtype: 'bool' }, [4], [3, 4]] },
    {
      args: [{ shape: [4], dtype: 'bool' }, [3, 4]],
      call: (f, c, x) => f(c, x, 0),
      torch: 'lambda c, x: torch.where(c, x, 0.0)',
    },
  ],
  torch: 'torch.where',
});

const castOp = defineOp<DType>({
  name: 'to',
  backwardName: 'ToCopyBackward',
  infer: ([x], dtype) => ({ shape: x.shape.slice(), dtype }),
  overwrites: true,
  forward: (k, out, [x]) => k.copy(out._view(), x._view()),
  saveInputs: 'none',
  // The engine casts every gradient back to its input's dtype, so the cast's VJP is the identity.
  vjp: (g) => [g],
  linear: true,
  flops: () => 0,
  explain: (a) => [a.inDtypes[0] === a.params ? a.dy : `${a.dy}.to(${a.inDtypes[0]})`],
});
const castNoGradOp = {
  ...castOp,
  differentiable: false,
  int64Fix: 'keep the values in a float dtype, or clamp them into range before the cast',
};

/** A copy in another dtype (the same tensor if it already has it); casts to int or bool cut the graph. */
function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return apply(isFloating(dtype) ? castOp : castNoGradOp, [x], dtype);
}
const CAST_ARGS = { args: { input: tensor, dtype: dtypeArg } };
export const toDtype = checked('toDtype', CAST_ARGS, cast);

/** Zeros with x's shape and dtype, as a differentiable-free constant. */
function zerosOf(x: Tensor): Tensor {
  return mul(toDtype(x, x.dtype).detach(), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Composites: their gradients come from the ops they are built of.

const GELU_ARGS = { args: { input: tensor }, options: { approximate: optional(oneOf(['none', 'tanh'])) } };

/** Gaussian error linear unit: x·Φ(x), or its tanh approximation with {approximate: 'tanh'}. */
export const gelu = testedOp({
  name: 'gelu',
  fn: checked('gelu', GELU_ARGS, (x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor => {
    if (opts.approximate === 'tanh') {
      const inner = mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return mul(mul(x, 0.5), add(tanh(inner), 1));
    }
    return mul(mul(x, 0.5), add(erf(mul(x, SQRT1_2)), 1));
  }),
  samples: [
    { args: [[3, 4]] },
    { args: [[6]], call: (f, x) => f(x, { approximate: 'tanh' }), torch: "lambda x: F.gelu(x, approximate='tanh')" },
  ],
  torch: 'F.gelu',
  reference: (v) => 0.5 * v * (1 + erfScalar(v * SQRT1_2)),
});
/** x · sigmoid(x) (also called swish). */
export const silu = testedOp({
  name: 'silu',
  fn: checked('silu', UNARY_ARGS, (x: Tensor): Tensor => mul(x, sigmoid(x))),
  samples: [{ args: [[3, 4]] }],
  torch: 'F.silu',
  reference: (v) => v / (1 + Math.exp(-v)),
});
void SQRT_2PI;

declare module '../tensor/tensor.js' {
  interface Tensor {
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    reciprocal(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    round(): Tensor;
    floor(): Tensor;
    ceil(): Tensor;
    trunc(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    erf(): Tensor;
    relu(): Tensor;
    clamp(min?: number | Tensor | null, max?: number | Tensor | null): Tensor;
    add(y: TensorLike, opts?: { alpha?: number }): Tensor;
    sub(y: TensorLike, opts?: { alpha?: number }): Tensor;
    mul(y: TensorLike): Tensor;
    div(y: TensorLike): Tensor;
    pow(y: TensorLike): Tensor;
    maximum(y: TensorLike): Tensor;
    minimum(y: TensorLike): Tensor;
    eq(y: TensorLike): Tensor;
    ne(y: TensorLike): Tensor;
    lt(y: TensorLike): Tensor;
    le(y: TensorLike): Tensor;
    gt(y: TensorLike): Tensor;
    ge(y: TensorLike): Tensor;
    logicalAnd(y: TensorLike): Tensor;
    logicalOr(y: TensorLike): Tensor;
    logicalNot(): Tensor;
    where(cond: Tensor, y: TensorLike): Tensor;
    to(dtype: DType): Tensor;
    float(): Tensor;
    double(): Tensor;
    int(): Tensor;
    long(): Tensor;
    bool(): Tensor;
  }
}

installMethods({
  neg,
  exp,
  log,
  log1p,
  expm1,
  sqrt,
  rsqrt,
  reciprocal,
  abs,
  sign,
  round,
  floor,
  ceil,
  trunc,
  sin,
  cos,
  tanh,
  sigmoid,
  erf,
  relu,
  clamp,
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  logicalAnd,
  logicalOr,
  logicalNot,
  // x.where(cond, y) is where(cond, x, y), as in PyTorch.
  where: checked(
    'Tensor.where',
    { args: { input: tensor, condition: tensor, y: scalarOrTensor } },
    (x: Tensor, cond: Tensor, y: TensorLike) => where(cond, x, y),
  ),
  to: checked('to', CAST_ARGS, cast),
  float: checked('float', UNARY_ARGS, (x: Tensor) => cast(x, 'float32')),
  double: checked('double', UNARY_ARGS, (x: Tensor) => cast(x, 'float64')),
  int: checked('int', UNARY_ARGS, (x: Tensor) => cast(x, 'int32')),
  long: checked('long', UNARY_ARGS, (x: Tensor) => cast(x, 'int64')),
  bool: checked('bool', UNARY_ARGS, (x: Tensor) => cast(x, 'bool')),
});
