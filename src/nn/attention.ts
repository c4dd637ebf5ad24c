/**
 * @file Attention layers with PyTorch's parameter layout, names, initialisation and mask semantics:
 * MultiheadAttention (in_proj_weight [3E, E] packing the q, k, v projections, in_proj_bias, out_proj) and
 * TransformerEncoderLayer (self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2), so state dicts
 * move both ways with torch.nn. Note the mask conventions differ from F.scaledDotProductAttention's: here, as in
 * torch.nn.MultiheadAttention, a bool mask is true where attention is NOT allowed; a float mask is added.
 */
import { linear } from '../api/functional.js';
import { noGrad } from '../autograd/mode.js';
import {
  bool,
  checked,
  checkMethods,
  custom,
  int,
  nullable,
  optional,
  sig,
  signatureOf,
  tensor,
} from '../core/args.js';
import { DEFAULT_FLOAT, type DType, isFloating } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { arange, empty, zeros } from '../ops/creation.js';
import { add, div, gt, sub, toDtype, where } from '../ops/elementwise.js';
import { chunk } from '../ops/join.js';
import { matmul } from '../ops/linalg.js';
import { dropout } from '../ops/nnops.js';
import { mean } from '../ops/reduce.js';
import { permute, reshape, squeeze, transpose, unsqueeze } from '../ops/shape.js';
import { softmax } from '../ops/softmax.js';
import type { Tensor } from '../tensor/tensor.js';
import { activationFn, FLOAT_DTYPE, PROB, SIZE, TRANSFORMER_LAYER_ARGS } from './args.js';
import { Dropout } from './dropout.js';
import { xavierUniform_ } from './init.js';
import { Linear } from './linear.js';
import { Module, Parameter } from './module.js';
import { LayerNorm } from './norm.js';

/**
 * The [sz, sz] float causal mask: 0 where query i may attend to key j (j ≤ i), −inf above the diagonal
 * (torch.nn.Transformer.generate_square_subsequent_mask), for attnMask or srcMask.
 */
export const generateSquareSubsequentMask: (sz: number, opts?: { dtype?: 'float32' | 'float64' }) => Tensor = checked(
  'generateSquareSubsequentMask',
  // torch.nn.Transformer.generate_square_subsequent_mask(sz, *, dtype): a float dtype, which can hold −inf.
  { args: { sz: int({ min: 0 }) }, options: { dtype: FLOAT_DTYPE } },
  (sz: number, opts: { dtype?: DType } = {}): Tensor => {
    const blocked = gt(sub(arange(sz), reshape(arange(sz), [sz, 1])), 0);
    return where(blocked, -Infinity, 0, opts.dtype ?? DEFAULT_FLOAT);
  },
);

/**
 * out_proj's class, named as PyTorch names it (a Linear that quantization leaves alone), so reprs match; it is a
 * Linear in every other respect.
 */
export class NonDynamicallyQuantizableLinear extends Linear {}

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights in training. Default 0. */
  dropout?: number;
  /** Biases on the input and output projections. Default true. */
  bias?: boolean;
  /** Must be false: adjoint's MultiheadAttention has no bias_k / bias_v. */
  addBiasKv?: false;
  /** Must be false: adjoint's MultiheadAttention adds no zero attention row. */
  addZeroAttn?: false;
  /** Inputs and output are [N, L, E] (true) or [L, N, E] (false, the default, as PyTorch). */
  batchFirst?: boolean;
  /** The key's features, when not embedDim: separate q/k/v_proj_weight replace in_proj_weight. */
  kdim?: number | null;
  /** The value's features, when not embedDim. */
  vdim?: number | null;
  /** The parameters' dtype. Default float32. */
  dtype?: DType;
}

export interface MultiheadAttentionForwardOptions {
  /** [N, S] ([S] unbatched): a bool mask true at keys to ignore (padding), or a float mask added to the scores. */
  keyPaddingMask?: Tensor | null;
  /** Also return the attention weights. Default true. */
  needWeights?: boolean;
  /**
   * [L, S], or [N·numHeads, L, S] per batch entry and head ([numHeads, L, S] unbatched): a bool mask true where
   * attention is NOT allowed, or a float mask added to the scores.
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over the heads (true, the default) or return them per head. */
  averageAttnWeights?: boolean;
  /**
   * Without attnMask: apply the causal mask (query i attends to keys 0..i). With attnMask: a hint that attnMask is
   * the causal mask, which is then used as given (as PyTorch 2). PyTorch 2 requires attnMask with isCausal; here
   * its absence means "build it".
   */
  isCausal?: boolean;
}

