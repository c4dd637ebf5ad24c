/**
 * @file PyTorch parity for the basic layers (Linear, Bilinear, Embedding with paddingIdx, containers, activations,
 * Flatten/Unflatten, Identity, Dropout in eval, loss modules with buffers): each case's module is built here as
 * scripts/parity_layers.py builds it in torch; its state-dict keys, shapes and repr must be torch's, torch's state
 * dict loads into it, and the output and the gradients of a random linear functional with respect to every input
 * and parameter match within 1e-10 relative (test/fixtures/parity-layers.json; torch is never needed here). Every
 * layer also passes gradcheck in float64 through its inputs and parameters.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose } from './helpers.js';
import {
  assertTorchLayout,
  decodeEnc,
  type Enc,
  loadFixture,
  regenerate,
  stateDictOf,
  withParams,
} from './parity-fixtures.js';

const nn = ad.nn;
const dtype = 'float64';
const f64 = (data: ad.NestedArray) => ad.tensor(data, { dtype });

interface Case {
  repr: string;
  eval: boolean;
  state: [string, Enc][];
  inputs: (Enc & { dtype: 'float64' | 'int32'; grad: boolean })[];
  output: Enc;
  cotangent: number[];
  inputGrads: (number[] | null)[];
  paramGrads: [string, number[] | null][];
}

const fixture = loadFixture<{ torch: string; cases: Record<string, Case> }>('parity-layers');
const REGENERATE = regenerate('parity-layers');

/** Nested containers, as Net in scripts/parity_layers.py. */
class Net extends nn.Module {
  layers = new nn.ModuleList([new nn.Linear(3, 4, { dtype }), new nn.Linear(4, 4, { dtype })]);
  heads = new nn.ModuleDict({ out: new nn.Linear(4, 2, { dtype }), aux: new nn.Bilinear(4, 3, 1, { dtype }) });
  override forward(x: ad.Tensor): ad.Tensor {
    const h = ad.tanh(this.layers.at(1).call(ad.relu(this.layers.at(0).call(x))));
    return ad.cat([this.heads.get('out').call(h), this.heads.get('aux').call(h, x)], -1);
  }
}

interface LayerCase {
  make: () => ad.nn.Module;
  /** Why finite differences cannot check this case, where they cannot. */
  noGradcheck?: string;
}

/** Mirrors CASES in scripts/parity_layers.py, by name. */
const LAYERS: Record<string, LayerCase> = {
  linear: { make: () => new nn.Linear(4, 3, { dtype }) },
  linear_nobias_batched: { make: () => new nn.Linear(4, 3, { bias: false, dtype }) },
  linear_unbatched: { make: () => new nn.Linear(3, 2, { dtype }) },
  bilinear: { make: () => new nn.Bilinear(3, 4, 2, { dtype }) },
  bilinear_nobias_batched: { make: () => new nn.Bilinear(2, 3, 4, { bias: false, dtype }) },
  embedding: { make: () => new nn.Embedding(5, 4, { dtype }) },
  embedding_padding: {
    make: () => new nn.Embedding(7, 3, { paddingIdx: 2, dtype }),
    noGradcheck: 'the paddingIdx row gets no gradient by convention, though the output depends on it',
  },
  embedding_negative_padding_freq: {
    make: () => new nn.Embedding(6, 2, { paddingIdx: -1, scaleGradByFreq: true, dtype }),
    noGradcheck: 'scaleGradByFreq and paddingIdx change the gradient by convention',
  },
  sequential: {
    make: () => new nn.Sequential(new nn.Linear(4, 5, { dtype }), new nn.ReLU(), new nn.Linear(5, 2, { dtype })),
  },
  sequential_activations: {
    make: () =>
      new nn.Sequential(
        new nn.Linear(4, 6, { dtype }),
        new nn.GELU(),
        new nn.Linear(6, 6, { dtype }),
        new nn.SiLU(),
        new nn.LeakyReLU(0.1),
        new nn.ELU(0.5),
        new nn.Tanh(),
        new nn.Linear(6, 5, { dtype }),
        new nn.Sigmoid(),
        new nn.Linear(5, 3, { dtype }),
        new nn.GELU('tanh'),
        new nn.Softplus(),
        new nn.LogSoftmax(1),
      ),
  },
  sequential_softmax: {
    make: () => new nn.Sequential(new nn.Flatten(), new nn.Linear(6, 4, { dtype }), new nn.Softmax(-1)),
  },
  flatten: { make: () => new nn.Flatten() },
  flatten_range: { make: () => new nn.Flatten(0, 1) },
  unflatten: { make: () => new nn.Unflatten(1, [3, -1]) },
  identity: { make: () => new nn.Identity() },
  dropout_eval: { make: () => new nn.Dropout(0.3) },
  nested_containers: { make: () => new Net() },
  cross_entropy_loss: {
    make: () => new nn.CrossEntropyLoss({ weight: f64([0.5, 1, 2]), labelSmoothing: 0.1 }),
  },
  bce_with_logits_loss: {
    make: () => new nn.BCEWithLogitsLoss({ posWeight: f64([1.5, 0.5]), reduction: 'sum' }),
  },
};

