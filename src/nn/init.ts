/**
 * @file `ad.nn.init`: torch.nn.init — fill a tensor in place (without recording, so parameters can be filled) from
 * the seeded generator (ad.manualSeed), with PyTorch's formulas for the bounds and standard deviations (fan in and
 * fan out, gains). The random stream is not PyTorch's, so values differ from torch's but distributions match.
 */
import { noGrad } from '../autograd/mode.js';
import { checked, int, nullable, number, oneOf, optional, tensor } from '../core/args.js';
import { isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { random, randomNormal } from '../core/rng.js';
import { numel } from '../core/shape.js';
import { erf } from '../core/special.js';
import { copy_ } from '../ops/inplace.js';
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

const LINEAR_LIKE: readonly string[] = [
  'linear',
  'conv1d',
  'conv2d',
  'conv3d',
  'conv_transpose1d',
  'conv_transpose2d',
  'conv_transpose3d',
  'sigmoid',
];
const NONLINEARITY = oneOf<GainNonlinearity>([
  ...(LINEAR_LIKE as GainNonlinearity[]),
  'tanh',
  'relu',
  'leaky_relu',
  'selu',
]);
const FAN_MODE = optional(oneOf<FanMode>(['fan_in', 'fan_out']));
/** A value drawn from or filled with: a finite number. */
const VALUE = optional(number());
const GAIN = optional(number());
const STD = optional(number({ min: 0 }));

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain(nonlinearity, param=None)): 1 for linear
 * layers and sigmoid, 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (slope = param, default 0.01),
 * 3/4 for selu.
 */
export const calculateGain = checked(
  'calculateGain',
  { args: { nonlinearity: NONLINEARITY, param: optional(nullable(number())) } },
  (nonlinearity: GainNonlinearity, param?: number | null): number => {
    if (LINEAR_LIKE.includes(nonlinearity)) return 1;
    if (nonlinearity === 'tanh') return 5 / 3;
    if (nonlinearity === 'relu') return Math.SQRT2;
    if (nonlinearity === 'selu') return 3 / 4;
    const slope = param ?? 0.01;
    return Math.sqrt(2 / (1 + slope * slope));
  },
);

/** The tensor an init function fills: the signature checks it is a Tensor, this that it is floating point. */
function checkTarget(op: string, t: Tensor): void {
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
export const calculateFanInAndFanOut = checked(
  'calculateFanInAndFanOut',
  { args: { tensor } },
  (t: Tensor): [number, number] => {
    if (t.ndim < 2)
      throw new ShapeError(
        `calculateFanInAndFanOut: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions ` +
          `(shape ${fmtShape(t.shape)}); they are defined for weights [outFeatures, inFeatures, ...kernel]`,
      );
    const receptive = numel(t.shape.slice(2));
    return [t.shape[1] * receptive, t.shape[0] * receptive];
  },
);

function fan(t: Tensor, mode: FanMode): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? fanIn : fanOut;
}

/** Fills t with U(a, b) (torch.nn.init.uniform_(tensor, a=0.0, b=1.0)). */
export const uniform_ = checked(
  'uniform_',
  { args: { tensor, a: VALUE, b: VALUE } },
  (t: Tensor, a = 0, b = 1): Tensor => {
    checkTarget('uniform_', t);
    if (!(a <= b)) throw new ValueError(`uniform_: expects a ≤ b, got a = ${a}, b = ${b}`);
    return draw(t, () => a + (b - a) * random());
  },
);

/** Fills t with N(mean, std²) (torch.nn.init.normal_(tensor, mean=0.0, std=1.0)). */
export const normal_ = checked(
  'normal_',
  { args: { tensor, mean: VALUE, std: STD } },
  (t: Tensor, mean = 0, std = 1): Tensor => {
    checkTarget('normal_', t);
    return draw(t, () => mean + std * randomNormal());
  },
);

/**
 * Fills t with N(mean, std²) truncated to [a, b] (redrawn outside it), as torch.nn.init.trunc_normal_(tensor,
 * mean=0.0, std=1.0, a=-2.0, b=2.0); a and b are absolute bounds, not multiples of std.
 */