/** Only false: adjoint's MultiheadAttention has no bias_k/bias_v and adds no zero attention row. */
const ONLY_FALSE = (what: string) =>
  optional(
    custom<false>(
      `false (${what} is not supported by adjoint's MultiheadAttention)`,
      (v) => v === false,
      'custom',
      false,
    ),
  );

/**
 * torch.nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
 * kdim=None, vdim=None, batch_first=False, *, dtype=None).
 */
const MHA = sig('MultiheadAttention', {
  args: {
    embedDim: SIZE,
    numHeads: SIZE,
    dropout: optional(PROB),
    bias: optional(bool),
    addBiasKv: ONLY_FALSE('addBiasKv'),
    addZeroAttn: ONLY_FALSE('addZeroAttn'),
    kdim: optional(nullable(SIZE)),
    vdim: optional(nullable(SIZE)),
    batchFirst: optional(bool),
  },
  options: { dtype: FLOAT_DTYPE },
});

const MASK = optional(nullable(tensor));

/** A mask as an additive float tensor: a bool mask's true (blocked) becomes −inf, a float mask is cast. */
function additive(mask: Tensor, dtype: DType): Tensor {
  return mask.dtype === 'bool' ? where(mask, -Infinity, 0, dtype) : toDtype(mask, dtype);
}

