/**
 * @file PyTorch parity for the normalisation and attention layers, from test/fixtures/parity-norm-attention.json
 * (written by scripts/parity_norm_attention.py with PyTorch 1.13; torch is never needed here). Each case builds the
 * same adjoint layer, checks that its state-dict keys (in order) and shapes are PyTorch's, loads PyTorch's state dict
 * and runs its steps: outputs, the gradients of the fixture's linear functional with respect to every float input
 * and every parameter, and the buffers after the step (running statistics), all in float64 within 1e-10 relative
 * (the harness is test/parity-fixtures.ts's steppedParity).
 */
import * as ad from '../src/index.js';
import { type SteppedSpec, steppedParity, type Xs } from './parity-fixtures.js';

const { nn } = ad;

const F64 = { dtype: 'float64' } as const;
type Out = (ad.Tensor | null)[];

function mha(m: ad.nn.MultiheadAttention, xs: Xs, opts: ad.nn.MultiheadAttentionForwardOptions = {}): Out {
  const q = xs.q ?? xs.x;
  const k = xs.k ?? q;
  const v = xs.v ?? k;
  return m.forward(q, k, v, { keyPaddingMask: xs.kpm, attnMask: xs.mask, ...opts });
}
const one = (m: ad.nn.Module, xs: Xs): Out => [m.forward(xs.x)];

/**
 * Each fixture case's layer, built as PyTorch's was (in float64), and its call. `unused` names inputs the fixture
 * has but this call leaves out (PyTorch needed an explicit mask where adjoint takes isCausal).
 */
const CASES: Record<string, SteppedSpec> = {
  'BatchNorm1d 2-D: train, train, eval': { make: () => new nn.BatchNorm1d(3, F64), call: one },
  'BatchNorm1d 3-D, momentum null (cumulative), no affine': {
    make: () => new nn.BatchNorm1d(4, { momentum: null, affine: false, ...F64 }),
    call: one,
  },
  'BatchNorm2d momentum 0.3 eps 1e-3': {
    make: () => new nn.BatchNorm2d(3, { momentum: 0.3, eps: 1e-3, ...F64 }),
    call: one,
  },
  'BatchNorm2d without running statistics': {
    make: () => new nn.BatchNorm2d(2, { trackRunningStats: false, ...F64 }),
    call: one,
  },
  'LayerNorm [4, 5]': { make: () => new nn.LayerNorm([4, 5], F64), call: one },
  'LayerNorm 6, no affine, eps 1e-3': {
    make: () => new nn.LayerNorm(6, { eps: 1e-3, elementwiseAffine: false, ...F64 }),
    call: one,
  },
  'GroupNorm 2 groups of 3, 2-D': { make: () => new nn.GroupNorm(2, 6, F64), call: one },
  'GroupNorm 3 groups, no affine, 1-D': {
    make: () => new nn.GroupNorm(3, 6, { affine: false, eps: 1e-4, ...F64 }),
    call: one,
  },
  'MultiheadAttention: keyPaddingMask and attnMask (bool), averaged weights': {
    make: () => new nn.MultiheadAttention(8, 2, F64),
    call: (m, xs) => mha(m, xs),
  },
  'MultiheadAttention batchFirst self-attention: float 3-D attnMask, bool keyPaddingMask, per-head weights': {
    make: () => new nn.MultiheadAttention(8, 4, { batchFirst: true, ...F64 }),
    call: (m, xs) => mha(m, xs, { averageAttnWeights: false }),
  },
  'MultiheadAttention kdim, vdim, no bias, needWeights false': {
    make: () => new nn.MultiheadAttention(6, 2, { kdim: 4, vdim: 5, bias: false, ...F64 }),
    call: (m, xs) => mha(m, xs, { needWeights: false }),
  },
  'MultiheadAttention unbatched: bool keyPaddingMask [S], bool 3-D attnMask [H, L, S]': {
    make: () => new nn.MultiheadAttention(4, 2, F64),
    call: (m, xs) => mha(m, xs),
  },
  'MultiheadAttention float keyPaddingMask, eval': {
    make: () => new nn.MultiheadAttention(4, 1, F64),
    call: (m, xs) => mha(m, xs),
  },
  'TransformerEncoderLayer post-norm relu: causal bool srcMask, srcKeyPaddingMask': {
    make: () => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, ...F64 }),
    call: (m, xs) => [m.forward(xs.x, { srcMask: xs.mask, srcKeyPaddingMask: xs.kpm })],
  },
  'TransformerEncoderLayer pre-norm gelu batchFirst: float srcMask': {
    make: () =>
      new nn.TransformerEncoderLayer(8, 2, {
        dimFeedforward: 12,
        dropout: 0,
        activation: 'gelu',
        layerNormEps: 1e-6,
        batchFirst: true,
        normFirst: true,
        ...F64,
      }),
    call: (m, xs) => [m.forward(xs.x, { srcMask: xs.mask })],
  },
  'TransformerEncoderLayer batchFirst causal (isCausal in adjoint, the float causal mask here)': {
    make: () => new nn.TransformerEncoderLayer(8, 4, { dimFeedforward: 8, dropout: 0, batchFirst: true, ...F64 }),
    call: (m, xs) => [m.forward(xs.x, { isCausal: true })],
    unused: ['mask'],
  },
};

steppedParity('PyTorch parity: normalisation and attention layers', 'parity-norm-attention', CASES);
