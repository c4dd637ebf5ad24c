/**
 * @file The four model training steps of issue 10 (MLP, CNN, transformer encoder layer, LSTM), built with adjoint's
 * public API only, shared by the `models` section of bench/compare.ts (through bench/systems/adjoint.ts) and by the
 * quick per-model timer bench/models.ts. scripts/bench_torch.py builds the same models, shapes and losses in PyTorch.
 *
 * Each model gives two timed calls: `step`, one full training step (zeroGrad, forward, loss, backward, SGD step with
 * lr 0.01), and `forward`, the same forward and loss with the graph recorded as in training, but no backward.
 * Backward is reported as step − forward, so it includes zeroGrad and the SGD update (small beside the backward).
 * A third call, `scopedStep`, is the same step through ad.trainStep: the `models` section's trainStep column and the
 * `memory` section's scoped variant.
 */
import * as ad from '../../src/index.js';
import { MODEL_NAMES } from './measure.js';

export const MODELS = MODEL_NAMES;
export type ModelName = (typeof MODELS)[number];

/** The shapes, as in the table; bench_torch.py repeats them. */
export const MODEL_SHAPES = {
  mlp: { sizes: [784, 512, 512, 10], batch: 128 },
  cnn: { batch: 64, size: 28, c1: 32, c2: 64, classes: 10 },
  transformer: { dModel: 128, nhead: 4, dimFeedforward: 512, seq: 64, batch: 16 },
  lstm: { input: 64, hidden: 256, seq: 50, batch: 32 },
} as const;
export const MODEL_LR = 0.01;

/** One line per model for tables and headers. */
export const MODEL_TITLES: Record<ModelName, string> = {
  mlp: 'MLP 784-512-512-10 (ReLU), b128, cross-entropy, SGD',
  cnn: 'CNN conv(1→32,3,p1)-relu-pool-conv(32→64,3,p1)-relu-pool-linear(3136→10), b64, 28×28, cross-entropy, SGD',
  transformer: 'Transformer encoder layer d128, 4 heads, ff 512, seq 64, b16, dropout 0, MSE to a random target, SGD',
  lstm: 'LSTM in 64, hidden 256, seq 50, b32 (seq-first), loss = output mean, SGD',
};

/** The timed calls of one model: all synchronous on adjoint (kernels finish before an op returns). */
export interface ModelCase {
  step: () => void;
  forward: () => void;
  /**
   * `step` inside ad.trainStep's scope: the same zeroGrad, forward, loss, backward and SGD update on the same model
   * and data, with the step's intermediates released to the pool when it ends; returns the loss.
   */
  scopedStep: () => number;
}

/** A model, its inputs and its loss; `loss()` runs the forward. */
function trainable(model: ad.nn.Module, loss: () => ad.Tensor): ModelCase {
  const opt = new ad.optim.SGD(model.parameters(), { lr: MODEL_LR });
  return {
    step: () => {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    },
    forward: () => {
      loss();
    },
    scopedStep: () => ad.trainStep(opt, loss),
  };
}

const BUILDERS: Record<ModelName, () => ModelCase> = {
  mlp() {
    const { sizes, batch } = MODEL_SHAPES.mlp;
    const [i, h1, h2, o] = sizes;
    const model = new ad.nn.Sequential(
      new ad.nn.Linear(i, h1),
      new ad.nn.ReLU(),
      new ad.nn.Linear(h1, h2),
      new ad.nn.ReLU(),
      new ad.nn.Linear(h2, o),
    );
    const lossFn = new ad.nn.CrossEntropyLoss();
    const x = ad.randn([batch, i]);
    const y = ad.randint(0, o, [batch]);
    return trainable(model, () => lossFn.forward(model.forward(x), y));
  },
  cnn() {
    const { batch, size, c1, c2, classes } = MODEL_SHAPES.cnn;
    const model = new ad.nn.Sequential(
      new ad.nn.Conv2d(1, c1, 3, { padding: 1 }),
      new ad.nn.ReLU(),
      new ad.nn.MaxPool2d(2),
      new ad.nn.Conv2d(c1, c2, 3, { padding: 1 }),
      new ad.nn.ReLU(),
      new ad.nn.MaxPool2d(2),
      new ad.nn.Flatten(),
      new ad.nn.Linear(c2 * (size / 4) ** 2, classes),
    );
    const lossFn = new ad.nn.CrossEntropyLoss();
    const x = ad.randn([batch, 1, size, size]);
    const y = ad.randint(0, classes, [batch]);
    return trainable(model, () => lossFn.forward(model.forward(x), y));
  },
  transformer() {
    const { dModel, nhead, dimFeedforward, seq, batch } = MODEL_SHAPES.transformer;
    const model = new ad.nn.TransformerEncoderLayer(dModel, nhead, { dimFeedforward, dropout: 0, batchFirst: true });
    const lossFn = new ad.nn.MSELoss();
    const x = ad.randn([batch, seq, dModel]);
    const target = ad.randn([batch, seq, dModel]);
    return trainable(model, () => lossFn.forward(model.forward(x), target));
  },
  lstm() {
    const { input, hidden, seq, batch } = MODEL_SHAPES.lstm;
    const model = new ad.nn.LSTM(input, hidden);
    const x = ad.randn([seq, batch, input]);
    return trainable(model, () => model.forward(x)[0].mean());
  },
};

/** Builds one model on the current backend, seeded so every run times the same weights and data. */
export function buildModel(name: ModelName): ModelCase {
  ad.manualSeed(10 + MODELS.indexOf(name));
  return BUILDERS[name]();
}
