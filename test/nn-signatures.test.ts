/**
 * @file The nn layers' declared signatures (src/core/args.ts): PyTorch 1.13's positional order for every
 * constructor, any parameter also by name in the trailing options object, and a typed ArgumentError naming the class
 * and the fix for a snake_case or unknown option, a wrong type, an unsupported value or a surplus argument — thrown
 * before anything is built (the random stream the initialisers draw from is untouched). Every module's forward
 * rejects a non-tensor; Module's and the containers' methods take PyTorch's arguments; nn.init and nn.utils are
 * checked functions. The PyTorch results (reprs, parameter names) were printed by torch 1.13.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signatureOf } from '../src/core/args.js';
import * as ad from '../src/index.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const { nn } = ad;
const F64 = { dtype: 'float64' } as const;

/** The next draws of the seeded generator after fn, to compare with a run without it. */
function drawsAfter(fn: () => void): number[] {
  ad.manualSeed(7);
  try {
    fn();
  } catch {
    // The caller asserts the error; here only the generator's state matters.
  }
  return Array.from(ad.rand([4], F64).dataSync() as Float64Array);
}

/** fn throws cls with every fragment, and consumed nothing from the generator (nothing was initialised). */
function failsUnbuilt(fn: () => unknown, cls: new (...a: any[]) => Error, ...fragments: string[]): void {
  assertThrowsMsg(fn, cls, ...fragments);
  assert.deepEqual(
    drawsAfter(() => fn()),
    drawsAfter(() => undefined),
    'the failed call drew from the generator',
  );
}

