/**
 * @file PyTorch parity for the normalisation and attention layers, from test/fixtures/parity-norm-attention.json
 * (written by scripts/parity_norm_attention.py with PyTorch 1.13; torch is never needed here). Each case loads
 * PyTorch's state dict into the same adjoint layer and runs its steps: outputs, the gradients of the fixture's
 * linear functional with respect to every float input and every parameter, and the buffers after the step (running
 * statistics), all in float64 within 1e-10 relative.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose } from './helpers.js';

const { nn } = ad;

interface TensorJson {
  shape: number[];
  dtype: ad.DType;
  values: (number | boolean | string)[];
}
interface Step {
  train: boolean;
  inputs: Record<string, TensorJson>;
  outputs: TensorJson[];
  cotangents: TensorJson[];
  inputGrads: Record<string, TensorJson>;
  paramGrads: Record<string, TensorJson>;
  buffers: Record<string, TensorJson>;
}
interface Case {
  name: string;
  state: Record<string, TensorJson>;
  steps: Step[];
}

const fixture: { torch: string; cases: Case[] } = JSON.parse(
  readFileSync(new URL('./fixtures/parity-norm-attention.json', import.meta.url), 'utf8'),
);
const REGENERATE =
  'regenerate with `/usr/bin/python3 scripts/parity_norm_attention.py` and commit test/fixtures/parity-norm-attention.json';

const NONFINITE: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: Number.NaN };
function decode(t: TensorJson): ad.Tensor {
  const vals = t.values.map((v) => (typeof v === 'string' ? NONFINITE[v] : v)) as number[] | boolean[];
  return ad.tensor(vals, { dtype: t.dtype }).reshape(t.shape);
}
const values = (t: TensorJson) => t.values.map((v) => (typeof v === 'string' ? NONFINITE[v] : Number(v)));

const F64 = { dtype: 'float64' } as const;
type Xs = Record<string, ad.Tensor>;
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
const CASES: Record<string, { make: () => ad.nn.Module; call: (m: any, xs: Xs) => Out; unused?: string[] }> = {
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

const RTOL = 1e-10;
const ATOL = 1e-12;

function compare(got: ad.Tensor, want: TensorJson, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape ${got.shape} vs PyTorch's ${want.shape}`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  assertClose(got.dataSync(), values(want), RTOL, ATOL, what);
}

describe('PyTorch parity: normalisation and attention layers', () => {
  test('every fixture case has a layer here, and every layer here a fixture case', () => {
    const names = fixture.cases.map((c) => c.name);
    assert.deepEqual(
      names.filter((n) => !(n in CASES)),
      [],
      `fixture cases without a layer in this test (or renamed); ${REGENERATE}`,
    );
    assert.deepEqual(
      Object.keys(CASES).filter((n) => !names.includes(n)),
      [],
      `layers without a fixture case; ${REGENERATE}`,
    );
  });

  for (const c of fixture.cases) {
    const spec = CASES[c.name];
    if (!spec) continue;
    test(c.name, () => {
      ad.setBackend('js');
      const m = spec.make();
      const state: Record<string, ad.Tensor> = {};
      for (const [k, t] of Object.entries(c.state)) state[k] = decode(t);
      m.loadStateDict(state);
      assert.deepEqual(Object.keys(m.stateDict()), Object.keys(c.state), 'state-dict keys, in order');

      c.steps.forEach((step, si) => {
        const at = `step ${si} (${step.train ? 'train' : 'eval'})`;
        m.train(step.train);
        const xs: Xs = {};
        for (const [k, t] of Object.entries(step.inputs)) {
          const x = decode(t);
          xs[k] = t.dtype === 'float64' && !spec.unused?.includes(k) ? x.requiresGrad_(true) : x;
        }
        const outs = spec.call(m, xs).filter((o): o is ad.Tensor => o !== null);
        assert.equal(outs.length, step.outputs.length, `${at}: number of outputs`);
        outs.forEach((o, i) => compare(o, step.outputs[i], `${at} output ${i}`));

        let loss: ad.Tensor | null = null;
        outs.forEach((o, i) => {
          const term = o.mul(decode(step.cotangents[i])).sum();
          loss = loss ? loss.add(term) : term;
        });
        const inputNames = Object.keys(xs).filter((k) => xs[k].requiresGrad);
        const params = m.namedParameters();
        const grads = ad.autograd.grad(loss!, [...inputNames.map((k) => xs[k]), ...params.map(([, p]) => p)], {
          allowUnused: true,
        });
        assert.deepEqual(
          inputNames,
          Object.keys(step.inputGrads).filter((k) => !spec.unused?.includes(k)),
          `${at}: the inputs with gradients`,
        );
        inputNames.forEach((k, i) => {
          const g = grads[i] ?? ad.zerosLike(xs[k]);
          compare(g, step.inputGrads[k], `${at} gradient of input ${k}`);
        });
        assert.deepEqual(
          params.map(([k]) => k),
          Object.keys(step.paramGrads),
          `${at}: the parameters with gradients`,
        );
        params.forEach(([k, p], i) => {
          const g = grads[inputNames.length + i] ?? ad.zerosLike(p);
          compare(g, step.paramGrads[k], `${at} gradient of ${k}`);
        });
        const buffers = m.namedBuffers();
        assert.deepEqual(
          buffers.map(([k]) => k),
          Object.keys(step.buffers),
          `${at}: buffers`,
        );
        for (const [k, b] of buffers) compare(b, step.buffers[k], `${at} buffer ${k} after the step`);
      });
    });
  }
});
