/**
 * @file nn.Embedding: a lookup table [numEmbeddings, embeddingDim] initialised N(0, 1) with the paddingIdx row
 * zeroed, as torch.nn.Embedding; the paddingIdx row gets no gradient.
 */
import { noGrad } from '../autograd/mode.js';
import { DEFAULT_FLOAT, type DType } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { empty } from '../ops/creation.js';
import { zero_ } from '../ops/inplace.js';
import { embedding } from '../ops/nnops.js';
import { clone, slice } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { normal_ } from './init.js';
import { Module, Parameter } from './module.js';

export interface EmbeddingLayerOptions {
  /** A row that stays zero at initialisation and gets no gradient (a padding token); negative counts from the end. */
  paddingIdx?: number | null;
  /** Rows looked up with a norm above maxNorm are renormalised to maxNorm in place. */
  maxNorm?: number | null;
  /** The p of the p-norm for maxNorm; default 2. */
  normType?: number;
  /** Scale each row's gradient by 1 / (its count in the batch). */
  scaleGradByFreq?: boolean;
  /** The weight's dtype; default float32. */
  dtype?: DType;
  /** Use this [numEmbeddings, embeddingDim] tensor as the weight (shared, not copied) instead of initialising one. */
  _weight?: Tensor | null;
}

/** A float as Python's repr prints it (0.5, 1.0, 1e-05), for reprs that match PyTorch's. */
function pyFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}

/** Maps int32 or int64 indices of any shape to rows of weight: output [...indices.shape, embeddingDim] (torch.nn.Embedding). */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding row as a number in [0, numEmbeddings), or null. */
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  readonly scaleGradByFreq: boolean;
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingLayerOptions = {}) {
    super();
    for (const [name, n] of [
      ['numEmbeddings', numEmbeddings],
      ['embeddingDim', embeddingDim],
    ] as const)
      if (!Number.isInteger(n) || n < 0)
        throw new ValueError(`Embedding: ${name} must be a whole number ≥ 0, got ${n}`);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const pad = opts.paddingIdx ?? null;
    if (pad !== null && !(Number.isInteger(pad) && pad < numEmbeddings && pad >= -numEmbeddings))
      throw new ValueError(
        `Embedding: paddingIdx must be within numEmbeddings: a whole number in [${-numEmbeddings}, ` +
          `${numEmbeddings - 1}] for ${numEmbeddings} rows, got ${pad}`,
      );
    // Stored as a row number, as PyTorch does: -1 is numEmbeddings − 1.
    this.paddingIdx = pad !== null && pad < 0 ? pad + numEmbeddings : pad;
    this.maxNorm = opts.maxNorm ?? null;
    this.normType = opts.normType ?? 2;
    this.scaleGradByFreq = opts.scaleGradByFreq ?? false;
    if (opts._weight) {
      if (!sameShape(opts._weight.shape, [numEmbeddings, embeddingDim]))
        throw new ShapeError(
          `Embedding: _weight has shape ${fmtShape(opts._weight.shape)}, but numEmbeddings and embeddingDim say ` +
            `[${numEmbeddings}, ${embeddingDim}]`,
        );
      this.weight = Parameter(opts._weight);
    } else {
      this.weight = Parameter(empty([numEmbeddings, embeddingDim], { dtype: opts.dtype ?? DEFAULT_FLOAT }));
      this.resetParameters();
    }
  }

  /** An Embedding holding a copy of `embeddings` ([num, dim]); frozen (no gradient) unless {freeze: false}. */
  static fromPretrained(
    embeddings: Tensor,
    opts: Omit<EmbeddingLayerOptions, 'dtype' | '_weight'> & { freeze?: boolean } = {},
  ): Embedding {
    if (embeddings.ndim !== 2)
      throw new ShapeError(
        `Embedding.fromPretrained: embeddings must be 2-D, [numEmbeddings, embeddingDim], got ${fmtShape(embeddings.shape)}`,
      );
    const { freeze = true, ...rest } = opts;
    // A copy, so the module's parameter is its own leaf; the values as given (the padding row is not zeroed).
    const e = new Embedding(embeddings.shape[0], embeddings.shape[1], {
      ...rest,
      _weight: noGrad(() => clone(embeddings)),
    });
    e.weight.requiresGrad_(!freeze);
    return e;
  }

  /** PyTorch's initialisation: N(0, 1), then the paddingIdx row zeroed. */
  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx !== null) {
      const row = this.paddingIdx;
      noGrad(() => zero_(slice(this.weight, 0, row, row + 1)));
    }
  }

  override forward(input: Tensor): Tensor {
    return embedding(input, this.weight, {
      paddingIdx: this.paddingIdx,
      maxNorm: this.maxNorm,
      normType: this.normType,
      scaleGradByFreq: this.scaleGradByFreq,
    });
  }

  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, max_norm=${pyFloat(this.maxNorm)}`;
    if (this.normType !== 2) s += `, norm_type=${pyFloat(this.normType)}`;
    if (this.scaleGradByFreq) s += ', scale_grad_by_freq=True';
    return s;
  }
}
