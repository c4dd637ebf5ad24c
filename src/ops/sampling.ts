/**
 * @file multinomial: category indices drawn from rows of non-negative weights, on the host from the seeded stream
 * (src/core/rng.ts) or a Generator of the caller's, like rand and dropout, so every backend gives the same samples for
 * the same seed. Not differentiable (the indices are integers). Its draws cannot match PyTorch's generator, so its
 * samples carry no PyTorch expression; test/sampling.test.ts checks its distribution instead.
 */
import { bool, checked, custom, int, optional, tensor } from '../core/args.js';
import { isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { drawFrom, getRngState, manualSeed, type RandomStream, random, setRngState } from '../core/rng.js';
import { fromTypedArray, type Tensor } from '../tensor/tensor.js';
import { installMethods } from './methods.js';
import { testedOp } from './registry.js';

/** PyTorch's limit on the number of categories. */
const MAX_CATEGORIES = 2 ** 24;

const generator = custom<RandomStream>(
  'an ad.data.Generator',
  (v) => typeof v === 'object' && v !== null && typeof (v as RandomStream).draw === 'function',
  { kind: 'generator' },
);

export interface MultinomialOptions {
  /** Draw from this generator's stream instead of the global one (torch's generator=). */
  generator?: RandomStream;
}

/** Every check, before anything is drawn, so a failed call leaves the random stream where it was. */
function check(input: Tensor, numSamples: number, replacement: boolean): Float64Array {
  const at = `input is ${input.dtype} ${fmtShape(input.shape)}, numSamples ${numSamples}`;
  if (input.ndim !== 1 && input.ndim !== 2)
    throw new ShapeError(
      `multinomial: the weights must be 1-D [categories] or 2-D [rows, categories] (${at}); ` +
        (input.ndim === 0 ? 'reshape a single weight to [1]' : 'flatten the leading dims into the rows first'),
    );
  if (!isFloating(input.dtype))
    throw new DTypeError(`multinomial: the weights must be floating point, got ${input.dtype} (${at}); use .float()`);
  const n = input.shape[input.ndim - 1];
  if (n > MAX_CATEGORIES)
    throw new ValueError(`multinomial: the number of categories cannot exceed 2^24 (${at}); got ${n}`);
  if (!replacement && numSamples > n)
    throw new ValueError(
      `multinomial: cannot draw ${numSamples} samples from ${n} categories without replacement (${at}); ` +
        'pass replacement = true, or draw at most as many samples as there are categories',
    );
  const w = Float64Array.from(input.dataSync());
  const rows = input.ndim === 2 ? input.shape[0] : 1;
  for (let r = 0; r < rows; r++) {
    let total = 0;
    let positive = 0;
    const where = input.ndim === 2 ? `row ${r} has` : 'the weights have';
    for (let j = 0; j < n; j++) {
      const v = w[r * n + j];
      if (!(v >= 0) || v === Infinity)
        throw new ValueError(
          `multinomial: the probability tensor contains either inf, nan or an element < 0: ${where} ${v} at ` +
            `category ${j} (${at}); weights must be finite and non-negative (apply softmax to logits first)`,
        );
      total += v;
      if (v > 0) positive++;
    }
    if (!(total > 0))
      throw new ValueError(
        `multinomial: invalid multinomial distribution (sum of probabilities <= 0): ${where} only zeros (${at}); ` +
          'every row needs at least one positive weight',
      );
    // PyTorch would hand back zero-weight categories here; we refuse rather than return impossible draws.
    if (!replacement && positive < numSamples)
      throw new ValueError(
        `multinomial: cannot draw ${numSamples} samples without replacement: ${where} only ${positive} nonzero ` +
          `weight${positive === 1 ? '' : 's'} (${at}); draw at most ${positive}, or pass ` +
          'replacement = true',
      );
  }
  return w;
}

/** With replacement: for each draw, the first category whose running total exceeds u · total. */
function drawWithReplacement(w: Float64Array, r: number, n: number, k: number, out: Int32Array): void {
  const cdf = new Float64Array(n);
  let total = 0;
  let last = 0;
  for (let j = 0; j < n; j++) {
    total += w[r * n + j];
    cdf[j] = total;
    if (w[r * n + j] > 0) last = j;
  }
  for (let s = 0; s < k; s++) {
    const u = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    // u rounds below total, but guard the last positive category against a rounding at the top.
    out[r * k + s] = cdf[lo] > u ? lo : last;
  }
}

/**
 * Without replacement: each category gets an exponential race time E/w (E ~ Exp(1)); the k earliest are the draws,
 * in the order sequential draws that remove each pick would give (Efraimidis–Spirakis). Zero weights never finish.
 */
function drawWithoutReplacement(w: Float64Array, r: number, n: number, k: number, out: Int32Array): void {
  const key = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const e = -Math.log(1 - random());
    const v = w[r * n + j];
    key[j] = v > 0 ? e / v : Infinity;
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => key[a] - key[b] || a - b);
  for (let s = 0; s < k; s++) out[r * k + s] = order[s];
}

