/**
 * @file The model zoo of `adjoint train`: an MLP, a CNN, a recurrent network reading rows and a transformer
 * encoder over rows, each built for an image shape and a class count from one list of sizes (`hidden`), whose
 * meaning depends on the model (see MODEL_SIZES).
 */
import { ValueError } from '../core/errors.js';
import type { Module } from '../nn/module.js';
import { headsFor, RowTransformer } from './attention.js';
import { cnn } from './cnn.js';
import { mlp } from './mlp.js';
import { type RecurrentCell, RowRNN } from './rnn.js';
import type { ImageShape } from './shape.js';

export { headsFor, RowTransformer } from './attention.js';
export { cnn } from './cnn.js';
export { mlp } from './mlp.js';
export { type RecurrentCell, RowRNN } from './rnn.js';
export type { ImageShape } from './shape.js';

export const MODEL_NAMES = ['mlp', 'cnn', 'rnn', 'attention'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** What `hidden` means for each model, and how many sizes it takes (min, max). */
export const MODEL_SIZES: Record<ModelName, { meaning: string; min: number; max: number }> = {
  mlp: { meaning: 'the hidden layers’ widths', min: 0, max: Number.POSITIVE_INFINITY },
  cnn: { meaning: 'the two convolutions’ output channels', min: 2, max: 2 },
  rnn: { meaning: 'the hidden size', min: 1, max: 1 },
  attention: { meaning: 'the model width (embedding size)', min: 1, max: 1 },
};

export interface BuildOptions {
  /** Sizes, as MODEL_SIZES says for the model. */
  hidden: readonly number[];
  /** The recurrent cell of 'rnn' (default 'gru'). */
  cell?: RecurrentCell;
}

/** Builds a freshly initialised model (drawing from the global RNG, as PyTorch's layers do). */
export function buildModel(name: ModelName, input: ImageShape, opts: BuildOptions): Module {
  const { hidden } = opts;
  const sizes = MODEL_SIZES[name];
  if (!sizes) throw new ValueError(`buildModel: unknown model '${name}'; the models are ${MODEL_NAMES.join(', ')}`);
  if (hidden.length < sizes.min || hidden.length > sizes.max || hidden.some((h) => !Number.isInteger(h) || h < 1))
    throw new ValueError(
      `buildModel: ${name} takes ${sizes.min === sizes.max ? sizes.min : `${sizes.min} or more`} size(s), ` +
        `${sizes.meaning}, each a whole number ≥ 1; got [${hidden.join(', ')}]`,
    );
  switch (name) {
    case 'mlp':
      return mlp(input, hidden);
    case 'cnn':
      return cnn(input, [hidden[0], hidden[1]]);
    case 'rnn':
      return new RowRNN(input, hidden[0], opts.cell ?? 'gru');
    case 'attention':
      return new RowTransformer(input, hidden[0]);
  }
}

/** Trainable elements: the sum of every parameter's numel. */
export function parameterCount(model: Module): number {
  return model.parameters().reduce((n, p) => n + p.numel(), 0);
}

/** A one-line picture of the model's layers, for the training header. */
export function describeModel(name: ModelName, input: ImageShape, opts: BuildOptions): string {
  const { channels: c, height: h, width: w, classes: k } = input;
  const hid = opts.hidden;
  switch (name) {
    case 'mlp': {
      const widths = [c * h * w, ...hid, k];
      const layers = widths.slice(1).map((o, i) => `Linear(${widths[i]}→${o})`);
      return ['Flatten', ...layers.flatMap((l, i) => (i < layers.length - 1 ? [l, 'ReLU'] : [l]))].join(' → ');
    }
    case 'cnn': {
      const [c1, c2] = hid;
      const fh = Math.floor(h / 4);
      const fw = Math.floor(w / 4);
      return (
        `Conv2d(${c}→${c1}, 3×3) → ReLU → MaxPool2d(2) → Conv2d(${c1}→${c2}, 3×3) → ReLU → MaxPool2d(2) → ` +
        `Flatten → Linear(${c2 * fh * fw}→${k})`
      );
    }
    case 'rnn':
      return `${h} rows of ${c * w} → ${(opts.cell ?? 'gru').toUpperCase()}(${c * w}→${hid[0]}) → last hidden → Linear(${hid[0]}→${k})`;
    case 'attention':
      return (
        `${h} rows of ${c * w} as tokens → Linear(${c * w}→${hid[0]}) + positions → ` +
        `TransformerEncoderLayer(${hid[0]}, ${headsFor(hid[0])} heads, feed-forward ${2 * hid[0]}) → mean → ` +
        `Linear(${hid[0]}→${k})`
      );
  }
}