describe('the cases of the issue', () => {
  test('snake_case options name the camelCase one', () => {
    failsUnbuilt(
      () => new nn.LSTM(3, 4, { batch_first: true } as never),
      ad.ArgumentError,
      'LSTM',
      "unknown option 'batch_first'",
      'use batchFirst',
    );
    failsUnbuilt(
      () => new nn.Conv2d(1, 8, 3, { padding_mode: 'reflect' } as never),
      ad.ArgumentError,
      'Conv2d',
      "unknown option 'padding_mode'",
      'use paddingMode',
    );
    failsUnbuilt(
      () => new nn.Embedding(10, 3, { padding_idx: 0 } as never),
      ad.ArgumentError,
      'Embedding',
      "unknown option 'padding_idx'",
      'use paddingIdx',
    );
    failsUnbuilt(
      () => new nn.MultiheadAttention(4, 2, { batch_first: true } as never),
      ad.ArgumentError,
      'MultiheadAttention',
      "unknown option 'batch_first'",
      'use batchFirst',
    );
    failsUnbuilt(
      () => new nn.Linear(3, 4, { biass: false } as never),
      ad.ArgumentError,
      'Linear',
      "unknown option 'biass'",
      'did you mean bias?',
    );
  });

  test("paddingMode 'reflect' works as camelCase; a mode adjoint lacks is refused with the supported ones", () => {
    const m = new nn.Conv2d(1, 2, 3, { padding: 1, paddingMode: 'reflect' });
    assert.equal(m.paddingMode, 'reflect');
    assert.deepEqual(m.forward(ad.rand([1, 1, 4, 4])).shape, [1, 2, 4, 4]);
    failsUnbuilt(
      () => new nn.Conv2d(1, 8, 3, { paddingMode: 'wrap' as 'zeros' }),
      ad.ArgumentError,
      'Conv2d',
      'paddingMode',
      "'zeros', 'reflect', 'replicate', 'circular'",
      '"wrap"',
    );
    failsUnbuilt(
      () => new nn.ConvTranspose2d(1, 8, 3, { paddingMode: 'reflect' as 'zeros' }),
      ad.ArgumentError,
      'ConvTranspose2d',
      "'zeros' for a transposed convolution",
    );
  });

  test("PyTorch's positional order: the same layers as torch builds", () => {
    // torch 1.13's reprs of the same calls.
    assert.equal(
      String(new nn.BatchNorm2d(3, 1e-3, 0.2)),
      'BatchNorm2d(3, eps=0.001, momentum=0.2, affine=True, track_running_stats=True)',
    );
    assert.equal(String(new nn.LayerNorm(4, 1e-3)), 'LayerNorm((4,), eps=0.001, elementwise_affine=True)');
    assert.equal(
      String(new nn.Conv2d(1, 8, 3, 1, 1)),
      'Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))',
    );
    assert.equal(
      String(new nn.Conv2d(2, 4, 3, 2, 1, 1, 2, false, 'reflect')),
      'Conv2d(2, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2, bias=False, padding_mode=reflect)',
    );
    assert.equal(
      String(new nn.ConvTranspose2d(2, 4, 3, 2, 1, 1)),
      'ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))',
    );
    assert.equal(String(new nn.Embedding(10, 3, 0)), 'Embedding(10, 3, padding_idx=0)');
    assert.equal(String(new nn.Dropout(0.2)), 'Dropout(p=0.2, inplace=False)');
    assert.equal(String(new nn.LeakyReLU(0.2, true)), 'LeakyReLU(negative_slope=0.2, inplace=True)');
    assert.equal(String(new nn.ELU(0.5, true)), 'ELU(alpha=0.5, inplace=True)');
    assert.equal(String(new nn.ReLU(true)), 'ReLU(inplace=True)');
    assert.equal(String(new nn.SiLU(true)), 'SiLU(inplace=True)');
    assert.equal(String(new nn.Softplus(2, 10)), 'Softplus(beta=2, threshold=10)');
    assert.equal(
      String(new nn.MaxPool2d(3, 2, 1)),
      'MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)',
    );
    assert.equal(String(new nn.AvgPool2d(2, 2)), 'AvgPool2d(kernel_size=2, stride=2, padding=0)');
    assert.equal(String(new nn.GroupNorm(2, 4, 1e-3, false)), 'GroupNorm(2, 4, eps=0.001, affine=False)');
    assert.equal(String(new nn.Upsample(null, 2, 'bilinear')), 'Upsample(scale_factor=2.0, mode=bilinear)');
    assert.equal(String(new nn.Flatten(0, 1)), 'Flatten(start_dim=0, end_dim=1)');
    assert.equal(
      String(new nn.Bilinear(2, 3, 4, false)),
      'Bilinear(in1_features=2, in2_features=3, out_features=4, bias=False)',
    );
    // torch.nn.LSTM(3, 4, 2).named_parameters().
    assert.deepEqual(
      new nn.LSTM(3, 4, 2).namedParameters().map(([k]) => k),
      [
        'weight_ih_l0',
        'weight_hh_l0',
        'bias_ih_l0',
        'bias_hh_l0',
        'weight_ih_l1',
        'weight_hh_l1',
        'bias_ih_l1',
        'bias_hh_l1',
      ],
    );
    const gru = new nn.GRU(3, 4, 1, true, true);
    assert.equal(gru.batchFirst, true);
    const cell = new nn.RNNCell(3, 4, false, 'relu');
    assert.equal(cell.nonlinearity, 'relu');
    assert.equal(cell.bias_ih, null);
    assert.equal(new nn.MultiheadAttention(4, 2, 0, true, false, false, null, null, true).batchFirst, true);
    assert.equal(new nn.MaxPool2d(2, null, 0, 1, true).returnIndices, true);
  });

  test('the embedding row paddingIdx names, given positionally, is zero', () => {
    ad.manualSeed(1);
    const e = new nn.Embedding(10, 3, 0);
    assert.equal(e.paddingIdx, 0);
    assert.deepEqual(Array.from(e.weight.slice(0, 0, 1).dataSync()), [0, 0, 0]);
  });

  test('any positional parameter may be given by name, but not twice', () => {
    assert.equal(new nn.BatchNorm2d(3, { momentum: 0.2, eps: 1e-3 }).momentum, 0.2);
    assert.equal(
      new (nn.Conv2d as new (...a: unknown[]) => ad.nn.Conv2d)({ inChannels: 1, outChannels: 2, kernelSize: 3 })
        .outChannels,
      2,
    );
    assert.equal(new nn.LSTM(3, 4, { numLayers: 2, projSize: 2 }).projSize, 2);
    failsUnbuilt(() => new nn.LayerNorm(4, 1e-3, { eps: 1e-4 }), ad.ArgumentError, 'LayerNorm', 'eps was given twice');
  });

  test('a surplus positional argument is an error, never dropped', () => {
    failsUnbuilt(
      () => new (nn.BatchNorm2d as new (...a: unknown[]) => unknown)(3, 1e-3, 0.2, true, true, 'float64'),
      ad.ArgumentError,
      'BatchNorm2d',
      'at most 5 positional arguments',
      'give dtype as options',
    );
    failsUnbuilt(
      () => new (nn.LayerNorm as new (...a: unknown[]) => unknown)(4, 1e-3, true, false),
      ad.ArgumentError,
      'LayerNorm',
      'at most 3 positional arguments',
    );
    failsUnbuilt(
      () => new (nn.Linear as new (...a: unknown[]) => unknown)(3, 4, false, true),
      ad.ArgumentError,
      'Linear',
      'at most 3 positional arguments',
    );
    failsUnbuilt(
      () => new (nn.Tanh as new (...a: unknown[]) => unknown)(1),
      ad.ArgumentError,
      'Tanh',
      'takes no positional arguments',
    );
    failsUnbuilt(
      () => new (nn.RNN as new (...a: unknown[]) => unknown)(3, 4, 1, true, false, 0, false, 2),
      ad.ArgumentError,
      'RNN',
      'at most 7 positional arguments',
    );
  });

  test('wrong types and out-of-range values name the parameter and what it takes', () => {
    failsUnbuilt(() => new nn.Dropout(1.5), ad.ArgumentError, 'Dropout', 'p must be', '[0, 1]', '1.5');
    failsUnbuilt(() => new nn.Linear(2.5, 1), ad.ArgumentError, 'Linear', 'inFeatures', '2.5');
    failsUnbuilt(() => new nn.Conv2d(1, 8, [3, 3, 3]), ad.ArgumentError, 'Conv2d', 'kernelSize', 'a list of 2');
    failsUnbuilt(() => new nn.BatchNorm1d(3, -1), ad.ArgumentError, 'BatchNorm1d', 'eps', '≥ 0', '-1');
    failsUnbuilt(() => new nn.Softmax('1' as never), ad.ArgumentError, 'Softmax', 'dim', '"1"');
    failsUnbuilt(() => new (nn.Softmax as new () => unknown)(), ad.ArgumentError, 'Softmax', "missing argument 'dim'");
    failsUnbuilt(() => new nn.GELU('fast' as 'tanh'), ad.ArgumentError, 'GELU', "one of 'none', 'tanh'", '"fast"');
    failsUnbuilt(
      () => new nn.RNN(3, 4, { nonlinearity: 'sigmoid' as 'tanh' }),
      ad.ArgumentError,
      'RNN',
      "'tanh', 'relu'",
    );
    failsUnbuilt(() => new nn.GRU(3, 4, { projSize: 2 } as never), ad.ArgumentError, 'GRU', 'only supported by LSTM');
    failsUnbuilt(() => new nn.Embedding(10, 3, 0, null, 2, false, true as never), ad.ArgumentError, 'sparse');
    failsUnbuilt(
      () => new nn.MultiheadAttention(4, 2, 0, true, true as never),
      ad.ArgumentError,
      'MultiheadAttention',
      'addBiasKv must be false',
    );
    failsUnbuilt(
      () => new nn.TransformerEncoderLayer(4, 2, 8, 0.1, 'tanh' as 'relu'),
      ad.ArgumentError,
      'TransformerEncoderLayer',
      "activation must be 'relu', 'gelu' or a function",
    );
    failsUnbuilt(() => new nn.MaxPool2d(2, { return_indices: true } as never), ad.ArgumentError, 'use returnIndices');
    failsUnbuilt(
      () => new nn.Upsample({ mode: 'bicubic' as 'bilinear' }),
      ad.ArgumentError,
      'Upsample',
      "'nearest', 'nearest-exact', 'linear', 'bilinear'",
    );
  });

  test('the losses: deprecated size_average and reduce point to reduction; positional forms as PyTorch', () => {
    failsUnbuilt(
      () => new nn.MSELoss({ size_average: true } as never),
      ad.ArgumentError,
      'MSELoss',
      "unknown option 'size_average'",
      'use reduction',
    );
    failsUnbuilt(
      () => new nn.CrossEntropyLoss(null, null, -100, false as never),
      ad.ArgumentError,
      'CrossEntropyLoss',
      'reduce must be null',
      "reduction: 'none'",
    );
    failsUnbuilt(() => new nn.L1Loss('sum' as never), ad.ArgumentError, 'L1Loss', 'sizeAverage must be null');
    failsUnbuilt(
      () => new nn.CrossEntropyLoss({ label_smoothing: 0.1 } as never),
      ad.ArgumentError,
      'use labelSmoothing',
    );
    const x = ad.rand([3, 4], F64);
    const y = ad.rand([3, 4], F64);
    assert.equal(
      new nn.MSELoss(null, null, 'sum').forward(x, y).item(),
      ad.F.mseLoss(x, y, { reduction: 'sum' }).item(),
    );
    assert.equal(new nn.SmoothL1Loss(null, null, 'mean', 0.5).beta, 0.5);
    const w = ad.rand([4], F64);
    const ce = new nn.CrossEntropyLoss(w, null, 1, null, 'sum', 0.1);
    assert.deepEqual([ce.ignoreIndex, ce.reduction, ce.labelSmoothing], [1, 'sum', 0.1]);
    assert.equal(ce.weight, w);
  });

  test('inplace activations write into their input and differentiate as PyTorch', () => {
    const x = ad.tensor([-1, 2, -3, 4], { ...F64, requiresGrad: true });
    const y = x.mul(2);
    // torch: y = x * 2; nn.LeakyReLU(0.1, True)(y) is y, [-0.2, 4, -0.6, 8]; sum().backward() gives x.grad
    // [0.2, 2, 0.2, 2].
    const r = new nn.LeakyReLU(0.1, true).forward(y);
    assert.equal(r, y);
    assertClose(y.dataSync(), [-0.2, 4, -0.6, 8]);
    r.sum().backward();
    assertClose(x.grad?.dataSync() ?? [], [0.2, 2, 0.2, 2]);
    const z = ad.tensor([-1, 1], F64);
    assert.equal(new nn.ReLU(true).forward(z), z);
    assert.deepEqual(Array.from(z.dataSync()), [0, 1]);
    assertThrowsMsg(() => new nn.ELU(1, true).forward(x), ad.AutogradError, 'leaf', 'in-place');
    assert.deepEqual(Array.from(x.dataSync()), [-1, 2, -3, 4]);
  });

  test('Identity takes any arguments and ignores them, as PyTorch', () => {
    const m = new nn.Identity(1, 'a', { anything: true });
    const x = ad.rand([2]);
    assert.equal(m.forward(x), x);
  });
});

