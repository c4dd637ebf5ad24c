/**
 * @file Running sums and products along a dim: cumsum and cumprod, two primitives over one `scan` kernel (a
 * sequential loop with a float64 accumulator, as PyTorch's CPU kernels; a composition would either cost O(n²) — a
 * triangular matmul — or sum in another order). cumsum is linear and its VJP is the reversed cumsum. cumprod's
 * rules are written in differentiable ops and stay exact where the input has zeros (PyTorch defines the gradient
 * there), to second order.
 */
import { checked, dim, dtype, optional, tensor } from '../core/args.js';
import type { DType } from '../core/dtype.js';
import { normDim, numel } from '../core/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { apply, defineOp, type OpDef, shapeText } from './define.js';
import { add, div, eq, logicalAnd, mul, toDtype, where } from './elementwise.js';
import { flip } from './join.js';
import { installMethods } from './methods.js';
import { accumulateDtype, sum } from './reduce.js';
import { testedOp } from './registry.js';
import { reshape } from './shape.js';

interface ScanParams {
  dim: number;
}

/** The running sum along d (t at least 1-D). */
function scanSum(t: Tensor, d: number): Tensor {
  return apply(cumsumOp, [t], { dim: d });
}
/** Σ_{j ≥ i} t_j along d: the reversed running sum, cumsum's adjoint. */
function scanSumReversed(t: Tensor, d: number): Tensor {
  return flip(scanSum(flip(t, [d]), d), [d]);
}
function scanProd(t: Tensor, d: number): Tensor {
  return apply(cumprodOp, [t], { dim: d });
}

const cumsumOp: OpDef<ScanParams> = defineOp<ScanParams>({
  name: 'cumsum',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  overwrites: true,
  forward: (k, out, [x], p) => k.scan('cumsum', out._view(), x._view(), p.dim),
  saveInputs: 'none',
  linear: true,
  vjp: (g, c) => [scanSumReversed(g, c.params.dim)],
  flops: (ins) => numel(ins[0].shape),
  explain: ({ dy, params, outShape }) => [
    { rhs: `reversed cumsum(${dy}, ${params.dim})`, shapes: shapeText(outShape) },
  ],
});

/**
 * The zeros of each line that need their own term: the first and the second (a mask each, skipped when no line has
 * one). ∂y_i/∂x_k is the product of x_j over j ≤ i, j ≠ k; where x_k ≠ 0 that is y_i / x_k, but at a zero it is the
 * running product with that one zero replaced by 1. Past the second zero every such product has two zero factors,
 * so it and its first derivative vanish, and 0 is exact to second order (as in prod's gradient).
 */
function zeroTerms(x: Tensor, d: number): { at: Tensor; others: Tensor }[] {
  const z = eq(x, 0);
  const count = scanSum(toDtype(z, x.dtype), d);
  const terms: { at: Tensor; others: Tensor }[] = [];
  for (const n of [1, 2]) {
    const at = logicalAnd(z, eq(count, n));
    // A data-dependent branch, as in prod: no line with an n-th zero, no term.
    if (sum(at).item() === 0) break;
    terms.push({ at, others: scanProd(where(at, 1, x), d) });
  }
  return terms;
}

/** A data-dependent branch, as in PyTorch's cumprod_backward: the cheap rules whenever they are exact. */
function hasZero(x: Tensor): boolean {
  return sum(eq(x, 0)).item() !== 0;
}

/** ∂L/∂x_k = Σ_{i ≥ k} g_i ∂y_i/∂x_k: reversed cumsum(g·y) / x_k off the zeros, each zero's own term on them. */
function cumprodVjp(g: Tensor, x: Tensor, y: Tensor, d: number): Tensor {
  if (!hasZero(x)) return div(scanSumReversed(mul(g, y), d), x);
  const z = eq(x, 0);
  // The double where: the division never sees a 0, so no 0/0 = NaN reaches a gradient.
  let out = where(z, 0, div(scanSumReversed(mul(g, y), d), where(z, 1, x)));
  for (const { at, others } of zeroTerms(x, d)) out = where(at, scanSumReversed(mul(g, others), d), out);
  return out;
}

/** ẏ_i = Σ_{k ≤ i} ẋ_k ∂y_i/∂x_k: y_i·cumsum(ẋ/x)_i off the zeros, plus each zero's term. */
function cumprodJvp(t: Tensor, x: Tensor, y: Tensor, d: number): Tensor {
  if (!hasZero(x)) return mul(y, scanSum(div(t, x), d));
  const z = eq(x, 0);
  let out = mul(y, scanSum(where(z, 0, div(t, where(z, 1, x))), d));
  for (const { at, others } of zeroTerms(x, d)) out = add(out, mul(others, scanSum(where(at, t, 0), d)));
  return out;
}