const TOL = { rtol: 1e-10, atol: 1e-12 };

function inputsOf(c: Case): ad.Tensor[] {
  return c.inputs.map((e) =>
    e.dtype === 'int32' ? ad.tensor(e.values, { dtype: 'int32', shape: e.shape }) : decodeEnc(e).requiresGrad_(e.grad),
  );
}

describe('PyTorch parity: basic layers', () => {
  test('every fixture case has a layer here, and every layer a fixture case', () => {
    assert.deepEqual(Object.keys(LAYERS).sort(), Object.keys(fixture.cases).sort(), REGENERATE);
  });

  for (const [name, layer] of Object.entries(LAYERS)) {
    const c = fixture.cases[name];
    describe(name, () => {
      test("stateDict keys and shapes are torch's, in torch's order, and toString is torch's repr", () => {
        assert.ok(c, `no fixture case '${name}'; ${REGENERATE}`);
        const m = layer.make();
        assertTorchLayout(m, c);
      });

      test('torch state dict loads; output and every gradient match within 1e-10', () => {
        ad.setBackend('js');
        const m = layer.make();
        const res = m.loadStateDict(stateDictOf(c.state));
        assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
        if (c.eval) m.eval();
        const xs = inputsOf(c);
        const out = m.call(...xs) as ad.Tensor;
        assert.deepEqual(out.shape, c.output.shape, 'output shape');
        assertClose(out.dataSync(), c.output.values, TOL.rtol, TOL.atol, `${name} output`);

        const params = m.namedParameters();
        assert.deepEqual(
          params.map(([k]) => k),
          c.paramGrads.map(([k]) => k),
          'parameter names',
        );
        const floatInputs = xs.filter((x) => x.requiresGrad);
        const wrt = [...floatInputs, ...params.map(([, p]) => p)];
        if (!wrt.length || !out.requiresGrad) return;
        const cot = ad.tensor(c.cotangent, { dtype, shape: c.output.shape });
        const grads = ad.autograd.grad(out.mul(cot).sum(), wrt, { allowUnused: true });
        let k = 0;
        xs.forEach((x, i) => {
          if (!x.requiresGrad) return;
          const g = grads[k++];
          const want = c.inputGrads[i];
          if (want === null) assert.equal(g, null, `input ${i}: torch has no gradient`);
          else assertClose((g as ad.Tensor).dataSync(), want, TOL.rtol, TOL.atol, `${name} d/d input ${i}`);
        });
        for (const [pname, want] of c.paramGrads) {
          const g = grads[k++];
          if (want === null) assert.equal(g, null, `${pname}: torch has no gradient`);
          else assertClose((g as ad.Tensor).dataSync(), want, TOL.rtol, TOL.atol, `${name} d/d ${pname}`);
        }
      });

      test('gradcheck in float64 through the inputs and the parameters', {
        skip: layer.noGradcheck ? `finite differences cannot check it: ${layer.noGradcheck}` : false,
      }, () => {
        const m = layer.make();
        m.loadStateDict(stateDictOf(c.state));
        if (c.eval) m.eval();
        const xs = inputsOf(c);
        const names = m.namedParameters().map(([k]) => k);
        const params = m.parameters().map((p) => p.detach().clone().requiresGrad_(true));
        const f = (...leaves: ad.Tensor[]) =>
          withParams(m, names, leaves.slice(xs.length), () => m.call(...leaves.slice(0, xs.length)) as ad.Tensor);
        ad.assertGradcheck(f, [...xs, ...params]);
      });
    });
  }

  test('gradcheck: Dropout in training, with the mask held fixed by reseeding', () => {
    const m = new nn.Dropout(0.4);
    const x = ad.randn([3, 5], { dtype }).requiresGrad_(true);
    const f = (t: ad.Tensor) => {
      ad.manualSeed(7);
      return m.call(t) as ad.Tensor;
    };
    ad.assertGradcheck(f, [x]);
    // And the mask really drops something at that seed.
    const zeros = Array.from(f(x).dataSync()).filter((v) => v === 0).length;
    assert.ok(zeros > 0 && zeros < 15, `dropped ${zeros} of 15`);
  });
});