/**
 * Multi-head attention (torch.nn.MultiheadAttention): the query, key and value are projected (in_proj_weight, or
 * q/k/v_proj_weight when kdim or vdim differ from embedDim), split into numHeads heads of embedDim / numHeads
 * features, attended per head as softmax(q·kᵀ/√headDim + masks)·v, concatenated and projected by out_proj.
 * forward returns [output, weights]; weights (averaged over the heads by default) is null with needWeights false.
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly numHeads: number;
  readonly headDim: number;
  dropout: number;
  readonly batchFirst: boolean;
  /** q, k, v share one packed [3E, E] weight when kdim = vdim = embedDim (PyTorch's _qkv_same_embed_dim). */
  readonly _qkvSameEmbedDim: boolean;
  in_proj_weight: Tensor | null = null;
  q_proj_weight: Tensor | null = null;
  k_proj_weight: Tensor | null = null;
  v_proj_weight: Tensor | null = null;
  in_proj_bias: Tensor | null = null;
  out_proj: NonDynamicallyQuantizableLinear;

  constructor(
    embedDim: number,
    numHeads: number,
    dropout?: number | MultiheadAttentionOptions,
    bias?: boolean | MultiheadAttentionOptions,
    addBiasKv?: false | MultiheadAttentionOptions,
    addZeroAttn?: false | MultiheadAttentionOptions,
    kdim?: number | null | MultiheadAttentionOptions,
    vdim?: number | null | MultiheadAttentionOptions,
    batchFirst?: boolean | MultiheadAttentionOptions,
    opts?: MultiheadAttentionOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = MHA.bind(args);
    const { embedDim, numHeads } = a;
    if (embedDim % numHeads !== 0)
      throw new ValueError(
        `MultiheadAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads}), each head taking ` +
          `embedDim / numHeads features; pick a numHeads that divides ${embedDim}`,
      );
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    const bias = a.bias ?? true;
    this.embedDim = embedDim;
    this.kdim = a.kdim ?? embedDim;
    this.vdim = a.vdim ?? embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.dropout = a.dropout ?? 0;
    this.batchFirst = a.batchFirst ?? false;
    this._qkvSameEmbedDim = this.kdim === embedDim && this.vdim === embedDim;
    // Registration order is PyTorch's, so the state dict's keys come in its order.
    if (this._qkvSameEmbedDim)
      this.in_proj_weight = Parameter(xavierUniform_(empty([3 * embedDim, embedDim], { dtype })));
    else {
      this.q_proj_weight = Parameter(xavierUniform_(empty([embedDim, embedDim], { dtype })));
      this.k_proj_weight = Parameter(xavierUniform_(empty([embedDim, this.kdim], { dtype })));
      this.v_proj_weight = Parameter(xavierUniform_(empty([embedDim, this.vdim], { dtype })));
    }
    if (bias) this.in_proj_bias = Parameter(zeros([3 * embedDim], { dtype }));
    this.out_proj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { bias, dtype });
    // PyTorch's _reset_parameters zeroes out_proj's bias after Linear's own initialisation.
    const ob = this.out_proj.bias;
    if (ob) noGrad(() => ob.zero_());
  }

  override forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    keyPaddingMask?: Tensor | null | MultiheadAttentionForwardOptions,
    needWeights?: boolean | MultiheadAttentionForwardOptions,
    attnMask?: Tensor | null | MultiheadAttentionForwardOptions,
    averageAttnWeights?: boolean | MultiheadAttentionForwardOptions,
    isCausal?: boolean | MultiheadAttentionForwardOptions,
    opts?: MultiheadAttentionForwardOptions,
  ): [Tensor, Tensor | null];
  override forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    keyPaddingMask: Tensor | null = null,
    needWeights = true,
    attnMask: Tensor | null = null,
    average = true,
    isCausal = false,
  ): [Tensor, Tensor | null] {
    const kpm = keyPaddingMask;
    const { batched, l, s, n } = this._checkShapes(query, key, value, kpm, attnMask);
    const e = this.embedDim;
    const h = this.numHeads;
    const hd = this.headDim;

    // To [N, L, E] whatever the layout, so the heads below are one batched matmul.
    const toBatchFirst = (t: Tensor) => (!batched ? unsqueeze(t, 0) : this.batchFirst ? t : transpose(t, 0, 1));
    const [q0, k0, v0] = [query, key, value].map(toBatchFirst);
    const [bq, bk, bv] = this.in_proj_bias ? chunk(this.in_proj_bias, 3) : [null, null, null];
    const [wq, wk, wv] = this.in_proj_weight
      ? chunk(this.in_proj_weight, 3)
      : [this.q_proj_weight as Tensor, this.k_proj_weight as Tensor, this.v_proj_weight as Tensor];
    const heads = (t: Tensor, len: number) => permute(reshape(t, [n, len, h, hd]), [0, 2, 1, 3]);
    // The 1/√headDim scaling on q before the head split: elementwise, so the same values as scaling the split
    // heads, but on a contiguous tensor instead of a permuted view (the fast kernels' layouts), in backward too.
    const q = heads(div(linear(q0, wq, bq), Math.sqrt(hd)), l);
    const k = heads(linear(k0, wk, bk), s);
    const v = heads(linear(v0, wv, bv), s);

    // The masks, as one additive float mask broadcast to the scores' [N, H, L, S].
    const dtype = q.dtype;
    let bias: Tensor | null = null;
    if (attnMask) {
      const m = additive(attnMask, dtype);
      bias = attnMask.ndim === 2 ? m : reshape(m, [n, h, l, s]);
    } else if (isCausal)
      bias = generateSquareSubsequentMask(Math.max(l, s), { dtype: dtype as 'float32' | 'float64' })
        .slice(0, 0, l)
        .slice(1, 0, s);
    if (kpm) {
      const m = reshape(additive(kpm, dtype), [n, 1, 1, s]);
      bias = bias ? add(bias, m) : m;
    }

    let scores = matmul(q, transpose(k, -2, -1));
    if (bias) scores = add(scores, bias);
    let weights = softmax(scores, -1);
    weights = dropout(weights, this.dropout, this.training);
    const heads2 = reshape(permute(matmul(weights, v), [0, 2, 1, 3]), [n, l, e]);
    let out = this.out_proj.forward(heads2);
    out = !batched ? squeeze(out, 0) : this.batchFirst ? out : transpose(out, 0, 1);
    if (!needWeights) return [out, null];
    if (average) weights = mean(weights, 1);
    return [out, batched ? weights : squeeze(weights, 0)];
  }

  /** Every shape and dtype check of forward, before anything is computed. */
  _checkShapes(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    kpm: Tensor | null,
    attnMask: Tensor | null,
  ): { batched: boolean; l: number; s: number; n: number } {
    const me = `MultiheadAttention(embedDim=${this.embedDim}, numHeads=${this.numHeads})`;
    for (const [what, t] of [
      ['query', query],
      ['key', key],
      ['value', value],
    ] as const)
      if (!isFloating(t.dtype)) throw new DTypeError(`${me}: ${what} must be floating point, got ${t.dtype}`);
    let at = `query is ${fmtShape(query.shape)}, key is ${fmtShape(key.shape)}, value is ${fmtShape(value.shape)}`;
    const layout = this.batchFirst ? '[N, L, E] (batchFirst)' : '[L, N, E] (batchFirst false)';
    if (query.ndim !== 2 && query.ndim !== 3)
      throw new ShapeError(`${me}: query must be 3-D ${layout} or 2-D [L, E] (unbatched), but ${at}`);
    const batched = query.ndim === 3;
    if (key.ndim !== query.ndim || value.ndim !== query.ndim)
      throw new ShapeError(
        `${me}: ${at}; for a ${query.ndim}-D query, key and value must be ${query.ndim}-D too ` +
          `(${batched ? 'batched' : 'unbatched'})`,
      );
    const seqDim = batched && this.batchFirst ? 1 : 0;
    const batchDim = batched ? (this.batchFirst ? 0 : 1) : -1;
    const l = query.shape[seqDim];
    const s = key.shape[seqDim];
    const n = batched ? query.shape[batchDim] : 1;
    const last = (t: Tensor) => t.shape[t.ndim - 1];
    for (const [what, t, want, opt] of [
      ['query', query, this.embedDim, 'embedDim'],
      ['key', key, this.kdim, 'kdim'],
      ['value', value, this.vdim, 'vdim'],
    ] as const)
      if (last(t) !== want)
        throw new ShapeError(
          `${me}: ${at}; ${what}'s features (last dim) must be ${opt} = ${want}, got ${last(t)}` +
            (what !== 'query' ? `; build the layer with {${opt}: ${last(t)}} for ${what}s of another width` : ''),
        );
    if (value.shape[seqDim] !== s)
      throw new ShapeError(`${me}: ${at}; key and value must have the same sequence length (one value per key)`);
    if (batched && (key.shape[batchDim] !== n || value.shape[batchDim] !== n))
      throw new ShapeError(
        `${me}: ${at}; query, key and value must have the same batch size (dim ${batchDim} in the ${layout} layout)`,
      );
    const dims = batched ? `N = ${n}, L = ${l}, S = ${s}` : `L = ${l}, S = ${s}`;
    for (const [what, m] of [
      ['keyPaddingMask', kpm],
      ['attnMask', attnMask],
    ] as const) {
      if (m === null) continue;
      at += `, ${what} is ${fmtShape(m.shape)}`;
      if (m.dtype !== 'bool' && !isFloating(m.dtype))
        throw new DTypeError(
          `${me}: ${what} must be bool (true = not allowed) or floating point (added to the scores), got ` +
            `${m.dtype} (${at}); compare to get a bool mask (m.ne(0))`,
        );
    }
    if (kpm && !sameShape(kpm.shape, batched ? [n, s] : [s]))
      throw new ShapeError(
        `${me}: ${at}; keyPaddingMask must be ${batched ? `[N, S] = [${n}, ${s}]` : `[S] = [${s}]`} ` +
          `(${dims}), one entry per key`,
      );
    if (attnMask) {
      const three = [batched ? n * this.numHeads : this.numHeads, l, s];
      if (!sameShape(attnMask.shape, [l, s]) && !sameShape(attnMask.shape, three))
        throw new ShapeError(
          `${me}: ${at}; attnMask must be 2-D [L, S] = [${l}, ${s}] or 3-D ` +
            `${batched ? `[N·numHeads, L, S] = ${fmtShape(three)}` : `[numHeads, L, S] = ${fmtShape(three)}`} (${dims})`,
        );
    }
    return { batched, l, s, n };
  }
}

