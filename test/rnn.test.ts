/**
 * @file The recurrent layers: output and state shapes as torch's (batched, unbatched, batchFirst, bidirectional,
 * projSize), state-dict keys and parameter shapes as torch's, default initialisation, dropout between layers only in
 * training, clear errors before anything runs, and gradcheck through input, states and every parameter.
 * PyTorch parity of values and gradients is in parity-rnn.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell } = ad.nn;
type Tensor = ad.Tensor;

const f64 = { dtype: 'float64' as const };
const randn = (...shape: number[]) => ad.randn(shape, f64);
/** torch's x.select(dim, i). */
const sel = (x: Tensor, dim: number, i: number) => ad.unbind(x, dim)[i];

test('RNN/GRU shapes: seq first, batchFirst, bidirectional, unbatched', () => {
  ad.manualSeed(0);
  for (const Ctor of [RNN, GRU]) {
    const m = new Ctor(3, 4, { numLayers: 2, dtype: 'float64' });
    const [o, h] = m.forward(randn(5, 2, 3));
    assert.deepEqual(
      [o.shape, h.shape],
      [
        [5, 2, 4],
        [2, 2, 4],
      ],
    );
    const bf = new Ctor(3, 4, { numLayers: 3, batchFirst: true, bidirectional: true, dtype: 'float64' });
    const [o2, h2] = bf.forward(randn(2, 5, 3), randn(6, 2, 4));
    assert.deepEqual(
      [o2.shape, h2.shape],
      [
        [2, 5, 8],
        [6, 2, 4],
      ],
    );
    const [o3, h3] = bf.forward(randn(5, 3));
    assert.deepEqual(
      [o3.shape, h3.shape],
      [
        [5, 8],
        [6, 4],
      ],
    );
    const [o4, h4] = m.forward(randn(5, 0, 3));
    assert.deepEqual(
      [o4.shape, h4.shape],
      [
        [5, 0, 4],
        [2, 0, 4],
      ],
    );
  }
});

test('LSTM shapes, with projSize, batched and unbatched', () => {
  ad.manualSeed(0);
  const m = new LSTM(3, 5, { numLayers: 2, bidirectional: true, projSize: 2, dtype: 'float64' });
  const [o, [h, c]] = m.forward(randn(4, 3, 3));
  assert.deepEqual(
    [o.shape, h.shape, c.shape],
    [
      [4, 3, 4],
      [4, 3, 2],
      [4, 3, 5],
    ],
  );
  const [o2, [h2, c2]] = m.forward(randn(4, 3), [randn(4, 2), randn(4, 5)]);
  assert.deepEqual(
    [o2.shape, h2.shape, c2.shape],
    [
      [4, 4],
      [4, 2],
      [4, 5],
    ],
  );
  const bf = new LSTM(3, 5, { batchFirst: true, dtype: 'float64' });
  const [o3, [h3]] = bf.forward(randn(2, 7, 3));
  assert.deepEqual(
    [o3.shape, h3.shape],
    [
      [2, 7, 5],
      [1, 2, 5],
    ],
  );
});

test('batchFirst is the transposed layout of the same computation; unbatched is batch 1 squeezed', () => {
  ad.manualSeed(1);
  const a = new GRU(3, 4, { numLayers: 2, bidirectional: true, dtype: 'float64' });
  const b = new GRU(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true, dtype: 'float64' });
  b.loadStateDict(a.stateDict());
  const x = randn(5, 2, 3);
  const h0 = randn(4, 2, 4);
  const [oa, ha] = a.forward(x, h0);
  const [ob, hb] = b.forward(x.transpose(0, 1), h0);
  assert.deepEqual(ob.transpose(0, 1).toArray(), oa.toArray());
  assert.deepEqual(hb.toArray(), ha.toArray());
  const [ou, hu] = b.forward(sel(x, 1, 0), sel(h0, 1, 0));
  assert.deepEqual(ou.toArray(), sel(oa, 1, 0).toArray());
  assert.deepEqual(hu.toArray(), sel(ha, 1, 0).toArray());
});

