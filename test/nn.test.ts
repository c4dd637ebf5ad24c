/**
 * @file The basic layers and containers: nn.init's distributions against torch's formulas (bounds, means and
 * standard deviations on large tensors), every layer's default initialisation, parameter names, train/eval and
 * Dropout's seeded mask, Sequential/ModuleList/ModuleDict, zeroGrad, stateDict round trips, loadStateDict's strict
 * errors (leaving the model untouched), reprs, the loss modules, and the functional ops' errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import * as init from '../src/nn/init.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const nn = ad.nn;
const dtype = 'float64';
const f64 = (data: ad.NestedArray, grad = false) => ad.tensor(data, { dtype, requiresGrad: grad });
const i32 = (data: ad.NestedArray) => ad.tensor(data, { dtype: 'int32' });

function stats(t: ad.Tensor) {
  const v = Array.from(t.dataSync());
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { n, mean, std, min: Math.min(...v), max: Math.max(...v) };
}

/** U(lo, hi): every value inside, and mean and std within 5 standard errors of the distribution's. */
function assertUniform(t: ad.Tensor, lo: number, hi: number, what: string) {
  const s = stats(t);
  assert.ok(s.min >= lo && s.max < hi, `${what}: values in [${s.min}, ${s.max}], expected within [${lo}, ${hi})`);
  // Near the ends too, so a narrower range fails.
  assert.ok(s.min < lo + 0.01 * (hi - lo) && s.max > hi - 0.01 * (hi - lo), `${what}: does not fill [${lo}, ${hi})`);
  const sd = (hi - lo) / Math.sqrt(12);
  assert.ok(Math.abs(s.mean - (lo + hi) / 2) < (5 * sd) / Math.sqrt(s.n), `${what}: mean ${s.mean}`);
  assert.ok(Math.abs(s.std / sd - 1) < 0.03, `${what}: std ${s.std}, expected ${sd}`);
}

function assertNormal(t: ad.Tensor, mean: number, std: number, what: string) {
  const s = stats(t);
  assert.ok(Math.abs(s.mean - mean) < (5 * std) / Math.sqrt(s.n), `${what}: mean ${s.mean}, expected ${mean}`);
  assert.ok(Math.abs(s.std / std - 1) < 0.03, `${what}: std ${s.std}, expected ${std}`);
}

