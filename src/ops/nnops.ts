/**
 * @file The functional forms of the basic layers (torch.nn.functional's dropout, embedding, bilinear, and
 * torch.unflatten for nn.Unflatten). Each is a composition of existing differentiable ops — mul, indexSelect,
 * matmul, reshape — so gradients, second derivatives and JVPs come from the ops they are built of; no new primitive.
 * Every check runs in the public function, before anything is computed or drawn from the random stream.
 */
import { noGrad } from '../autograd/mode.js';
import { array, bool, checked, dim as dimArg, int, nullable, number, optional, tensor } from '../core/args.js';
import type { PyArgs } from '../core/args-types.js';
import { checkSameDtype, isFloating, isInteger } from '../core/dtype.js';
import { DTypeError, fmtPosition, fmtShape, IndexError, ShapeError, ValueError } from '../core/errors.js';
import { random } from '../core/rng.js';
import { normDim, numel, sameShape } from '../core/shape.js';
import { fromTypedArray, type Tensor } from '../tensor/tensor.js';
import { add, mul, sub, toDtype } from './elementwise.js';
import { indexSelect } from './indexing.js';
import { copy_, mul_ } from './inplace.js';
import { matmul } from './linalg.js';
import { installMethods } from './methods.js';
import { sum } from './reduce.js';
import { testedOp } from './registry.js';
import { permute, reshape } from './shape.js';

function checkFloat(op: string, what: string, t: Tensor, at: string): void {
  if (!isFloating(t.dtype))
    throw new DTypeError(`${op}: ${what} must be floating point, got ${t.dtype} (${at}); cast it with ${what}.float()`);
}

// ----- dropout -------------------------------------------------------------------------------------------------

/** dropout's parameters by name. */
export interface DropoutOptions {
  p?: number;
  training?: boolean;
  inplace?: boolean;
}

/**
 * Inverted dropout: in training, each element is zeroed with probability p and the others are scaled by 1/(1 − p),
 * so the expected output equals the input and eval mode needs no rescaling. Not training, or p = 0, returns the
 * input itself (as PyTorch does); p = 1 gives zeros with a zero gradient. The mask comes from the seeded generator
 * (ad.manualSeed), drawn in float64 whatever the input's dtype, so a float32 and a float64 run with the same seed
 * drop the same elements. Its gradient is mul's: the same mask and scale.
 */
export const dropout = testedOp({
  name: 'dropout',
  fn: checked(
    'dropout',
    {
      args: {
        input: tensor,
        p: optional({
          ...number({ min: 0, max: 1 }),
          what: 'a probability between 0 and 1 (the chance of zeroing an element, e.g. 0.1 or 0.5)',
        }),
        training: optional(bool),
        inplace: optional(bool),
      },
    },
    (input: Tensor, p: number = 0.5, training: boolean = true, inplace: boolean = false): Tensor => {
      const at = `input is ${fmtShape(input.shape)}`;
      checkFloat('dropout', 'input', input, at);
      if (!training || p === 0 || input.numel() === 0) return input;
      let noise: Tensor;
      if (p === 1) noise = fromTypedArray(new Float64Array(1), [], 'float64');
      else {
        const n = input.numel();
        const keep = new Float64Array(n);
        const scale = 1 / (1 - p);
        // bernoulli(1 − p): an element is kept when its uniform draw falls below 1 − p.
        for (let i = 0; i < n; i++) keep[i] = random() < 1 - p ? scale : 0;
        noise = fromTypedArray(keep, input.shape, 'float64');
      }
      // The mask is a constant in the input's dtype, so a float32 input stays float32.
      const m = toDtype(noise, input.dtype);
      return inplace ? mul_(input, m) : mul(input, m);
    },
  ) as (...a: PyArgs<[input: Tensor], [p: number, training: boolean, inplace: boolean], DropoutOptions>) => Tensor,
  samples: [
    { args: [[3, 4]], call: (f, x) => f(x, 0, true), torch: 'lambda x: F.dropout(x, 0.0, True)', note: 'p = 0' },
    {
      args: [[3, 4]],
      call: (f, x) => f(x, 0.5, false),
      torch: 'lambda x: F.dropout(x, 0.5, False)',
      note: 'not training',
    },
    {
      args: [[2, 3]],
      call: (f, x) => f(x, 1, true),
      torch: 'lambda x: F.dropout(x, 1.0, True)',
      note: 'p = 1 zeroes everything',
    },
    { args: [[]], call: (f, x) => f(x, 0.3, false), torch: 'lambda x: F.dropout(x, 0.3, False)' },
    { args: [[0, 3]], call: (f, x) => f(x, 0.3, true), torch: 'lambda x: F.dropout(x, 0.3, True)' },
  ],
});