const cumprodOp: OpDef<ScanParams> = defineOp<ScanParams>({
  name: 'cumprod',
  infer: ([x]) => ({ shape: x.shape.slice(), dtype: x.dtype }),
  overwrites: true,
  forward: (k, out, [x], p) => k.scan('cumprod', out._view(), x._view(), p.dim),
  saveOutput: true,
  vjp: (g, c) => [cumprodVjp(g, c.inputs[0]!, c.out!, c.params.dim)],
  jvp: ([t], c) => cumprodJvp(t!, c.inputs[0]!, c.out!, c.params.dim),
  flops: (ins) => numel(ins[0].shape),
  explain: ({ x, y, dy, params, outShape }) => [
    { rhs: `reversed cumsum(${dy} ⊙ ${y}, ${params.dim}) / ${x[0]}`, shapes: shapeText(outShape) },
  ],
});

export interface CumulativeOptions {
  /** The result's dtype; the input is cast to it first. Default: the input's for floats, the integer accumulator type for integers and bools. */
  dtype?: DType;
}

/** The shared public path: the dtype rule, a 0-d input scanned as one element, then the primitive. */
function cumulative(op: OpDef<ScanParams>, input: Tensor, dimArg: number, opts: CumulativeOptions): Tensor {
  const d = normDim(op.name, dimArg, input.ndim, input.shape);
  const x = toDtype(input, opts.dtype ?? accumulateDtype(input.dtype));
  if (x.ndim === 0) return reshape(apply(op, [reshape(x, [1])], { dim: 0 }), []);
  return apply(op, [x], { dim: d });
}

const signature = { args: { input: tensor, dim }, options: { dtype: optional(dtype) } };

/**
 * The running sum along dim: out_i = x_0 + … + x_i. Integer and bool inputs accumulate in the integer accumulator
 * type (accumulateDtype), floats keep their dtype; {dtype} casts the input first, as PyTorch does.
 */
export const cumsum = testedOp({
  name: 'cumsum',
  fn: checked(
    'cumsum',
    signature,
    (input: Tensor, dim: number, opts: CumulativeOptions = {}): Tensor => cumulative(cumsumOp, input, dim, opts),
  ),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.cumsum(x, 1)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.cumsum(x, 0)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, -2), torch: 'lambda x: torch.cumsum(x, -2)' },
    { args: [[]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.cumsum(x, 0)' },
    { args: [[0, 3]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.cumsum(x, 0)' },
    { args: [[3, 0]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.cumsum(x, 0)' },
  ],
});

/** A line with one zero, one with two and one with three, and zeros at either end. */
const zeroRows = [
  [1.5, 0, -2, 0.5, 1.25],
  [0, -1.5, 2, 0, 0.75],
  [2, 0, 0.5, 0, 0],
];

/**
 * The running product along dim: out_i = x_0 · … · x_i, with cumsum's dtype rule. Its gradient is defined at
 * zeros, as PyTorch's is: each zero's gradient is the running product of the others.
 */
export const cumprod = testedOp({
  name: 'cumprod',
  fn: checked(
    'cumprod',
    signature,
    (input: Tensor, dim: number, opts: CumulativeOptions = {}): Tensor => cumulative(cumprodOp, input, dim, opts),
  ),
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.cumprod(x, 1)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.cumprod(x, 0)' },
    { args: [[2, 3, 4]], call: (f, x) => f(x, -1), torch: 'lambda x: torch.cumprod(x, -1)' },
    { args: [[]], call: (f, x) => f(x, 0), torch: 'lambda x: torch.cumprod(x, 0)' },
    { args: [[3, 1]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.cumprod(x, 1)' },
    { args: [[0, 3]], call: (f, x) => f(x, 1), torch: 'lambda x: torch.cumprod(x, 1)' },
    {
      args: [{ shape: [3, 5], values: zeroRows }],
      call: (f, x) => f(x, 1),
      torch: 'lambda x: torch.cumprod(x, 1)',
      note: 'one, two and three zeros per line',
    },
    {
      args: [{ shape: [3, 5], values: zeroRows }],
      call: (f, x) => f(x, 0),
      torch: 'lambda x: torch.cumprod(x, 0)',
      note: 'zeros down the columns',
    },
    {
      args: [{ shape: [4], values: [0, 0, 1.5, -2] }],
      call: (f, x) => f(x, 0),
      torch: 'lambda x: torch.cumprod(x, 0)',
      note: 'leading zeros',
    },
  ],
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    cumsum(dim: number, opts?: CumulativeOptions): Tensor;
    cumprod(dim: number, opts?: CumulativeOptions): Tensor;
  }
}
installMethods({ cumsum, cumprod });