describe('nn.init', () => {
  test('calculateGain: the torch values', () => {
    for (const nl of ['linear', 'conv1d', 'conv2d', 'conv_transpose2d', 'sigmoid'] as const)
      assert.equal(init.calculateGain(nl), 1);
    assert.equal(init.calculateGain('tanh'), 5 / 3);
    assert.equal(init.calculateGain('relu'), Math.SQRT2);
    assert.equal(init.calculateGain('selu'), 0.75);
    assert.equal(init.calculateGain('leaky_relu'), Math.sqrt(2 / (1 + 0.01 ** 2)));
    assert.equal(init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
    assert.equal(init.calculateGain('leaky_relu', 0), Math.SQRT2);
    assertThrowsMsg(() => init.calculateGain('swish' as 'relu'), ad.ValueError, 'swish', 'leaky_relu');
  });

  test('uniform_, normal_, truncNormal_: in place, seeded, with the right distribution', () => {
    ad.manualSeed(1);
    const t = ad.empty([200, 100], { dtype });
    assert.equal(init.uniform_(t, -2, 3), t);
    assertUniform(t, -2, 3, 'uniform_(-2, 3)');
    assertUniform(init.uniform_(ad.empty([20000])), 0, 1, 'uniform_ float32 default');
    assertNormal(init.normal_(t, 1, 2), 1, 2, 'normal_(1, 2)');
    assertNormal(init.normal_(t), 0, 1, 'normal_()');
    init.truncNormal_(t, 0.5, 1, -0.5, 1);
    const s = stats(t);
    assert.ok(s.min >= -0.5 && s.max <= 1 && s.min < -0.49 && s.max > 0.99);
    // The truncated normal's mean: μ + σ(φ(α) − φ(β))/(Φ(β) − Φ(α)) with α = −1, β = 0.5.
    const phi = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
    const expected = 0.5 + (phi(-1) - phi(0.5)) / (0.691462461274013 - 0.15865525393145707);
    assert.ok(Math.abs(s.mean - expected) < 0.01, `truncNormal_ mean ${s.mean} vs ${expected}`);
    ad.manualSeed(5);
    const a = init.normal_(ad.empty([10], { dtype })).dataSync();
    ad.manualSeed(5);
    const b = init.normal_(ad.empty([10], { dtype })).dataSync();
    assert.deepEqual(a, b, 'the same seed gives the same values');
  });

  test('constant_, ones_, zeros_, eye_, dirac_', () => {
    const t = ad.empty([2, 3], { dtype });
    assert.deepEqual(init.constant_(t, 0.25).toArray(), [
      [0.25, 0.25, 0.25],
      [0.25, 0.25, 0.25],
    ]);
    assert.deepEqual(init.ones_(t).toArray(), [
      [1, 1, 1],
      [1, 1, 1],
    ]);
    assert.deepEqual(init.zeros_(t).toArray(), [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    assert.deepEqual(init.eye_(t).toArray(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    assertThrowsMsg(() => init.eye_(ad.empty([2, 2, 2])), ad.ShapeError, 'eye_', '2 dimensions', '[2, 2, 2]');
    // A conv1d weight [out 4, in 2, k 3] with 2 groups: each group's 2 outputs pass its first 2 inputs through.
    const w = init.dirac_(ad.empty([4, 2, 3], { dtype }), 2);
    const v = w.toArray() as number[][][];
    assert.deepEqual(v[0], [
      [0, 1, 0],
      [0, 0, 0],
    ]);
    assert.deepEqual(v[3], [
      [0, 0, 0],
      [0, 1, 0],
    ]);
    assertThrowsMsg(() => init.dirac_(ad.empty([3, 2, 3]), 2), ad.ValueError, 'divisible by groups');
  });

  test('xavierUniform_ and xavierNormal_: gain·√(6/(fanIn+fanOut)) and gain·√(2/(fanIn+fanOut))', () => {
    ad.manualSeed(2);
    const t = ad.empty([300, 200], { dtype });
    const a = Math.sqrt(6 / 500);
    assertUniform(init.xavierUniform_(t), -a, a, 'xavierUniform_');
    assertUniform(init.xavierUniform_(t, 2), -2 * a, 2 * a, 'xavierUniform_ gain 2');
    assertNormal(init.xavierNormal_(t, 1.5), 0, 1.5 * Math.sqrt(2 / 500), 'xavierNormal_');
    // Conv weights: fans count the receptive field (fanIn = 4·9, fanOut = 16·9).
    const c = ad.empty([16, 4, 3, 3], { dtype });
    const ac = Math.sqrt(6 / (36 + 144));
    const s = stats(init.xavierUniform_(c));
    assert.ok(s.min >= -ac && s.max <= ac && s.max > 0.95 * ac);
    assertThrowsMsg(() => init.xavierUniform_(ad.empty([5])), ad.ShapeError, 'fewer than 2 dimensions', '[5]');
  });

  test('kaimingUniform_ and kaimingNormal_: gain·√3/√fan and gain/√fan, positional or with options', () => {
    ad.manualSeed(3);
    const t = ad.empty([200, 300], { dtype });
    // Defaults: a = 0, fan_in, leaky_relu → gain √2.
    let b = Math.sqrt(2) * Math.sqrt(3 / 300);
    assertUniform(init.kaimingUniform_(t), -b, b, 'kaimingUniform_ default');
    // Linear's default: a = √5 gives bound 1/√fanIn.
    b = 1 / Math.sqrt(300);
    assertUniform(init.kaimingUniform_(t, { a: Math.sqrt(5) }), -b, b, 'kaimingUniform_ a=√5');
    assertUniform(init.kaimingUniform_(t, Math.sqrt(5)), -b, b, 'kaimingUniform_ a=√5 positional');
    b = Math.sqrt(2) * Math.sqrt(3 / 200);
    assertUniform(init.kaimingUniform_(t, 0, 'fan_out', 'relu'), -b, b, 'kaimingUniform_ fan_out relu');
    assertNormal(init.kaimingNormal_(t, { mode: 'fan_out' }), 0, Math.sqrt(2 / 200), 'kaimingNormal_ fan_out');
    assertNormal(init.kaimingNormal_(t, { nonlinearity: 'tanh' }), 0, 5 / 3 / Math.sqrt(300), 'kaimingNormal_ tanh');
    assertThrowsMsg(
      () => init.kaimingUniform_(t, { mode: 'fan_avg' as 'fan_in' }),
      ad.ValueError,
      'fan_avg',
      "'fan_in', 'fan_out'",
    );
    // Zero-element tensors are left alone, as torch does (with a warning there).
    assert.deepEqual(init.kaimingUniform_(ad.empty([0, 3])).shape, [0, 3]);
  });

  test('orthogonal_: orthonormal rows or columns, times gain', () => {
    ad.manualSeed(4);
    for (const shape of [
      [5, 3],
      [3, 5],
      [2, 2, 3],
    ]) {
      const q = init.orthogonal_(ad.empty(shape, { dtype }), 2).reshape([shape[0], -1]);
      const gram = shape[0] >= q.shape[1] ? q.transpose(0, 1).matmul(q) : q.matmul(q.transpose(0, 1));
      const n = gram.shape[0];
      assertClose(gram.dataSync(), ad.eye(n, { dtype }).mul(4).dataSync(), 1e-12, 1e-12, `orthogonal_ ${shape}`);
    }
  });

  test('fills parameters (leaves that require grad) without recording; rejects integer tensors', () => {
    const p = nn.Parameter(ad.zeros([3, 4], { dtype }));
    init.normal_(p);
    assert.ok(p.isLeaf && p.requiresGrad && p.gradFn === null);
    assertThrowsMsg(() => init.uniform_(ad.zeros([2], { dtype: 'int32' })), ad.DTypeError, 'uniform_', 'int32');
  });
});

describe('default initialisation matches torch', () => {
  test('Linear: U(−1/√in, 1/√in) for weight and bias', () => {
    ad.manualSeed(10);
    const m = new nn.Linear(300, 200);
    assert.deepEqual(m.weight.shape, [200, 300]);
    assert.equal(m.weight.dtype, 'float32');
    const b = 1 / Math.sqrt(300);
    assertUniform(m.weight, -b, b, 'Linear weight');
    const s = stats(m.bias as ad.Tensor);
    assert.ok(s.min >= -b && s.max <= b && s.max - s.min > 1.8 * b, 'Linear bias range');
    assert.equal(new nn.Linear(3, 2, { bias: false }).bias, null);
    assert.deepEqual(new nn.Linear(3, 2, { dtype }).weight.dtype, dtype);
  });

  test('Bilinear: U(−1/√in1, 1/√in1) for weight and bias', () => {
    ad.manualSeed(11);
    const m = new nn.Bilinear(20, 30, 40);
    assert.deepEqual(m.weight.shape, [40, 20, 30]);
    assert.deepEqual((m.bias as ad.Tensor).shape, [40]);
    const b = 1 / Math.sqrt(20);
    assertUniform(m.weight, -b, b, 'Bilinear weight');
  });

  test('Embedding: N(0, 1) with the paddingIdx row zeroed; a negative paddingIdx counts from the end', () => {
    ad.manualSeed(12);
    const m = new nn.Embedding(500, 40, { paddingIdx: -3 });
    assert.equal(m.paddingIdx, 497);
    assertNormal(m.weight.slice(0, 0, 497), 0, 1, 'Embedding weight');
    assert.deepEqual(Array.from(m.weight.slice(0, 497, 498).dataSync()), new Array(40).fill(0));
    assertThrowsMsg(() => new nn.Embedding(5, 2, { paddingIdx: 5 }), ad.ValueError, 'paddingIdx', '[-5, 4]');
  });

  test('Embedding.fromPretrained: a copy, frozen by default', () => {
    const w = f64([
      [1, 2],
      [3, 4],
    ]);
    const e = nn.Embedding.fromPretrained(w);
    assert.equal(e.weight.requiresGrad, false);
    assert.deepEqual(e.call(i32([1, 0])).toArray(), [
      [3, 4],
      [1, 2],
    ]);
    assert.notEqual(e.weight, w);
    assert.equal(nn.Embedding.fromPretrained(w, { freeze: false }).weight.requiresGrad, true);
    assert.deepEqual(nn.Embedding.fromPretrained(w, { paddingIdx: 0 }).weight.toArray(), w.toArray());
  });
});

describe('parameter names', () => {
  class Net extends nn.Module {
    embed = new nn.Embedding(10, 4);
    layers = new nn.ModuleList([new nn.Linear(4, 4), new nn.ReLU(), new nn.Linear(4, 2)]);
    heads = new nn.ModuleDict({ cls: new nn.Linear(2, 3), reg: new nn.Linear(2, 1, { bias: false }) });
    scale = nn.Parameter(ad.ones([1]));
  }

  test("dotted names as torch's: 0.weight, layers.2.bias, heads.cls.weight, own parameters first", () => {
    const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.Tanh(), new nn.Linear(3, 1));
    assert.deepEqual(
      seq.namedParameters().map(([k]) => k),
      ['0.weight', '0.bias', '2.weight', '2.bias'],
    );
    assert.deepEqual(
      new Net().namedParameters().map(([k]) => k),
      [
        'scale',
        'embed.weight',
        'layers.0.weight',
        'layers.0.bias',
        'layers.2.weight',
        'layers.2.bias',
        'heads.cls.weight',
        'heads.cls.bias',
        'heads.reg.weight',
      ],
    );
    assert.deepEqual(
      [...new Net().namedModules()].map(([k]) => k),
      ['', 'embed', 'layers', 'layers.0', 'layers.1', 'layers.2', 'heads', 'heads.cls', 'heads.reg'],
    );
  });

  test('a module shared twice is counted once', () => {
    const lin = new nn.Linear(2, 2);
    const seq = new nn.Sequential(lin, new nn.ReLU(), lin);
    assert.deepEqual(
      seq.namedParameters().map(([k]) => k),
      ['0.weight', '0.bias'],
    );
  });

  test('loss modules: a given class weight or posWeight is a buffer named as torch names it', () => {
    assert.deepEqual(Object.keys(new nn.CrossEntropyLoss().stateDict()), []);
    assert.deepEqual(Object.keys(new nn.CrossEntropyLoss({ weight: ad.ones([3]) }).stateDict()), ['weight']);
    assert.deepEqual(Object.keys(new nn.NLLLoss({ weight: ad.ones([3]) }).stateDict()), ['weight']);
    assert.deepEqual(Object.keys(new nn.BCELoss({ weight: ad.ones([3]) }).stateDict()), ['weight']);
    assert.deepEqual(Object.keys(new nn.BCEWithLogitsLoss({ posWeight: ad.ones([3]) }).stateDict()), ['pos_weight']);
    assert.equal(new nn.CrossEntropyLoss().parameters().length, 0);
  });
});

describe('Dropout and train/eval', () => {
  test('training: zeroes a fraction p, scales the rest by 1/(1 − p); the gradient is the same mask', () => {
    ad.manualSeed(20);
    const x = ad.rand([100, 100], { dtype }).add(0.5).requiresGrad_(true);
    const m = new nn.Dropout(0.3);
    assert.equal(m.training, true);
    const y = m.call(x) as ad.Tensor;
    const xv = x.dataSync();
    const yv = y.dataSync();
    let dropped = 0;
    for (let i = 0; i < yv.length; i++) {
      if (yv[i] === 0) dropped++;
      else assert.ok(Math.abs(yv[i] - xv[i] / 0.7) < 1e-12, 'kept values are scaled by 1/(1 − p)');
    }
    // Binomial(10000, 0.3): sd ≈ 46, so within 5 sd.
    assert.ok(Math.abs(dropped - 3000) < 230, `dropped ${dropped} of 10000`);
    const [g] = ad.autograd.grad(y.sum(), [x]) as ad.Tensor[];
    const gv = g.dataSync();
    for (let i = 0; i < gv.length; i++) assert.equal(gv[i], yv[i] === 0 ? 0 : 1 / 0.7);
  });

  test('seeded: the same seed gives the same mask, in float32 and float64 alike', () => {
    const x = ad.ones([50], { dtype });
    ad.manualSeed(21);
    const a = ad.dropout(x, 0.5).dataSync();
    ad.manualSeed(21);
    const b = ad.dropout(x.float(), 0.5).dataSync();
    assert.deepEqual(Array.from(a), Array.from(b));
    ad.manualSeed(22);
    assert.notDeepEqual(Array.from(ad.dropout(x, 0.5).dataSync()), Array.from(a));
  });

  test('eval: the identity (the same tensor); train()/eval() reach nested modules', () => {
    const drop = new nn.Dropout(0.5);
    const model = new nn.Sequential(new nn.Linear(3, 3), new nn.Sequential(drop));
    model.eval();
    assert.equal(drop.training, false);
    const x = ad.randn([4, 3]);
    assert.equal(drop.call(x), x);
    model.train();
    assert.equal(drop.training, true);
    assert.ok(Array.from((drop.call(ad.ones([200])) as ad.Tensor).dataSync()).some((v) => v === 0));
  });

  test('p = 1 gives zeros, p = 0 the input; inplace writes into the input; bad p is refused', () => {
    const x = ad.randn([5], { dtype });
    assert.ok(Array.from(ad.dropout(x, 1).dataSync()).every((v) => v === 0));
    assert.equal(ad.dropout(x, 0), x);
    const y = x.clone();
    ad.manualSeed(3);
    const r = new nn.Dropout(0.5, true).call(y) as ad.Tensor;
    assert.equal(r, y);
    assert.ok(Array.from(y.dataSync()).some((v) => v === 0));
    assertThrowsMsg(() => new nn.Dropout(1.5), ad.ArgumentError, 'Dropout', 'p must be', 'in [0, 1]', '1.5');
    assertThrowsMsg(() => ad.dropout(x, -0.1), ad.ArgumentError, 'dropout: p must be', 'got -0.1');
    assertThrowsMsg(() => ad.dropout(i32([1, 2]), 0.5), ad.DTypeError, 'dropout', 'int32');
  });
});

describe('containers', () => {
  test('Sequential: chains forward; at, length, iteration, append, insert, pop, slice', () => {
    ad.manualSeed(30);
    const a = new nn.Linear(3, 4, { dtype });
    const b = new nn.Tanh();
    const c = new nn.Linear(4, 2, { dtype });
    const seq = new nn.Sequential(a, b);
    assert.equal(seq.append(c), seq);
    assert.equal(seq.length, 3);
    assert.equal(seq.at(0), a);
    assert.equal(seq.at(-1), c);
    assert.deepEqual([...seq], [a, b, c]);
    const x = ad.randn([2, 3], { dtype });
    assertClose(seq.call(x).dataSync(), c.call(b.call(a.call(x))).dataSync(), 0, 0, 'Sequential forward');
    assertThrowsMsg(() => seq.at(3), ad.IndexError, 'Sequential.at', 'index 3', '3 modules');
    const d = new nn.ReLU();
    seq.insert(1, d);
    assert.deepEqual(
      [...seq.namedChildren()].map(([k, m]) => [k, m]),
      [
        ['0', a],
        ['1', d],
        ['2', b],
        ['3', c],
      ],
    );
    assert.equal(seq.pop(1), d);
    assert.deepEqual(
      seq.namedParameters().map(([k]) => k),
      ['0.weight', '0.bias', '2.weight', '2.bias'],
    );
    // A slice keeps its children's names, as torch's does.
    const tail = seq.slice(1);
    assert.deepEqual(
      tail.namedParameters().map(([k]) => k),
      ['2.weight', '2.bias'],
    );
    assert.equal(tail.at(1), c);
    assertThrowsMsg(() => new nn.Sequential(a, 3 as unknown as ad.nn.Module), ad.ArgumentError, 'argument 2', 'Module');
  });

  test('Sequential with named children (torch’s OrderedDict form)', () => {
    const seq = new nn.Sequential({ fc: new nn.Linear(2, 3), act: new nn.ReLU(), out: new nn.Linear(3, 1) });
    assert.deepEqual(Object.keys(seq.stateDict()), ['fc.weight', 'fc.bias', 'out.weight', 'out.bias']);
    assert.deepEqual(seq.call(ad.ones([5, 2])).shape, [5, 1]);
    assertThrowsMsg(() => new nn.Sequential({ 'a.b': new nn.ReLU() }), ad.ValueError, "'.'", 'a.b');
  });

  test('ModuleList: push, append, at, set, insert, pop, extend, length, iteration', () => {
    const l = new nn.ModuleList<ad.nn.Linear>();
    const m = [0, 1, 2, 3].map((i) => new nn.Linear(1, i + 1));
    assert.equal(l.push(m[0], m[1]), 2);
    l.append(m[2]);
    assert.equal(l.length, 3);
    assert.equal(l.at(-1), m[2]);
    assert.equal(l.at(1).outFeatures, 2);
    l.set(1, m[3]);
    assert.deepEqual([...l], [m[0], m[3], m[2]]);
    l.insert(0, m[1]);
    assert.deepEqual(
      l.namedParameters().map(([k, p]) => `${k}:${p.shape}`),
      ['0.weight:2,1', '0.bias:2', '1.weight:1,1', '1.bias:1', '2.weight:4,1', '2.bias:4', '3.weight:3,1', '3.bias:3'],
    );
    assert.equal(l.pop(0), m[1]);
    assert.equal(l.length, 3);
    assert.deepEqual([...l.slice(-2)], [m[3], m[2]]);
    l.extend([m[1]]);
    assert.deepEqual([...l], [m[0], m[3], m[2], m[1]]);
    assertThrowsMsg(() => l.at(4), ad.IndexError, 'ModuleList.at', 'index 4', '4 modules');
    assertThrowsMsg(() => (l as ad.nn.ModuleList).append({} as ad.nn.Module), ad.ValueError, 'ModuleList.append');
    assertThrowsMsg(() => l.forward(ad.ones([1])), ad.AdjointError, 'forward() is not implemented');
  });

  test('ModuleDict: keys as names in insertion order; get, set, has, pop, update, iteration', () => {
    const a = new nn.Linear(1, 1);
    const b = new nn.Linear(1, 2);
    const d = new nn.ModuleDict<ad.nn.Module>({ zeta: a });
    d.set('alpha', b);
    assert.deepEqual([...d], ['zeta', 'alpha']);
    assert.deepEqual([...d.keys()], ['zeta', 'alpha']);
    assert.deepEqual([...d.values()], [a, b]);
    assert.deepEqual(
      [...d.items()],
      [
        ['zeta', a],
        ['alpha', b],
      ],
    );
    assert.equal(d.length, 2);
    assert.ok(d.has('alpha') && !d.has('beta'));
    assert.deepEqual(Object.keys(d.stateDict()), ['zeta.weight', 'zeta.bias', 'alpha.weight', 'alpha.bias']);
    // Pairs keep number-like keys in their place (an object literal would move them first).
    d.update([['1', new nn.ReLU()]]);
    assert.deepEqual([...d], ['zeta', 'alpha', '1']);
    assert.equal(d.pop('zeta'), a);
    assert.deepEqual([...d], ['alpha', '1']);
    assertThrowsMsg(() => d.get('zeta'), ad.ValueError, 'zeta', 'alpha, 1');
    assertThrowsMsg(() => d.set('a.b', a), ad.ValueError, "'.'");
    assertThrowsMsg(() => d.set('', a), ad.ValueError, 'non-empty');
  });
});

describe('training state', () => {
  test('zeroGrad: sets every gradient to null, or to zeros with {setToNone: false}', () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 1));
    (m.call(ad.randn([4, 3])) as ad.Tensor).sum().backward();
    assert.ok(m.parameters().every((p) => p.grad !== null));
    m.zeroGrad({ setToNone: false });
    assert.ok(m.parameters().every((p) => p.grad !== null && Array.from(p.grad.dataSync()).every((v) => v === 0)));
    m.zeroGrad();
    assert.ok(m.parameters().every((p) => p.grad === null));
  });

  test('stateDict round trip: a fresh model loads it and computes the same', () => {
    ad.manualSeed(40);
    const make = () =>
      new nn.Sequential(new nn.Embedding(6, 4, { paddingIdx: 0 }), new nn.Flatten(), new nn.Linear(8, 3));
    const a = make();
    const b = make();
    const x = i32([
      [1, 0],
      [5, 2],
    ]);
    assert.notDeepEqual(Array.from(b.call(x).dataSync()), Array.from(a.call(x).dataSync()));
    const sd = a.stateDict();
    assert.deepEqual(Object.keys(sd), ['0.weight', '2.weight', '2.bias']);
    assert.ok(Object.values(sd).every((t) => !t.requiresGrad));
    b.loadStateDict(sd);
    assert.deepEqual(Array.from(b.call(x).dataSync()), Array.from(a.call(x).dataSync()));
    // Loaded by value: b's parameters are still its own leaves.
    assert.notEqual((b.at(2) as ad.nn.Linear).weight, (a.at(2) as ad.nn.Linear).weight);
    assert.ok((b.at(2) as ad.nn.Linear).weight.requiresGrad);
  });

  test('loadStateDict strict: missing, unexpected and mis-shaped keys are refused and the model is untouched', () => {
    ad.manualSeed(41);
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1));
    const before = m.parameters().map((p) => Array.from(p.dataSync()));
    const untouched = () =>
      assert.deepEqual(
        m.parameters().map((p) => Array.from(p.dataSync())),
        before,
      );
    const good = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Linear(3, 1)).stateDict();
    const { '2.bias': _dropped, ...missing } = good;
    assertThrowsMsg(() => m.loadStateDict(missing), ad.AdjointError, 'missing keys 2.bias', 'strict: false');
    untouched();
    assertThrowsMsg(
      () => m.loadStateDict({ ...good, '3.weight': ad.ones([1]) }),
      ad.AdjointError,
      'unexpected keys 3.weight',
    );
    untouched();
    assertThrowsMsg(
      () => m.loadStateDict({ ...good, '2.weight': ad.ones([3, 1]) }),
      ad.ShapeError,
      "'2.weight'",
      '[3, 1]',
      '[1, 3]',
    );
    untouched();
    // Non-strict loads what matches and reports the rest.
    const r = m.loadStateDict({ ...missing, extra: ad.ones([1]) }, { strict: false });
    assert.deepEqual(r, { missingKeys: ['2.bias'], unexpectedKeys: ['extra'] });
    assert.deepEqual(Array.from((m.at(0) as ad.nn.Linear).weight.dataSync()), Array.from(good['0.weight'].dataSync()));
    assert.deepEqual(Array.from((m.at(2) as ad.nn.Linear).bias!.dataSync()), before[3]);
  });

  test('apply: reinitialise every Linear', () => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Sequential(new nn.Linear(3, 1)));
    m.apply((mod) => {
      if (mod instanceof nn.Linear) {
        init.ones_(mod.weight);
        if (mod.bias) init.zeros_(mod.bias);
      }
    });
    assert.deepEqual(m.call(ad.ones([1, 2])).toArray(), [[6]]);
  });
});

