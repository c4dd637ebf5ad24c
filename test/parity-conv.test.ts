/**
 * @file PyTorch parity for the convolution, pooling and resampling layers (conv with stride, padding, dilation and
 * groups together, 'same' and the reflect/replicate/circular padding modes, transposed conv with outputPadding,
 * groups and dilation and with an outputSize, max pooling with indices, average pooling with its divisors, adaptive
 * pooling, upsampling): each case's module is built here as scripts/parity_conv.py builds it in torch; its state-dict
 * keys, shapes and repr must be torch's, torch's state dict loads into it, and the output and the gradients of a
 * random linear functional with respect to the input and every parameter match within 1e-10 relative
 * (test/fixtures/parity-conv.json; torch is never needed here). Every layer also passes gradcheck in float64.
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

interface Case {
  repr: string;
  state: [string, Enc][];
  forward: { output_size?: number[] };
  input: Enc;
  output: Enc;
  indices?: Enc;
  cotangent: number[];
  inputGrad: number[];
  paramGrads: [string, number[]][];
}

const fixture = loadFixture<{ torch: string; cases: Record<string, Case> }>('parity-conv');
const REGENERATE = regenerate('parity-conv');

/** The layers together, as SmallCNN in scripts/parity_conv.py. */
class SmallCNN extends nn.Module {
  conv1 = new nn.Conv2d(1, 4, 3, { padding: 1, dtype });
  pool1 = new nn.MaxPool2d(2);
  conv2 = new nn.Conv2d(4, 6, 3, { padding: 1, groups: 2, paddingMode: 'reflect', dtype });
  pool2 = new nn.AvgPool2d(2, { ceilMode: true });
  head = new nn.AdaptiveAvgPool2d(1);
  override forward(x: ad.Tensor): ad.Tensor {
    const h = this.pool1.call(ad.relu(this.conv1.call(x)));
    return ad.flatten(this.head.call(this.pool2.call(ad.tanh(this.conv2.call(h)))), 1);
  }
}

/** Mirrors CASES in scripts/parity_conv.py, by name. */
const LAYERS: Record<string, () => ad.nn.Module> = {
  conv2d_together: () =>
    new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 2], dilation: [2, 1], groups: 2, dtype }),
  conv2d_same_even_kernel: () => new nn.Conv2d(3, 4, [2, 4], { padding: 'same', dilation: [2, 1], dtype }),
  conv2d_valid_nobias: () => new nn.Conv2d(3, 2, 3, { stride: 2, padding: 'valid', bias: false, dtype }),
  conv2d_reflect: () => new nn.Conv2d(3, 4, 3, { padding: [1, 2], paddingMode: 'reflect', dtype }),
  conv2d_reflect_same: () =>
    new nn.Conv2d(2, 4, [2, 3], { padding: 'same', dilation: [1, 2], paddingMode: 'reflect', groups: 2, dtype }),
  conv2d_replicate: () => new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1, paddingMode: 'replicate', dtype }),
  conv2d_circular: () => new nn.Conv2d(2, 3, 3, { padding: [2, 1], paddingMode: 'circular', dtype }),
  conv2d_depthwise_unbatched: () => new nn.Conv2d(3, 6, 3, { stride: [1, 2], groups: 3, dtype }),
  conv1d_together: () => new nn.Conv1d(4, 6, 3, { stride: 2, padding: 2, dilation: 2, groups: 2, dtype }),
  conv1d_reflect_same: () => new nn.Conv1d(2, 3, 4, { padding: 'same', paddingMode: 'reflect', dtype }),
  conv_transpose2d_together: () =>
    new nn.ConvTranspose2d(4, 6, [3, 2], {
      stride: [2, 3],
      padding: [1, 0],
      outputPadding: [1, 2],
      groups: 2,
      dilation: [1, 2],
      dtype,
    }),
  conv_transpose2d_output_size: () => new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1, dtype }),
  conv_transpose2d_unbatched_nobias: () => new nn.ConvTranspose2d(2, 3, [2, 3], { stride: 2, bias: false, dtype }),
  conv_transpose1d: () =>
    new nn.ConvTranspose1d(3, 4, 3, { stride: 3, padding: 1, outputPadding: 2, dilation: 2, bias: false, dtype }),
  conv_transpose1d_groups: () => new nn.ConvTranspose1d(4, 6, 4, { stride: 2, groups: 2, dtype }),
  max_pool2d: () => new nn.MaxPool2d([3, 2], { stride: [2, 1], padding: 1, dilation: [1, 2], ceilMode: true }),
  max_pool2d_indices: () => new nn.MaxPool2d(2, { padding: 1, returnIndices: true }),
  max_pool1d: () => new nn.MaxPool1d(3, { stride: 2, padding: 1, ceilMode: true }),
  max_pool1d_indices: () => new nn.MaxPool1d(2, { dilation: 2, returnIndices: true }),
  avg_pool2d: () => new nn.AvgPool2d([3, 2], { stride: [2, 1], padding: 1, ceilMode: true, countIncludePad: false }),
  avg_pool2d_ceil_include_pad: () => new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
  avg_pool2d_divisor: () => new nn.AvgPool2d(3, { stride: 2, padding: 1, divisorOverride: 4 }),
  avg_pool1d: () => new nn.AvgPool1d(4, { stride: 3, padding: 2, ceilMode: true }),
  adaptive_avg_pool2d: () => new nn.AdaptiveAvgPool2d([3, 5]),
  adaptive_avg_pool2d_none: () => new nn.AdaptiveAvgPool2d([4, null]),
  adaptive_avg_pool1d: () => new nn.AdaptiveAvgPool1d(4),
  upsample_nearest: () => new nn.Upsample({ scaleFactor: 2 }),
  upsample_nearest_size: () => new nn.Upsample({ size: [7, 9] }),
  upsample_nearest_exact: () => new nn.Upsample({ size: [3, 8], mode: 'nearest-exact' }),
  upsample_bilinear: () => new nn.Upsample({ scaleFactor: [1.5, 2.5], mode: 'bilinear' }),
  upsample_bilinear_align_corners: () => new nn.Upsample({ size: [7, 9], mode: 'bilinear', alignCorners: true }),
  upsample_bilinear_down: () => new nn.Upsample({ size: [3, 4], mode: 'bilinear' }),
  upsample_linear: () => new nn.Upsample({ scaleFactor: 3, mode: 'linear' }),
  small_cnn: () => new SmallCNN(),
};

