/**
 * @file The normalisation layers and ops: BatchNorm1d/2d in train and eval (running statistics with the unbiased
 * variance, momentum, momentum null's cumulative average, trackRunningStats false, affine false), LayerNorm,
 * GroupNorm, their parameters, buffers and state-dict keys (PyTorch's), gradcheck of every layer in float64 (and
 * gradgradcheck of batch norm), and the message of every error, thrown before anything changes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const { nn } = ad;
const F64 = { dtype: 'float64' } as const;
const rand = (shape: readonly number[], lo = -2, hi = 2) =>
  ad
    .rand(shape, F64)
    .mul(hi - lo)
    .add(lo);
const data = (t: ad.Tensor) => Array.from(t.dataSync() as ArrayLike<number>);

/**
 * fn(x, ...params) for gradcheck: the layer run with its parameters replaced by the given tensors (restored after),
 * so finite differences can perturb them.
 */
function layerFn(m: ad.nn.Module, call: (x: ad.Tensor) => ad.Tensor | ad.Tensor[]) {
  const names = m.namedParameters().map(([n]) => n);
  const owners = names.map((n) => {
    const path = n.split('.');
    let o: any = m;
    for (const k of path.slice(0, -1)) o = o[k];
    return [o, path[path.length - 1]] as [any, string];
  });
  const fn = (x: ad.Tensor, ...ps: ad.Tensor[]) => {
    const saved = owners.map(([o, k]) => o[k]);
    owners.forEach(([o, k], i) => {
      o[k] = ps[i];
    });
    try {
      return call(x);
    } finally {
      owners.forEach(([o, k], i) => {
        o[k] = saved[i];
      });
    }
  };
  const params = m.parameters().map((p) => p.detach().clone().requiresGrad_(true));
  return { fn, params };
}

/** Random (non-trivial) values for every float parameter. */
function randomize(m: ad.nn.Module) {
  ad.noGrad(() => {
    for (const p of m.parameters()) p.copy_(rand(p.shape, 0.5, 1.5));
  });
}

