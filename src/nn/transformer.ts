/**
 * @file The transformer stacks of torch.nn 1.13, with its constructor and forward arguments (camelCased), parameter
 * names and state-dict keys, so a PyTorch state dict loads: TransformerDecoderLayer (self_attn, multihead_attn,
 * linear1, dropout, linear2, norm1..3, dropout1..3), TransformerEncoder and TransformerDecoder (`layers.0.…`: N deep
 * copies of the layer given, each with its own copy of its initial weights, as PyTorch's _get_clones; an optional
 * final `norm`) and Transformer (`encoder.…`, `decoder.…`). TransformerEncoderLayer and MultiheadAttention are in
 * attention.ts. Masks are MultiheadAttention's: a bool mask is true where attention is NOT allowed, a float mask
 * is added to the scores. Mixing a bool attention mask with a float key-padding mask adds both (PyTorch 2's rule;
 * 1.13 reads the float padding mask as bool there, and refuses two float masks).
 */
import { noGrad } from '../autograd/mode.js';
import { bool, checkMethods, instance, int, nullable, optional, sig, tensor } from '../core/args.js';
import { DEFAULT_FLOAT, type DType } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { add } from '../ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import { activationFn, FLOAT_DTYPE, SIZE, TRANSFORMER_LAYER_ARGS } from './args.js';
import {
  generateSquareSubsequentMask,
  MultiheadAttention,
  type TransformerActivation,
  TransformerEncoderLayer,
  type TransformerEncoderLayerOptions,
} from './attention.js';
import { ModuleList } from './container.js';
import { deepCopyModule } from './copy.js';
import { Dropout } from './dropout.js';
import { xavierUniform_ } from './init.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { LayerNorm } from './norm.js';

// ---------------------------------------------------------------------------------------------------------------
// Argument types shared by the constructors.

const maskArg = optional(nullable(tensor));
/**
 * The type of the first mask parameter of a forward implementation: the overloads also take the masks by name in an
 * options object there, which the checked wrapper (checkMethods at the end of this file) has already turned into
 * positional arguments when the implementation runs, so there it is always a Tensor or null.
 */
type MaskOrOptions = Tensor | null | object;

function checkHeads(where: string, dModel: number, nhead: number): void {
  if (dModel % nhead !== 0)
    throw new ValueError(
      `${where}: dModel (${dModel}) must be divisible by nhead (${nhead}), each head taking dModel / nhead ` +
        `features; pick an nhead that divides ${dModel}`,
    );
}

/** The options of TransformerDecoderLayer, TransformerEncoderLayer and (with the layer counts) Transformer. */
export type TransformerLayerOptions = TransformerEncoderLayerOptions;

// ---------------------------------------------------------------------------------------------------------------
// TransformerDecoderLayer

const DECODER_LAYER_SIG = sig('TransformerDecoderLayer', {
  args: { dModel: SIZE, nhead: SIZE, ...TRANSFORMER_LAYER_ARGS },
  options: { dtype: FLOAT_DTYPE },
});

export interface TransformerDecoderLayerForwardOptions {
  /** The self-attention mask: [T, T] or [N·nhead, T, T]; bool true = not allowed, float = added. */
  tgtMask?: Tensor | null;
  /** The mask of the attention to the memory: [T, S] or [N·nhead, T, S]. */
  memoryMask?: Tensor | null;
  /** [N, T] ([T] unbatched): true (or −inf) at the target's padding positions. */
  tgtKeyPaddingMask?: Tensor | null;
  /** [N, S] ([S] unbatched): true (or −inf) at the memory's padding positions. */
  memoryKeyPaddingMask?: Tensor | null;
}

/**
 * A transformer decoder layer (torch.nn.TransformerDecoderLayer): self-attention over the target, attention from
 * the target to the memory (the encoder's output), and a feed-forward block (linear1, activation, dropout,
 * linear2), each with a residual connection and a LayerNorm — after the sum by default, before the block with
 * normFirst.
 */