/**
 * numSamples category indices (int32) per row of non-negative weights: input [categories] gives [numSamples],
 * input [rows, categories] gives [rows, numSamples]. The weights need not sum to 1. Without replacement a row gives
 * distinct categories, so it needs at least numSamples nonzero weights (PyTorch silently returns zero-weight
 * categories past that point; we raise instead).
 */
export const multinomial = testedOp({
  name: 'multinomial',
  fn: checked(
    'multinomial',
    {
      args: { input: tensor, numSamples: int({ min: 1 }), replacement: optional(bool) },
      options: { generator: optional(generator) },
      renames: { num_samples: 'numSamples' },
    },
    (input: Tensor, numSamples: number, replacement = false, opts: MultinomialOptions = {}): Tensor => {
      const w = check(input, numSamples, replacement);
      const rows = input.ndim === 2 ? input.shape[0] : 1;
      const n = input.shape[input.ndim - 1];
      const out = new Int32Array(rows * numSamples);
      drawFrom(opts.generator, () => {
        for (let r = 0; r < rows; r++)
          (replacement ? drawWithReplacement : drawWithoutReplacement)(w, r, n, numSamples, out);
      });
      return fromTypedArray(out, input.ndim === 2 ? [rows, numSamples] : [numSamples], 'int32');
    },
  ),
  differentiable: false,
  samples: [
    {
      args: [{ shape: [5], low: 0.1, high: 1 }],
      call: (f, p) => f(p, 3, false, { generator: seeded(1) }),
      torch: null,
      torchNote: "multinomial's draws come from our generator, not PyTorch's; test/sampling.test.ts checks them",
    },
    {
      args: [{ shape: [3, 4], low: 0.1, high: 1 }],
      call: (f, p) => f(p, 6, true, { generator: seeded(2) }),
      torch: null,
      torchNote: "multinomial's draws come from our generator, not PyTorch's; test/sampling.test.ts checks them",
    },
    {
      args: [{ shape: [0, 4], low: 0.1, high: 1 }],
      call: (f, p) => f(p, 2, false, { generator: seeded(3) }),
      torch: null,
      torchNote: "multinomial's draws come from our generator, not PyTorch's; test/sampling.test.ts checks them",
    },
  ],
});

/**
 * A stream that starts from `seed` at every draw, for the op table's samples: the same draws on every call, so a
 * float32 and a float64 run (or two backends) can be compared.
 */
function seeded(seed: number): RandomStream {
  return {
    draw<T>(fn: () => T): T {
      const saved = getRngState();
      manualSeed(seed);
      try {
        return fn();
      } finally {
        setRngState(saved);
      }
    },
  };
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    multinomial(numSamples: number, replacement?: boolean, opts?: MultinomialOptions): Tensor;
  }
}
installMethods({ multinomial });
