/**
 * @file nn.Embedding: a lookup table [numEmbeddings, embeddingDim] initialised N(0, 1) with the paddingIdx row
 * zeroed, as torch.nn.Embedding; the paddingIdx row gets no gradient.
 */
import { noGrad } from '../autograd/mode.js';
import {
  bool,
  checkMethods,
  custom,
  int,
  nullable,
  number,
  optional,
  type Params,
  type SignatureSpec,
  sig,
  tensor,
} from '../core/args.js';
import { DEFAULT_FLOAT, type DType } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { empty } from '../ops/creation.js';
import { zero_ } from '../ops/inplace.js';
import { embedding } from '../ops/nnops.js';
import { clone, slice } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { FEATURES, FLOAT_DTYPE } from './args.js';
import { normal_ } from './init.js';
import { Module, Parameter } from './module.js';

export interface EmbeddingLayerOptions {
  /** Must be false: adjoint has no sparse gradients. */
  sparse?: false;
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

/** Embedding.fromPretrained's options: freeze and the lookup options (the weight's dtype is the embeddings'). */
export type FromPretrainedOptions = Omit<EmbeddingLayerOptions, 'dtype' | '_weight'> & { freeze?: boolean };

/** A float as Python's repr prints it (0.5, 1.0, 1e-05), for reprs that match PyTorch's. */
function pyFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}

/** The lookup options Embedding and Embedding.fromPretrained share, in torch's order. */
const LOOKUP = {
  paddingIdx: optional(nullable(int())),
  maxNorm: optional(nullable(number({ min: 0 }))),
  normType: optional(number({ gt: 0, infinite: true })),
  scaleGradByFreq: optional(bool),
  sparse: optional(
    custom<boolean>('false (adjoint has no sparse gradients; leave sparse out for dense ones)', (v) => v === false, {
      example: false,
    }),
  ),
};

/**
 * torch.nn.Embedding(num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
 * scale_grad_by_freq=False, sparse=False, _weight=None, *, dtype=None).
 */
const EMBEDDING = sig('Embedding', {
  args: { numEmbeddings: FEATURES, embeddingDim: FEATURES, ...LOOKUP, _weight: optional(nullable(tensor)) },
  options: { dtype: FLOAT_DTYPE },
});

/**
 * torch.nn.Embedding.from_pretrained(embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
 * scale_grad_by_freq=False, sparse=False).
 */
const FROM_PRETRAINED: SignatureSpec<Params, Params> = {
  args: { embeddings: tensor, freeze: optional(bool), ...LOOKUP },
};

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

  constructor(
    numEmbeddings: number,
    embeddingDim: number,
    paddingIdx?: number | null | EmbeddingLayerOptions,
    maxNorm?: number | null | EmbeddingLayerOptions,
    normType?: number | EmbeddingLayerOptions,
    scaleGradByFreq?: boolean | EmbeddingLayerOptions,
    sparse?: false | EmbeddingLayerOptions,
    _weight?: Tensor | null | EmbeddingLayerOptions,
    opts?: EmbeddingLayerOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = EMBEDDING.bind(args);
    const { numEmbeddings, embeddingDim } = a;
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const pad = a.paddingIdx ?? null;
    if (pad !== null && !(pad < numEmbeddings && pad >= -numEmbeddings))
      throw new ValueError(
        `Embedding: paddingIdx must be within numEmbeddings: a whole number in [${-numEmbeddings}, ` +
          `${numEmbeddings - 1}] for ${numEmbeddings} rows, got ${pad}`,
      );
    const weight = a._weight ?? null;
    if (weight && !sameShape(weight.shape, [numEmbeddings, embeddingDim]))
      throw new ShapeError(
        `Embedding: _weight has shape ${fmtShape(weight.shape)}, but numEmbeddings and embeddingDim say ` +
          `[${numEmbeddings}, ${embeddingDim}]`,
      );
    // Stored as a row number, as PyTorch does: -1 is numEmbeddings − 1.
    this.paddingIdx = pad !== null && pad < 0 ? pad + numEmbeddings : pad;
    this.maxNorm = a.maxNorm ?? null;
    this.normType = a.normType ?? 2;
    this.scaleGradByFreq = a.scaleGradByFreq ?? false;
    if (weight) this.weight = Parameter(weight);
    else {
      this.weight = Parameter(empty([numEmbeddings, embeddingDim], { dtype: a.dtype ?? DEFAULT_FLOAT }));
      this.resetParameters();
    }
  }

  /** An Embedding holding a copy of `embeddings` ([num, dim]); frozen (no gradient) unless freeze is false. */
  static fromPretrained(
    embeddings: Tensor,
    freeze?: boolean | FromPretrainedOptions,
    paddingIdx?: number | null | FromPretrainedOptions,
    maxNorm?: number | null | FromPretrainedOptions,
    normType?: number | FromPretrainedOptions,
    scaleGradByFreq?: boolean | FromPretrainedOptions,
    sparse?: false | FromPretrainedOptions,
    opts?: FromPretrainedOptions,
  ): Embedding;
  static fromPretrained(
    embeddings: Tensor,
    freeze = true,
    paddingIdx?: number | null,
    maxNorm?: number | null,
    normType?: number,
    scaleGradByFreq?: boolean,
  ): Embedding {
    if (embeddings.ndim !== 2)
      throw new ShapeError(
        `Embedding.fromPretrained: embeddings must be 2-D, [numEmbeddings, embeddingDim], got ${fmtShape(embeddings.shape)}`,
      );
    // A copy, so the module's parameter is its own leaf; the values as given (the padding row is not zeroed).
    const [rows, cols] = embeddings.shape;
    const _weight = noGrad(() => clone(embeddings));
    const e = new Embedding(rows, cols, { paddingIdx, maxNorm, normType, scaleGradByFreq, _weight });
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

EMBEDDING.describes(Embedding);
checkMethods(Embedding, { forward: { args: { input: tensor } } });
// The static method, checked like the methods: the class itself is the object that holds it.
checkMethods({ prototype: Embedding, name: 'Embedding' }, { fromPretrained: FROM_PRETRAINED });