MHA.describes(MultiheadAttention);
/**
 * torch.nn.MultiheadAttention.forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
 * average_attn_weights=True, is_causal=False): is_causal as PyTorch 2 has it.
 */
checkMethods(MultiheadAttention, {
  forward: {
    args: {
      query: tensor,
      key: tensor,
      value: tensor,
      keyPaddingMask: MASK,
      needWeights: optional(bool),
      attnMask: MASK,
      averageAttnWeights: optional(bool),
      isCausal: optional(bool),
    },
  },
});
// out_proj's class is a Linear in all but name; its constructor is Linear's (linear.ts declares it).
signatureOf(Linear)?.describes(NonDynamicallyQuantizableLinear);

export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

export interface TransformerEncoderLayerOptions {
  /** The feed-forward block's hidden width. Default 2048. */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block. Default 0.1. */
  dropout?: number;
  /** The feed-forward block's activation. Default 'relu'. */
  activation?: TransformerActivation;
  /** LayerNorm's eps. Default 1e-5. */
  layerNormEps?: number;
  /** [N, L, E] inputs (true) or [L, N, E] (false, the default). */
  batchFirst?: boolean;
  /** Normalise before each block (pre-norm) instead of after the residual sum (post-norm, the default). */
  normFirst?: boolean;
  /** The parameters' dtype. Default float32. */
  dtype?: DType;
}