/** One of each layer, built small, and a valid input for the ones this test calls. */
const LAYERS: [string, () => ad.nn.Module][] = [
  ['Linear', () => new nn.Linear(2, 2)],
  ['Bilinear', () => new nn.Bilinear(2, 2, 2)],
  ['Identity', () => new nn.Identity()],
  ['Flatten', () => new nn.Flatten()],
  ['Unflatten', () => new nn.Unflatten(1, [2, 1])],
  ['ReLU', () => new nn.ReLU()],
  ['GELU', () => new nn.GELU()],
  ['SiLU', () => new nn.SiLU()],
  ['Tanh', () => new nn.Tanh()],
  ['Sigmoid', () => new nn.Sigmoid()],
  ['Softmax', () => new nn.Softmax(-1)],
  ['LogSoftmax', () => new nn.LogSoftmax(-1)],
  ['LeakyReLU', () => new nn.LeakyReLU()],
  ['ELU', () => new nn.ELU()],
  ['Softplus', () => new nn.Softplus()],
  ['Dropout', () => new nn.Dropout()],
  ['Embedding', () => new nn.Embedding(3, 2)],
  ['Conv1d', () => new nn.Conv1d(1, 1, 1)],
  ['Conv2d', () => new nn.Conv2d(1, 1, 1)],
  ['ConvTranspose1d', () => new nn.ConvTranspose1d(1, 1, 1)],
  ['ConvTranspose2d', () => new nn.ConvTranspose2d(1, 1, 1)],
  ['BatchNorm1d', () => new nn.BatchNorm1d(2)],
  ['BatchNorm2d', () => new nn.BatchNorm2d(2)],
  ['LayerNorm', () => new nn.LayerNorm(2)],
  ['GroupNorm', () => new nn.GroupNorm(1, 2)],
  ['MaxPool1d', () => new nn.MaxPool1d(2)],
  ['MaxPool2d', () => new nn.MaxPool2d(2)],
  ['AvgPool1d', () => new nn.AvgPool1d(2)],
  ['AvgPool2d', () => new nn.AvgPool2d(2)],
  ['AdaptiveAvgPool1d', () => new nn.AdaptiveAvgPool1d(1)],
  ['AdaptiveAvgPool2d', () => new nn.AdaptiveAvgPool2d(1)],
  ['Upsample', () => new nn.Upsample(null, 2)],
  ['RNN', () => new nn.RNN(2, 2)],
  ['LSTM', () => new nn.LSTM(2, 2)],
  ['GRU', () => new nn.GRU(2, 2)],
  ['RNNCell', () => new nn.RNNCell(2, 2)],
  ['LSTMCell', () => new nn.LSTMCell(2, 2)],
  ['GRUCell', () => new nn.GRUCell(2, 2)],
  ['MultiheadAttention', () => new nn.MultiheadAttention(2, 1)],
  ['TransformerEncoderLayer', () => new nn.TransformerEncoderLayer(2, 1, 4)],
  ['CrossEntropyLoss', () => new nn.CrossEntropyLoss()],
  ['NLLLoss', () => new nn.NLLLoss()],
  ['MSELoss', () => new nn.MSELoss()],
  ['L1Loss', () => new nn.L1Loss()],
  ['SmoothL1Loss', () => new nn.SmoothL1Loss()],
  ['BCELoss', () => new nn.BCELoss()],
  ['BCEWithLogitsLoss', () => new nn.BCEWithLogitsLoss()],
];

