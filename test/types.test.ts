/**
 * @file Type-level tests: the types a user's code sees, checked by `tsc -p tsconfig.json` (which includes test/).
 * Each `expectType<Equal<A, B>>()` fails to compile unless A and B are the same type, and each `@ts-expect-error`
 * fails to compile if the line under it stops being an error, so a regression breaks the type check; the same code
 * also runs here, so the runtime values agree with the types.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ad from '../src/index.js';

const { nn } = ad;

/** True when A and B are the same type (not merely assignable one way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<_T extends true>(): void {}

describe('types', () => {
  test('MaxPool1d/2d.forward: a Tensor, or [values, indices] with returnIndices true, without a cast', () => {
    const x = ad.randn([1, 1, 4, 4]);
    const y = new nn.MaxPool2d(2).forward(x);
    expectType<Equal<typeof y, ad.Tensor>>();
    assert.deepEqual(y.shape, [1, 1, 2, 2]);
    const strided: ad.Tensor = new nn.MaxPool2d(2, { stride: 1, returnIndices: false }).forward(x);
    assert.deepEqual(strided.shape, [1, 1, 3, 3]);

    const pool = new nn.MaxPool2d(2, { returnIndices: true });
    expectType<Equal<typeof pool, ad.nn.MaxPool2d<true>>>();
    const [values, indices] = pool.forward(x);
    expectType<Equal<ReturnType<typeof pool.forward>, [ad.Tensor, ad.Tensor]>>();
    assert.equal(indices.dtype, 'int32');
    assert.deepEqual(values.shape, [1, 1, 2, 2]);

    const x1 = ad.randn([1, 2, 6]);
    const z: ad.Tensor = new nn.MaxPool1d(3).forward(x1);
    const [z2, i2] = new nn.MaxPool1d(3, { returnIndices: true }).forward(x1);
    assert.deepEqual(
      [z.shape, z2.shape, i2.shape],
      [
        [1, 2, 2],
        [1, 2, 2],
        [1, 2, 2],
      ],
    );

    // A flag the compiler cannot pin down gives either, and the caller must look.
    const flag: boolean = Math.random() < 2;
    const either = new nn.MaxPool2d(2, { returnIndices: flag }).forward(x);
    expectType<Equal<typeof either, ad.Tensor | [ad.Tensor, ad.Tensor]>>();
    assert.ok(Array.isArray(either));

    // @ts-expect-error a layer built without returnIndices returns no pair
    const wrong: [ad.Tensor, ad.Tensor] = new nn.MaxPool2d(2).forward(x);
    assert.ok(wrong instanceof ad.Tensor);
    // @ts-expect-error and one built with it returns no lone tensor
    const wrong2: ad.Tensor = new nn.MaxPool1d(3, { returnIndices: true }).forward(x1);
    assert.ok(Array.isArray(wrong2));

    // The functional forms were already overloaded the same way.
    const f: ad.Tensor = ad.maxPool2d(x, 2);
    const [fv, fi]: [ad.Tensor, ad.Tensor] = ad.maxPool2d(x, 2, { returnIndices: true });
    assert.deepEqual([f.shape, fv.shape, fi.dtype], [[1, 1, 2, 2], [1, 1, 2, 2], 'int32']);
  });

  test("Module.to/double/float return the module's own type; the stacks know their layers' type", () => {
    const lin = new nn.Linear(2, 3).double();
    expectType<Equal<typeof lin, ad.nn.Linear>>();
    assert.equal(lin.weight.dtype, 'float64');
    const back = lin.to('float32').float();
    expectType<Equal<typeof back, ad.nn.Linear>>();

    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 4 }), 2);
    const first = enc.layers.at(0);
    expectType<Equal<typeof first, ad.nn.TransformerEncoderLayer>>();
    assert.equal(first.self_attn.numHeads, 2);
    const dec = new nn.TransformerDecoder(new nn.TransformerDecoderLayer(4, 2, { dimFeedforward: 4 }), 1);
    assert.equal(dec.layers.at(0).multihead_attn.embedDim, 4);
    const out: ad.Tensor = new nn.Transformer({
      dModel: 4,
      nhead: 2,
      numEncoderLayers: 1,
      numDecoderLayers: 1,
    }).forward(ad.randn([3, 1, 4]), ad.randn([2, 1, 4]));
    assert.deepEqual(out.shape, [2, 1, 4]);
  });
});
