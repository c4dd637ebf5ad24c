/**
 * @file TransformerDecoderLayer, TransformerEncoder / TransformerDecoder and Transformer beyond the PyTorch
 * fixtures (test/parity-transformer.test.ts): PyTorch's children and state-dict keys, the stacks' deep copies (own
 * tensors, the same initial weights, ties and buffers kept), Transformer's xavier re-initialisation, custom encoders
 * and decoders, the masks given positionally or by name, generateSquareSubsequentMask, and every argument error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';
import { deepCopyModule } from '../src/nn/copy.js';
import { assertClose, assertThrowsMsg } from './helpers.js';

const { nn } = ad;
const F64 = { dtype: 'float64' } as const;
const data = (t: ad.Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
const bools = (rows: ad.NestedArray) => ad.tensor(rows, { dtype: 'bool' });

function same(a: ad.Tensor, b: ad.Tensor, what: string, tol = 1e-12) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assertClose(data(a), data(b), tol, tol, what);
}

describe('TransformerDecoderLayer', () => {
  test("PyTorch's children and state-dict keys, in its order", () => {
    const l = new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16 });
    assert.deepEqual(
      [...l.namedChildren()].map(([k]) => k),
      [
        'self_attn',
        'multihead_attn',
        'linear1',
        'dropout',
        'linear2',
        'norm1',
        'norm2',
        'norm3',
        'dropout1',
        'dropout2',
        'dropout3',
      ],
    );
    const attn = (p: string) => [
      `${p}.in_proj_weight`,
      `${p}.in_proj_bias`,
      `${p}.out_proj.weight`,
      `${p}.out_proj.bias`,
    ];
    assert.deepEqual(Object.keys(l.stateDict()), [
      ...attn('self_attn'),
      ...attn('multihead_attn'),
      'linear1.weight',
      'linear1.bias',
      'linear2.weight',
      'linear2.bias',
      ...['norm1', 'norm2', 'norm3'].flatMap((n) => [`${n}.weight`, `${n}.bias`]),
    ]);
    assert.deepEqual(l.linear1.weight.shape, [16, 8]);
    assert.equal(l.dropout.p, 0.1, "PyTorch's default dropout");
    assert.equal(new nn.TransformerDecoderLayer(8, 2).linear1.outFeatures, 2048, "PyTorch's default width");
  });

  test('post-norm and pre-norm as PyTorch writes them; the masks positionally or by name', () => {
    ad.manualSeed(31);
    for (const normFirst of [false, true]) {
      const l = new nn.TransformerDecoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, normFirst, ...F64 });
      const tgt = ad.randn([3, 2, 4], F64);
      const mem = ad.randn([5, 2, 4], F64);
      const tgtMask = nn.Transformer.generateSquareSubsequentMask(3, F64);
      const memKpm = bools([
        [false, false, true, false, false],
        [false, false, false, false, true],
      ]);
      const sa = (x: ad.Tensor) => l.self_attn.forward(x, x, x, { attnMask: tgtMask })[0];
      const ca = (x: ad.Tensor) => l.multihead_attn.forward(x, mem, mem, { keyPaddingMask: memKpm })[0];
      const ff = (x: ad.Tensor) => l.linear2.forward(l.linear1.forward(x).relu());
      let want: ad.Tensor;
      if (normFirst) {
        let h = tgt.add(sa(l.norm1.forward(tgt)));
        h = h.add(ca(l.norm2.forward(h)));
        want = h.add(ff(l.norm3.forward(h)));
      } else {
        let h = l.norm1.forward(tgt.add(sa(tgt)));
        h = l.norm2.forward(h.add(ca(h)));
        want = l.norm3.forward(h.add(ff(h)));
      }
      same(l.forward(tgt, mem, { tgtMask, memoryKeyPaddingMask: memKpm }), want, `normFirst ${normFirst}, by name`);
      same(l.forward(tgt, mem, tgtMask, null, null, memKpm), want, `normFirst ${normFirst}, positional`);
      same(l.call(tgt, mem, tgtMask, { memoryKeyPaddingMask: memKpm }), want, `normFirst ${normFirst}, mixed`);
    }
  });

  test('constructor arguments positionally, by name, or as PyTorch keywords', () => {
    const a = new nn.TransformerDecoderLayer(4, 2, 6, 0.2, 'gelu', 1e-6, true, true, F64);
    const b = new nn.TransformerDecoderLayer({
      dModel: 4,
      nhead: 2,
      dimFeedforward: 6,
      dropout: 0.2,
      activation: 'gelu',
      layerNormEps: 1e-6,
      batchFirst: true,
      normFirst: true,
      dtype: 'float64',
    });
    for (const l of [a, b]) {
      assert.equal(l.linear1.outFeatures, 6);
      assert.equal(l.dropout3.p, 0.2);
      assert.equal(l.norm3.eps, 1e-6);
      assert.equal(l.self_attn.batchFirst, true);
      assert.equal(l.multihead_attn.batchFirst, true);
      assert.equal(l.normFirst, true);
      assert.ok(l.parameters().every((p) => p.dtype === 'float64'));
    }
  });

  test('errors name the layer and the fix; nothing is built', () => {
    assertThrowsMsg(
      () => new nn.TransformerDecoderLayer(8, 2, { batch_first: true } as object),
      ad.ArgumentError,
      'TransformerDecoderLayer',
      "unknown option 'batch_first'; use batchFirst",
    );
    assertThrowsMsg(
      () => new nn.TransformerDecoderLayer(8, 2, { dimFeedfoward: 4 } as object),
      ad.ArgumentError,
      'did you mean dimFeedforward?',
    );
    assertThrowsMsg(
      () => new nn.TransformerDecoderLayer(6, 4),
      ad.ValueError,
      'dModel (6) must be divisible by nhead (4)',
    );
    assertThrowsMsg(
      () => new nn.TransformerDecoderLayer(4, 2, { activation: 'tanh' as 'relu' }),
      ad.ArgumentError,
      "activation must be 'relu', 'gelu' or a function",
    );
    assertThrowsMsg(() => new nn.TransformerDecoderLayer(4, 2, { dropout: 1.5 }), ad.ArgumentError, 'dropout must be');
    assertThrowsMsg(
      () => new nn.TransformerDecoderLayer(4, 2, { dtype: 'int32' as 'float32' }),
      ad.ArgumentError,
      "dtype must be one of 'float32', 'float64'",
    );
    assertThrowsMsg(
      () => new (nn.TransformerDecoderLayer as any)(4, 2, 6, 0, 'relu', 1e-5, false, false, 'float64'),
      ad.ArgumentError,
      'one too many',
    );
    assertThrowsMsg(() => new (nn.TransformerDecoderLayer as any)('4', 2), ad.ArgumentError, 'dModel must be');
    const l = new nn.TransformerDecoderLayer(4, 2, { dimFeedforward: 4 });
    const x = ad.rand([3, 2, 4]);
    assertThrowsMsg(
      () => l.forward(x, x, { tgt_mask: null } as object),
      ad.ArgumentError,
      'TransformerDecoderLayer.forward',
      'use tgtMask',
    );
    assertThrowsMsg(() => (l as any).forward(x), ad.ArgumentError, "missing argument 'memory'");
    assertThrowsMsg(() => (l as any).forward(x, x, [1]), ad.ArgumentError, 'tgtMask must be a Tensor or null');
    assertThrowsMsg(
      () => l.forward(x, ad.rand([5, 3, 4])),
      ad.ShapeError,
      'query, key and value must have the same batch size',
    );
    assertThrowsMsg(
      () => l.forward(x, x, { memoryKeyPaddingMask: ad.zeros([2, 3], { dtype: 'int32' }) }),
      ad.DTypeError,
      'keyPaddingMask must be bool',
    );
  });
});

describe('TransformerEncoder and TransformerDecoder', () => {
  test("layers are deep copies: PyTorch's keys, own tensors, the layer's initial weights", () => {
    const layer = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 6 });
    const enc = new nn.TransformerEncoder(layer, 3, new nn.LayerNorm(4));
    assert.equal(enc.numLayers, 3);
    assert.equal(enc.layers.length, 3);
    const keys = Object.keys(enc.stateDict());
    assert.equal(keys[0], 'layers.0.self_attn.in_proj_weight');
    assert.ok(keys.includes('layers.2.norm2.bias'));
    assert.deepEqual(keys.slice(-2), ['norm.weight', 'norm.bias']);
    assert.equal(keys.length, 3 * 12 + 2);
    const names = layer.namedParameters().map(([k]) => k);
    const all = new Set(enc.parameters());
    assert.equal(all.size, 3 * names.length + 2, 'every layer holds its own parameters');
    for (const l of enc.layers) {
      assert.ok(l instanceof nn.TransformerEncoderLayer);
      assert.notEqual(l, layer);
      for (const [k, p] of l.namedParameters()) {
        const orig = layer.namedParameters().find(([n]) => n === k)?.[1] as ad.Tensor;
        assert.notEqual(p, orig);
        assert.deepEqual(data(p), data(orig), `${k} starts from the layer's weights`);
        assert.equal(p.requiresGrad, true);
      }
      assert.equal(l.activation, layer.activation, 'functions are shared, as deepcopy shares them');
    }
    // Training one copy moves neither the others nor the layer given.
    const before = data(enc.layers.at(1).linear1.weight);
    ad.noGrad(() => enc.layers.at(0).linear1.weight.add_(1));
    assert.deepEqual(data(enc.layers.at(1).linear1.weight), before);
    assert.deepEqual(data(layer.linear1.weight), before);
  });

  test('the copy keeps ties, buffers, gradients and requiresGrad; a non-leaf tensor cannot be copied', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(3, 3, { bias: false });
      b = new nn.Linear(3, 3, { bias: false });
      bn = new nn.BatchNorm1d(3);
      constructor() {
        super();
        this.b.weight = this.a.weight;
        this.registerBuffer('scale', ad.full([3], 2));
      }
      override forward(x: ad.Tensor): ad.Tensor {
        return this.bn.forward(this.b.forward(this.a.forward(x)));
      }
    }
    const t = new Tied();
    t.a.weight.grad = ad.ones([3, 3]);
    t.bn.weight?.requiresGrad_(false);
    const c = deepCopyModule(t);
    assert.ok(c instanceof Tied);
    assert.equal(c.a.weight, c.b.weight, 'a tie stays a tie');
    assert.notEqual(c.a.weight, t.a.weight);
    assert.equal(c.parameters().length, t.parameters().length);
    assert.deepEqual(data(c.a.weight.grad as ad.Tensor), data(ad.ones([3, 3])));
    assert.notEqual(c.a.weight.grad, t.a.weight.grad);
    assert.equal(c.bn.weight?.requiresGrad, false);
    assert.deepEqual(
      c.namedBuffers().map(([k]) => k),
      t.namedBuffers().map(([k]) => k),
    );
    // The copy's buffers are its own: its running statistics move, the original's do not.
    c.forward(ad.randn([4, 3]));
    assert.notDeepEqual(data(c.bn.running_mean as ad.Tensor), data(t.bn.running_mean as ad.Tensor));
    assert.notEqual((c as any).scale, (t as any).scale);
    assert.deepEqual(data((c as any).scale), [2, 2, 2]);

    class Holds extends nn.Module {
      cache = ad.ones([2]).requiresGrad_(true).mul(2);
    }
    assertThrowsMsg(() => new nn.TransformerEncoder(new Holds(), 2), ad.AutogradError, 'non-leaf', 'Holds.cache');
  });

  test('stacks apply every layer in turn, then the norm; the masks reach every layer', () => {
    ad.manualSeed(32);
    const dec = new nn.TransformerDecoder(
      new nn.TransformerDecoderLayer(4, 2, { dimFeedforward: 5, dropout: 0, ...F64 }),
      2,
      new nn.LayerNorm(4, F64),
    );
    const tgt = ad.randn([3, 2, 4], F64);
    const mem = ad.randn([4, 2, 4], F64);
    const masks = {
      tgtMask: nn.Transformer.generateSquareSubsequentMask(3, F64),
      memoryKeyPaddingMask: bools([
        [false, true, false, false],
        [false, false, false, true],
      ]),
    };
    let want = tgt;
    for (const l of dec.layers) want = l.forward(want, mem, masks);
    want = (dec.norm as ad.nn.LayerNorm).forward(want);
    same(dec.forward(tgt, mem, masks), want, 'decoder');
    same(dec.forward(tgt, mem, masks.tgtMask, null, null, masks.memoryKeyPaddingMask), want, 'positional');

    const enc = new nn.TransformerEncoder(
      new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 5, dropout: 0, ...F64 }),
      2,
    );
    assert.equal(enc.norm, null);
    const kpm = bools([
      [false, false, true],
      [false, false, false],
    ]);
    let e = tgt;
    for (const l of enc.layers) e = l.forward(e, { srcMask: masks.tgtMask, srcKeyPaddingMask: kpm });
    same(enc.forward(tgt, { mask: masks.tgtMask, srcKeyPaddingMask: kpm }), e, 'encoder');
    same(enc.forward(tgt, masks.tgtMask, kpm), e, 'encoder, positional');
  });

  test('constructor options: norm by name, enableNestedTensor and maskCheck (PyTorch fast-path flags) kept', () => {
    const layer = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 4 });
    const enc = new nn.TransformerEncoder(layer, 1, { norm: new nn.LayerNorm(4), enableNestedTensor: false });
    assert.ok(enc.norm instanceof nn.LayerNorm);
    assert.equal(enc.enableNestedTensor, false);
    assert.equal(enc.maskCheck, true);
    const dec = new nn.TransformerDecoder(new nn.TransformerDecoderLayer(4, 2, { dimFeedforward: 4 }), 2);
    assert.equal(dec.norm, null);
    assert.equal(dec.numLayers, 2);
  });

  test('errors', () => {
    const layer = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 4 });
    assertThrowsMsg(() => new nn.TransformerEncoder(layer, 0), ad.ArgumentError, 'TransformerEncoder', 'numLayers');
    assertThrowsMsg(() => new (nn.TransformerEncoder as any)({}, 2), ad.ArgumentError, 'encoderLayer must be a Module');
    assertThrowsMsg(
      () => new nn.TransformerEncoder(layer, 2, { enable_nested_tensor: false } as object),
      ad.ArgumentError,
      "unknown option 'enable_nested_tensor'; use enableNestedTensor",
    );
    assertThrowsMsg(
      () => new (nn.TransformerDecoder as any)(layer, 2, null, true),
      ad.ArgumentError,
      'TransformerDecoder',
      'one too many',
    );
    const enc = new nn.TransformerEncoder(layer, 2);
    const x = ad.rand([3, 2, 4]);
    assertThrowsMsg(
      () => enc.forward(x, { srcMask: null } as object),
      ad.ArgumentError,
      'TransformerEncoder.forward',
      "unknown option 'srcMask'; use mask",
    );
    assertThrowsMsg(
      () => enc.forward(x, { src_key_padding_mask: null } as object),
      ad.ArgumentError,
      'use srcKeyPaddingMask',
    );
    assertThrowsMsg(() => (enc as any).forward('x'), ad.ArgumentError, 'src must be a Tensor');
  });
});

describe('Transformer', () => {
  test("PyTorch's keys; encoder and decoder stacks with final norms; xavier re-initialisation", () => {
    ad.manualSeed(33);
    const t = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 3, dimFeedforward: 64 });
    assert.ok(t.encoder instanceof nn.TransformerEncoder);
    assert.ok(t.decoder instanceof nn.TransformerDecoder);
    const keys = Object.keys(t.stateDict());
    assert.equal(keys[0], 'encoder.layers.0.self_attn.in_proj_weight');
    assert.ok(keys.includes('encoder.layers.1.norm2.weight'));
    assert.ok(keys.includes('encoder.norm.weight'));
    assert.ok(keys.includes('decoder.layers.2.multihead_attn.out_proj.bias'));
    assert.deepEqual(keys.slice(-2), ['decoder.norm.weight', 'decoder.norm.bias']);
    assert.equal(keys.length, 2 * 12 + 2 + 3 * 18 + 2);
    assert.equal(t.dModel, 8);
    assert.equal(t.nhead, 2);
    assert.equal(t.batchFirst, false);
    // Every matrix is U(−a, a), a = √(6 / (fanIn + fanOut)): tighter than Linear's default for linear1 [64, 8],
    // whose bound 1/√8 = 0.354 exceeds xavier's 0.289. And no two layers got the same draw.
    for (const [k, p] of t.namedParameters()) {
      if (p.ndim < 2) continue;
      const [fanOut, fanIn] = p.shape;
      const a = Math.sqrt(6 / (fanIn + fanOut));
      assert.ok(Math.max(...data(p).map(Math.abs)) <= a, `${k} within xavier's bound ${a}`);
    }
    const enc = t.encoder as ad.nn.TransformerEncoder;
    assert.notDeepEqual(data(enc.layers.at(0).linear1.weight), data(enc.layers.at(1).linear1.weight));
  });

  test('forward is the decoder over the encoder, with every mask passed on; positional or by name', () => {
    ad.manualSeed(34);
    const t = new nn.Transformer({
      dModel: 4,
      nhead: 2,
      numEncoderLayers: 1,
      numDecoderLayers: 1,
      dimFeedforward: 5,
      dropout: 0,
      batchFirst: true,
      ...F64,
    });
    const src = ad.randn([2, 5, 4], F64);
    const tgt = ad.randn([2, 3, 4], F64);
    const srcKpm = bools([
      [false, false, false, true, true],
      [false, false, false, false, false],
    ]);
    const tgtMask = nn.Transformer.generateSquareSubsequentMask(3, F64);
    const enc = t.encoder as ad.nn.TransformerEncoder;
    const dec = t.decoder as ad.nn.TransformerDecoder;
    const memory = enc.forward(src, { srcKeyPaddingMask: srcKpm });
    const want = dec.forward(tgt, memory, { tgtMask, memoryKeyPaddingMask: srcKpm });
    same(t.forward(src, tgt, { tgtMask, srcKeyPaddingMask: srcKpm, memoryKeyPaddingMask: srcKpm }), want, 'by name');
    same(t.forward(src, tgt, null, tgtMask, null, srcKpm, null, srcKpm), want, 'positional');
    assert.deepEqual(t.forward(src, tgt).shape, [2, 3, 4]);
  });

  test('custom encoder and decoder are used, and called with the masks by name', () => {
    const calls: string[] = [];
    class Enc extends nn.Module {
      override forward(src: ad.Tensor, opts: { mask?: ad.Tensor | null; srcKeyPaddingMask?: ad.Tensor | null }) {
        calls.push(`enc ${Object.keys(opts).join(',')}`);
        return src.mul(2);
      }
    }
    class Dec extends nn.Module {
      override forward(tgt: ad.Tensor, memory: ad.Tensor, opts: object) {
        calls.push(`dec ${Object.keys(opts).join(',')}`);
        return tgt.add(memory.sum(0));
      }
    }
    const t = new nn.Transformer({ dModel: 4, nhead: 3, customEncoder: new Enc(), customDecoder: new Dec() });
    const out = t.forward(ad.ones([2, 1, 4]), ad.zeros([3, 1, 4]));
    same(out, ad.full([3, 1, 4], 4), 'the custom modules ran');
    assert.deepEqual(calls, [
      'enc mask,srcKeyPaddingMask',
      'dec tgtMask,memoryMask,tgtKeyPaddingMask,memoryKeyPaddingMask',
    ]);
    assert.deepEqual(Object.keys(t.stateDict()), []);
  });

  test('generateSquareSubsequentMask: 0 on and below the diagonal, −inf above', () => {
    const m = nn.Transformer.generateSquareSubsequentMask(3);
    assert.equal(m.dtype, 'float32');
    assert.deepEqual(m.toArray(), [
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, 0, 0],
    ]);
    assert.equal(nn.Transformer.generateSquareSubsequentMask(2, F64).dtype, 'float64');
    assert.deepEqual(nn.Transformer.generateSquareSubsequentMask(0).shape, [0, 0]);
    assertThrowsMsg(
      () => nn.Transformer.generateSquareSubsequentMask(-1),
      ad.ArgumentError,
      'Transformer.generateSquareSubsequentMask',
      'sz must be a whole number ≥ 0',
    );
    assertThrowsMsg(
      () => nn.Transformer.generateSquareSubsequentMask(2, { device: 'cpu' } as object),
      ad.ArgumentError,
      "unknown option 'device'",
    );
  });

  test('errors name Transformer and the fix', () => {
    assertThrowsMsg(
      () => new nn.Transformer({ num_encoder_layers: 2 } as object),
      ad.ArgumentError,
      "Transformer: unknown option 'num_encoder_layers'; use numEncoderLayers",
    );
    assertThrowsMsg(() => new nn.Transformer({ dModel: 6, nhead: 4 }), ad.ValueError, 'dModel (6) must be divisible');
    assertThrowsMsg(() => new nn.Transformer({ customEncoder: {} as ad.nn.Module }), ad.ArgumentError, 'customEncoder');
    const t = new nn.Transformer({ dModel: 4, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 4 });
    assertThrowsMsg(
      () => t.forward(ad.rand([5, 2, 4]), ad.rand([3, 3, 4])),
      ad.ShapeError,
      'Transformer.forward: src is [5, 2, 4], tgt is [3, 3, 4]',
      'batch sizes',
    );
    assertThrowsMsg(() => t.forward(ad.rand([5, 2, 4]), ad.rand([3, 2, 6])), ad.ShapeError, 'must be dModel = 4');
    assertThrowsMsg(() => t.forward(ad.rand([5, 2, 4]), ad.rand([3, 4])), ad.ShapeError, 'both must be 3-D');
    assertThrowsMsg(
      () => t.forward(ad.rand([5, 2, 4]), ad.rand([3, 2, 4]), { src_key_padding_mask: null } as object),
      ad.ArgumentError,
      'Transformer.forward',
      'use srcKeyPaddingMask',
    );
  });

  test('double() converts the whole model in place; float64 inputs then run', () => {
    const t = new nn.Transformer({ dModel: 4, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 4 });
    const params = t.parameters();
    t.double();
    assert.ok(t.parameters().every((p, i) => p === params[i] && p.dtype === 'float64'));
    assert.equal(t.forward(ad.rand([3, 2, 4], F64), ad.rand([2, 2, 4], F64)).dtype, 'float64');
  });
});