describe('forward', () => {
  test('every layer: a non-tensor input is an ArgumentError naming Class.forward, and nothing runs', () => {
    for (const [name, make] of LAYERS) {
      const m = make();
      const before = JSON.stringify(Object.values(m.stateDict()).map((t) => Array.from(t.dataSync())));
      assertThrowsMsg(() => m.forward([1, 2] as never), ad.ArgumentError, `${name}.forward`, 'must be a Tensor');
      assertThrowsMsg(() => m.call('x' as never), ad.ArgumentError, `${name}.forward`);
      const after = JSON.stringify(Object.values(m.stateDict()).map((t) => Array.from(t.dataSync())));
      assert.equal(after, before, `${name}: state changed`);
    }
  });

  test("forward's other arguments: positional as PyTorch's, or by name", () => {
    ad.manualSeed(3);
    const mha = new nn.MultiheadAttention(4, 2, F64);
    const x = ad.rand([3, 1, 4], F64);
    const kpm = ad.tensor([[false, false, true]]);
    const [byName, wByName] = mha.forward(x, x, x, { keyPaddingMask: kpm, averageAttnWeights: false });
    const [positional, wPositional] = mha.forward(x, x, x, kpm, true, null, false);
    assert.deepEqual(positional.dataSync(), byName.dataSync());
    assert.deepEqual(wPositional?.shape, [1, 2, 3, 3]);
    assert.deepEqual(wPositional?.dataSync(), wByName?.dataSync());
    assert.equal(mha.forward(x, x, x, null, false)[1], null);
    assertThrowsMsg(
      () => mha.forward(x, x, x, { key_padding_mask: kpm } as never),
      ad.ArgumentError,
      'MultiheadAttention.forward',
      'use keyPaddingMask',
    );
    assertThrowsMsg(
      () => mha.forward(x, x, x, 'mask' as never),
      ad.ArgumentError,
      'MultiheadAttention.forward',
      'keyPaddingMask must be a Tensor or null',
    );
    const layer = new nn.TransformerEncoderLayer(4, 2, 8, 0, F64);
    const mask = nn.generateSquareSubsequentMask(3, F64);
    assert.deepEqual(layer.forward(x, mask).dataSync(), layer.forward(x, { srcMask: mask }).dataSync());
    assert.deepEqual(layer.forward(x, null, null, true).dataSync(), layer.forward(x, mask).dataSync());
    const lstm = new nn.LSTM(4, 2, F64);
    assertThrowsMsg(
      () => lstm.forward(x, ad.zeros([1, 1, 2], F64) as never),
      ad.ArgumentError,
      'LSTM.forward',
      'a pair [h0, c0]',
    );
    const ct = new nn.ConvTranspose2d(1, 1, 3, { stride: 2 });
    assert.deepEqual(ct.forward(ad.rand([1, 1, 2, 2]), [6, 6]).shape, [1, 1, 6, 6]);
    assertThrowsMsg(() => ct.forward(ad.rand([1, 1, 2, 2]), 6 as never), ad.ArgumentError, 'outputSize');
  });
});

