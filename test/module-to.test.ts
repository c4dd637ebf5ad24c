/**
 * @file Module.to(dtype), double(), float(), half() and bfloat16(): floating parameters (with their gradients) and
 * buffers converted here and below, in place for parameters (the same Parameter objects, so an optimizer built
 * before still trains the model), integer buffers left alone, ties and shared buffers kept; a graph recorded before
 * the conversion refuses its backward; and the typed errors, after which nothing has changed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertThrowsMsg } from './helpers.js';

const { nn } = ad;
const data = (t: ad.Tensor) => Array.from(t.dataSync() as ArrayLike<number>);

function model() {
  ad.manualSeed(41);
  return new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
}
const dtypes = (ts: ad.Tensor[]) => ts.map((t) => t.dtype);

describe('Module.to, double, float', () => {
  test('double(): every floating parameter and buffer, the same Parameter objects, integer buffers untouched', () => {
    const m = model();
    const params = m.parameters();
    const values = params.map(data);
    const nbt = m.namedBuffers().find(([k]) => k.endsWith('num_batches_tracked'))?.[1];
    assert.equal(m.double(), m, 'returns this');
    assert.ok(
      m.parameters().every((p, i) => p === params[i]),
      'the same Parameter objects',
    );
    assert.deepEqual(dtypes(params), Array(params.length).fill('float64'));
    params.forEach((p, i) => {
      assert.deepEqual(data(p), values[i], 'float32 values are exact in float64');
      assert.equal(p.requiresGrad, true);
      assert.equal(p.isLeaf, true);
    });
    assert.deepEqual(
      m.namedBuffers().map(([k, b]) => [k, b.dtype]),
      [
        ['1.running_mean', 'float64'],
        ['1.running_var', 'float64'],
        ['1.num_batches_tracked', 'int64'],
      ],
    );
    assert.equal(m.namedBuffers()[2][1], nbt, 'an integer buffer is the same tensor, as PyTorch leaves it');
    const sd = m.stateDict();
    assert.equal(sd['0.weight'].dtype, 'float64');
    // And back.
    m.float();
    assert.deepEqual(dtypes(m.parameters()), Array(params.length).fill('float32'));
    assert.ok(m.parameters().every((p, i) => p === params[i]));
    params.forEach((p, i) => {
      assert.deepEqual(data(p), values[i]);
    });
    assert.equal(m.to('float64'), m);
    assert.equal(params[0].dtype, 'float64');
    m.to(ad.zeros([1], { dtype: 'float32' }));
    assert.equal(params[0].dtype, 'float32', "to(tensor) takes the tensor's dtype");
  });

  test('an optimizer built before the conversion trains the converted model; gradients are converted too', () => {
    const m = model();
    const opt = new ad.optim.SGD(m.parameters(), { lr: 0.5 });
    const x = ad.randn([5, 3], { dtype: 'float64' });
    m.forward(x.float()).sum().backward();
    const g = m.parameters()[0].grad as ad.Tensor;
    const gValues = data(g);
    m.double();
    const w = m.parameters()[0];
    assert.equal(w.grad, g, 'the same gradient tensor');
    assert.equal(g.dtype, 'float64');
    assert.deepEqual(data(g), gValues);
    m.zeroGrad();
    m.forward(x).sum().backward();
    assert.equal((w.grad as ad.Tensor).dtype, 'float64');
    const before = data(w);
    const grad = data(w.grad as ad.Tensor);
    opt.step();
    assert.equal(w.dtype, 'float64');
    assert.deepEqual(
      data(w),
      before.map((v, i) => v - 0.5 * grad[i]),
      "the optimizer moved the model's own tensors",
    );
  });

  test('ties stay tied, a shared buffer stays shared, requiresGrad false is kept', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(2, 2, { bias: false });
      b = new nn.Linear(2, 2);
      constructor() {
        super();
        this.b.weight = this.a.weight;
        this.b.bias?.requiresGrad_(false);
      }
    }
    const t = new Tied();
    const shared = ad.ones([2]);
    t.a.registerBuffer('s', shared);
    t.b.registerBuffer('s', shared);
    t.double();
    assert.equal(t.a.weight, t.b.weight);
    assert.equal(t.a.weight.dtype, 'float64');
    assert.equal(t.b.bias?.requiresGrad, false);
    assert.equal(t.b.bias?.dtype, 'float64');
    const sa = (t.a as unknown as { s: ad.Tensor }).s;
    const sb = (t.b as unknown as { s: ad.Tensor }).s;
    assert.equal(sa, sb, 'one converted tensor, still shared');
    assert.equal(t.buffers().length, 1, 'listed once, as PyTorch lists a shared buffer');
    assert.equal(sa.dtype, 'float64');
    assert.equal(shared.dtype, 'float32', 'a buffer is replaced by a converted copy, as PyTorch replaces it');
  });

  test('a graph recorded before the conversion fails its backward (the in-place or the changed-dtype error)', () => {
    const lin = new nn.Linear(3, 2);
    const x = ad.randn([4, 3]).requiresGrad_(true);
    const y = lin.forward(x).sum();
    lin.double();
    // Whichever the engine reaches first: the weight's saved version, or the bias's changed dtype.
    assert.throws(() => y.backward(), { name: 'AutogradError', message: /modified by an in-place op|dtype changed/ });
  });

  test('half() and bfloat16() say the dtype does not exist yet; other dtypes and values are refused; nothing changes', () => {
    const m = model();
    const before = dtypes([...m.parameters(), ...m.buffers()]);
    const check = () => assert.deepEqual(dtypes([...m.parameters(), ...m.buffers()]), before);
    assertThrowsMsg(() => m.half(), ad.DTypeError, 'Module.half', 'float16 does not exist in adjoint yet', '.float()');
    check();
    assertThrowsMsg(() => m.bfloat16(), ad.DTypeError, 'Module.bfloat16', 'bfloat16 does not exist in adjoint yet');
    assertThrowsMsg(() => m.to('float16' as ad.DType), ad.DTypeError, 'Module.to', 'float16 does not exist');
    assertThrowsMsg(
      () => m.to('int32'),
      ad.DTypeError,
      "Module.to: modules convert only to a floating-point dtype ('float64', 'float32'), got 'int32'",
    );
    assertThrowsMsg(() => m.to('bool'), ad.DTypeError, "got 'bool'");
    assertThrowsMsg(() => m.to(ad.zeros([1], { dtype: 'int32' })), ad.DTypeError, "got 'int32'");
    assertThrowsMsg(() => m.to('cpu' as ad.DType), ad.DTypeError, "'cpu' is a device, and adjoint has none");
    assertThrowsMsg(() => m.to('float' as ad.DType), ad.DTypeError, "unknown dtype 'float'");
    assertThrowsMsg(() => (m as any).to(64), ad.ArgumentError, 'Module.to', 'dtype must be');
    assertThrowsMsg(() => (m as any).to(), ad.ArgumentError, "missing argument 'dtype'");
    assertThrowsMsg(() => (m as any).double('x'), ad.ArgumentError, 'Module.double', 'one too many');
    assertThrowsMsg(
      () => (m as any).to('float64', { nonBlocking: true }),
      ad.ArgumentError,
      "unknown option 'nonBlocking'",
    );
    check();
  });
});

describe('a graph recorded before a conversion', () => {
  test('a leaf whose dtype changed after the forward refuses the old gradient instead of taking it silently', () => {
    ad.manualSeed(2);
    const lin = new nn.Linear(2, 1);
    const y = lin.forward(ad.ones([3, 2])).sum();
    lin.double();
    assertThrowsMsg(() => y.backward(), ad.AdjointError, 'float64');
    assert.equal(lin.bias?.grad, null, 'no float32 gradient on the float64 bias');
  });

  test('a float64 input into a float32 layer raises, as in PyTorch', () => {
    const lin = new nn.Linear(2, 1);
    assertThrowsMsg(() => lin.forward(ad.ones([3, 2], { dtype: 'float64' })), ad.DTypeError, 'float64', 'float32');
    assert.equal(lin.double().forward(ad.ones([3, 2], { dtype: 'float64' })).dtype, 'float64');
  });
});
