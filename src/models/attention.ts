/**
 * @file The attention classifier of `adjoint train --model attention`: an image's rows as tokens, a Linear
 * embedding plus a learned position embedding, one TransformerEncoderLayer (batchFirst), the mean over tokens, and
 * a Linear to the classes. Without the position embedding the mean over tokens would not know the rows' order.
 */

import { Linear, Module, Parameter, TransformerEncoderLayer } from '../nn/index.js';
import { normal_ } from '../nn/init.js';
import { empty } from '../ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ImageShape } from './shape.js';

/** The number of heads for a model width: 4 when it divides, else 2, else 1. */
export function headsFor(dModel: number): number {
  return dModel % 4 === 0 ? 4 : dModel % 2 === 0 ? 2 : 1;
}

/**
 * Rows as tokens: [N, C, H, W] is H tokens of C·W features. Parameters `embed.*`, `pos_embedding` [H, dModel],
 * `encoder.*` (torch.nn.TransformerEncoderLayer's keys: `self_attn.in_proj_weight`, `linear1.weight`, `norm1.weight`,
 * …) and `fc.*`. The feed-forward block is 2·dModel wide; dropout 0.1 as PyTorch's default.
 */
export class RowTransformer extends Module {
  embed: Linear;
  pos_embedding: Tensor;
  encoder: TransformerEncoderLayer;
  fc: Linear;

  constructor(input: ImageShape, dModel: number, opts: { dropout?: number } = {}) {
    super();
    this.embed = new Linear(input.channels * input.width, dModel);
    // N(0, 0.02²), as BERT and ViT initialise their position embeddings.
    this.pos_embedding = Parameter(normal_(empty([input.height, dModel]), 0, 0.02));
    this.encoder = new TransformerEncoderLayer(dModel, headsFor(dModel), {
      dimFeedforward: 2 * dModel,
      dropout: opts.dropout ?? 0.1,
      batchFirst: true,
    });
    this.fc = new Linear(dModel, input.classes);
  }

  override forward(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const tokens = x.permute([0, 2, 1, 3]).reshape([n, h, c * w]);
    const z = this.encoder.forward(this.embed.forward(tokens).add(this.pos_embedding));
    return this.fc.forward(z.mean(1));
  }
}
