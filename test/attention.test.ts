/**
 * @file Attention: scaledDotProductAttention (bool masks true = take part, float masks added, isCausal, scale,
 * dropoutP), MultiheadAttention (PyTorch's parameter names, layout and initialisation; keyPaddingMask and attnMask
 * with its opposite bool convention; batchFirst, unbatched inputs, per-head and averaged weights, needWeights false,
 * isCausal, dropout) and TransformerEncoderLayer (PyTorch's state-dict keys, pre- and post-norm); gradcheck of each
 * layer in float64; and the message of every error.
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
const bools = (rows: ad.NestedArray) => ad.tensor(rows, { dtype: 'bool' });
const sdpa = ad.scaledDotProductAttention;

function same(a: ad.Tensor, b: ad.Tensor, what: string, tol = 1e-12) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assertClose(data(a), data(b), tol, tol, what);
}

/** fn(...inputs, ...params) for gradcheck: the layer run with its parameters replaced by the given tensors. */
function layerFn(m: ad.nn.Module, nInputs: number, call: (...xs: ad.Tensor[]) => ad.Tensor | ad.Tensor[]) {
  const owners = m.namedParameters().map(([n]) => {
    const path = n.split('.');
    let o: any = m;
    for (const k of path.slice(0, -1)) o = o[k];
    return [o, path[path.length - 1]] as [any, string];
  });
  const fn = (...ts: ad.Tensor[]) => {
    const saved = owners.map(([o, k]) => o[k]);
    owners.forEach(([o, k], i) => {
      o[k] = ts[nInputs + i];
    });
    try {
      return call(...ts.slice(0, nInputs));
    } finally {
      owners.forEach(([o, k], i) => {
        o[k] = saved[i];
      });
    }
  };
  return { fn, params: m.parameters().map((p) => p.detach().clone().requiresGrad_(true)) };
}

/** Random non-zero biases too, so a bug that drops one shows. */
function randomize(m: ad.nn.Module) {
  ad.noGrad(() => {
    for (const p of m.parameters()) p.copy_(rand(p.shape, -0.5, 0.5).add(p.ndim === 1 ? 1 : 0));
  });
}

