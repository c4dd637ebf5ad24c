/**
 * @file The op table the tests are driven by: every public op registers its sample inputs here, next to its
 * definition, and test/ops.test.ts runs the forward, gradcheck, gradgradcheck and adjoint checks on each, on every
 * backend; each sample also names its PyTorch equivalent, which test/golden.test.ts checks the values and gradients
 * against (from fixtures made by `npm run golden`). What an op does not support is declared here, with the op, not
 * in a skip list elsewhere.
 */
import type { DType } from '../core/dtype.js';
import type { NestedArray, Tensor } from '../tensor/tensor.js';

export interface ArgSpec {
  shape: number[];
  dtype?: DType;
  /** Uniform range for random floats (default [-2, 2]) or integers ([low, high), for int32 and int64). */
  low?: number;
  high?: number;
  /** Fixed values instead of random ones (indices, masks, special points). */
  values?: NestedArray;
  /** False for float inputs that should not be differentiated (targets, weights). Default: true for floats. */
  grad?: boolean;
}
/** A plain shape means a random float64 input in [-2, 2] that is differentiated. */
export type Arg = number[] | ArgSpec;

export interface Sample<F = (...xs: any[]) => Tensor> {
  args: Arg[];
  /**
   * How to call the op (passed in as f) with the sample tensors, e.g. `(f, x) => f(x, -1, true)`; default: f with
   * the tensors as arguments.
   */
  call?: (f: F, ...xs: Tensor[]) => Tensor;
  note?: string;
  /**
   * The same computation in PyTorch, for the golden fixtures (test/golden.test.ts): Python source of a function of
   * the sample tensors, e.g. `(f, x) => f(x, 1, true)` ↔ `'lambda x: torch.sum(x, 1, keepdim=True)'`. It sees `torch`
   * and `F` (torch.nn.functional); float inputs are float64, int64 inputs int64 and int32 inputs int64 too (the Long
   * indices torch needs).
   * Needed on every sample with a `call`; without one the op's `torch` is used. `null` (with a torchNote saying why)
   * where PyTorch has no equivalent, e.g. a deliberate difference.
   */
  torch?: string | null;
  torchNote?: string;
  /** Skip the automatic non-contiguous variants (transposed, strided, expanded) of this sample. */
  noVariants?: boolean;
}

export interface OpTest<F = (...xs: any[]) => Tensor> {
  name: string;
  fn: F;
  samples: Sample<F>[];
  /** False for ops without gradients (comparisons, argmax): only the forward runs. */
  differentiable?: boolean;
  /** False where the op is not twice differentiable in our rules. */
  gradgrad?: boolean;
  /** Finite differences need a smooth neighbourhood; a wider eps or looser tolerance where the op needs it. */
  atol?: number;
  rtol?: number;
  /** A reference forward on plain numbers for checking values, when the op has a simple scalar definition. */
  reference?: (...xs: number[]) => number;
  /**
   * The PyTorch function (Python source) that the samples without a `call` are checked against, applied to the sample
   * tensors positionally, e.g. 'torch.exp' or 'torch.add'.
   */
  torch?: string;
  /**
   * Samples at points where the op is not differentiable (ties, kinks, a root at 0, x^0 at 0) but PyTorch defines a
   * gradient by convention. Finite differences cannot check those, so test/ops.test.ts leaves them out;
   * test/golden.test.ts checks their values and gradients against PyTorch's, as for `samples`.
   */
  singularSamples?: Sample<F>[];
}

export const OP_TESTS: OpTest<any>[] = [];

/**
 * Registers an op's samples; returns fn so a definition can be `export const f = testedOp({...})`. fn may return
 * more than a tensor (sort's {values, indices}); then every sample says with `call` which tensor to check.
 */
export function testedOp<F extends (...xs: any[]) => unknown>(t: OpTest<F>): F {
  OP_TESTS.push(t);
  return t.fn;
}