export const truncNormal_ = checked(
  'truncNormal_',
  { args: { tensor, mean: VALUE, std: STD, a: VALUE, b: VALUE } },
  (t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor => truncNormal(t, mean, std, a, b),
);

function truncNormal(t: Tensor, mean: number, std: number, a: number, b: number): Tensor {
  checkTarget('truncNormal_', t);
  if (!(a < b)) throw new ValueError(`truncNormal_: expects a < b, got a = ${a}, b = ${b}`);
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

/** Fills t with val (torch.nn.init.constant_(tensor, val)); ±Infinity may be, NaN may not. */
export const constant_ = checked(
  'constant_',
  { args: { tensor, val: number({ infinite: true }) } },
  (t: Tensor, val: number): Tensor => {
    checkTarget('constant_', t);
    return write(t, new Float64Array(t.numel()).fill(val));
  },
);
export const ones_ = checked('ones_', { args: { tensor } }, (t: Tensor): Tensor => {
  checkTarget('ones_', t);
  return constant_(t, 1);
});
export const zeros_ = checked('zeros_', { args: { tensor } }, (t: Tensor): Tensor => {
  checkTarget('zeros_', t);
  return constant_(t, 0);
});

/** Fills a 2-D t with the identity (ones on the diagonal of a possibly non-square matrix). */
export const eye_ = checked('eye_', { args: { tensor } }, (t: Tensor): Tensor => {
  checkTarget('eye_', t);
  if (t.ndim !== 2)
    throw new ShapeError(`eye_: only tensors with 2 dimensions are supported, got shape ${fmtShape(t.shape)}`);
  const [r, c] = t.shape;
  const v = new Float64Array(r * c);
  for (let i = 0; i < Math.min(r, c); i++) v[i * c + i] = 1;
  return write(t, v);
});

/**
 * Fills a 3-, 4- or 5-D convolution weight with the Dirac delta, so the convolution is the identity on as many
 * channels as it can keep; with groups, each group's block gets its own identity (torch.nn.init.dirac_(tensor,
 * groups=1)).
 */
export const dirac_ = checked('dirac_', { args: { tensor, groups: optional(int({ min: 1 })) } }, dirac);

function dirac(t: Tensor, groups = 1): Tensor {
  checkTarget('dirac_', t);
  if (t.ndim < 3 || t.ndim > 5)
    throw new ShapeError(
      `dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape ${fmtShape(t.shape)}`,
    );
  if (t.shape[0] % groups !== 0)
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

/** U(−a, a) with a = gain·√(6 / (fanIn + fanOut)) (Glorot & Bengio; torch.nn.init.xavier_uniform_(tensor, gain=1.0)). */
export const xavierUniform_ = checked(
  'xavierUniform_',
  { args: { tensor, gain: GAIN } },
  (t: Tensor, gain = 1): Tensor => {
    checkTarget('xavierUniform_', t);
    const [fanIn, fanOut] = calculateFanInAndFanOut(t);
    const a = gain * Math.sqrt(6 / (fanIn + fanOut));
    return uniform_(t, -a, a);
  },
);

/** N(0, std²) with std = gain·√(2 / (fanIn + fanOut)) (torch.nn.init.xavier_normal_(tensor, gain=1.0)). */
export const xavierNormal_ = checked(
  'xavierNormal_',
  { args: { tensor, gain: GAIN } },
  (t: Tensor, gain = 1): Tensor => {
    checkTarget('xavierNormal_', t);
    const [fanIn, fanOut] = calculateFanInAndFanOut(t);
    return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
  },
);

export interface KaimingOptions {
  /** The negative slope of the leaky_relu that follows (0 for relu); default 0. */
  a?: number;
  /** 'fan_in' (default) keeps the forward pass's variance, 'fan_out' the backward pass's. */
  mode?: FanMode;
  nonlinearity?: GainNonlinearity;
}

/** kaiming_uniform_ and kaiming_normal_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'), any by name. */
type KaimingFill = (
  tensor: Tensor,
  a?: number | KaimingOptions,
  mode?: FanMode | KaimingOptions,
  nonlinearity?: GainNonlinearity | KaimingOptions,
  opts?: KaimingOptions,
) => Tensor;
const KAIMING = { args: { tensor, a: VALUE, mode: FAN_MODE, nonlinearity: optional(NONLINEARITY) } };

function kaimingStd(t: Tensor, a: number, mode: FanMode, nonlinearity: GainNonlinearity): number {
  return calculateGain(nonlinearity, a) / Math.sqrt(fan(t, mode));
}

/**
 * U(−bound, bound) with bound = gain·√(3 / fan) (He et al.), gain from the nonlinearity and a. Called as torch's
 * positional form, kaimingUniform_(w, a, mode, nonlinearity), or with options: kaimingUniform_(w, {a: Math.sqrt(5)}).
 * Linear's default weight is kaimingUniform_(w, {a: √5}), which is U(−1/√fanIn, 1/√fanIn).
 */
export const kaimingUniform_ = checked(
  'kaimingUniform_',
  KAIMING,
  (t: Tensor, a: number = 0, mode: FanMode = 'fan_in', nonlinearity: GainNonlinearity = 'leaky_relu'): Tensor => {
    checkTarget('kaimingUniform_', t);
    if (t.numel() === 0) return t;
    const bound = Math.sqrt(3) * kaimingStd(t, a, mode, nonlinearity);
    return uniform_(t, -bound, bound);
  },
) as KaimingFill;

/** N(0, std²) with std = gain / √fan. */
export const kaimingNormal_ = checked(
  'kaimingNormal_',
  KAIMING,
  (t: Tensor, a: number = 0, mode: FanMode = 'fan_in', nonlinearity: GainNonlinearity = 'leaky_relu'): Tensor => {
    checkTarget('kaimingNormal_', t);
    if (t.numel() === 0) return t;
    return normal_(t, 0, kaimingStd(t, a, mode, nonlinearity));
  },
) as KaimingFill;

/**
 * A (semi-)orthogonal matrix: t viewed as [shape[0], rest], filled with the Q of the QR decomposition of a normal
 * matrix, signs fixed by R's diagonal so Q is uniformly distributed (as torch.nn.init.orthogonal_(tensor,
 * gain=1)), times gain.
 */
export const orthogonal_ = checked('orthogonal_', { args: { tensor, gain: GAIN } }, orthogonal);

function orthogonal(t: Tensor, gain = 1): Tensor {
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