// ----- embedding -----------------------------------------------------------------------------------------------

export interface EmbeddingOptions {
  /** A row that gets no gradient (a padding token); negative counts from the end. The row is not zeroed here. */
  paddingIdx?: number | null;
  /** Rows looked up with a norm above maxNorm are renormalised to maxNorm, in place in the weight (as PyTorch). */
  maxNorm?: number | null;
  /** The p of the p-norm for maxNorm; default 2. */
  normType?: number;
  /** Scale each row's gradient by 1 / (how often its index occurs in the input). */
  scaleGradByFreq?: boolean;
  /** PyTorch's sparse gradients; not supported (gradients are dense). */
  sparse?: boolean;
}

/**
 * PyTorch's `embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
 * sparse=False)`; paddingIdx's range depends on the weight, so the op checks it.
 */
const EMBEDDING_ARGS = {
  args: {
    input: tensor,
    weight: tensor,
    paddingIdx: optional(nullable(int())),
    maxNorm: optional(nullable(number({ min: 0 }))),
    normType: optional({ ...number({ gt: 0, infinite: true }), what: 'a number > 0 (2 for the Euclidean norm)' }),
    scaleGradByFreq: optional(bool),
    sparse: optional(bool),
  },
};
type EmbeddingPositional = [
  paddingIdx: number | null,
  maxNorm: number | null,
  normType: number,
  scaleGradByFreq: boolean,
  sparse: boolean,
];

/** The paddingIdx as a row number in [0, rows), or null; a negative one counts from the end, as PyTorch. */
function paddingRow(op: string, paddingIdx: number | null | undefined, rows: number): number | null {
  if (paddingIdx === undefined || paddingIdx === null) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx >= rows || paddingIdx < -rows)
    throw new ValueError(
      `${op}: paddingIdx must be within numEmbeddings: a whole number in [${-rows}, ${rows - 1}] for ${rows} ` +
        `rows, got ${paddingIdx}`,
    );
  return paddingIdx < 0 ? paddingIdx + rows : paddingIdx;
}

/** PyTorch's embedding_renorm_: rows named in vals whose p-norm exceeds maxNorm are scaled to maxNorm, in place. */
function renormRows(weight: Tensor, vals: ArrayLike<number>, maxNorm: number, normType: number): void {
  const [rows, dim] = weight.shape;
  const w = weight.dataSync();
  const scale = new Float64Array(rows).fill(1);
  let any = false;
  for (const r of new Set(Array.from(vals))) {
    let norm = 0;
    if (normType === Number.POSITIVE_INFINITY)
      for (let j = 0; j < dim; j++) norm = Math.max(norm, Math.abs(w[r * dim + j]));
    else {
      for (let j = 0; j < dim; j++) norm += Math.abs(w[r * dim + j]) ** normType;
      norm **= 1 / normType;
    }
    if (norm > maxNorm) {
      scale[r] = maxNorm / (norm + 1e-7);
      any = true;
    }
  }
  if (any) noGrad(() => copy_(weight, mul(weight, toDtype(fromTypedArray(scale, [rows, 1], 'float64'), weight.dtype))));
}

/**
 * Looks up rows of weight ([numEmbeddings, embeddingDim]) by int32 or int64 indices of any shape; the output is
 * [...indices.shape, embeddingDim]. The gradient goes to the rows that were looked up (summed over repeats, through
 * indexSelect's adjoint), except the paddingIdx row, which gets none, as in PyTorch.
 */