export class TransformerDecoderLayer extends Module {
  // Declared in PyTorch's order, so parameters and state-dict keys come in its order.
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  activation: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, opts?: TransformerLayerOptions);
  constructor(opts: TransformerLayerOptions & { dModel: number; nhead: number });
  constructor(
    dModel: number,
    nhead: number,
    dimFeedforward?: number,
    dropout?: number,
    activation?: TransformerActivation,
    layerNormEps?: number,
    batchFirst?: boolean,
    normFirst?: boolean,
    opts?: { dtype?: DType },
  );
  constructor(...args: unknown[]) {
    super();
    const a = DECODER_LAYER_SIG.bind(args);
    checkHeads('TransformerDecoderLayer', a.dModel, a.nhead);
    const p = a.dropout ?? 0.1;
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    const ff = a.dimFeedforward ?? 2048;
    const eps = a.layerNormEps ?? 1e-5;
    const mha = () => new MultiheadAttention(a.dModel, a.nhead, { dropout: p, batchFirst: a.batchFirst, dtype });
    this.self_attn = mha();
    this.multihead_attn = mha();
    this.linear1 = new Linear(a.dModel, ff, { dtype });
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(ff, a.dModel, { dtype });
    this.normFirst = a.normFirst ?? false;
    this.norm1 = new LayerNorm(a.dModel, { eps, dtype });
    this.norm2 = new LayerNorm(a.dModel, { eps, dtype });
    this.norm3 = new LayerNorm(a.dModel, { eps, dtype });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.dropout3 = new Dropout(p);
    this.activation = activationFn(a.activation ?? 'relu');
  }

  override forward(tgt: Tensor, memory: Tensor, opts?: TransformerDecoderLayerForwardOptions): Tensor;
  override forward(
    tgt: Tensor,
    memory: Tensor,
    tgtMask?: Tensor | null,
    memoryMask?: Tensor | null,
    tgtKeyPaddingMask?: Tensor | null,
    memoryKeyPaddingMask?: Tensor | null,
  ): Tensor;
  override forward(
    tgt: Tensor,
    memory: Tensor,
    tgtMask: MaskOrOptions = null,
    memoryMask: Tensor | null = null,
    tgtKeyPaddingMask: Tensor | null = null,
    memoryKeyPaddingMask: Tensor | null = null,
  ): Tensor {
    const selfMask = tgtMask as Tensor | null;
    const sa = (x: Tensor) =>
      this.dropout1.forward(
        this.self_attn.forward(x, x, x, {
          attnMask: selfMask,
          keyPaddingMask: tgtKeyPaddingMask,
          needWeights: false,
        })[0],
      );
    const mha = (x: Tensor) =>
      this.dropout2.forward(
        this.multihead_attn.forward(x, memory, memory, {
          attnMask: memoryMask,
          keyPaddingMask: memoryKeyPaddingMask,
          needWeights: false,
        })[0],
      );
    const ff = (x: Tensor) =>
      this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    let x = tgt;
    if (this.normFirst) {
      x = add(x, sa(this.norm1.forward(x)));
      x = add(x, mha(this.norm2.forward(x)));
      return add(x, ff(this.norm3.forward(x)));
    }
    x = this.norm1.forward(add(x, sa(x)));
    x = this.norm2.forward(add(x, mha(x)));
    return this.norm3.forward(add(x, ff(x)));
  }
}
DECODER_LAYER_SIG.describes(TransformerDecoderLayer);

const DECODER_FORWARD = {
  tgt: tensor,
  memory: tensor,
  tgtMask: maskArg,
  memoryMask: maskArg,
  tgtKeyPaddingMask: maskArg,
  memoryKeyPaddingMask: maskArg,
};

// ---------------------------------------------------------------------------------------------------------------
// The stacks

/** N deep copies of a layer, as PyTorch's _get_clones: each starts from the layer's weights, in tensors of its own. */
function clones<L extends Module>(layer: L, n: number): ModuleList<L> {
  return new ModuleList(Array.from({ length: n }, () => deepCopyModule(layer)));
}

const ENCODER_SIG = sig('TransformerEncoder', {
  args: {
    encoderLayer: instance(Module, 'a Module (the layer to copy numLayers times)'),
    numLayers: int({ min: 1 }),
    norm: optional(nullable(instance(Module, 'a Module (a final LayerNorm)'))),
    enableNestedTensor: optional(bool),
    maskCheck: optional(bool),
  },
});