describe('scaledDotProductAttention', () => {
  test('softmax(q·kᵀ/√E)·v, with a bool mask true where attention is allowed and a float mask added', () => {
    ad.manualSeed(1);
    const q = rand([2, 3, 4]);
    const k = rand([2, 5, 4]);
    const v = rand([2, 5, 6]);
    const manual = (bias: ad.Tensor | number) => q.matmul(k.transpose(-2, -1)).div(2).add(bias).softmax(-1).matmul(v);
    same(sdpa(q, k, v), manual(0), 'plain');
    const allow = bools([
      [true, false, true, true, false],
      [false, false, false, false, true],
      [true, true, true, true, true],
    ]);
    const additive = ad.where(allow, 0, -Infinity, 'float64');
    same(sdpa(q, k, v, { attnMask: allow }), manual(additive), 'bool mask');
    same(sdpa(q, k, v, { attnMask: additive }), manual(additive), 'float mask');
    // A blocked key gets no weight: changing its value changes nothing.
    const v2 = v.clone();
    ad.noGrad(() => v2.slice(1, 1, 2).fill_(100));
    same(
      sdpa(q, k, v2, { attnMask: allow }).slice(1, 0, 2),
      sdpa(q, k, v, { attnMask: allow }).slice(1, 0, 2),
      'blocked',
    );
    same(sdpa(q, k, v, { scale: 0.3 }), q.matmul(k.transpose(-2, -1)).mul(0.3).softmax(-1).matmul(v), 'scale');
  });

  test('isCausal: query i attends to keys 0..i (top-left aligned when L ≠ S)', () => {
    ad.manualSeed(2);
    const q = rand([3, 4]);
    const k = rand([5, 4]);
    const v = rand([5, 2]);
    const tril = bools([
      [true, false, false, false, false],
      [true, true, false, false, false],
      [true, true, true, false, false],
    ]);
    same(sdpa(q, k, v, { isCausal: true }), sdpa(q, k, v, { attnMask: tril }), 'causal');
    // The first query sees only the first key.
    same(sdpa(q, k, v, { isCausal: true }).slice(0, 0, 1), v.slice(0, 0, 1), 'first row');
  });

  test("a query with every key blocked gives nan, as in PyTorch 1.13 (2.5's math backend gives 0)", () => {
    const q = rand([2, 4]);
    const out = sdpa(q, q, q, {
      attnMask: bools([
        [false, false],
        [true, true],
      ]),
    });
    assert.ok(data(out.slice(0, 0, 1)).every(Number.isNaN));
    assert.ok(data(out.slice(0, 1, 2)).every(Number.isFinite));
  });

  test('dropoutP: seeded, 0 and 1 at the ends, scaled by 1/(1 − p)', () => {
    const q = rand([2, 3, 4]);
    const v = rand([2, 3, 4]);
    ad.manualSeed(3);
    const a = sdpa(q, q, v, { dropoutP: 0.5 });
    ad.manualSeed(3);
    same(sdpa(q, q, v, { dropoutP: 0.5 }), a, 'same seed, same mask');
    assert.notDeepEqual(data(a), data(sdpa(q, q, v)));
    same(sdpa(q, q, v, { dropoutP: 1 }), ad.zeros([2, 3, 4], F64), 'p = 1');
    // With v = 1, each output is the sum of the kept weights, scaled: its mean over many draws is 1.
    ad.manualSeed(4);
    const big = sdpa(rand([4, 50, 2]), rand([4, 50, 2]), ad.ones([4, 50, 1], F64), { dropoutP: 0.3 });
    assert.ok(Math.abs(big.mean().item() - 1) < 0.05, `mean ${big.mean().item()}`);
  });

  test('gradcheck in float64, through a float mask too', () => {
    ad.manualSeed(5);
    const xs = [rand([2, 3, 4]), rand([2, 4, 4]), rand([2, 4, 3]), rand([3, 4])].map((t) => t.requiresGrad_(true));
    ad.assertGradcheck((q, k, v, m) => sdpa(q, k, v, { attnMask: m }), xs);
    ad.assertGradgradcheck((q, k, v, m) => sdpa(q, k, v, { attnMask: m }), xs);
  });

  test('errors', () => {
    const q = ad.rand([2, 3, 4]);
    const k = ad.rand([2, 5, 4]);
    const v = ad.rand([2, 5, 6]);
    assertThrowsMsg(
      () => sdpa(q, ad.rand([2, 5, 3]), v),
      ad.ShapeError,
      'query is [2, 3, 4]',
      'key is [2, 5, 3]',
      'same last dim',
    );
    assertThrowsMsg(() => sdpa(q, k, ad.rand([2, 4, 6])), ad.ShapeError, 'same sequence length');
    assertThrowsMsg(() => sdpa(q, ad.rand([3, 5, 4]), ad.rand([3, 5, 6])), ad.ShapeError, 'batch dims', 'broadcast');
    assertThrowsMsg(
      () => sdpa(q, k, v, { attnMask: bools([[true, false]]) }),
      ad.ShapeError,
      'attnMask is [1, 2]',
      'broadcast to the scores',
      '[2, 3, 5]',
    );
    assertThrowsMsg(
      () => sdpa(q, k, v, { attnMask: ad.ones([3, 5], { dtype: 'bool' }), isCausal: true }),
      ad.ValueError,
      'attnMask or isCausal, not both',
    );
    assertThrowsMsg(
      () => sdpa(q, k, v, { attnMask: ad.ones([3, 5], { dtype: 'int32' }) }),
      ad.DTypeError,
      'attnMask',
      'int32',
    );
    assertThrowsMsg(
      () => sdpa(q, k, v, { dropoutP: 1.5 }),
      ad.ArgumentError,
      'dropoutP must be a probability in [0, 1]',
    );
    assertThrowsMsg(() => sdpa(q, k, v, { attn_mask: null } as object), ad.ValueError, "'attn_mask'", 'use attnMask');
    assertThrowsMsg(() => sdpa(ad.rand([4]), k, v), ad.ShapeError, 'at least 2 dims');
  });
});

