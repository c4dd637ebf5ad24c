/**
 * @file PyTorch parity of the recurrent layers: loads torch's state dicts (fixture written by scripts/parity_rnn.py)
 * into adjoint's RNN, LSTM, GRU and cells, and compares outputs, final states and the gradients of a linear
 * functional w.r.t. the input, initial states and every parameter within 1e-10 relative.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ad from '../src/index.js';
import { decodeEnc, type Enc, loadFixture } from './parity-fixtures.js';

interface Case {
  name: string;
  kind: 'RNN' | 'LSTM' | 'GRU' | 'RNNCell' | 'LSTMCell' | 'GRUCell';
  args: [number, number];
  options: Record<string, unknown>;
  train: boolean;
  keys: string[];
  state: Record<string, Enc>;
  input: Enc;
  hx: Enc[];
  outputs: Enc[];
  cotangents: Enc[];
  grads: { input: Enc; hx: Enc[]; params: Record<string, Enc> };
}

const fixture = loadFixture<{ cases: Case[] }>('parity-rnn');

const tensor = (e: Enc, requiresGrad = false) => decodeEnc(e).requiresGrad_(requiresGrad);

function close(actual: ad.Tensor | null, expected: Enc, what: string) {
  assert.ok(actual, `${what}: no gradient`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  // Purely relative (an exact zero must be matched exactly); the worst seen is about 4e-13.
  expected.values.forEach((e, i) =>
    assert.ok(Math.abs(a[i] - e) <= 1e-10 * Math.abs(e), `${what}[${i}]: got ${a[i]}, torch ${e}`),
  );
}

function build(c: Case): ad.nn.Module {
  const opts = { ...c.options, dtype: 'float64' as const };
  const [i, h] = c.args;
  const ctor = { RNN: ad.nn.RNN, LSTM: ad.nn.LSTM, GRU: ad.nn.GRU, RNNCell: ad.nn.RNNCell, LSTMCell: ad.nn.LSTMCell };
  if (c.kind === 'GRUCell') return new ad.nn.GRUCell(i, h, opts);
  return new ctor[c.kind](i, h, opts as never);
}

for (const c of fixture.cases)
  test(`parity with torch: ${c.name}`, () => {
    const m = build(c).train(c.train);
    assert.deepEqual(Object.keys(m.stateDict()), c.keys, 'state dict keys and order equal torch');
    m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, tensor(v)])));
    const x = tensor(c.input, true);
    const hx = c.hx.map((h) => tensor(h, true));
    const lstm = c.kind.startsWith('LSTM');
    const arg = hx.length === 0 ? undefined : lstm ? hx : hx[0];
    const res = m.forward(x, arg);
    const outs: ad.Tensor[] = c.kind.endsWith('Cell')
      ? lstm
        ? res
        : [res]
      : lstm
        ? [res[0], res[1][0], res[1][1]]
        : [res[0], res[1]];
    assert.equal(outs.length, c.outputs.length);
    outs.forEach((o, k) => close(o, c.outputs[k], `output ${k}`));
    let f = ad.tensor(0, { dtype: 'float64' });
    outs.forEach((o, k) => (f = f.add(o.mul(tensor(c.cotangents[k])).sum())));
    f.backward();
    close(x.grad, c.grads.input, 'd/dinput');
    hx.forEach((h, k) => close(h.grad, c.grads.hx[k], `d/dhx[${k}]`));
    const params = Object.fromEntries(m.namedParameters());
    assert.deepEqual(Object.keys(params), Object.keys(c.grads.params));
    for (const [k, g] of Object.entries(c.grads.params)) close(params[k].grad, g, `d/d${k}`);
  });