export interface TransformerEncoderForwardOptions {
  /** The self-attention mask, [S, S] or [N·nhead, S, S] (each layer's srcMask). */
  mask?: Tensor | null;
  /** [N, S] ([S] unbatched): true (or −inf) at padding positions. */
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * A stack of numLayers encoder layers (torch.nn.TransformerEncoder), each a deep copy of encoderLayer, applied in
 * turn, then the optional norm. Each layer is called as `layer.call(x, {srcMask, srcKeyPaddingMask})`, so a custom
 * layer takes those options. enableNestedTensor and maskCheck are kept for PyTorch's signature: they choose
 * PyTorch's nested-tensor fast path for inference, which adjoint does not have, so they change nothing here;
 * adjoint always computes as PyTorch does when it records gradients (padded positions hold computed values, where
 * PyTorch's fast path writes zeros).
 */
export class TransformerEncoder<L extends Module = TransformerEncoderLayer> extends Module {
  layers: ModuleList<L>;
  readonly numLayers: number;
  norm: Module | null;
  readonly enableNestedTensor: boolean;
  readonly maskCheck: boolean;

  constructor(
    encoderLayer: L,
    numLayers: number,
    norm?: Module | null,
    enableNestedTensor?: boolean,
    maskCheck?: boolean,
  );
  constructor(
    encoderLayer: L,
    numLayers: number,
    opts: { norm?: Module | null; enableNestedTensor?: boolean; maskCheck?: boolean },
  );
  constructor(...args: unknown[]) {
    super();
    const a = ENCODER_SIG.bind(args);
    this.layers = clones(a.encoderLayer as L, a.numLayers);
    this.numLayers = a.numLayers;
    this.norm = a.norm ?? null;
    this.enableNestedTensor = a.enableNestedTensor ?? true;
    this.maskCheck = a.maskCheck ?? true;
  }

  override forward(src: Tensor, opts?: TransformerEncoderForwardOptions): Tensor;
  override forward(src: Tensor, mask?: Tensor | null, srcKeyPaddingMask?: Tensor | null): Tensor;
  override forward(src: Tensor, mask: MaskOrOptions = null, srcKeyPaddingMask: Tensor | null = null): Tensor {
    let x = src;
    for (const layer of this.layers) x = layer.call(x, { srcMask: mask as Tensor | null, srcKeyPaddingMask });
    return this.norm ? this.norm.call(x) : x;
  }
}
ENCODER_SIG.describes(TransformerEncoder);

const DECODER_SIG = sig('TransformerDecoder', {
  args: {
    decoderLayer: instance(Module, 'a Module (the layer to copy numLayers times)'),
    numLayers: int({ min: 1 }),
    norm: optional(nullable(instance(Module, 'a Module (a final LayerNorm)'))),
  },
});

/**
 * A stack of numLayers decoder layers (torch.nn.TransformerDecoder), each a deep copy of decoderLayer, applied in
 * turn to the target with the same memory, then the optional norm. Each layer is called as
 * `layer.call(x, memory, {tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask})`.
 */
export class TransformerDecoder<L extends Module = TransformerDecoderLayer> extends Module {
  layers: ModuleList<L>;
  readonly numLayers: number;
  norm: Module | null;

  constructor(decoderLayer: L, numLayers: number, norm?: Module | null);
  constructor(decoderLayer: L, numLayers: number, opts: { norm?: Module | null });
  constructor(...args: unknown[]) {
    super();
    const a = DECODER_SIG.bind(args);
    this.layers = clones(a.decoderLayer as L, a.numLayers);
    this.numLayers = a.numLayers;
    this.norm = a.norm ?? null;
  }

  override forward(tgt: Tensor, memory: Tensor, opts?: TransformerDecoderLayerForwardOptions): Tensor;
  override forward(
    tgt: Tensor,
    memory: Tensor,
    tgtMask?: Tensor | null,
    memoryMask?: Tensor | null,
    tgtKeyPaddingMask?: Tensor | null,
    memoryKeyPaddingMask?: Tensor | null,
  ): Tensor;
  override forward(
    tgt: Tensor,
    memory: Tensor,
    tgtMask: MaskOrOptions = null,
    memoryMask: Tensor | null = null,
    tgtKeyPaddingMask: Tensor | null = null,
    memoryKeyPaddingMask: Tensor | null = null,
  ): Tensor {
    const masks = { tgtMask: tgtMask as Tensor | null, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask };
    let x = tgt;
    for (const layer of this.layers) x = layer.call(x, memory, masks);
    return this.norm ? this.norm.call(x) : x;
  }
}
DECODER_SIG.describes(TransformerDecoder);

// ---------------------------------------------------------------------------------------------------------------
// Transformer

const TRANSFORMER_SIG = sig('Transformer', {
  args: {
    dModel: optional(int({ min: 1 })),
    nhead: optional(int({ min: 1 })),
    numEncoderLayers: optional(int({ min: 1 })),
    numDecoderLayers: optional(int({ min: 1 })),
    dimFeedforward: TRANSFORMER_LAYER_ARGS.dimFeedforward,
    dropout: TRANSFORMER_LAYER_ARGS.dropout,
    activation: TRANSFORMER_LAYER_ARGS.activation,
    customEncoder: optional(nullable(instance(Module, 'a Module (the encoder to use)'))),
    customDecoder: optional(nullable(instance(Module, 'a Module (the decoder to use)'))),
    layerNormEps: TRANSFORMER_LAYER_ARGS.layerNormEps,
    batchFirst: TRANSFORMER_LAYER_ARGS.batchFirst,
    normFirst: TRANSFORMER_LAYER_ARGS.normFirst,
  },
  options: { dtype: FLOAT_DTYPE },
});

const MASK_SIG = sig('Transformer.generateSquareSubsequentMask', {
  args: { sz: int({ min: 0 }) },
  options: { dtype: FLOAT_DTYPE },
});

export interface TransformerOptions extends TransformerLayerOptions {
  /** The model width (default 512). */
  dModel?: number;
  /** Attention heads (default 8). */
  nhead?: number;
  /** Encoder layers (default 6). */
  numEncoderLayers?: number;
  /** Decoder layers (default 6). */
  numDecoderLayers?: number;
  /** Used instead of the TransformerEncoder built here; called as `encoder.call(src, {mask, srcKeyPaddingMask})`. */
  customEncoder?: Module | null;
  /** Used instead of the TransformerDecoder built here; called as TransformerDecoder is. */
  customDecoder?: Module | null;
}

export interface TransformerForwardOptions extends TransformerDecoderLayerForwardOptions {
  /** The encoder's self-attention mask, [S, S] or [N·nhead, S, S]. */
  srcMask?: Tensor | null;
  /** [N, S] ([S] unbatched): true (or −inf) at the source's padding positions. */
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * The encoder-decoder transformer of "Attention Is All You Need" (torch.nn.Transformer): a TransformerEncoder of
 * numEncoderLayers layers and a final LayerNorm over the source, a TransformerDecoder of numDecoderLayers layers
 * and a final LayerNorm over the target attending to the encoder's output. As PyTorch, every parameter of two or
 * more dims is then re-initialised with xavierUniform_ (custom encoders and decoders included). forward(src, tgt)
 * returns the decoder's output, shaped as tgt.
 */
export class Transformer extends Module {
  encoder: Module;
  decoder: Module;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(opts?: TransformerOptions);
  constructor(
    dModel?: number,
    nhead?: number,
    numEncoderLayers?: number,
    numDecoderLayers?: number,
    dimFeedforward?: number,
    dropout?: number,
    activation?: TransformerActivation,
    customEncoder?: Module | null,
    customDecoder?: Module | null,
    layerNormEps?: number,
    batchFirst?: boolean,
    normFirst?: boolean,
    opts?: { dtype?: DType },
  );
  constructor(...args: unknown[]) {
    super();
    const a = TRANSFORMER_SIG.bind(args);
    const dModel = a.dModel ?? 512;
    const nhead = a.nhead ?? 8;
    const eps = a.layerNormEps ?? 1e-5;
    const dtype = a.dtype ?? DEFAULT_FLOAT;
    if (!a.customEncoder || !a.customDecoder) checkHeads('Transformer', dModel, nhead);
    const layerOpts: TransformerLayerOptions = {
      dimFeedforward: a.dimFeedforward,
      dropout: a.dropout,
      activation: a.activation,
      layerNormEps: eps,
      batchFirst: a.batchFirst,
      normFirst: a.normFirst,
      dtype,
    };
    this.encoder =
      a.customEncoder ??
      new TransformerEncoder(
        new TransformerEncoderLayer(dModel, nhead, layerOpts),
        a.numEncoderLayers ?? 6,
        new LayerNorm(dModel, { eps, dtype }),
      );
    this.decoder =
      a.customDecoder ??
      new TransformerDecoder(
        new TransformerDecoderLayer(dModel, nhead, layerOpts),
        a.numDecoderLayers ?? 6,
        new LayerNorm(dModel, { eps, dtype }),
      );
    noGrad(() => {
      for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p);
    });
    this.dModel = dModel;
    this.nhead = nhead;
    this.batchFirst = a.batchFirst ?? false;
  }

  /**
   * The [sz, sz] float causal mask: 0 where position i may attend to position j (j ≤ i), −inf above the diagonal
   * (torch.nn.Transformer.generate_square_subsequent_mask), for srcMask or tgtMask.
   */
  static generateSquareSubsequentMask: (sz: number, opts?: { dtype?: DType }) => Tensor = MASK_SIG.wrap(
    (sz: number, opts: { dtype?: DType } = {}) =>
      generateSquareSubsequentMask(sz, opts as { dtype?: 'float32' | 'float64' }),
  );

  override forward(src: Tensor, tgt: Tensor, opts?: TransformerForwardOptions): Tensor;
  override forward(
    src: Tensor,
    tgt: Tensor,
    srcMask?: Tensor | null,
    tgtMask?: Tensor | null,
    memoryMask?: Tensor | null,
    srcKeyPaddingMask?: Tensor | null,
    tgtKeyPaddingMask?: Tensor | null,
    memoryKeyPaddingMask?: Tensor | null,
  ): Tensor;
  override forward(
    src: Tensor,
    tgt: Tensor,
    srcMask: MaskOrOptions = null,
    tgtMask: Tensor | null = null,
    memoryMask: Tensor | null = null,
    srcKeyPaddingMask: Tensor | null = null,
    tgtKeyPaddingMask: Tensor | null = null,
    memoryKeyPaddingMask: Tensor | null = null,
  ): Tensor {
    const at = `src is ${fmtShape(src.shape)}, tgt is ${fmtShape(tgt.shape)}`;
    const layout = this.batchFirst ? '[N, S, E] (batchFirst)' : '[S, N, E] (batchFirst false)';
    if ((src.ndim !== 2 && src.ndim !== 3) || tgt.ndim !== src.ndim)
      throw new ShapeError(`Transformer.forward: ${at}; both must be 3-D ${layout} or both 2-D [S, E] (unbatched)`);
    const b = this.batchFirst ? 0 : 1;
    if (src.ndim === 3 && src.shape[b] !== tgt.shape[b])
      throw new ShapeError(
        `Transformer.forward: ${at}; the batch sizes (dim ${b} in the ${layout} layout) must be equal`,
      );
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel)
      throw new ShapeError(
        `Transformer.forward: ${at}; the features (last dim) of src and tgt must be dModel = ${this.dModel}`,
      );
    const memory = this.encoder.call(src, { mask: srcMask as Tensor | null, srcKeyPaddingMask });
    return this.decoder.call(tgt, memory, { tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask });
  }
}
TRANSFORMER_SIG.describes(Transformer);

// forward's arguments, checked: PyTorch's positional parameters, also given by name in a trailing options object.
checkMethods(TransformerDecoderLayer, { forward: { args: DECODER_FORWARD } });
checkMethods(TransformerEncoder, {
  forward: {
    args: { src: tensor, mask: maskArg, srcKeyPaddingMask: maskArg },
    renames: { srcMask: 'mask', src_mask: 'mask' },
  },
});
checkMethods(TransformerDecoder, { forward: { args: DECODER_FORWARD } });
checkMethods(Transformer, {
  forward: {
    args: {
      src: tensor,
      tgt: tensor,
      srcMask: maskArg,
      tgtMask: maskArg,
      memoryMask: maskArg,
      srcKeyPaddingMask: maskArg,
      tgtKeyPaddingMask: maskArg,
      memoryKeyPaddingMask: maskArg,
    },
  },
});