export const embedding = testedOp({
  name: 'embedding',
  fn: checked(
    'embedding',
    EMBEDDING_ARGS,
    (
      input: Tensor,
      weight: Tensor,
      paddingIdx: number | null = null,
      maxNormArg: number | null = null,
      normType: number = 2,
      scaleGradByFreq: boolean = false,
      sparse: boolean = false,
    ): Tensor => {
      const at = `input is ${fmtShape(input.shape)}, weight is ${fmtShape(weight.shape)}`;
      if (sparse)
        throw new ValueError(`embedding: sparse gradients are not supported (${at}); leave sparse out for dense ones`);
      if (!isInteger(input.dtype))
        throw new DTypeError(
          `embedding: the input must be int32 or int64 indices, got ${input.dtype} (${at}); cast it with input.int() ` +
            'or input.long()',
        );
      if (weight.ndim !== 2)
        throw new ShapeError(
          `embedding: weight must be 2-D, [numEmbeddings, embeddingDim], but ${at}; reshape it, or use indexSelect ` +
            `for other layouts`,
        );
      checkFloat('embedding', 'weight', weight, at);
      const [rows, dim] = weight.shape;
      const pad = paddingRow('embedding', paddingIdx, rows);
      const maxNorm = maxNormArg;
      const vals = input.dataSync();
      for (let i = 0; i < vals.length; i++)
        if (!(vals[i] >= 0 && vals[i] < rows))
          throw new IndexError(
            `embedding: index ${vals[i]} at position ${fmtPosition(input.shape, i)} is out of range for ${rows} ` +
              `embeddings (${at}); indices must be in [0, ${rows - 1}]` +
              (vals[i] < 0 ? '; negative indices are not wrapped' : '; make the table larger (numEmbeddings)'),
          );

      if (maxNorm !== null) renormRows(weight, vals, maxNorm, normType);
      const rowsOut = indexSelect(weight, 0, reshape(input, [-1]));
      let out = rowsOut;
      if (pad !== null || scaleGradByFreq) {
        // Each looked-up row's gradient factor: 0 for the padding row, 1 / count with scaleGradByFreq. Applied as
        // r.detach() + (r − r.detach())·factor: exactly r in value (r − r.detach() is 0), factor·dr in derivative.
        const counts = new Map<number, number>();
        if (scaleGradByFreq) for (const v of vals) counts.set(v, (counts.get(v) ?? 0) + 1);
        const factor = new Float64Array(vals.length);
        for (let i = 0; i < vals.length; i++)
          factor[i] = vals[i] === pad ? 0 : scaleGradByFreq ? 1 / (counts.get(vals[i]) as number) : 1;
        const f = toDtype(fromTypedArray(factor, [vals.length, 1], 'float64'), weight.dtype);
        const d = rowsOut.detach();
        out = add(d, mul(sub(rowsOut, d), f));
      }
      return reshape(out, [...input.shape, dim]);
    },
  ) as (...a: PyArgs<[input: Tensor, weight: Tensor], EmbeddingPositional, EmbeddingOptions>) => Tensor,
  samples: [
    { args: [{ shape: [2, 3], dtype: 'int32', low: 0, high: 5 }, [5, 4]], torch: 'F.embedding' },
    {
      args: [{ shape: [], dtype: 'int32', values: 1 }, [3, 2]],
      torch: 'F.embedding',
      note: '0-d index',
    },
    {
      args: [{ shape: [0], dtype: 'int32', values: [] }, [3, 2]],
      torch: 'F.embedding',
    },
    {
      args: [{ shape: [4], dtype: 'int32', values: [0, 3, 3, 1] }, [5, 3]],
      call: (f, i, w) => f(i, w, { paddingIdx: 2 }),
      torch: 'lambda i, w: F.embedding(i, w, padding_idx=2)',
      note: 'paddingIdx not looked up',
    },
    { args: [{ shape: [3, 2], dtype: 'int64', low: 0, high: 4 }, [4, 3]], torch: 'F.embedding', note: 'int64 indices' },
  ],
  // PyTorch's conventions rather than derivatives: the paddingIdx row gets no gradient although the output depends
  // on it, and scaleGradByFreq divides each row's gradient by its count. Finite differences see the true derivative.
  singularSamples: [
    {
      args: [{ shape: [5], dtype: 'int32', values: [0, 2, 2, 4, 2] }, [5, 3]],
      call: (f, i, w) => f(i, w, { paddingIdx: 2 }),
      torch: 'lambda i, w: F.embedding(i, w, padding_idx=2)',
      note: 'paddingIdx gets no gradient',
    },
    {
      args: [
        {
          shape: [2, 2],
          dtype: 'int32',
          values: [
            [3, 1],
            [1, 0],
          ],
        },
        [4, 3],
      ],
      call: (f, i, w) => f(i, w, { paddingIdx: -1, scaleGradByFreq: true }),
      torch: 'lambda i, w: F.embedding(i, w, padding_idx=-1, scale_grad_by_freq=True)',
      note: 'negative paddingIdx, scaleGradByFreq',
    },
    {
      args: [
        {
          shape: [2, 3],
          dtype: 'int32',
          values: [
            [1, 1, 0],
            [2, 1, 0],
          ],
        },
        [3, 2],
      ],
      call: (f, i, w) => f(i, w, { scaleGradByFreq: true }),
      torch: 'lambda i, w: F.embedding(i, w, scale_grad_by_freq=True)',
      note: 'scaleGradByFreq',
    },
  ],
  torch: 'F.embedding',
});