test('the reverse direction reads the sequence backwards; h_n holds each direction’s last step', () => {
  ad.manualSeed(2);
  const bi = new RNN(2, 3, { bidirectional: true, dtype: 'float64' });
  const fwd = new RNN(2, 3, { dtype: 'float64' });
  const rev = new RNN(2, 3, { dtype: 'float64' });
  const sd = bi.stateDict();
  fwd.loadStateDict(Object.fromEntries(Object.entries(sd).filter(([k]) => !k.endsWith('_reverse'))));
  rev.loadStateDict(
    Object.fromEntries(
      Object.entries(sd)
        .filter(([k]) => k.endsWith('_reverse'))
        .map(([k, v]) => [k.replace('_reverse', ''), v]),
    ),
  );
  const x = randn(4, 1, 2);
  const [o, h] = bi.forward(x);
  const [of, hf] = fwd.forward(x);
  const [or, hr] = rev.forward(x.flip(0));
  assert.deepEqual(o.narrow(2, 0, 3).toArray(), of.toArray());
  assert.deepEqual(o.narrow(2, 3, 3).toArray(), or.flip(0).toArray());
  assert.deepEqual(h.toArray(), ad.cat([hf, hr], 0).toArray());
  assert.deepEqual(sel(o, 0, 3).narrow(1, 0, 3).toArray(), sel(hf, 0, 0).toArray());
  assert.deepEqual(sel(o, 0, 0).narrow(1, 3, 3).toArray(), sel(hr, 0, 0).toArray());
});

test('cells: batched and unbatched shapes, zero default state', () => {
  ad.manualSeed(3);
  const rc = new RNNCell(3, 4, { nonlinearity: 'relu', dtype: 'float64' });
  assert.deepEqual(rc.forward(randn(2, 3)).shape, [2, 4]);
  assert.deepEqual(rc.forward(randn(3), randn(4)).shape, [4]);
  const lc = new LSTMCell(3, 4, f64);
  const [h, c] = lc.forward(randn(2, 3), [randn(2, 4), randn(2, 4)]);
  assert.deepEqual(
    [h.shape, c.shape],
    [
      [2, 4],
      [2, 4],
    ],
  );
  const [hu, cu] = lc.forward(randn(3));
  assert.deepEqual([hu.shape, cu.shape], [[4], [4]]);
  const gc = new GRUCell(3, 4, f64);
  const x = randn(2, 3);
  assert.deepEqual(gc.forward(x).toArray(), gc.forward(x, ad.zeros([2, 4], f64)).toArray());
});

test('a layer of one step equals its cell with the same weights', () => {
  ad.manualSeed(4);
  const pairs: [ad.nn.RNNBase, ad.nn.RNNCellBase][] = [
    [new RNN(3, 4, { nonlinearity: 'relu', ...f64 }), new RNNCell(3, 4, { nonlinearity: 'relu', ...f64 })],
    [new LSTM(3, 4, f64), new LSTMCell(3, 4, f64)],
    [new GRU(3, 4, f64), new GRUCell(3, 4, f64)],
  ];
  for (const [layer, cell] of pairs) {
    cell.loadStateDict(Object.fromEntries(Object.entries(layer.stateDict()).map(([k, v]) => [k.slice(0, -3), v])));
    const x = randn(2, 3);
    const h0 = randn(2, 4);
    const c0 = randn(2, 4);
    if (layer instanceof LSTM) {
      const [, [h]] = layer.forward(x.unsqueeze(0), [h0.unsqueeze(0), c0.unsqueeze(0)]);
      assert.deepEqual(h.squeeze(0).toArray(), (cell as ad.nn.LSTMCell).forward(x, [h0, c0])[0].toArray());
    } else {
      const [, h] = (layer as ad.nn.GRU).forward(x.unsqueeze(0), h0.unsqueeze(0));
      assert.deepEqual(h.squeeze(0).toArray(), (cell as ad.nn.GRUCell).forward(x, h0).toArray());
    }
  }
});