const TOL = { rtol: 1e-10, atol: 1e-12 };

/** Runs the module as torch's case did; the output, and the indices where it returns them. */
function run(m: ad.nn.Module, c: Case, x: ad.Tensor): [ad.Tensor, ad.Tensor | null] {
  const r = c.forward.output_size ? m.call(x, c.forward.output_size) : m.call(x);
  return Array.isArray(r) ? [r[0], r[1]] : [r, null];
}

describe('PyTorch parity: convolution, pooling and resampling layers', () => {
  test('every fixture case has a layer here, and every layer a fixture case', () => {
    assert.deepEqual(Object.keys(LAYERS).sort(), Object.keys(fixture.cases).sort(), REGENERATE);
  });

  for (const [name, make] of Object.entries(LAYERS)) {
    const c = fixture.cases[name];
    describe(name, () => {
      test("stateDict keys and shapes are torch's, in torch's order, and toString is torch's repr", () => {
        assert.ok(c, `no fixture case '${name}'; ${REGENERATE}`);
        const m = make();
        assertTorchLayout(m, c);
      });

      test('torch state dict loads; output, indices and every gradient match within 1e-10', () => {
        ad.setBackend('js');
        const m = make();
        assert.deepEqual(m.loadStateDict(stateDictOf(c.state)), { missingKeys: [], unexpectedKeys: [] });
        const x = decodeEnc(c.input).requiresGrad_(true);
        const [out, indices] = run(m, c, x);
        assert.deepEqual(out.shape, c.output.shape, 'output shape');
        assertClose(out.dataSync(), c.output.values, TOL.rtol, TOL.atol, `${name} output`);
        if (c.indices) {
          assert.ok(indices, 'torch returned indices');
          assert.equal(indices.dtype, 'int32');
          assert.deepEqual(indices.shape, c.indices.shape);
          assert.deepEqual(Array.from(indices.dataSync()), c.indices.values, `${name} indices`);
        }
        const params = m.namedParameters();
        assert.deepEqual(
          params.map(([k]) => k),
          c.paramGrads.map(([k]) => k),
          'parameter names',
        );
        const cot = ad.tensor(c.cotangent, { dtype, shape: c.output.shape });
        const grads = ad.autograd.grad(out.mul(cot).sum(), [x, ...params.map(([, p]) => p)]) as ad.Tensor[];
        assertClose(grads[0].dataSync(), c.inputGrad, TOL.rtol, TOL.atol, `${name} d/d input`);
        c.paramGrads.forEach(([pname, want], i) => {
          assertClose(grads[i + 1].dataSync(), want, TOL.rtol, TOL.atol, `${name} d/d ${pname}`);
        });
      });

      test('gradcheck in float64 through the input and the parameters', () => {
        const m = make();
        m.loadStateDict(stateDictOf(c.state));
        const x = decodeEnc(c.input).requiresGrad_(true);
        const names = m.namedParameters().map(([k]) => k);
        const params = m.parameters().map((p) => p.detach().clone().requiresGrad_(true));
        const f = (...leaves: ad.Tensor[]) => withParams(m, names, leaves.slice(1), () => run(m, c, leaves[0])[0]);
        ad.assertGradcheck(f, [x, ...params]);
      });
    });
  }
});