export interface TransformerEncoderLayerForwardOptions {
  /** The attention mask (MultiheadAttention's attnMask): [L, L] or [N·nhead, L, L]; bool true = not allowed. */
  srcMask?: Tensor | null;
  /** [N, L]: true (or −inf) at padding positions. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention; with srcMask, a hint that it is the causal mask (see MultiheadAttention). */
  isCausal?: boolean;
}

/**
 * torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=relu,
 * layer_norm_eps=1e-05, batch_first=False, norm_first=False, *, dtype=None).
 */
const ENCODER_LAYER = sig('TransformerEncoderLayer', {
  args: { dModel: SIZE, nhead: SIZE, ...TRANSFORMER_LAYER_ARGS },
  options: { dtype: FLOAT_DTYPE },
});

/**
 * A transformer encoder layer (torch.nn.TransformerEncoderLayer): self-attention and a feed-forward block
 * (linear1, activation, dropout, linear2), each with a residual connection and a LayerNorm — after the sum by
 * default, before the block with normFirst.
 */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  activation: (x: Tensor) => Tensor;

  constructor(
    dModel: number,
    nhead: number,
    dimFeedforward?: number | TransformerEncoderLayerOptions,
    dropout?: number | TransformerEncoderLayerOptions,
    activation?: TransformerActivation | TransformerEncoderLayerOptions,
    layerNormEps?: number | TransformerEncoderLayerOptions,
    batchFirst?: boolean | TransformerEncoderLayerOptions,
    normFirst?: boolean | TransformerEncoderLayerOptions,
    opts?: TransformerEncoderLayerOptions,
  );
  constructor(...args: unknown[]) {
    super();
    const a = ENCODER_LAYER.bind(args);
    const { dModel, nhead } = a;
    const p = a.dropout ?? 0.1;
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    const ff = a.dimFeedforward ?? 2048;
    const eps = a.layerNormEps ?? 1e-5;
    // Built in PyTorch's order, so parameters and state-dict keys come in its order.
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: a.batchFirst, dtype });
    this.linear1 = new Linear(dModel, ff, { dtype });
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(ff, dModel, { dtype });
    this.normFirst = a.normFirst ?? false;
    this.norm1 = new LayerNorm(dModel, { eps, dtype });
    this.norm2 = new LayerNorm(dModel, { eps, dtype });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.activation = activationFn(a.activation ?? 'relu');
  }

  override forward(
    src: Tensor,
    srcMask?: Tensor | null | TransformerEncoderLayerForwardOptions,
    srcKeyPaddingMask?: Tensor | null | TransformerEncoderLayerForwardOptions,
    isCausal?: boolean | TransformerEncoderLayerForwardOptions,
    opts?: TransformerEncoderLayerForwardOptions,
  ): Tensor;
  override forward(
    src: Tensor,
    srcMask: Tensor | null = null,
    srcKeyPaddingMask: Tensor | null = null,
    isCausal = false,
  ): Tensor {
    const sa = (x: Tensor) =>
      this.dropout1.forward(this.self_attn.forward(x, x, x, srcKeyPaddingMask, false, srcMask, true, isCausal)[0]);
    const ff = (x: Tensor) =>
      this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    let x = src;
    if (this.normFirst) {
      x = add(x, sa(this.norm1.forward(x)));
      return add(x, ff(this.norm2.forward(x)));
    }
    x = this.norm1.forward(add(x, sa(x)));
    return this.norm2.forward(add(x, ff(x)));
  }
}

ENCODER_LAYER.describes(TransformerEncoderLayer);
/** torch.nn.TransformerEncoderLayer.forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False). */
checkMethods(TransformerEncoderLayer, {
  forward: { args: { src: tensor, srcMask: MASK, srcKeyPaddingMask: MASK, isCausal: optional(bool) } },
});