describe('toString', () => {
  test("nested modules print as torch's repr", () => {
    class Net extends nn.Module {
      features = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 128), new nn.ReLU(), new nn.Dropout(0.2));
      heads = new nn.ModuleDict({ cls: new nn.Linear(128, 10, { bias: false }), act: new nn.LogSoftmax(-1) });
      embed = new nn.Embedding(10, 3, { paddingIdx: 0, maxNorm: 1 });
      extra = new nn.ModuleList([new nn.Unflatten(1, [2, 5]), new nn.Identity(), new nn.Bilinear(2, 3, 4)]);
      acts = new nn.Sequential(
        new nn.GELU(),
        new nn.GELU('tanh'),
        new nn.SiLU(),
        new nn.LeakyReLU(0.2),
        new nn.ELU(),
        new nn.Softplus(),
        new nn.Softmax(1),
        new nn.Sigmoid(),
        new nn.Tanh(),
      );
      loss = new nn.CrossEntropyLoss();
    }
    // Printed by torch 1.13 for the same model.
    const expected = `Net(
  (features): Sequential(
    (0): Flatten(start_dim=1, end_dim=-1)
    (1): Linear(in_features=784, out_features=128, bias=True)
    (2): ReLU()
    (3): Dropout(p=0.2, inplace=False)
  )
  (heads): ModuleDict(
    (cls): Linear(in_features=128, out_features=10, bias=False)
    (act): LogSoftmax(dim=-1)
  )
  (embed): Embedding(10, 3, padding_idx=0, max_norm=1.0)
  (extra): ModuleList(
    (0): Unflatten(dim=1, unflattened_size=(2, 5))
    (1): Identity()
    (2): Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)
  )
  (acts): Sequential(
    (0): GELU(approximate='none')
    (1): GELU(approximate='tanh')
    (2): SiLU()
    (3): LeakyReLU(negative_slope=0.2)
    (4): ELU(alpha=1.0)
    (5): Softplus(beta=1, threshold=20)
    (6): Softmax(dim=1)
    (7): Sigmoid()
    (8): Tanh()
  )
  (loss): CrossEntropyLoss()
)`;
    assert.equal(new Net().toString(), expected);
    assert.equal(new nn.Sequential().toString(), 'Sequential()');
  });
});