// ----- bilinear ------------------------------------------------------------------------------------------------

const BILINEAR_ARGS = { args: { input1: tensor, input2: tensor, weight: tensor, bias: optional(nullable(tensor)) } };

/**
 * y_k = x1ᵀ·W_k·x2 + b_k for each output feature k, with PyTorch's layouts: input1 [..., in1], input2 [..., in2]
 * with the same leading dims, weight [out, in1, in2], bias [out]; the output is [..., out]. Composed as one matmul of
 * x1 with W laid out as [in1, out·in2], then a product with x2 summed over in2.
 */
export const bilinear = testedOp({
  name: 'bilinear',
  fn: checked(
    'bilinear',
    BILINEAR_ARGS,
    (input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor => {
      const at =
        `input1 is ${fmtShape(input1.shape)}, input2 is ${fmtShape(input2.shape)}, weight is ${fmtShape(weight.shape)}` +
        (bias ? `, bias is ${fmtShape(bias.shape)}` : '');
      if (input1.ndim === 0 || input2.ndim === 0)
        throw new ShapeError(`bilinear: the inputs need at least 1 dim, their features (${at}); reshape them to [1]`);
      const lead = input1.shape.slice(0, -1);
      if (!sameShape(lead, input2.shape.slice(0, -1)))
        throw new ShapeError(
          `bilinear: the inputs' batch dims must match (${at}): every dim but the last is the batch, and ` +
            `${fmtShape(lead)} ≠ ${fmtShape(input2.shape.slice(0, -1))}; they are not broadcast`,
        );
      if (weight.ndim !== 3)
        throw new ShapeError(`bilinear: weight must be 3-D, [outFeatures, in1Features, in2Features], but ${at}`);
      const [out, in1, in2] = weight.shape;
      if (input1.shape[input1.ndim - 1] !== in1 || input2.shape[input2.ndim - 1] !== in2)
        throw new ShapeError(
          `bilinear: ${at}; weight is [outFeatures, in1Features, in2Features], so input1's last dim must be ${in1} ` +
            `and input2's ${in2}: swap the inputs or fix the layer sizes`,
        );
      if (bias && !(bias.ndim === 1 && bias.shape[0] === out))
        throw new ShapeError(`bilinear: bias must be [${out}], one per output feature (weight.shape[0]), but ${at}`);
      for (const [name, t] of [
        ['input1', input1],
        ['input2', input2],
        ['weight', weight],
      ] as const)
        checkFloat('bilinear', name, t, at);
      if (bias) checkFloat('bilinear', 'bias', bias, at);
      // One dtype for the inputs and the weight, as PyTorch's matmul requires; the bias is added, so it may promote.
      checkSameDtype('bilinear', [
        ['input1', input1],
        ['input2', input2],
        ['weight', weight],
      ]);

      const n = numel(lead);
      const x1 = reshape(input1, [n, in1]);
      const x2 = reshape(input2, [n, 1, in2]);
      const w = reshape(permute(weight, [1, 0, 2]), [in1, out * in2]);
      let y = sum(mul(reshape(matmul(x1, w), [n, out, in2]), x2), -1);
      if (bias) y = add(y, bias);
      return reshape(y, [...lead, out]);
    },
  ),
  samples: [
    { args: [[5, 3], [5, 4], [2, 3, 4], [2]] },
    {
      args: [
        [5, 3],
        [5, 4],
        [2, 3, 4],
      ],
      note: 'no bias',
    },
    { args: [[2, 3, 3], [2, 3, 2], [4, 3, 2], [4]], note: 'batch dims' },
    { args: [[3], [2], [2, 3, 2], [2]], note: 'unbatched' },
    { args: [[0, 3], [0, 2], [2, 3, 2], [2]] },
  ],
  torch: 'F.bilinear',
});

// ----- unflatten -----------------------------------------------------------------------------------------------

const UNFLATTEN_ARGS =
  // One size may be -1 (inferred): which negative sizes are allowed is the op's rule, with the whole list.
  { args: { input: tensor, dim: dimArg, sizes: array(int(), 'an array of whole numbers') } };

/** Splits dim into sizes (one may be -1, inferred): flatten's inverse, as torch.unflatten. A view when it can be. */
export const unflatten = testedOp({
  name: 'unflatten',
  fn: checked('unflatten', UNFLATTEN_ARGS, (input: Tensor, dim: number, sizes: readonly number[]): Tensor => {
    const d = normDim('unflatten', dim, input.ndim, input.shape);
    const at = `input is ${fmtShape(input.shape)}, sizes ${Array.isArray(sizes) ? fmtShape(sizes) : String(sizes)}`;
    if (!Array.isArray(sizes) || sizes.length === 0)
      throw new ValueError(`unflatten: sizes must be a non-empty array of whole numbers (${at}), e.g. [2, -1]`);
    const size = input.ndim === 0 ? 1 : input.shape[d];
    let known = 1;
    let infer = -1;
    for (let i = 0; i < sizes.length; i++) {
      const s = sizes[i];
      if (s === -1 && infer < 0) infer = i;
      else if (!Number.isInteger(s) || s < 0)
        throw new ValueError(`unflatten: sizes must be whole numbers ≥ 0, with at most one -1 (${at})`);
      else known *= s;
    }
    const resolved = sizes.slice();
    if (infer >= 0) {
      if (known === 0 || size % known !== 0)
        throw new ShapeError(
          `unflatten: sizes ${fmtShape(sizes)} don't multiply up to the size of dim ${dim} (${size}) (${at}); the ` +
            `known sizes multiply to ${known}, which must divide ${size}`,
        );
      resolved[infer] = size / known;
    } else if (known !== size)
      throw new ShapeError(
        `unflatten: sizes ${fmtShape(sizes)} don't multiply up to the size of dim ${dim} (${size}) (${at}); their ` +
          `product must be ${size}`,
      );
    const shape = input.ndim === 0 ? resolved : [...input.shape.slice(0, d), ...resolved, ...input.shape.slice(d + 1)];
    return reshape(input, shape);
  }),
  samples: [
    { args: [[2, 12]], call: (f, x) => f(x, 1, [3, 4]), torch: 'lambda x: torch.unflatten(x, 1, (3, 4))' },
    {
      args: [[6, 5]],
      call: (f, x) => f(x, -2, [2, -1]),
      torch: 'lambda x: torch.unflatten(x, -2, (2, -1))',
      note: 'negative dim, -1',
    },
    { args: [[2, 0]], call: (f, x) => f(x, 1, [0, 5]), torch: 'lambda x: torch.unflatten(x, 1, (0, 5))' },
    { args: [[4]], call: (f, x) => f(x, 0, [2, 1, 2]), torch: 'lambda x: torch.unflatten(x, 0, (2, 1, 2))' },
  ],
});

declare module '../tensor/tensor.js' {
  interface Tensor {
    unflatten(dim: number, sizes: readonly number[]): Tensor;
  }
}
installMethods({ unflatten });