describe('Module and the containers', () => {
  test("Module's methods take PyTorch's arguments, positional or by name", () => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2));
    const p = m.parameters()[0];
    p.grad = ad.onesLike(p);
    m.zeroGrad(false);
    assert.deepEqual(Array.from(p.grad?.dataSync() ?? []), [0, 0, 0, 0]);
    m.zeroGrad({ setToNone: true });
    assert.equal(p.grad, null);
    assert.equal(m.buffers(false).length, 0);
    assert.equal(m.buffers().length, 3);
    assert.deepEqual(
      m.namedBuffers('net', true).map(([k]) => k),
      ['net.1.running_mean', 'net.1.running_var', 'net.1.num_batches_tracked'],
    );
    assert.deepEqual(
      [...m.namedModules(null, 'net')].map(([k]) => k),
      ['net', 'net.0', 'net.1'],
    );
    assert.equal(
      m
        .requiresGrad_(false)
        .parameters()
        .filter((t) => t.requiresGrad).length,
      0,
    );
    m.requiresGrad_();
    assert.ok(m.parameters().every((t) => t.requiresGrad));
    const r = m.loadStateDict({ '0.weight': ad.zeros([2, 2]) }, false);
    assert.ok(r.missingKeys.includes('0.bias'));
    assert.deepEqual(Array.from(p.dataSync()), [0, 0, 0, 0]);
    assertThrowsMsg(() => m.train('no' as never), ad.ArgumentError, 'train', 'mode must be a boolean');
    assertThrowsMsg(
      () => (m.eval as (...a: unknown[]) => unknown)(false),
      ad.ArgumentError,
      'eval',
      'takes no positional arguments',
    );
    assertThrowsMsg(() => m.parameters({ recurse: 'yes' } as never), ad.ArgumentError, 'recurse');
    assertThrowsMsg(() => m.apply(3 as never), ad.ArgumentError, 'apply', 'fn must be a function');
    assertThrowsMsg(
      () => (m.stateDict as (...a: unknown[]) => unknown)({ keep_vars: true }),
      ad.ArgumentError,
      'stateDict',
      'no options',
    );
    assertThrowsMsg(
      () => m.loadStateDict({ '0.weight': ad.zeros([2, 2]) }, { strict: 'no' } as never),
      ad.ArgumentError,
      'loadStateDict',
      'strict',
    );
    assertThrowsMsg(() => m.namedModules('net' as never).next(), ad.ArgumentError, 'memo');
  });

  test('registerBuffer: a name PyTorch would refuse, or one taken by an attribute, is refused', () => {
    const m = new nn.Linear(2, 2);
    assertThrowsMsg(() => m.registerBuffer('a.b', null), ad.ArgumentError, 'registerBuffer', "without '.'");
    assertThrowsMsg(() => m.registerBuffer('', null), ad.ArgumentError, 'registerBuffer', 'non-empty');
    assertThrowsMsg(() => m.registerBuffer('weight', null), ad.ValueError, "attribute 'weight' already exists");
    assert.equal(m.parameters().length, 2, 'the weight is still a parameter');
    assertThrowsMsg(() => m.registerBuffer('x', 3 as never), ad.ArgumentError, 'tensor must be a Tensor or null');
    m.registerBuffer('x', ad.ones([1]), false);
    assert.deepEqual(Object.keys(m.stateDict()), ['weight', 'bias']);
  });

  test('Parameter and isParameter are checked functions', () => {
    assertThrowsMsg(() => nn.Parameter([1] as never), ad.ArgumentError, 'Parameter', 'data must be a Tensor');
    assert.equal(nn.Parameter(ad.zeros([1]), false).requiresGrad, false);
    assert.equal(nn.isParameter(3), false);
  });

  test('containers: arguments checked, and a failed call leaves the container as it was', () => {
    const a = new nn.ReLU();
    const s = new nn.Sequential(a);
    assertThrowsMsg(() => s.append(3 as never), ad.ArgumentError, 'Sequential.append', 'module must be a Module');
    assertThrowsMsg(() => s.extend([new nn.Tanh(), 3] as never), ad.ValueError, 'Sequential.extend', 'element 1');
    assertThrowsMsg(() => s.insert(0.5, a), ad.ArgumentError, 'Sequential.insert', 'index');
    assertThrowsMsg(() => s.at('0' as never), ad.ArgumentError, 'Sequential.at', 'idx');
    assert.equal(s.length, 1);
    assertThrowsMsg(
      () => new nn.Sequential(a, { b: new nn.Tanh() } as never),
      ad.ValueError,
      'Sequential',
      'must be the only argument',
    );
    const l = new nn.ModuleList<ad.nn.Module>([a]);
    assertThrowsMsg(() => l.extend([new nn.Tanh(), {}] as never), ad.ValueError, 'ModuleList.extend', 'element 1');
    assertThrowsMsg(() => l.push(new nn.Tanh(), 3 as never), ad.ArgumentError, 'ModuleList.push', 'argument 2');
    assertThrowsMsg(() => l.set(0, 'x' as never), ad.ArgumentError, 'ModuleList.set');
    assertThrowsMsg(() => new nn.ModuleList(3 as never), ad.ArgumentError, 'ModuleList', 'iterable of Modules');
    assert.equal(l.length, 1);
    assert.equal(new nn.ModuleList(null).length, 0);
    const d = new nn.ModuleDict<ad.nn.Module>({ a });
    assertThrowsMsg(
      () =>
        d.update([
          ['b', new nn.Tanh()],
          ['c', 3],
        ] as never),
      ad.ValueError,
      'ModuleDict.update',
      "the value for 'c'",
    );
    assertThrowsMsg(
      () =>
        d.update([
          ['b', new nn.Tanh()],
          ['c.d', a],
        ]),
      ad.ValueError,
      "'.'",
    );
    assertThrowsMsg(() => d.get(1 as never), ad.ArgumentError, 'ModuleDict.get', 'key must be a string');
    assert.deepEqual([...d.keys()], ['a']);
  });
});