describe('loss modules', () => {
  test('compute their ad.F function with the options they hold', () => {
    ad.manualSeed(50);
    const x = ad.randn([4, 3], { dtype });
    const t = i32([0, 2, 1, 2]);
    const w = f64([0.5, 1, 2]);
    const same = (a: ad.Tensor, b: ad.Tensor) => assertClose(a.dataSync(), b.dataSync(), 0, 0);
    same(
      new nn.CrossEntropyLoss({ weight: w, labelSmoothing: 0.1 }).call(x, t),
      ad.F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1 }),
    );
    same(
      new nn.NLLLoss({ reduction: 'sum', ignoreIndex: 2 }).call(x, t),
      ad.F.nllLoss(x, t, { reduction: 'sum', ignoreIndex: 2 }),
    );
    const y = ad.randn([4, 3], { dtype });
    same(new nn.MSELoss().call(x, y), ad.F.mseLoss(x, y));
    same(new nn.L1Loss({ reduction: 'none' }).call(x, y), ad.F.l1Loss(x, y, { reduction: 'none' }));
    same(new nn.SmoothL1Loss({ beta: 0.5 }).call(x, y), ad.F.smoothL1Loss(x, y, { beta: 0.5 }));
    const p = ad.sigmoid(x);
    const q = ad.rand([4, 3], { dtype });
    same(new nn.BCELoss({ weight: w }).call(p, q), ad.F.binaryCrossEntropy(p, q, { weight: w }));
    same(
      new nn.BCEWithLogitsLoss({ posWeight: w, reduction: 'sum' }).call(x, q),
      ad.F.binaryCrossEntropyWithLogits(x, q, { posWeight: w, reduction: 'sum' }),
    );
  });

  test('check their options when made', () => {
    assertThrowsMsg(
      () => new nn.CrossEntropyLoss({ ignore_index: 0 } as ad.F.CrossEntropyOptions),
      ad.ValueError,
      'CrossEntropyLoss',
      "unknown option 'ignore_index'",
      'ignoreIndex',
    );
    assertThrowsMsg(
      () => new nn.MSELoss({ reduction: 'avg' as 'mean' }),
      ad.ValueError,
      'MSELoss',
      "one of 'mean', 'sum', 'none'",
    );
    assertThrowsMsg(() => new nn.MSELoss({ beta: 1 } as ad.F.ReductionOptions), ad.ValueError, "unknown option 'beta'");
  });
});