describe('MultiheadAttention', () => {
  test("PyTorch's parameter names, shapes, order and initialisation", () => {
    ad.manualSeed(6);
    const m = new nn.MultiheadAttention(8, 2);
    assert.deepEqual(
      Object.entries(m.stateDict()).map(([k, t]) => [k, t.shape]),
      [
        ['in_proj_weight', [24, 8]],
        ['in_proj_bias', [24]],
        ['out_proj.weight', [8, 8]],
        ['out_proj.bias', [8]],
      ],
    );
    // xavier_uniform_ on [3E, E]: bound √(6 / (E + 3E)); the biases start at 0.
    const bound = Math.sqrt(6 / 32);
    const w = data(m.in_proj_weight!);
    assert.ok(w.every((x) => Math.abs(x) <= bound) && Math.max(...w.map(Math.abs)) > 0.8 * bound);
    assert.ok(data(m.in_proj_bias!).every((x) => x === 0));
    assert.ok(data(m.out_proj.bias!).every((x) => x === 0));
    assert.ok(data(m.out_proj.weight).every((x) => Math.abs(x) <= 1 / Math.sqrt(8)));
    assert.equal(
      m.toString(),
      'MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n)',
    );

    const sep = new nn.MultiheadAttention(6, 3, { kdim: 4, vdim: 5, bias: false });
    assert.deepEqual(
      Object.entries(sep.stateDict()).map(([k, t]) => [k, t.shape]),
      [
        ['q_proj_weight', [6, 6]],
        ['k_proj_weight', [6, 4]],
        ['v_proj_weight', [6, 5]],
        ['out_proj.weight', [6, 6]],
      ],
    );
  });

  test('the attention itself: per-head SDPA of the projections, concatenated and projected', () => {
    ad.manualSeed(7);
    const m = new nn.MultiheadAttention(4, 2, F64);
    randomize(m);
    const [q, k, v] = [rand([3, 1, 4]), rand([5, 1, 4]), rand([5, 1, 4])];
    const [out, w] = m.forward(q, k, v, { averageAttnWeights: false });
    const W = m.in_proj_weight!.chunk(3);
    const B = m.in_proj_bias!.chunk(3);
    const proj = (x: ad.Tensor, i: number) => ad.F.linear(x.squeeze(1), W[i], B[i]).reshape([-1, 2, 2]).transpose(0, 1);
    const heads = sdpa(proj(q, 0), proj(k, 1), proj(v, 2));
    const expected = ad.F.linear(heads.transpose(0, 1).reshape([3, 4]), m.out_proj.weight, m.out_proj.bias);
    same(out.squeeze(1), expected, 'output');
    assert.deepEqual(w!.shape, [1, 2, 3, 5]);
    same(w!.sum(-1), ad.ones([1, 2, 3], F64), 'weights sum to 1');
  });

  test('masks: bool true = not allowed (the opposite of SDPA), float added; keyPaddingMask and attnMask combine', () => {
    ad.manualSeed(8);
    const m = new nn.MultiheadAttention(4, 2, F64);
    randomize(m);
    const [q, k, v] = [rand([3, 2, 4]), rand([4, 2, 4]), rand([4, 2, 4])];
    const kpm = bools([
      [false, false, true, false],
      [true, false, false, false],
    ]);
    const attn = bools([
      [false, true, false, false],
      [false, false, false, true],
      [false, false, false, false],
    ]);
    const neg = (b: ad.Tensor) => ad.where(b, -Infinity, 0, 'float64');
    const [o1, w1] = m.forward(q, k, v, { keyPaddingMask: kpm, attnMask: attn });
    const [o2, w2] = m.forward(q, k, v, { keyPaddingMask: neg(kpm), attnMask: neg(attn) });
    same(o1, o2, 'bool vs float masks');
    same(w1!, w2!, 'weights');
    // Blocked keys get weight 0: padding of batch 0 (key 2), batch 1 (key 0), and attnMask's pairs.
    const wv = w1!.toArray() as number[][][];
    for (let i = 0; i < 3; i++) {
      assert.equal(wv[0][i][2], 0);
      assert.equal(wv[1][i][0], 0);
    }
    assert.equal(wv[0][0][1], 0);
    assert.equal(wv[1][1][3], 0);
    // A 3-D mask [N·H, L, S] applies per batch entry and head.
    const per = attn.unsqueeze(0).expand([4, 3, 4]);
    same(m.forward(q, k, v, { attnMask: per })[0], m.forward(q, k, v, { attnMask: attn })[0], '3-D mask');
  });

  test('batchFirst, unbatched inputs, needWeights false', () => {
    ad.manualSeed(9);
    const seq = new nn.MultiheadAttention(4, 2, F64);
    randomize(seq);
    const bf = new nn.MultiheadAttention(4, 2, { batchFirst: true, ...F64 });
    bf.loadStateDict(seq.stateDict());
    const x = rand([3, 2, 4]);
    const [o1, w1] = seq.forward(x, x, x);
    const xb = x.transpose(0, 1);
    const [o2, w2] = bf.forward(xb, xb, xb);
    same(o2.transpose(0, 1), o1, 'batchFirst output');
    same(w2!, w1!, 'batchFirst weights');
    const x0 = x.slice(1, 0, 1);
    const [o3, w3] = seq.forward(x0.squeeze(1), x0.squeeze(1), x0.squeeze(1));
    same(o3, o1.slice(1, 0, 1).squeeze(1), 'unbatched output');
    same(w3!, w1!.slice(0, 0, 1).squeeze(0), 'unbatched weights');
    const [o4, w4] = seq.forward(x, x, x, { needWeights: false });
    same(o4, o1, 'needWeights false');
    assert.equal(w4, null);
  });

  test('isCausal without a mask builds the causal one; with one, the mask is used as given', () => {
    ad.manualSeed(10);
    const m = new nn.MultiheadAttention(4, 2, F64);
    randomize(m);
    const x = rand([4, 2, 4]);
    const mask = nn.generateSquareSubsequentMask(4, F64);
    assert.deepEqual(data(mask.slice(0, 0, 2)), [0, -Infinity, -Infinity, -Infinity, 0, 0, -Infinity, -Infinity]);
    const [o1, w1] = m.forward(x, x, x, { isCausal: true });
    const [o2] = m.forward(x, x, x, { attnMask: mask });
    same(o1, o2, 'causal');
    const w = w1!.toArray() as number[][][];
    assert.equal(w[0][0][1], 0);
    assert.equal(w[1][2][3], 0);
    same(m.forward(x, x, x, { attnMask: mask, isCausal: true })[0], o2, 'a hint');
  });

  test('dropout on the weights in training only', () => {
    ad.manualSeed(11);
    const m = new nn.MultiheadAttention(4, 2, { dropout: 0.5, ...F64 });
    const x = rand([3, 2, 4]);
    const [a] = m.forward(x, x, x);
    const [b] = m.forward(x, x, x);
    assert.notDeepEqual(data(a), data(b));
    m.eval();
    same(m.forward(x, x, x)[0], m.forward(x, x, x)[0], 'eval is deterministic');
  });

  test('gradcheck in float64: inputs, float masks and every parameter', () => {
    ad.manualSeed(12);
    const m = new nn.MultiheadAttention(4, 2, { batchFirst: true, ...F64 });
    randomize(m);
    const { fn, params } = layerFn(m, 5, (q, k, v, kpm, attn) => {
      const [o, w] = m.forward(q, k, v, { keyPaddingMask: kpm, attnMask: attn });
      return [o, w!];
    });
    const xs = [rand([2, 2, 4]), rand([2, 3, 4]), rand([2, 3, 4]), rand([2, 3]), rand([2, 3])].map((t) =>
      t.requiresGrad_(true),
    );
    ad.assertGradcheck(fn, [...xs, ...params]);
    const sep = new nn.MultiheadAttention(2, 1, { kdim: 3, vdim: 1, ...F64 });
    randomize(sep);
    const g = layerFn(sep, 3, (q, k, v) => sep.forward(q, k, v)[0]);
    ad.assertGradcheck(
      g.fn,
      [rand([2, 1, 2]), rand([3, 1, 3]), rand([3, 1, 1])].map((t) => t.requiresGrad_(true)).concat(g.params),
    );
  });

  test('errors', () => {
    assertThrowsMsg(
      () => new nn.MultiheadAttention(6, 4),
      ad.ValueError,
      'embedDim (6) must be divisible by numHeads (4)',
    );
    assertThrowsMsg(() => new nn.MultiheadAttention(0, 1), ad.ValueError, 'embedDim', '≥ 1');
    const m = new nn.MultiheadAttention(4, 2);
    const x = ad.rand([3, 2, 4]);
    const me = 'MultiheadAttention(embedDim=4, numHeads=2)';
    assertThrowsMsg(() => m.forward(ad.rand([3, 2, 5]), x, x), ad.ShapeError, me, "query's features", 'embedDim = 4');
    assertThrowsMsg(() => m.forward(x, ad.rand([3, 2, 3]), x), ad.ShapeError, 'kdim = 4', '{kdim: 3}');
    assertThrowsMsg(() => m.forward(x, x, ad.rand([4, 2, 4])), ad.ShapeError, 'same sequence length');
    assertThrowsMsg(() => m.forward(x, ad.rand([3, 1, 4]), ad.rand([3, 1, 4])), ad.ShapeError, 'same batch size');
    assertThrowsMsg(() => m.forward(ad.rand([4]), x, x), ad.ShapeError, '3-D [L, N, E]', '2-D [L, E]');
    assertThrowsMsg(() => m.forward(x, ad.rand([3, 4]), ad.rand([3, 4])), ad.ShapeError, 'key and value must be 3-D');
    assertThrowsMsg(
      () => m.forward(x, x, x, { keyPaddingMask: bools([[false, true, false]]) }),
      ad.ShapeError,
      'keyPaddingMask is [1, 3]',
      '[N, S] = [2, 3]',
    );
    assertThrowsMsg(
      () => m.forward(x, x, x, { attnMask: ad.zeros([2, 3, 3]) }),
      ad.ShapeError,
      'attnMask is [2, 3, 3]',
      '[L, S] = [3, 3]',
      '[N·numHeads, L, S] = [4, 3, 3]',
    );
    assertThrowsMsg(
      () => m.forward(x, x, x, { attnMask: ad.zeros([3, 3], { dtype: 'int32' }) }),
      ad.DTypeError,
      'attnMask must be bool (true = not allowed) or floating point',
    );
    assertThrowsMsg(
      () => m.forward(x, x, x, { key_padding_mask: null } as object),
      ad.ValueError,
      'use keyPaddingMask',
    );
  });
});

