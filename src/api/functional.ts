/**
 * @file `ad.F`: PyTorch's torch.nn.functional for what adjoint has — the losses, the activations, softmax and
 * logSoftmax, oneHot and pad, re-exported from the op files that define them — plus linear, defined here because
 * it is a layer's computation rather than a tensor op, and so has no op file of its own.
 */

import { checked, nullable, optional, tensor } from '../core/args.js';
import { checkSameDtype } from '../core/dtype.js';
import { fmtShape, ShapeError } from '../core/errors.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/linalg.js';
import { testedOp } from '../ops/registry.js';
import { transpose } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

export { type ScaledDotProductAttentionOptions, scaledDotProductAttention } from '../ops/attention.js';
export {
  type ConvOptions,
  type ConvTransposeOptions,
  conv1d,
  conv2d,
  convTranspose1d,
  convTranspose2d,
  type SpatialSize,
} from '../ops/conv.js';
export { elu, gelu, leakyRelu, relu, sigmoid, silu, softplus, tanh } from '../ops/elementwise.js';
export { oneHot } from '../ops/indexing.js';
export { pad } from '../ops/join.js';
export {
  type BinaryCrossEntropyOptions,
  type BinaryCrossEntropyWithLogitsOptions,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  type CrossEntropyOptions,
  crossEntropy,
  l1Loss,
  mseLoss,
  type NllLossOptions,
  nllLoss,
  type Reduction,
  type ReductionOptions,
  type SmoothL1LossOptions,
  smoothL1Loss,
} from '../ops/loss.js';
export { bilinear, dropout, type EmbeddingOptions, embedding } from '../ops/nnops.js';
export { type BatchNormOptions, batchNorm, groupNorm, layerNorm, type NormOptions } from '../ops/norm.js';
export {
  type AvgPool2dOptions,
  type AvgPoolOptions,
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  avgPool1d,
  avgPool2d,
  type InterpolateMode,
  type InterpolateOptions,
  interpolate,
  type MaxPoolOptions,
  maxPool1d,
  maxPool1dWithIndices,
  maxPool2d,
  maxPool2dWithIndices,
  upsample,
} from '../ops/pool.js';
export { logSoftmax, softmax } from '../ops/softmax.js';

const LINEAR_ARGS = { args: { input: tensor, weight: tensor, bias: optional(nullable(tensor)) } };

/**
 * y = x·Wᵀ + b, with PyTorch's weight layout [outFeatures, inFeatures] (a 1-D weight [inFeatures] gives one output
 * with that dim dropped). The input is [..., inFeatures]; the bias, usually [outFeatures], broadcasts to the output.
 * Input, weight and bias share one dtype (a DTypeError otherwise, as in PyTorch).
 */
export const linear = testedOp({
  name: 'linear',
  fn: checked('linear', LINEAR_ARGS, (input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor => {
    const at =
      `input is ${fmtShape(input.shape)}, weight is ${fmtShape(weight.shape)}` +
      (bias ? `, bias is ${fmtShape(bias.shape)}` : '');
    if (input.ndim === 0)
      throw new ShapeError(`linear: the input needs at least 1 dim, its features (${at}); reshape it to [1]`);
    if (weight.ndim !== 1 && weight.ndim !== 2)
      throw new ShapeError(
        `linear: weight must be [outFeatures, inFeatures] (or [inFeatures] for one output), but ${at}`,
      );
    const inFeatures = input.shape[input.ndim - 1];
    if (weight.shape[weight.ndim - 1] !== inFeatures)
      throw new ShapeError(
        `linear: ${at}; the weight's last dim must be inFeatures = the input's last dim (${inFeatures}): weight ` +
          `is [outFeatures, inFeatures], so transpose it if it is [inFeatures, outFeatures], or fix the layer sizes`,
      );
    const outShape = [...input.shape.slice(0, -1), ...(weight.ndim === 2 ? [weight.shape[0]] : [])];
    const lead = outShape.length - (bias?.ndim ?? 0);
    if (bias && !(lead >= 0 && bias.shape.every((n, i) => n === 1 || n === outShape[lead + i])))
      throw new ShapeError(
        `linear: ${at}, so the output is ${fmtShape(outShape)}, which the bias does not broadcast to; the bias ` +
          (weight.ndim === 2
            ? `must be [${weight.shape[0]}] (one per output feature)`
            : 'must be 0-d (a 1-D weight gives one output)'),
      );
    // PyTorch's rule, which is also why a float64 input to a float32 nn.Linear raises: one dtype, no promotion.
    if (weight.dtype !== input.dtype || (bias && bias.dtype !== input.dtype))
      checkSameDtype('linear', [
        ['input', input],
        ['weight', weight],
        ['bias', bias],
      ]);
    const y = matmul(input, weight.ndim === 2 ? transpose(weight, 0, 1) : weight);
    return bias ? add(y, bias) : y;
  }),
  samples: [
    { args: [[3, 4], [5, 4], [5]] },
    {
      args: [
        [3, 4],
        [5, 4],
      ],
      note: 'no bias',
    },
    { args: [[4], [5, 4], [5]], note: 'unbatched' },
    { args: [[2, 3, 4], [5, 4], [5]], note: 'batch dims' },
    { args: [[3, 4], [4]], note: '1-D weight' },
    { args: [[3, 4], [5, 4], []], note: '0-d bias' },
    { args: [[0, 4], [5, 4], [5]] },
    { args: [[3, 4], [0, 4], [0]] },
  ],
  torch: 'F.linear',
});