describe('nn.init and nn.utils', () => {
  test('init functions: positional as PyTorch, by name, checked before anything is written', () => {
    const t = ad.zeros([20, 30], F64);
    ad.manualSeed(2);
    const positional = Array.from(nn.init.kaimingUniform_(t, 1, 'fan_out', 'relu').dataSync());
    ad.manualSeed(2);
    const named = Array.from(nn.init.kaimingUniform_(t, { a: 1, mode: 'fan_out', nonlinearity: 'relu' }).dataSync());
    assert.deepEqual(named, positional);
    const before = Array.from(t.dataSync());
    const version = t._storage.version;
    assertThrowsMsg(() => nn.init.uniform_(t, 1, 0), ad.ValueError, 'uniform_', 'a ≤ b');
    assertThrowsMsg(() => nn.init.normal_(t, 0, -1), ad.ArgumentError, 'normal_', 'std', '≥ 0');
    assertThrowsMsg(() => nn.init.constant_(t, Number.NaN), ad.ArgumentError, 'constant_', 'val', 'NaN');
    assertThrowsMsg(() => nn.init.xavierUniform_(t, '2' as never), ad.ArgumentError, 'xavierUniform_', 'gain');
    assertThrowsMsg(() => nn.init.dirac_(t, 0), ad.ArgumentError, 'dirac_', 'groups');
    assertThrowsMsg(() => nn.init.ones_([1] as never), ad.ArgumentError, 'ones_', 'tensor must be a Tensor');
    assertThrowsMsg(
      () => nn.init.kaimingNormal_(t, { nonlinearity: 'swish' } as never),
      ad.ArgumentError,
      'kaimingNormal_',
      'leaky_relu',
    );
    assertThrowsMsg(() => nn.init.calculateGain('relu', '0.1' as never), ad.ArgumentError, 'calculateGain', 'param');
    assert.deepEqual(Array.from(t.dataSync()), before);
    assert.equal(t._storage.version, version);
  });

  test('clipGradNorm_ and clipGradValue_: PyTorch positional order; nothing is clipped when the call is wrong', () => {
    const p = ad.zeros([2], F64).requiresGrad_(true);
    p.grad = ad.tensor([3, 4], F64);
    assertThrowsMsg(
      () => nn.utils.clipGradNorm_([p], 1, { norm_type: 1 } as never),
      ad.ArgumentError,
      'clipGradNorm_',
      'use normType',
    );
    assertThrowsMsg(() => nn.utils.clipGradNorm_([p], Number.NaN), ad.ArgumentError, 'maxNorm');
    assertThrowsMsg(() => nn.utils.clipGradValue_([p], -1), ad.ArgumentError, 'clipGradValue_', 'clipValue', '≥ 0');
    assertThrowsMsg(() => nn.utils.clipGradNorm_([p, 3] as never, 1), ad.ValueError, 'parameters[1]');
    assert.deepEqual(Array.from(p.grad.dataSync()), [3, 4]);
    // torch.nn.utils.clip_grad_norm_([p], 1, 1, True) with grad [3, 4]: total norm 7.
    assert.equal(nn.utils.clipGradNorm_([p], 1, 1, true).item(), 7);
    assert.ok(Math.abs((p.grad.dataSync() as Float64Array)[0] - 3 / (7 + 1e-6)) < 1e-12);
    assert.equal(nn.utils.clipGradNorm_(p, 10, 'inf').item(), 4 / (7 + 1e-6));
  });
});