describe('functional ops: errors and PyTorch behaviours', () => {
  test('embedding: int32 indices in range, a 2-D float weight, known options', () => {
    const w = ad.randn([4, 2], { dtype });
    assertThrowsMsg(
      () => ad.embedding(i32([1, 4]), w),
      ad.IndexError,
      'embedding',
      'index 4',
      'position [1]',
      '4 embeddings',
      '[0, 3]',
    );
    assertThrowsMsg(() => ad.embedding(i32([-1]), w), ad.IndexError, 'negative indices are not wrapped');
    assertThrowsMsg(() => ad.embedding(f64([1]), w), ad.DTypeError, 'embedding', 'int32', 'input.int()');
    assertThrowsMsg(() => ad.embedding(i32([1]), ad.randn([4])), ad.ShapeError, 'embedding', '2-D', '[4]');
    assertThrowsMsg(
      () => ad.embedding(i32([1]), w, { padding_idx: 0 } as ad.EmbeddingOptions),
      ad.ValueError,
      "unknown option 'padding_idx'",
      'paddingIdx',
    );
    assertThrowsMsg(() => ad.embedding(i32([1]), w, { paddingIdx: 4 }), ad.ValueError, 'paddingIdx', '[-4, 3]');
    assertThrowsMsg(() => ad.embedding(i32([1]), w, { sparse: true }), ad.ValueError, 'sparse');
  });

  test('embedding maxNorm renormalises the looked-up rows in place, as torch', () => {
    const w = f64(
      [
        [3, 4],
        [0.3, 0.4],
        [1, -2],
        [6, 8],
      ],
      true,
    );
    const y = ad.embedding(i32([0, 1, 2, 0]), w, { maxNorm: 2 });
    // torch 1.13: F.embedding(i, w, max_norm=2.0) on the same values.
    const row0 = [1.1999999760000004, 1.5999999680000005];
    const row2 = [0.8944271509999177, -1.7888543019998353];
    assertClose(w.dataSync(), [...row0, 0.3, 0.4, ...row2, 6, 8], 1e-15, 0, 'renormed weight');
    assertClose(y.dataSync(), [...row0, 0.3, 0.4, ...row2, ...row0], 1e-15, 0, 'output');
    assert.ok(w.isLeaf && w.requiresGrad);
    const w2 = f64([
      [3, 4],
      [0.3, 0.4],
      [1, -2],
      [6, 8],
    ]);
    ad.embedding(i32([3, 2]), w2, { maxNorm: 1.5, normType: 1 });
    assertClose(
      w2.dataSync(),
      [3, 4, 0.3, 0.4, 0.4999999833333339, -0.9999999666666678, 0.6428571382653061, 0.8571428510204082],
      1e-15,
      0,
      'normType 1',
    );
  });

  test('embedding: the paddingIdx row gets no gradient; the module does the same', () => {
    const m = new nn.Embedding(4, 2, { paddingIdx: 1, dtype });
    const y = m.call(i32([[1, 2, 1, 3]])) as ad.Tensor;
    assert.deepEqual(y.shape, [1, 4, 2]);
    y.sum().backward();
    assert.deepEqual(m.weight.grad?.toArray(), [
      [0, 0],
      [0, 0],
      [1, 1],
      [1, 1],
    ]);
  });

  test('bilinear: matching batch dims, weight [out, in1, in2], bias [out]', () => {
    const w = ad.randn([5, 3, 4], { dtype });
    assertThrowsMsg(
      () => ad.bilinear(ad.randn([2, 3]), ad.randn([1, 4]), w),
      ad.ShapeError,
      'bilinear',
      'batch dims must match',
      '[2]',
      '[1]',
    );
    assertThrowsMsg(
      () => ad.bilinear(ad.randn([2, 4]), ad.randn([2, 3]), w),
      ad.ShapeError,
      "input1's last dim must be 3",
    );
    assertThrowsMsg(
      () => ad.bilinear(ad.randn([2, 3]), ad.randn([2, 4]), w, ad.randn([4])),
      ad.ShapeError,
      'bias must be [5]',
    );
    assertThrowsMsg(() => ad.bilinear(ad.randn([2, 3]), ad.randn([2, 4]), ad.randn([3, 4])), ad.ShapeError, '3-D');
  });

  test('unflatten: sizes that multiply to the dim, one -1 at most; a Tensor method too', () => {
    const x = ad.randn([2, 12]);
    assert.deepEqual(x.unflatten(1, [3, -1]).shape, [2, 3, 4]);
    assert.deepEqual(ad.unflatten(x, -1, [2, 2, 3]).shape, [2, 2, 2, 3]);
    assertThrowsMsg(() => ad.unflatten(x, 1, [5, -1]), ad.ShapeError, 'unflatten', "don't multiply up", '(12)');
    assertThrowsMsg(() => ad.unflatten(x, 1, [5, 3]), ad.ShapeError, "don't multiply up");
    assertThrowsMsg(() => ad.unflatten(x, 1, []), ad.ValueError, 'non-empty');
    assertThrowsMsg(() => ad.unflatten(x, 2, [1]), ad.IndexError, 'unflatten', 'dim 2');
  });

  test('Linear: a clear error for the wrong number of input features', () => {
    const m = new nn.Linear(4, 2);
    assertThrowsMsg(() => m.call(ad.ones([3, 5])), ad.ShapeError, 'linear', '[3, 5]', '[2, 4]');
    assertThrowsMsg(() => new nn.Linear(2.5, 1), ad.ValueError, 'Linear', 'inFeatures', '2.5');
  });
});