describe('BatchNorm', () => {
  test("parameters, buffers and state-dict keys are PyTorch's, with its defaults", () => {
    const m = new nn.BatchNorm1d(3);
    assert.deepEqual(Object.keys(m.stateDict()), [
      'weight',
      'bias',
      'running_mean',
      'running_var',
      'num_batches_tracked',
    ]);
    assert.deepEqual(
      m.namedParameters().map(([k]) => k),
      ['weight', 'bias'],
    );
    assert.equal(m.weight!.dtype, 'float32');
    assert.deepEqual(data(m.weight!), [1, 1, 1]);
    assert.deepEqual(data(m.bias!), [0, 0, 0]);
    assert.deepEqual(data(m.running_mean!), [0, 0, 0]);
    assert.deepEqual(data(m.running_var!), [1, 1, 1]);
    // int64, as PyTorch's num_batches_tracked.
    assert.equal(m.num_batches_tracked!.dtype, 'int64');
    assert.deepEqual(m.num_batches_tracked!.shape, []);
    assert.equal(m.toString(), 'BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)');
    const bare = new nn.BatchNorm2d(2, { affine: false, trackRunningStats: false });
    assert.deepEqual(Object.keys(bare.stateDict()), []);
    assert.equal(bare.running_mean, null);
    assert.equal(bare.weight, null);
  });

  test('training: batch statistics, running statistics updated with the unbiased variance and momentum', () => {
    ad.manualSeed(1);
    const m = new nn.BatchNorm1d(3, { momentum: 0.25, ...F64 });
    const x = rand([6, 3]);
    const y = m.forward(x);
    // Each channel of y has mean 0 and biased variance 1/(1 + eps/var).
    const mu = x.mean(0);
    const vb = x.var(0, { correction: 0 });
    assertClose(data(y.mean(0)), [0, 0, 0], 0, 1e-12, 'output mean');
    assertClose(data(y.var(0, { correction: 0 })), data(vb.div(vb.add(1e-5))), 1e-12, 1e-12, 'output var');
    assertClose(data(m.running_mean!), data(mu.mul(0.25)), 1e-14, 1e-15, 'running mean');
    assertClose(data(m.running_var!), data(x.var(0).mul(0.25).add(0.75)), 1e-14, 1e-15, 'running var (unbiased)');
    assert.equal(m.num_batches_tracked!.item(), 1);
    m.forward(rand([6, 3]));
    assert.equal(m.num_batches_tracked!.item(), 2);
  });

  test('eval: the running statistics, which stay as they are', () => {
    ad.manualSeed(2);
    const m = new nn.BatchNorm2d(2, F64);
    randomize(m);
    ad.noGrad(() => {
      m.running_mean!.copy_(ad.tensor([0.5, -1], F64));
      m.running_var!.copy_(ad.tensor([2, 0.25], F64));
    });
    m.eval();
    const x = rand([2, 2, 3, 3]);
    const y = m.forward(x);
    const v = (t: ad.Tensor) => t.reshape([1, 2, 1, 1]);
    const expected = x
      .sub(v(m.running_mean!))
      .div(v(m.running_var!).add(1e-5).sqrt())
      .mul(v(m.weight!))
      .add(v(m.bias!));
    assertClose(data(y), data(expected), 1e-12, 1e-12, 'eval output');
    assert.deepEqual(data(m.running_mean!), [0.5, -1]);
    assert.deepEqual(data(m.running_var!), [2, 0.25]);
    assert.equal(m.num_batches_tracked!.item(), 0);
  });

  test('momentum null: the cumulative average of the batch statistics', () => {
    ad.manualSeed(3);
    const m = new nn.BatchNorm1d(2, { momentum: null, ...F64 });
    const xs = [rand([4, 2, 3]), rand([5, 2, 2]), rand([3, 2, 4])];
    for (const x of xs) m.forward(x);
    const means = xs.map((x) => data(x.mean([0, 2])));
    const vars = xs.map((x) => data(x.var([0, 2])));
    const avg = (rows: number[][]) => rows[0].map((_, c) => rows.reduce((a, r) => a + r[c], 0) / rows.length);
    assertClose(data(m.running_mean!), avg(means), 1e-13, 1e-14, 'running mean');
    assertClose(data(m.running_var!), avg(vars), 1e-13, 1e-14, 'running var');
    assert.equal(m.num_batches_tracked!.item(), 3);
    assert.match(m.toString(), /momentum=None/);
  });

  test('trackRunningStats false: batch statistics in eval too', () => {
    ad.manualSeed(4);
    const m = new nn.BatchNorm1d(3, { trackRunningStats: false, ...F64 });
    const x = rand([4, 3]);
    const yTrain = m.forward(x);
    m.eval();
    assert.deepEqual(data(m.forward(x)), data(yTrain));
    assert.deepEqual(m.namedBuffers(), []);
  });

  test('the functional form: eval by default, training on request, running statistics optional in training', () => {
    ad.manualSeed(5);
    const x = rand([4, 3]);
    const rm = ad.zeros([3], F64);
    const rv = ad.ones([3], F64);
    assertClose(data(ad.batchNorm(x, rm, rv)), data(x.div(Math.sqrt(1 + 1e-5))), 1e-15, 0, 'eval');
    const y = ad.batchNorm(x, null, null, null, null, { training: true });
    assertClose(data(y.mean(0)), [0, 0, 0], 0, 1e-12, 'training');
    ad.batchNorm(x, rm, rv, null, null, { training: true, momentum: 1 });
    assertClose(data(rm), data(x.mean(0)), 1e-15, 1e-16, 'momentum 1 takes the batch mean');
    assertClose(data(rv), data(x.var(0)), 1e-15, 1e-16, 'and the unbiased variance');
  });

  test('running statistics are updated outside the graph and get no gradient', () => {
    const x = rand([4, 3]).requiresGrad_(true);
    const rm = ad.zeros([3], F64);
    const rv = ad.ones([3], F64);
    const y = ad.batchNorm(x, rm, rv, null, null, { training: true });
    assert.equal(rm.requiresGrad, false);
    assert.equal(rm.gradFn, null);
    y.mul(rand([4, 3]))
      .sum()
      .backward();
    assert.ok(x.grad);
  });

  test('gradcheck in float64: train and eval, 1-D and 2-D, with and without affine (and second order)', () => {
    ad.manualSeed(6);
    for (const [m, shape] of [
      [new nn.BatchNorm1d(3, F64), [4, 3]],
      [new nn.BatchNorm1d(2, { affine: false, ...F64 }), [3, 2, 2]],
      [new nn.BatchNorm2d(2, F64), [2, 2, 2, 2]],
    ] as [ad.nn.Module, number[]][]) {
      randomize(m);
      for (const train of [true, false]) {
        m.train(train);
        const { fn, params } = layerFn(m, (x) => m.forward(x));
        const x = rand(shape).requiresGrad_(true);
        ad.assertGradcheck(fn, [x, ...params]);
        if (train) ad.assertGradgradcheck(fn, [x, ...params]);
      }
    }
  });

  test('errors name the layer, the shapes and the fix, and change nothing', () => {
    const m = new nn.BatchNorm1d(3);
    assertThrowsMsg(
      () => m.forward(ad.rand([2, 4])),
      ad.ShapeError,
      'BatchNorm1d',
      '[2, 4]',
      '4 channels',
      'numFeatures = 3',
    );
    assertThrowsMsg(
      () => m.forward(ad.rand([2, 3, 4, 5])),
      ad.ShapeError,
      'BatchNorm1d',
      '2-D [N, C] or 3-D [N, C, L]',
      '4-D',
    );
    assertThrowsMsg(
      () => new nn.BatchNorm2d(3).forward(ad.rand([3, 4, 4])),
      ad.ShapeError,
      'BatchNorm2d',
      '4-D [N, C, H, W]',
      'unsqueeze(0)',
    );
    assertThrowsMsg(() => m.forward(ad.rand([1, 3])), ad.ValueError, 'more than 1 value per channel', '[1, 3]');
    assert.equal(m.num_batches_tracked!.item(), 0, 'a rejected batch is not counted');
    assert.deepEqual(data(m.running_mean!), [0, 0, 0]);
    assertThrowsMsg(() => new nn.BatchNorm1d(0), ad.ValueError, 'numFeatures', '≥ 1');
    assertThrowsMsg(() => new nn.BatchNorm1d(3, { momentum: Number.NaN }), ad.ValueError, 'momentum');

    const x = ad.rand([4, 3]);
    assertThrowsMsg(
      () => ad.batchNorm(x, null, null),
      ad.ValueError,
      'evaluation mode',
      'runningMean',
      'training: true',
    );
    assertThrowsMsg(
      () => ad.batchNorm(x, ad.zeros([4]), ad.ones([4])),
      ad.ShapeError,
      'runningMean is [4] but must be [3]',
      'dim 1 of the input has 3',
    );
    assertThrowsMsg(() => ad.batchNorm(x, ad.zeros([3]), null), ad.ValueError, 'both runningMean and runningVar');
    assertThrowsMsg(
      () => ad.batchNorm(x, null, null, ad.ones([2]), null, { training: true }),
      ad.ShapeError,
      'weight is [2] but must be [3]',
    );
    assertThrowsMsg(
      () => ad.batchNorm(x, null, null, null, null, { training: true, running_mean: 1 } as object),
      ad.ValueError,
      "unknown option 'running_mean'",
    );
    assertThrowsMsg(
      () => ad.batchNorm(x, null, null, null, null, { training: true, momentum: null } as object),
      ad.ArgumentError,
      'batchNorm: momentum must be a finite number',
      '{momentum: null}',
      'got null',
    );
    assertThrowsMsg(() => ad.batchNorm(ad.rand([3]), null, null), ad.ShapeError, 'batchNorm', '[3]', '[N, C]');
    assertThrowsMsg(() => ad.batchNorm(ad.zeros([2, 3], { dtype: 'int32' }), null, null), ad.DTypeError, 'floating');
    const rm = ad.zeros([3]);
    assertThrowsMsg(
      () => ad.batchNorm(ad.rand([1, 3, 1]), rm, ad.ones([3]), null, null, { training: true }),
      ad.ValueError,
      'more than 1 value per channel',
    );
    assert.deepEqual(data(rm), [0, 0, 0]);
  });
});