describe('TransformerEncoderLayer', () => {
  test("PyTorch's submodules and state-dict keys, in its order", () => {
    const t = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    assert.deepEqual(Object.keys(t.stateDict()), [
      'self_attn.in_proj_weight',
      'self_attn.in_proj_bias',
      'self_attn.out_proj.weight',
      'self_attn.out_proj.bias',
      'linear1.weight',
      'linear1.bias',
      'linear2.weight',
      'linear2.bias',
      'norm1.weight',
      'norm1.bias',
      'norm2.weight',
      'norm2.bias',
    ]);
    assert.deepEqual(
      [...t.namedChildren()].map(([k]) => k),
      ['self_attn', 'linear1', 'dropout', 'linear2', 'norm1', 'norm2', 'dropout1', 'dropout2'],
    );
    assert.deepEqual(t.linear1.weight.shape, [16, 8]);
    assert.equal(
      new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 4 }).toString(),
      [
        'TransformerEncoderLayer(',
        '  (self_attn): MultiheadAttention(',
        '    (out_proj): NonDynamicallyQuantizableLinear(in_features=4, out_features=4, bias=True)',
        '  )',
        '  (linear1): Linear(in_features=4, out_features=4, bias=True)',
        '  (dropout): Dropout(p=0.1, inplace=False)',
        '  (linear2): Linear(in_features=4, out_features=4, bias=True)',
        '  (norm1): LayerNorm((4,), eps=1e-05, elementwise_affine=True)',
        '  (norm2): LayerNorm((4,), eps=1e-05, elementwise_affine=True)',
        '  (dropout1): Dropout(p=0.1, inplace=False)',
        '  (dropout2): Dropout(p=0.1, inplace=False)',
        ')',
      ].join('\n'),
      "PyTorch's repr",
    );
  });

  test('post-norm and pre-norm as PyTorch computes them; isCausal as the causal mask', () => {
    ad.manualSeed(13);
    for (const normFirst of [false, true]) {
      const t = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, normFirst, ...F64 });
      randomize(t);
      const x = rand([3, 2, 4]);
      const sa = (y: ad.Tensor) => t.self_attn.forward(y, y, y)[0];
      const ff = (y: ad.Tensor) => t.linear2.forward(t.linear1.forward(y).relu());
      let expected: ad.Tensor;
      if (normFirst) {
        const h = x.add(sa(t.norm1.forward(x)));
        expected = h.add(ff(t.norm2.forward(h)));
      } else {
        const h = t.norm1.forward(x.add(sa(x)));
        expected = t.norm2.forward(h.add(ff(h)));
      }
      same(t.forward(x), expected, `normFirst ${normFirst}`);
      same(
        t.forward(x, { isCausal: true }),
        t.forward(x, { srcMask: nn.generateSquareSubsequentMask(3, F64) }),
        `causal, normFirst ${normFirst}`,
      );
    }
  });

  test('gradcheck in float64 with a padding mask', () => {
    ad.manualSeed(14);
    const t = new nn.TransformerEncoderLayer(4, 2, {
      dimFeedforward: 3,
      dropout: 0,
      activation: 'gelu',
      batchFirst: true,
      ...F64,
    });
    randomize(t);
    const kpm = bools([[false, false, true]]);
    const { fn, params } = layerFn(t, 1, (x) => t.forward(x, { srcKeyPaddingMask: kpm, isCausal: true }));
    ad.assertGradcheck(fn, [rand([1, 3, 4]).requiresGrad_(true), ...params]);
  });

  test('errors', () => {
    assertThrowsMsg(
      () => new nn.TransformerEncoderLayer(6, 4),
      ad.ValueError,
      'embedDim (6) must be divisible by numHeads (4)',
    );
    assertThrowsMsg(
      () => new nn.TransformerEncoderLayer(4, 2, { activation: 'tanh' as 'relu' }),
      ad.ValueError,
      "activation must be 'relu', 'gelu' or a function",
    );
    const t = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 4 });
    assertThrowsMsg(() => t.forward(ad.rand([3, 2, 4]), { src_mask: null } as object), ad.ValueError, 'use srcMask');
    assertThrowsMsg(
      () => t.forward(ad.rand([3, 2, 4]), { srcMask: ad.zeros([2, 2]) }),
      ad.ShapeError,
      'attnMask is [2, 2]',
      '[L, S] = [3, 3]',
    );
  });
});

describe("scaledDotProductAttention: PyTorch 2's positional arguments", () => {
  test('attnMask, dropoutP, isCausal positional; scale keyword-only', () => {
    ad.manualSeed(9);
    const q = ad.randn([2, 3, 4], { dtype: 'float64' });
    const k = ad.randn([2, 3, 4], { dtype: 'float64' });
    const v = ad.randn([2, 3, 4], { dtype: 'float64' });
    const vals = (t: ad.Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
    assert.deepEqual(vals(sdpa(q, k, v, null, 0, true)), vals(sdpa(q, k, v, { isCausal: true })));
    const m = ad.ones([3, 3]).tril().bool();
    assert.deepEqual(vals(sdpa(q, k, v, m)), vals(sdpa(q, k, v, { attnMask: m })));
    assert.deepEqual(
      vals(sdpa(q, k, v, m, 0, false, { scale: 0.3 })),
      vals(sdpa(q, k, v, { attnMask: m, scale: 0.3 })),
    );
    assertThrowsMsg(
      () => (sdpa as unknown as (...a: unknown[]) => ad.Tensor)(q, k, v, null, 0, false, 0.3),
      ad.ArgumentError,
      'one too many',
      'give scale as options',
    );
  });
});
