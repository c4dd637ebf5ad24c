/**
 * @file The backend contract: the narrow interface through which the core allocates, uploads, reads back and runs
 * kernels. It holds no op semantics: shapes and dtypes were checked by the op before any kernel runs, and
 * gradients never reach this layer. A backend may implement any subset of the kernels; the rest fall back, one
 * kernel at a time, to the js reference backend with a one-time warning.
 */
import type { DType, TypedArray } from '../core/dtype.js';

/** An opaque buffer handle: a TypedArray in the js backend, a GPUBuffer or a wasm pointer elsewhere. */
export type Buffer = unknown;

/**
 * A strided view of a buffer as a kernel sees it. Kernels write only to `out` views the core allocated
 * (contiguous unless stated); inputs may be any strides, including 0 (broadcast) and negative (flip).
 */
export interface View {
  buf: Buffer;
  dtype: DType;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

export type UnaryFn = (x: number, p: readonly number[]) => number;
export type BinaryFn = (a: number, b: number) => number;
export type ReduceOp = 'sum' | 'prod' | 'amax' | 'amin';
export type ScanOp = 'cumsum' | 'cumprod';

/**
 * The kernels. Unary and binary kernels receive both the op's name (what a fast backend dispatches on) and its
 * scalar function (what the reference backend evaluates), so an elementwise op is defined once, in its op file.
 * Every input of an elementwise kernel is already viewed at the output's shape (stride 0 on broadcast dims).
 */
export interface Kernels {
  /** out[...] = value */
  fill(out: View, value: number): void;
  /** out[...] = cast(x[...]); x has out's shape (any strides), any dtype. */
  copy(out: View, x: View): void;
  unary(name: string, fn: UnaryFn, out: View, x: View, params: readonly number[]): void;
  binary(name: string, fn: BinaryFn, out: View, a: View, b: View): void;
  /**
   * out = x + alpha·y with alpha·y rounded to the dtype first, exactly as mul then add would give (alpha taken in
   * that dtype, as a wrapped scalar is): the in-place `x.add_(y, {alpha})` of an optimizer step in one pass.
   * x, y and out share one float dtype; x and y are viewed at out's shape.
   */
  addScaled(out: View, x: View, y: View, alpha: number): void;
  /** out = cond ? a : b */
  where(out: View, cond: View, a: View, b: View): void;
  /** Reduces x into out; out has x's rank with 1 on every reduced dim. */
  reduce(op: ReduceOp, out: View, x: View): void;
  /** Index (int32) of the first max/min along dim; out has x's rank with 1 at dim. NaN counts as the max. */
  argReduce(op: 'argmax' | 'argmin', out: View, x: View, dim: number): void;
  /**
   * The int32 indices that sort x along dim, stably (equal elements keep their order): ascending with NaN last, or
   * descending with NaN first (NaN counts as the largest value, as in PyTorch). out has x's shape, contiguous.
   */
  argsort(out: View, x: View, dim: number, descending: boolean): void;
  /**
   * Running sum or product along dim, accumulated in float64 and stored once per element (one rounding each, as
   * PyTorch's CPU kernels do with their double accumulator). out has x's shape; x may be any dtype.
   */
  scan(op: ScanOp, out: View, x: View, dim: number): void;
  /** out[..., m, n] = Σ_k a[..., m, k] b[..., k, n]; batch dims of a and b already broadcast to out's. */
  matmul(out: View, a: View, b: View): void;
  /** out[i][j][k] = x[index[i][j][k]][j][k] for dim 0, likewise for other dims; out has index's shape. */
  gather(out: View, x: View, dim: number, index: View): void;
  /** out[index[i][j]][j] += src[i][j] for dim 0; out already holds the base values. */
  scatterAdd(out: View, dim: number, index: View, src: View): void;
  /** Softmax or log-softmax along dim, max-subtracted for stability. */
  softmax(op: 'softmax' | 'logSoftmax', out: View, x: View, dim: number): void;
  /**
   * Softmax's VJP, out = y ⊙ (g − Σ_dim g ⊙ y) for its output y and cotangent g (one float dtype, out's shape),
   * rounded as mul, sum (float64 accumulator, lines in order), sub and mul round it step by step: each product
   * g ⊙ y and the line's sum stored in the dtype, then g − sum, then y times that.
   */
  softmaxBackward(out: View, g: View, y: View, dim: number): void;
  /**
   * Layer normalisation's core over the last dim of contiguous x and out [R, D] (one float dtype): each line
   * (x − mean)/√(var + eps) with the biased variance, mean, variance and the root computed in float64 and each value
   * rounded once to the dtype (PyTorch's native_layer_norm without its affine part).
   */
  layerNorm(out: View, x: View, eps: number): void;
  /**
   * layerNorm's VJP over the last dim of contiguous g, x and out [R, D]: with y and rstd = 1/√(var + eps) recomputed
   * from x as layerNorm computes them, out = rstd·(g − mean(g) − y·mean(g·y)) per line, in float64, rounded once.
   */
  layerNormBackward(out: View, g: View, x: View, eps: number): void;
  /**
   * The fused LSTM cell (torch's gate order i, f, g, o): from the gate pre-activations gates [B, 4H] and the cell
   * state c [B, H] (one float dtype), out [2, B, H] gets h = σ(o) ⊙ tanh(c') and c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g),
   * rounded as the sigmoid, tanh, mul and add kernels round them step by step (each activation, product and sum
   * stored in the dtype). The fast backends' float32 kernel (wasm/activations.ts) computes σ and tanh in SIMD
   * within 2 and 1 ulp of these values, the rounding around them as here.
   */
  lstmCell(out: View, gates: View, c: View): void;
  /**
   * lstmCell's VJP in one pass: from its inputs and the cotangent g [2, B, H] of (h, c'), dGates [B, 4H] and dc
   * [B, H] (contiguous, one dtype), rounded as the composed VJP rounds them (the activations recomputed exactly as
   * lstmCell computes them; the gradient reaching c' is g's plus the tanh path's, summed once).
   */
  lstmCellBackward(dGates: View, dc: View, gates: View, c: View, g: View): void;
  /**
   * The convolution family, one trilinear form ⟨conv2d(x, w), y⟩ read three ways (cuDNN's forward, backward-data and
   * backward-filter). With x [N, C, H, W], w [O, C/groups, kH, kW] and y [N, O, OH, OW]:
   * conv2d: out is y-shaped, out[n, o, i, j] = bias[o] + Σ_{c ∈ group(o), a, b} w[o, c, a, b] ·
   * x[n, c, i·sH − pH + a·dH, j·sW − pW + b·dW], reading zero outside x (the padding after is whatever out's size
   * implies, so asymmetric padding needs nothing more). bias [O] may be null.
   */
  conv2d(out: View, x: View, w: View, bias: View | null, p: Conv2dParams): void;
  /** The adjoint of conv2d in x (the transposed convolution), plus bias [C] (or null): out is x-shaped, y and w given. */
  conv2dTranspose(out: View, y: View, w: View, bias: View | null, p: Conv2dParams): void;
  /** The adjoint of conv2d in w (the correlation of x with y): out is w-shaped, x and y are given. */
  conv2dWeightGrad(out: View, x: View, y: View, p: Conv2dParams): void;
  /**
   * Max pooling of x [N, C, H, W] into out [N, C, OH, OW] and indices (int32, out's shape; both contiguous): each
   * window's taps x[n, c, i·sH − pH + a·dH, j·sW − pW + b·dW] inside x (the op guarantees every window holds one),
   * visited in row-major (a, b) order, starting from −∞ at the first inside tap; a tap replaces the running max
   * when it is greater or NaN (PyTorch's rule: the first of equal maxima, the last NaN). indices[n, c, i, j] is the
   * winner's h·W + w.
   */
  maxPool2d(out: View, indices: View, x: View, p: Pool2dParams): void;
  /**
   * max pooling's adjoint, a scatter: out [N, C, H, W] (contiguous) = 0, then out[n, c, indices[n, c, i, j]] +=
   * g[n, c, i, j] for every output position; g and indices are [N, C, OH, OW], any strides. `window`, when
   * given, is the pool whose forward produced the indices (each lies in its window), which a kernel may exploit.
   */
  maxPool2dBackward(out: View, g: View, indices: View, window?: Pool2dParams): void;
}

/** A 2-D pooling window's geometry (out's size comes from its view). */
export interface Pool2dParams {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  /** Padding before each spatial dim (top, left); what lies outside x never wins. */
  padding: readonly [number, number];
  dilation: readonly [number, number];
}

/** A 2-D convolution's geometry; every size comes from the views. */
export interface Conv2dParams {
  stride: readonly [number, number];
  /** Zero padding before each spatial dim (top, left). */
  padding: readonly [number, number];
  dilation: readonly [number, number];
  groups: number;
}

export interface Backend {
  readonly name: string;
  /** A zero-filled buffer of n elements. */
  alloc(dtype: DType, n: number): Buffer;
  /** Frees a buffer now (a no-op where the garbage collector owns memory). */
  release(buf: Buffer): void;
  /** Copies host data into a buffer. */
  upload(buf: Buffer, dtype: DType, data: TypedArray): void;
  /** Reads a buffer back synchronously; asynchronous-only backends throw and point to `await data()`. */
  readSync(buf: Buffer, dtype: DType, n: number): TypedArray;
  read(buf: Buffer, dtype: DType, n: number): Promise<TypedArray>;
  readonly kernels: Partial<Kernels>;
}