describe('LayerNorm', () => {
  test("PyTorch's parameters, defaults and repr; normalises over the last dims", () => {
    assert.equal(new nn.LayerNorm(8).toString(), 'LayerNorm((8,), eps=1e-05, elementwise_affine=True)');
    const m = new nn.LayerNorm([3, 4], F64);
    assert.deepEqual(Object.keys(m.stateDict()), ['weight', 'bias']);
    assert.deepEqual(m.weight!.shape, [3, 4]);
    assert.equal(m.toString(), 'LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)');
    assert.deepEqual(Object.keys(new nn.LayerNorm(5, { elementwiseAffine: false }).stateDict()), []);
    ad.manualSeed(7);
    const x = rand([2, 3, 4]);
    const y = m.forward(x);
    assertClose(data(y.mean([1, 2])), [0, 0], 0, 1e-12, 'mean');
    const v = x.var([1, 2], { correction: 0 });
    assertClose(data(y.var([1, 2], { correction: 0 })), data(v.div(v.add(1e-5))), 1e-12, 1e-12, 'var');
  });

  test('gradcheck in float64', () => {
    ad.manualSeed(8);
    for (const [m, shape] of [
      [new nn.LayerNorm([2, 3], F64), [2, 2, 3]],
      [new nn.LayerNorm(4, { elementwiseAffine: false, eps: 0.1, ...F64 }), [3, 4]],
    ] as [ad.nn.Module, number[]][]) {
      randomize(m);
      const { fn, params } = layerFn(m, (x) => m.forward(x));
      ad.assertGradcheck(fn, [rand(shape).requiresGrad_(true), ...params]);
    }
  });

  test('errors', () => {
    assertThrowsMsg(
      () => new nn.LayerNorm([3, 4]).forward(ad.rand([2, 4, 3])),
      ad.ShapeError,
      'layerNorm',
      'input is [2, 4, 3]',
      'normalizedShape is [3, 4]',
      '[*, 3, 4]',
    );
    assertThrowsMsg(() => new nn.LayerNorm([]), ad.ValueError, 'normalizedShape');
    assertThrowsMsg(
      () => ad.layerNorm(ad.rand([2, 3]), 3, ad.ones([4])),
      ad.ShapeError,
      'weight is [4] but must be [3]',
    );
    assertThrowsMsg(() => ad.layerNorm(ad.rand([2, 3]), 3, null, null, { eps: -1 }), ad.ValueError, 'eps');
  });
});