describe("F.embedding, F.dropout, F.bilinear: PyTorch's positional arguments", () => {
  test('embedding(input, weight, paddingIdx, maxNorm, normType, scaleGradByFreq) in place of the options', () => {
    const idx = i32([0, 2, 2, 1]);
    const run = (call: (w: ad.Tensor) => ad.Tensor) => {
      const w = ad.tensor(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        { dtype, requiresGrad: true },
      );
      const y = call(w);
      y.sum().backward();
      return [Array.from(y.dataSync()), Array.from(w.grad!.dataSync())];
    };
    assert.deepEqual(
      run((w) => ad.F.embedding(idx, w, 2, null, 2, true)),
      run((w) => ad.F.embedding(idx, w, { paddingIdx: 2, scaleGradByFreq: true })),
    );
    assertThrowsMsg(
      () => ad.F.embedding(idx, ad.randn([3, 2]), 1.5),
      ad.ArgumentError,
      'embedding: paddingIdx must be',
    );
  });
  test('dropout(input, p, training) and bilinear(input1, input2, weight, bias)', () => {
    const x = ad.randn([4, 3], { dtype });
    ad.manualSeed(1);
    const a = Array.from(ad.F.dropout(x, 0.5, true).dataSync());
    ad.manualSeed(1);
    assert.deepEqual(Array.from(ad.F.dropout(x, { p: 0.5, training: true }).dataSync()), a);
    assert.equal(ad.F.dropout(x, 0.5, false), x);
    const w = ad.randn([2, 3, 3], { dtype });
    assertThrowsMsg(
      () => ad.F.bilinear(x, x, w, 3 as never),
      ad.ArgumentError,
      'bilinear: bias must be a Tensor or null',
    );
  });
});