describe('every public class and function in ad.nn declares its signature', () => {
  const isClass = (v: unknown): v is { prototype: object; name: string } =>
    typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v));

  test('constructors and forward methods', () => {
    const missing: string[] = [];
    let classes = 0;
    for (const [name, v] of Object.entries(nn)) {
      if (!isClass(v) || !(v.prototype instanceof nn.Module || v === nn.Module)) continue;
      classes++;
      if (!signatureOf(v)) missing.push(`${name} (constructor)`);
      const forward = (v.prototype as { forward: object }).forward;
      if (!signatureOf(forward)) missing.push(`${name}.forward`);
    }
    assert.ok(classes > 50, `found only ${classes} classes`);
    assert.deepEqual(missing, []);
  });

  test('functions: nn.*, nn.init.*, nn.utils.*', () => {
    const missing: string[] = [];
    let functions = 0;
    const spaces: [string, Record<string, unknown>][] = [
      ['nn', nn as unknown as Record<string, unknown>],
      ['nn.init', nn.init as unknown as Record<string, unknown>],
      ['nn.utils', nn.utils as unknown as Record<string, unknown>],
    ];
    for (const [space, ns] of spaces)
      for (const [name, v] of Object.entries(ns))
        if (typeof v === 'function' && !isClass(v)) {
          functions++;
          if (!signatureOf(v)) missing.push(`${space}.${name}`);
        }
    assert.ok(functions >= 20, `found only ${functions} functions`);
    assert.deepEqual(missing, []);
  });

  test("Module's and the containers' methods", () => {
    const missing: string[] = [];
    for (const cls of [nn.Module, nn.Sequential, nn.ModuleList, nn.ModuleDict]) {
      const proto = cls.prototype as unknown as Record<string, unknown>;
      // Each method as the class resolves it (a subclass's override, else the inherited one).
      for (let o: object | null = proto; o && o !== Object.prototype; o = Object.getPrototypeOf(o))
        for (const k of Object.getOwnPropertyNames(o)) {
          // Getters (length) are not methods; read the value without running them.
          if (typeof Object.getOwnPropertyDescriptor(o, k)?.value !== 'function') continue;
          const f = proto[k];
          if (k === 'constructor' || typeof f !== 'function') continue;
          // A repr helper and the JS protocols are not PyTorch methods.
          if (['toString', 'extraRepr', '_ownParameters', '_castFloating'].includes(k)) continue;
          if (!signatureOf(f)) missing.push(`${cls.name}.${k}`);
        }
    }
    assert.deepEqual([...new Set(missing)], []);
  });
});
