/**
 * @file `ad.nn.init`: torch.nn.init — fill a tensor in place (without recording, so parameters can be filled) from
 * the seeded generator (ad.manualSeed), with PyTorch's formulas for the bounds and standard deviations (fan in and
 * fan out, gains). The random stream is not PyTorch's, so values differ from torch's but distributions match.
 */
import { noGrad } from '../autograd/mode.js';
import { isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { random, randomNormal } from '../core/rng.js';
import { numel } from '../core/shape.js';
import { erf } from '../core/special.js';
import { copy_ } from '../ops/inplace.js';
import { isTensor } from '../ops/scalar.js';
import { fromTypedArray, type Tensor } from '../tensor/tensor.js';

export type GainNonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

export type FanMode = 'fan_in' | 'fan_out';

const LINEAR_LIKE = [
  'linear',
  'conv1d',
  'conv2d',
  'conv3d',
  'conv_transpose1d',
  'conv_transpose2d',
  'conv_transpose3d',
  'sigmoid',
];

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear layers and sigmoid, 5/3 for
 * tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (slope = param, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: GainNonlinearity, param?: number | null): number {
  if (LINEAR_LIKE.includes(nonlinearity)) return 1;
  if (nonlinearity === 'tanh') return 5 / 3;
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'selu') return 3 / 4;
  if (nonlinearity === 'leaky_relu') {
    if (param !== undefined && param !== null && typeof param !== 'number')
      throw new ValueError(`calculateGain: negative_slope ${String(param)} is not a valid number`);
    const slope = param ?? 0.01;
    return Math.sqrt(2 / (1 + slope * slope));
  }
  throw new ValueError(
    `calculateGain: unsupported nonlinearity '${nonlinearity}'; use one of ${[...LINEAR_LIKE, 'tanh', 'relu', 'leaky_relu', 'selu'].join(', ')}`,
  );
}

function checkTarget(op: string, t: unknown): asserts t is Tensor {
  if (!isTensor(t))
    throw new ValueError(
      `${op}: the first argument must be a Tensor to fill in place, got ${t === null ? 'null' : typeof t}`,
    );
  if (!isFloating(t.dtype))
    throw new DTypeError(
      `${op}: fills floating-point tensors, got a ${t.dtype} tensor of shape ${fmtShape(t.shape)}; create it with ` +
        `{dtype: 'float32'}`,
    );
}

/** Writes values (row-major, float64) into t in place, without recording; returns t. */
function write(t: Tensor, values: Float64Array): Tensor {
  noGrad(() => copy_(t, fromTypedArray(values, t.shape, 'float64')));
  return t;
}

function draw(t: Tensor, f: () => number): Tensor {
  const n = t.numel();
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = f();
  return write(t, v);
}

/**
 * [fanIn, fanOut] of a weight (torch's _calculate_fan_in_and_fan_out): shape[1] and shape[0] times the receptive
 * field (the product of the dims after the first two), for weights laid out [out, in, ...kernel].
 */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2)
    throw new ShapeError(
      `calculateFanInAndFanOut: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions ` +
        `(shape ${fmtShape(t.shape)}); they are defined for weights [outFeatures, inFeatures, ...kernel]`,
    );
  const receptive = numel(t.shape.slice(2));
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

function fan(op: string, t: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out')
    throw new ValueError(`${op}: mode ${JSON.stringify(mode)} not supported, please use one of fan_in, fan_out`);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? fanIn : fanOut;
}

/** Fills t with U(a, b). */
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  checkTarget('uniform_', t);
  if (!(a <= b)) throw new ValueError(`uniform_: expects a ≤ b, got a = ${a}, b = ${b}`);
  return draw(t, () => a + (b - a) * random());
}

/** Fills t with N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  checkTarget('normal_', t);
  if (!(std >= 0)) throw new ValueError(`normal_: expects std ≥ 0, got ${std}`);
  return draw(t, () => mean + std * randomNormal());
}

/**
 * Fills t with N(mean, std²) truncated to [a, b] (redrawn outside it), as torch.nn.init.trunc_normal_; a and b are
 * absolute bounds, not multiples of std.
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  checkTarget('truncNormal_', t);
  if (!(std >= 0) || !(a < b))
    throw new ValueError(`truncNormal_: expects std ≥ 0 and a < b, got std = ${std}, a = ${a}, b = ${b}`);
  if (std === 0) return constant_(t, Math.min(Math.max(mean, a), b));
  // Rejection is exact; a window far in a tail would make it slow, so it needs a reasonable acceptance rate.
  if (!(normCdf((b - mean) / std) - normCdf((a - mean) / std) > 1e-4))
    throw new ValueError(
      `truncNormal_: [${a}, ${b}] holds almost none of N(${mean}, ${std}²); put the bounds within a few std of the mean`,
    );
  return draw(t, () => {
    for (;;) {
      const v = mean + std * randomNormal();
      if (v >= a && v <= b) return v;
    }
  });
}

/** Φ(x), the standard normal CDF. */
function normCdf(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2));
}

/** Fills t with val. */
export function constant_(t: Tensor, val: number): Tensor {
  checkTarget('constant_', t);
  return write(t, new Float64Array(t.numel()).fill(val));
}
export function ones_(t: Tensor): Tensor {
  checkTarget('ones_', t);
  return constant_(t, 1);
}
export function zeros_(t: Tensor): Tensor {
  checkTarget('zeros_', t);
  return constant_(t, 0);
}