test('state dict keys, order and parameter shapes equal torch’s', () => {
  // From torch 1.13: nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2).state_dict().
  const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true, projSize: 2 });
  const sd = lstm.stateDict();
  const shapes = Object.entries(sd).map(([k, v]) => [k, v.shape]);
  assert.deepEqual(shapes, [
    ['weight_ih_l0', [16, 3]],
    ['weight_hh_l0', [16, 2]],
    ['bias_ih_l0', [16]],
    ['bias_hh_l0', [16]],
    ['weight_hr_l0', [2, 4]],
    ['weight_ih_l0_reverse', [16, 3]],
    ['weight_hh_l0_reverse', [16, 2]],
    ['bias_ih_l0_reverse', [16]],
    ['bias_hh_l0_reverse', [16]],
    ['weight_hr_l0_reverse', [2, 4]],
    ['weight_ih_l1', [16, 4]],
    ['weight_hh_l1', [16, 2]],
    ['bias_ih_l1', [16]],
    ['bias_hh_l1', [16]],
    ['weight_hr_l1', [2, 4]],
    ['weight_ih_l1_reverse', [16, 4]],
    ['weight_hh_l1_reverse', [16, 2]],
    ['bias_ih_l1_reverse', [16]],
    ['bias_hh_l1_reverse', [16]],
    ['weight_hr_l1_reverse', [2, 4]],
  ]);
  assert.deepEqual(
    lstm.namedParameters().map(([k]) => k),
    Object.keys(sd),
  );
  assert.deepEqual(Object.keys(new GRU(3, 4, { bias: false }).stateDict()), ['weight_ih_l0', 'weight_hh_l0']);
  assert.deepEqual(
    Object.entries(new GRU(3, 4, { numLayers: 2 }).stateDict()).map(([k, v]) => [k, v.shape]),
    [
      ['weight_ih_l0', [12, 3]],
      ['weight_hh_l0', [12, 4]],
      ['bias_ih_l0', [12]],
      ['bias_hh_l0', [12]],
      ['weight_ih_l1', [12, 4]],
      ['weight_hh_l1', [12, 4]],
      ['bias_ih_l1', [12]],
      ['bias_hh_l1', [12]],
    ],
  );
  assert.deepEqual(
    Object.entries(new LSTMCell(3, 4).stateDict()).map(([k, v]) => [k, v.shape]),
    [
      ['weight_ih', [16, 3]],
      ['weight_hh', [16, 4]],
      ['bias_ih', [16]],
      ['bias_hh', [16]],
    ],
  );
  assert.deepEqual(Object.keys(new RNNCell(3, 4, { bias: false }).stateDict()), ['weight_ih', 'weight_hh']);
  const wrapped = new (class extends ad.nn.Module {
    rnn = new GRU(2, 3);
  })();
  assert.deepEqual(Object.keys(wrapped.stateDict()), [
    'rnn.weight_ih_l0',
    'rnn.weight_hh_l0',
    'rnn.bias_ih_l0',
    'rnn.bias_hh_l0',
  ]);
});

test('default initialisation is U(−1/√hidden, 1/√hidden) for every weight and bias, in the asked dtype', () => {
  ad.manualSeed(5);
  const m = new LSTM(10, 16, { numLayers: 2, dtype: 'float64' });
  for (const [k, p] of m.namedParameters()) {
    assert.equal(p.dtype, 'float64', k);
    assert.ok(p.requiresGrad, k);
    const v = Array.from(p.dataSync());
    assert.ok(Math.max(...v.map(Math.abs)) <= 0.25, `${k} within ±1/√16`);
    assert.ok(Math.max(...v) > 0.2 && Math.min(...v) < -0.2, `${k} spreads over the range`);
  }
  assert.equal(new GRUCell(2, 3).weight_ih.dtype, 'float32');
});

test('repr', () => {
  assert.equal(
    new LSTM(3, 4, { numLayers: 2, batchFirst: true, dropout: 0.5, bidirectional: true }).toString(),
    'LSTM(3, 4, numLayers=2, batchFirst=true, dropout=0.5, bidirectional=true)',
  );
  assert.equal(new RNN(3, 4, { nonlinearity: 'relu' }).toString(), 'RNN(3, 4, nonlinearity=relu)');
  assert.equal(new GRUCell(3, 4, { bias: false }).toString(), 'GRUCell(3, 4, bias=false)');
});

test('dropout acts between layers and only in training', () => {
  ad.manualSeed(6);
  const m = new LSTM(3, 4, { numLayers: 2, dropout: 0.5, dtype: 'float64' });
  const plain = new LSTM(3, 4, { numLayers: 2, dtype: 'float64' });
  plain.loadStateDict(m.stateDict());
  const x = randn(5, 2, 3);
  const ref = plain.forward(x)[0].toArray();
  assert.deepEqual(m.eval().forward(x)[0].toArray(), ref, 'eval: no dropout');
  m.train();
  ad.manualSeed(7);
  const t1 = m.forward(x)[0].toArray();
  ad.manualSeed(7);
  const t2 = m.forward(x)[0].toArray();
  assert.deepEqual(t1, t2, 'seeded masks repeat');
  assert.notDeepEqual(t1, ref, 'train: dropout applied');
  // The first layer's h_n comes before any dropout; a single layer has nowhere to drop.
  assert.deepEqual(sel(m.forward(x)[1][0], 0, 0).toArray(), sel(plain.forward(x)[1][0], 0, 0).toArray());
  const one = new GRU(3, 4, { dropout: 0.9, dtype: 'float64' });
  assert.deepEqual(one.forward(x)[0].toArray(), one.eval().forward(x)[0].toArray());
  // p = 1 zeroes the second layer's input: its output is then that of a zero sequence.
  const all = new RNN(3, 4, { numLayers: 2, dropout: 1, dtype: 'float64' });
  const top = new RNN(3, 4, f64);
  top.loadStateDict({
    weight_ih_l0: all.stateDict().weight_ih_l1.narrow(1, 0, 3),
    weight_hh_l0: all.stateDict().weight_hh_l1,
    bias_ih_l0: all.stateDict().bias_ih_l1,
    bias_hh_l0: all.stateDict().bias_hh_l1,
  });
  assert.deepEqual(all.forward(x)[0].toArray(), top.forward(ad.zeros([5, 2, 3], f64))[0].toArray());
});