describe('GroupNorm', () => {
  test("PyTorch's parameters; each group of each sample normalised", () => {
    const m = new nn.GroupNorm(2, 4, F64);
    assert.deepEqual(Object.keys(m.stateDict()), ['weight', 'bias']);
    assert.equal(m.toString(), 'GroupNorm(2, 4, eps=1e-05, affine=True)');
    ad.manualSeed(9);
    const x = rand([3, 4, 5]);
    const g = m.forward(x).reshape([3, 2, 10]);
    assertClose(data(g.mean(2)), [0, 0, 0, 0, 0, 0], 0, 1e-12, 'group means');
    // One group is LayerNorm over [C, L]; C groups is InstanceNorm.
    const one = new nn.GroupNorm(1, 4, F64);
    assertClose(data(one.forward(x)), data(ad.layerNorm(x, [4, 5])), 1e-12, 1e-12, 'one group');
  });

  test('gradcheck in float64', () => {
    ad.manualSeed(10);
    for (const [m, shape] of [
      [new nn.GroupNorm(2, 4, F64), [2, 4, 3]],
      [new nn.GroupNorm(3, 3, { affine: false, ...F64 }), [2, 3, 2, 2]],
    ] as [ad.nn.Module, number[]][]) {
      randomize(m);
      const { fn, params } = layerFn(m, (x) => m.forward(x));
      ad.assertGradcheck(fn, [rand(shape).requiresGrad_(true), ...params]);
    }
  });

  test('errors', () => {
    assertThrowsMsg(() => new nn.GroupNorm(4, 6), ad.ValueError, 'numChannels (6) must be divisible by numGroups (4)');
    assertThrowsMsg(
      () => new nn.GroupNorm(2, 4).forward(ad.rand([2, 6, 3])),
      ad.ShapeError,
      'GroupNorm',
      '[2, 6, 3]',
      '6 channels',
      'numChannels = 4',
    );
    assertThrowsMsg(
      () => ad.groupNorm(ad.rand([2, 6, 3]), 4),
      ad.ShapeError,
      'groupNorm',
      'input is [2, 6, 3]',
      'divisible by numGroups',
    );
    assertThrowsMsg(() => ad.groupNorm(ad.rand([6]), 3), ad.ShapeError, 'groupNorm', '[6]', '[N, C]');
    assertThrowsMsg(() => ad.groupNorm(ad.rand([2, 6]), 0), ad.ValueError, 'numGroups');
  });
});

describe("batchNorm, layerNorm, groupNorm take PyTorch's positional arguments", () => {
  test('training, momentum and eps in their places, or by name', () => {
    ad.manualSeed(8);
    const x = ad.randn([4, 3, 2], { dtype: 'float64' });
    const w = ad.randn([3], { dtype: 'float64' });
    const b = ad.randn([3], { dtype: 'float64' });
    const stats = () => [ad.zeros([3], { dtype: 'float64' }), ad.ones([3], { dtype: 'float64' })];
    const [rm1, rv1] = stats();
    const [rm2, rv2] = stats();
    const y1 = ad.batchNorm(x, rm1, rv1, w, b, true, 0.2, 1e-3);
    const y2 = ad.batchNorm(x, rm2, rv2, w, b, { training: true, momentum: 0.2, eps: 1e-3 });
    assert.deepEqual(data(y1), data(y2));
    assert.deepEqual(data(rm1), data(rm2));
    assert.deepEqual(data(rv1), data(rv2));
    assert.deepEqual(
      data(ad.layerNorm(x, 2, w.slice(0, 0, 2), null, 1e-3)),
      data(ad.layerNorm(x, [2], w.slice(0, 0, 2), { eps: 1e-3 })),
    );
    assert.deepEqual(data(ad.groupNorm(x, 3, w, b, 1e-3)), data(ad.groupNorm(x, 3, { weight: w, bias: b, eps: 1e-3 })));
    assertThrowsMsg(
      () => ad.layerNorm(x, 2, null, null, { eps: -1 }),
      ad.ArgumentError,
      'layerNorm: eps must be',
      '≥ 0',
    );
    assertThrowsMsg(() => ad.groupNorm(x, 1.5), ad.ArgumentError, 'groupNorm: numGroups must be a whole number ≥ 1');
  });
});