/** Fills a 2-D t with the identity (ones on the diagonal of a possibly non-square matrix). */
export function eye_(t: Tensor): Tensor {
  checkTarget('eye_', t);
  if (t.ndim !== 2)
    throw new ShapeError(`eye_: only tensors with 2 dimensions are supported, got shape ${fmtShape(t.shape)}`);
  const [r, c] = t.shape;
  const v = new Float64Array(r * c);
  for (let i = 0; i < Math.min(r, c); i++) v[i * c + i] = 1;
  return write(t, v);
}

/**
 * Fills a 3-, 4- or 5-D convolution weight with the Dirac delta, so the convolution is the identity on as many
 * channels as it can keep; with groups, each group's block gets its own identity.
 */
export function dirac_(t: Tensor, groups = 1): Tensor {
  checkTarget('dirac_', t);
  if (t.ndim < 3 || t.ndim > 5)
    throw new ShapeError(
      `dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape ${fmtShape(t.shape)}`,
    );
  if (!Number.isInteger(groups) || groups < 1 || t.shape[0] % groups !== 0)
    throw new ValueError(`dirac_: dim 0 (${t.shape[0]}) must be divisible by groups (${groups})`);
  const outPerGroup = t.shape[0] / groups;
  const minDim = Math.min(outPerGroup, t.shape[1]);
  const kernel = t.shape.slice(2);
  const kSize = numel(kernel);
  const inner = t.shape[1] * kSize;
  // The kernel's centre element, row-major within the kernel dims.
  let centre = 0;
  for (const k of kernel) centre = centre * k + Math.floor(k / 2);
  const v = new Float64Array(t.numel());
  for (let g = 0; g < groups; g++)
    for (let d = 0; d < minDim; d++) v[(g * outPerGroup + d) * inner + d * kSize + centre] = 1;
  return write(t, v);
}

/** U(−a, a) with a = gain·√(6 / (fanIn + fanOut)) (Glorot & Bengio). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  checkTarget('xavierUniform_', t);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/** N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  checkTarget('xavierNormal_', t);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** The negative slope of the leaky_relu that follows (0 for relu); default 0. */
  a?: number;
  /** 'fan_in' (default) keeps the forward pass's variance, 'fan_out' the backward pass's. */
  mode?: FanMode;
  nonlinearity?: GainNonlinearity;
}

function kaimingStd(op: string, t: Tensor, args: [number | KaimingOptions | undefined, FanMode?, GainNonlinearity?]) {
  const [first, m, nl] = args;
  const o: KaimingOptions =
    typeof first === 'object' && first !== null ? first : { a: first, mode: m, nonlinearity: nl };
  const f = fan(op, t, o.mode ?? 'fan_in');
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(f);
}

/**
 * U(−bound, bound) with bound = gain·√(3 / fan) (He et al.), gain from the nonlinearity and a. Called as torch's
 * positional form, kaimingUniform_(w, a, mode, nonlinearity), or with options: kaimingUniform_(w, {a: Math.sqrt(5)}).
 * Linear's default weight is kaimingUniform_(w, {a: √5}), which is U(−1/√fanIn, 1/√fanIn).
 */
export function kaimingUniform_(
  t: Tensor,
  a?: number | KaimingOptions,
  mode?: FanMode,
  nonlinearity?: GainNonlinearity,
): Tensor {
  checkTarget('kaimingUniform_', t);
  if (t.numel() === 0) return t;
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, [a, mode, nonlinearity]);
  return uniform_(t, -bound, bound);
}

/** N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(
  t: Tensor,
  a?: number | KaimingOptions,
  mode?: FanMode,
  nonlinearity?: GainNonlinearity,
): Tensor {
  checkTarget('kaimingNormal_', t);
  if (t.numel() === 0) return t;
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, [a, mode, nonlinearity]));
}

/**
 * A (semi-)orthogonal matrix: t viewed as [shape[0], rest], filled with the Q of the QR decomposition of a normal
 * matrix, signs fixed by R's diagonal so Q is uniformly distributed (as torch.nn.init.orthogonal_), times gain.
 */
export function orthogonal_(t: Tensor, gain = 1): Tensor {
  checkTarget('orthogonal_', t);
  if (t.ndim < 2)
    throw new ShapeError(`orthogonal_: only tensors with 2 or more dimensions are supported, got ${fmtShape(t.shape)}`);
  if (t.numel() === 0) return t;
  const rows = t.shape[0];
  const cols = t.numel() / rows;
  // QR of the tall orientation: m ≥ n columns to orthonormalise.
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  const a: Float64Array[] = Array.from({ length: n }, () => {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = randomNormal();
    return c;
  });
  // Modified Gram–Schmidt, twice over for orthogonality to rounding; R's diagonal is each column's norm (> 0), so
  // Q·sign(diag R) is Q itself.
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++)
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < m; i++) d += a[k][i] * a[j][i];
        for (let i = 0; i < m; i++) a[j][i] -= d * a[k][i];
      }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += a[j][i] * a[j][i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) a[j][i] /= norm;
  }
  const v = new Float64Array(rows * cols);
  // Column j of the tall Q is a[j]; t is Q ([rows, cols], rows ≥ cols) or Qᵀ.
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) v[r * cols + c] = gain * (rows >= cols ? a[c][r] : a[r][c]);
  return write(t, v);
}
