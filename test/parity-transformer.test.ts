/**
 * @file PyTorch parity for TransformerDecoderLayer, the TransformerEncoder / TransformerDecoder stacks and
 * Transformer, from test/fixtures/parity-transformer.json (written by scripts/parity_transformer.py with PyTorch
 * 1.13; torch is never needed here). Each case builds the module as PyTorch's was (float64, dropout 0), checks that
 * its state-dict keys (in order) and shapes are PyTorch's, loads PyTorch's weights with loadStateDict and runs the
 * steps: outputs and the gradients of the fixture's linear functional with respect to every float input (float
 * masks included) and every parameter, within 1e-10 relative.
 */
import * as ad from '../src/index.js';
import { type SteppedSpec, steppedParity, type Xs } from './parity-fixtures.js';

const { nn } = ad;

const F64 = { dtype: 'float64' } as const;

// The calls take the masks by name, as the Python script passes them; a missing mask is undefined.
const decoderCall = (m: ad.nn.TransformerDecoderLayer | ad.nn.TransformerDecoder, xs: Xs) =>
  m.forward(xs.tgt, xs.memory, {
    tgtMask: xs.tgtMask,
    memoryMask: xs.memoryMask,
    tgtKeyPaddingMask: xs.tgtKpm,
    memoryKeyPaddingMask: xs.memoryKpm,
  });
const encoderCall = (m: ad.nn.TransformerEncoder, xs: Xs) =>
  m.forward(xs.src, { mask: xs.mask, srcKeyPaddingMask: xs.srcKpm });
const transformerCall = (m: ad.nn.Transformer, xs: Xs) =>
  m.forward(xs.src, xs.tgt, {
    srcMask: xs.srcMask,
    tgtMask: xs.tgtMask,
    memoryMask: xs.memoryMask,
    srcKeyPaddingMask: xs.srcKpm,
    tgtKeyPaddingMask: xs.tgtKpm,
    memoryKeyPaddingMask: xs.memoryKpm,
  });

/** Each fixture case's module, built as PyTorch's was, and its call. */
const CASES: Record<string, SteppedSpec> = {
  'TransformerDecoderLayer post-norm relu: bool causal tgtMask, float memoryMask, both padding masks': {
    make: () => new nn.TransformerDecoderLayer(6, 2, { dimFeedforward: 8, dropout: 0, ...F64 }),
    call: decoderCall,
  },
  'TransformerDecoderLayer pre-norm gelu batchFirst eps 1e-6: float causal tgtMask, memory padding': {
    // PyTorch's positional form, with dtype in the options.
    make: () => new nn.TransformerDecoderLayer(4, 2, 6, 0, 'gelu', 1e-6, true, true, F64),
    call: decoderCall,
  },
  'TransformerDecoderLayer unbatched, tanh activation function: 3-D bool tgtMask [nhead, T, T]': {
    make: () =>
      new nn.TransformerDecoderLayer({
        dModel: 4,
        nhead: 2,
        dimFeedforward: 5,
        dropout: 0,
        activation: (x: ad.Tensor) => x.tanh(),
        ...F64,
      }),
    // The masks positionally, as PyTorch's forward also takes them.
    call: (m: ad.nn.TransformerDecoderLayer, xs: Xs) =>
      m.forward(xs.tgt, xs.memory, xs.tgtMask, undefined, undefined, xs.memoryKpm),
  },
  'TransformerEncoder 2 layers post-norm with a final norm: bool mask, srcKeyPaddingMask': {
    make: () =>
      new nn.TransformerEncoder(
        new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, ...F64 }),
        2,
        new nn.LayerNorm(4, F64),
      ),
    call: encoderCall,
  },
  'TransformerEncoder 3 layers pre-norm gelu batchFirst, no norm: float mask': {
    make: () =>
      new nn.TransformerEncoder(
        new nn.TransformerEncoderLayer(4, 2, {
          dimFeedforward: 5,
          dropout: 0,
          activation: 'gelu',
          batchFirst: true,
          normFirst: true,
          ...F64,
        }),
        3,
      ),
    call: (m: ad.nn.TransformerEncoder, xs: Xs) => m.forward(xs.src, xs.mask),
  },
  'TransformerDecoder 2 layers with a final norm: all four masks': {
    make: () =>
      new nn.TransformerDecoder(new nn.TransformerDecoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, ...F64 }), 2, {
        norm: new nn.LayerNorm(4, F64),
      }),
    call: decoderCall,
  },
  'Transformer 2+2 layers post-norm: every mask and padding mask': {
    make: () =>
      new nn.Transformer({
        dModel: 4,
        nhead: 2,
        numEncoderLayers: 2,
        numDecoderLayers: 2,
        dimFeedforward: 6,
        dropout: 0,
        ...F64,
      }),
    call: transformerCall,
  },
  'Transformer 1+1 layers pre-norm gelu batchFirst eps 1e-6: causal tgtMask, padding; train and eval': {
    make: () => new nn.Transformer(4, 2, 1, 1, 5, 0, 'gelu', null, null, 1e-6, true, true, F64),
    call: transformerCall,
  },
  'Transformer unbatched 1+2 layers: float causal tgtMask, srcKeyPaddingMask [S]': {
    make: () =>
      new nn.Transformer({
        dModel: 4,
        nhead: 2,
        numEncoderLayers: 1,
        numDecoderLayers: 2,
        dimFeedforward: 3,
        dropout: 0,
        ...F64,
      }),
    call: transformerCall,
  },
};

steppedParity('PyTorch parity: transformer decoder layer, stacks and Transformer', 'parity-transformer', CASES);