test('errors name the layer, the shapes and the fix, before anything runs', () => {
  const m = new LSTM(3, 4, { numLayers: 2 });
  const x = ad.randn([5, 2, 3]);
  assertThrowsMsg(() => m.forward(ad.randn([5, 2, 4])), ad.ShapeError, 'LSTM', '[5, 2, 4]', 'inputSize (3)');
  assertThrowsMsg(() => m.forward(ad.randn([1, 5, 2, 3])), ad.ShapeError, 'LSTM', '3-D', '[1, 5, 2, 3]');
  assertThrowsMsg(
    () => m.forward(x, [ad.zeros([2, 3, 4]), ad.zeros([2, 2, 4])]),
    ad.ShapeError,
    'h0 has shape [2, 3, 4]',
    'must be [2, 2, 4]',
    '[5, 2, 3]',
  );
  assertThrowsMsg(
    () => m.forward(x, [ad.zeros([2, 2, 4]), ad.zeros([2, 4])]),
    ad.ShapeError,
    'c0 must also be 3-D',
    '[2, 4]',
  );
  assertThrowsMsg(() => m.forward(x, ad.zeros([2, 2, 4]) as never), ad.ValueError, 'pair [h0, c0]');
  assertThrowsMsg(() => m.forward(ad.randn([5, 3]), [ad.zeros([2, 1, 4]), ad.zeros([2, 1, 4])]), ad.ShapeError, '2-D');
  assertThrowsMsg(() => m.forward(ad.randn([0, 2, 3])), ad.ShapeError, 'empty sequence');
  assertThrowsMsg(() => m.forward(ad.randn([5, 2, 3], f64)), ad.DTypeError, 'float64', 'float32');
  assertThrowsMsg(() => new GRU(3, 4).forward(x, ad.zeros([1, 2, 5])), ad.ShapeError, 'GRU', '[1, 2, 5]', '[1, 2, 4]');
  const cell = new GRUCell(3, 4);
  assertThrowsMsg(() => cell.forward(ad.randn([2, 5])), ad.ShapeError, 'GRUCell', '[2, 5]', 'inputSize (3)');
  assertThrowsMsg(
    () => cell.forward(ad.randn([2, 3]), ad.zeros([3, 4])),
    ad.ShapeError,
    'hx has shape [3, 4]',
    '[2, 4]',
  );
  assertThrowsMsg(() => cell.forward(ad.randn([3]), ad.zeros([1, 4])), ad.ShapeError, 'must be [4]');
  assertThrowsMsg(() => cell.forward(ad.randn([2, 2, 3])), ad.ShapeError, '1-D', '[2, 2, 3]');
  assertThrowsMsg(() => new RNN(3, 4, { dropout: 1.5 }), ad.ValueError, 'dropout', '1.5');
  assertThrowsMsg(
    () => new RNN(3, 4, { nonlinearity: 'sigmoid' as never }),
    ad.ValueError,
    '"sigmoid"',
    "'tanh', 'relu'",
  );
  assertThrowsMsg(() => new RNNCell(3, 4, { nonlinearity: 'gelu' as never }), ad.ValueError, '"gelu"');
  assertThrowsMsg(() => new GRU(3, 4, { projSize: 2 } as never), ad.ValueError, 'only supported by LSTM');
  assertThrowsMsg(() => new LSTM(3, 4, { projSize: 4 }), ad.ValueError, 'smaller than hiddenSize');
  assertThrowsMsg(() => new LSTM(3, 0), ad.ValueError, 'hiddenSize', '≥ 1');
  assertThrowsMsg(() => new LSTM(3, 4, { numLayers: 0 }), ad.ValueError, 'numLayers');
});

