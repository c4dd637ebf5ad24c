/**
 * @file PyTorch parity for TransformerDecoderLayer, the TransformerEncoder / TransformerDecoder stacks and
 * Transformer, from test/fixtures/parity-transformer.json (written by scripts/parity_transformer.py with PyTorch
 * 1.13; torch is never needed here). Each case builds the module as PyTorch's was (float64, dropout 0), checks that
 * its state-dict keys (in order) and shapes are PyTorch's, loads PyTorch's weights with loadStateDict and runs the
 * steps: outputs and the gradients of the fixture's linear functional with respect to every float input (float
 * masks included) and every parameter, within 1e-10 relative.
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
}
interface Case {
  name: string;
  state: Record<string, TensorJson>;
  steps: Step[];
}

const fixture: { torch: string; cases: Case[] } = JSON.parse(
  readFileSync(new URL('./fixtures/parity-transformer.json', import.meta.url), 'utf8'),
);
const REGENERATE =
  'regenerate with `/usr/bin/python3 scripts/parity_transformer.py` and commit test/fixtures/parity-transformer.json';

const NONFINITE: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: Number.NaN };
const values = (t: TensorJson) => t.values.map((v) => (typeof v === 'string' ? NONFINITE[v] : Number(v)));
function decode(t: TensorJson): ad.Tensor {
  const vals = t.dtype === 'bool' ? (t.values as boolean[]) : values(t);
  return ad.tensor(vals, { dtype: t.dtype }).reshape(t.shape);
}

const F64 = { dtype: 'float64' } as const;
type Xs = Record<string, ad.Tensor>;

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
const CASES: Record<string, { make: () => ad.nn.Module; call: (m: any, xs: Xs) => ad.Tensor }> = {
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

const RTOL = 1e-10;
const ATOL = 1e-12;

function compare(got: ad.Tensor, want: TensorJson, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape ${got.shape} vs PyTorch's ${want.shape}`);
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  assertClose(got.dataSync(), values(want), RTOL, ATOL, what);
}

describe('PyTorch parity: transformer decoder layer, stacks and Transformer', () => {
  test('every fixture case has a module here, and every module here a fixture case', () => {
    const names = fixture.cases.map((c) => c.name);
    assert.deepEqual(
      names.filter((n) => !(n in CASES)),
      [],
      `fixture cases without a module here (or renamed); ${REGENERATE}`,
    );
    assert.deepEqual(
      Object.keys(CASES).filter((n) => !names.includes(n)),
      [],
      `modules without a fixture case; ${REGENERATE}`,
    );
  });

  for (const c of fixture.cases) {
    const spec = CASES[c.name];
    if (!spec) continue;
    test(c.name, () => {
      ad.setBackend('js');
      const m = spec.make();
      const own = m.stateDict();
      assert.deepEqual(Object.keys(own), Object.keys(c.state), "state-dict keys, in PyTorch's order");
      for (const [k, t] of Object.entries(c.state)) assert.deepEqual(own[k].shape, t.shape, `the shape of ${k}`);
      const state: Record<string, ad.Tensor> = {};
      for (const [k, t] of Object.entries(c.state)) state[k] = decode(t);
      m.loadStateDict(state);

      c.steps.forEach((step, si) => {
        const at = `step ${si} (${step.train ? 'train' : 'eval'})`;
        m.train(step.train);
        const xs: Xs = {};
        for (const [k, t] of Object.entries(step.inputs)) {
          const x = decode(t);
          xs[k] = t.dtype === 'float64' ? x.requiresGrad_(true) : x;
        }
        const out = spec.call(m, xs);
        assert.equal(step.outputs.length, 1, `${at}: one output`);
        compare(out, step.outputs[0], `${at} output`);

        const loss = out.mul(decode(step.cotangents[0])).sum();
        const inputNames = Object.keys(xs).filter((k) => xs[k].requiresGrad);
        const params = m.namedParameters();
        const grads = ad.autograd.grad(loss, [...inputNames.map((k) => xs[k]), ...params.map(([, p]) => p)], {
          allowUnused: true,
        });
        assert.deepEqual(inputNames, Object.keys(step.inputGrads), `${at}: the inputs with gradients`);
        inputNames.forEach((k, i) => {
          compare(grads[i] ?? ad.zerosLike(xs[k]), step.inputGrads[k], `${at} gradient of input ${k}`);
        });
        assert.deepEqual(
          params.map(([k]) => k),
          Object.keys(step.paramGrads),
          `${at}: the parameters with gradients`,
        );
        params.forEach(([k, p], i) => {
          compare(grads[inputNames.length + i] ?? ad.zerosLike(p), step.paramGrads[k], `${at} gradient of ${k}`);
        });
      });
    });
  }
});