/**
 * gradcheck through the input, the initial states and every parameter: fn receives the parameters as arguments and
 * puts them in the module (torch.func.functional_call), so finite differences perturb them too.
 */
function checkLayer(m: ad.nn.Module, run: (states: Tensor[]) => Tensor[], inputs: Tensor[]) {
  const named = m.namedParameters();
  const slots = m as unknown as Record<string, Tensor>;
  const fn = (...xs: Tensor[]) => {
    named.forEach(([k], i) => (slots[k] = xs[inputs.length + i]));
    return run(xs.slice(0, inputs.length));
  };
  try {
    ad.assertGradcheck(fn, [...inputs.map((t) => t.requiresGrad_(true)), ...named.map(([, p]) => p)]);
  } finally {
    named.forEach(([k, p]) => (slots[k] = p));
  }
}

test('gradcheck: RNN tanh and relu, 2 layers, bidirectional (BPTT through every parameter)', () => {
  ad.manualSeed(8);
  for (const nonlinearity of ['tanh', 'relu'] as const) {
    const m = new RNN(2, 2, { numLayers: 2, bidirectional: true, nonlinearity, ...f64 });
    checkLayer(m, ([x, h]) => m.forward(x, h), [randn(3, 1, 2), randn(4, 1, 2)]);
  }
});

test('gradcheck: LSTM 2 layers bidirectional batchFirst, and with projSize', () => {
  ad.manualSeed(9);
  const m = new LSTM(2, 2, { numLayers: 2, bidirectional: true, batchFirst: true, ...f64 });
  checkLayer(
    m,
    ([x, h, c]) => {
      const [o, [hn, cn]] = m.forward(x, [h, c]);
      return [o, hn, cn];
    },
    [randn(1, 3, 2), randn(4, 1, 2), randn(4, 1, 2)],
  );
  const p = new LSTM(2, 3, { projSize: 1, ...f64 });
  checkLayer(
    p,
    ([x, h, c]) => {
      const [o, [hn, cn]] = p.forward(x, [h, c]);
      return [o, hn, cn];
    },
    [randn(3, 2), randn(1, 1), randn(1, 3)],
  );
});

test('gradcheck: GRU 2 layers bidirectional', () => {
  ad.manualSeed(10);
  const m = new GRU(2, 2, { numLayers: 2, bidirectional: true, ...f64 });
  checkLayer(m, ([x, h]) => m.forward(x, h), [randn(3, 1, 2), randn(4, 1, 2)]);
});

test('gradcheck: RNNCell, LSTMCell, GRUCell', () => {
  ad.manualSeed(11);
  const rc = new RNNCell(2, 2, { nonlinearity: 'relu', ...f64 });
  checkLayer(rc, ([x, h]) => [rc.forward(x, h)], [randn(2, 2), randn(2, 2)]);
  const lc = new LSTMCell(2, 2, f64);
  checkLayer(lc, ([x, h, c]) => lc.forward(x, [h, c]), [randn(2, 2), randn(2, 2), randn(2, 2)]);
  const gc = new GRUCell(2, 2, f64);
  checkLayer(gc, ([x, h]) => [gc.forward(x, h)], [randn(2), randn(2)]);
});

test('the recurrent weight’s gradient is the sum of its per-step contributions', () => {
  ad.manualSeed(12);
  const m = new RNN(2, 3, f64);
  const x = randn(4, 1, 2);
  m.forward(x)[0].sum().backward();
  // Unroll by hand with one copy of weight_hh per step: their gradients add up to the shared weight's.
  const copies = Array.from({ length: 4 }, () => m.weight_hh_l0.detach().clone().requiresGrad_(true));
  let h = ad.zeros([1, 3], f64);
  let total = ad.tensor(0, f64);
  copies.forEach((w, t) => {
    h = sel(x, 0, t)
      .matmul(m.weight_ih_l0.detach().T)
      .add(m.bias_ih_l0.detach())
      .add(h.matmul(w.T).add(m.bias_hh_l0.detach()))
      .tanh();
    total = total.add(h.sum());
  });
  total.backward();
  const summed = copies.reduce((a, w) => a.add(w.grad!), ad.zeros([3, 3], f64));
  const g = m.weight_hh_l0.grad!.dataSync();
  summed.dataSync().forEach((v, i) => assert.ok(Math.abs(v - g[i]) < 1e-12));
});
