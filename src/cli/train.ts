/**
 * @file `adjoint train`: trains a model of the zoo (src/models) on digits or Fashion-MNIST with a progress bar,
 * per-epoch train and test accuracy, the loss and accuracy curves as an SVG file, and checkpoints saved atomically
 * at each epoch end from which `--resume` continues to exactly the parameters an uninterrupted run reaches.
 *
 * Resuming is bit-identical because everything a step depends on is in the checkpoint: the model, the optimizer's
 * moments, the scheduler, the global RNG (dropout) and the DataLoader's shuffling generator (its `extra`), and the
 * learning-rate schedule depends on the epoch only (ExponentialLR per epoch), not on how many epochs are asked for,
 * so `--epochs 1` then `--resume --epochs 2` is the same run as `--epochs 2`.
 */
import { crossEntropy } from '../api/functional.js';
import { noGrad } from '../autograd/mode.js';
import { describeBackend } from '../backend/index.js';
import { AdjointError } from '../core/errors.js';
import { manualSeed } from '../core/rng.js';
import { DataLoader } from '../data/dataloader.js';
import { TensorDataset } from '../data/dataset.js';
import { FASHION_MNIST_ROOT, loadDigits, loadFashionMnist } from '../data/datasets.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { nodeFs } from '../io/node.js';
import { loadFileWithMetadata } from '../io/safetensors.js';
import {
  buildModel,
  describeModel,
  type ImageShape,
  MODEL_NAMES,
  MODEL_SIZES,
  type ModelName,
  parameterCount,
  type RecurrentCell,
} from '../models/index.js';
import type { Module } from '../nn/module.js';
import { Adam, AdamW } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ExponentialLR } from '../optim/scheduler.js';
import { SGD } from '../optim/sgd.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  backendOption,
  choiceOption,
  chooseBackend,
  flag,
  intOption,
  parseArgs,
  sizesOption,
  UsageError,
  type ValueOption,
} from './args.js';
import { count, type Style } from './term.js';

export const DATASET_NAMES = ['digits', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];
export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Everything that decides the trained parameters; saved in the checkpoint and checked on --resume. */
export interface TrainConfig {
  model: ModelName;
  dataset: DatasetName;
  /** The epoch to train up to (on --resume: in all, counting the epochs already done). */
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerName;
  weightDecay: number;
  /** SGD's momentum (0 for Adam and AdamW, which do not take one). */
  momentum: number;
  /** The lr is multiplied by this after every epoch (ExponentialLR); 1 keeps it constant. */
  lrDecay: number;
  /** Model sizes: MODEL_SIZES says what they mean for each model. */
  hidden: number[];
  /** The recurrent cell of the rnn model. */
  cell: RecurrentCell;
  seed: number;
  /** Train on the first `limit` training images only (null: all). */
  limit: number | null;
}

/** Where a run reads and writes; none of it changes the trained parameters. */
export interface TrainPaths {
  checkpoint: string | null;
  resume: boolean;
  /** The SVG of the curves, or null for none. */
  curves: string | null;
  /** The Fashion-MNIST folder. */
  dataDir: string;
}

/**
 * The defaults per model and data set, chosen by measuring on a 2-core machine (docs/TRAINING.md): each reaches its
 * accuracy in the time the docs give. lr is per optimizer, since SGD needs a larger one than Adam.
 */
interface Recipe {
  epochs: number;
  batchSize: number;
  lr: Record<OptimizerName, number>;
  lrDecay: number;
  hidden: number[];
}

export const RECIPES: Record<ModelName, Record<DatasetName, Recipe>> = {
  mlp: {
    digits: { epochs: 10, batchSize: 32, lr: { adam: 1e-2, adamw: 1e-2, sgd: 0.1 }, lrDecay: 0.8, hidden: [128] },
    'fashion-mnist': {
      epochs: 10,
      batchSize: 64,
      lr: { adam: 1e-3, adamw: 1e-3, sgd: 0.05 },
      lrDecay: 0.8,
      hidden: [256],
    },
  },
  cnn: {
    digits: { epochs: 6, batchSize: 32, lr: { adam: 1e-2, adamw: 1e-2, sgd: 0.05 }, lrDecay: 0.7, hidden: [16, 32] },
    'fashion-mnist': {
      epochs: 5,
      batchSize: 64,
      lr: { adam: 2e-3, adamw: 2e-3, sgd: 0.05 },
      lrDecay: 0.7,
      hidden: [16, 32],
    },
  },
  rnn: {
    digits: { epochs: 8, batchSize: 32, lr: { adam: 1e-2, adamw: 1e-2, sgd: 0.1 }, lrDecay: 0.8, hidden: [64] },
    'fashion-mnist': {
      epochs: 5,
      batchSize: 64,
      lr: { adam: 2e-3, adamw: 2e-3, sgd: 0.05 },
      lrDecay: 0.8,
      hidden: [128],
    },
  },
  attention: {
    digits: { epochs: 10, batchSize: 32, lr: { adam: 6e-3, adamw: 6e-3, sgd: 0.05 }, lrDecay: 0.85, hidden: [32] },
    'fashion-mnist': {
      epochs: 5,
      batchSize: 64,
      lr: { adam: 1e-3, adamw: 1e-3, sgd: 0.05 },
      lrDecay: 0.8,
      hidden: [64],
    },
  },
};

/** SGD's momentum unless --momentum says otherwise; PyTorch's defaults for the weight decay. */
const SGD_MOMENTUM = 0.9;
const WEIGHT_DECAY: Record<OptimizerName, number> = { sgd: 0, adam: 0, adamw: 1e-2 };

/** Images per forward pass when evaluating: large enough to be quick, small enough for a CNN's activations. */
const EVAL_BATCH = 500;

// ---------------------------------------------------------------------------------------------------------------
// Options

/** A number that `ok` accepts, described by `range` in the message: `--lr 3e-4`. */
function numberOption(range: string, ok: (v: number) => boolean): ValueOption<number> {
  return {
    parse: (raw, name) => {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v) || !ok(v))
        throw new UsageError(`${name} must be a number ${range}, got '${raw}'`);
      return v;
    },
  };
}

const pathOption: ValueOption<string> = {
  parse: (raw, name) => {
    if (raw.trim() === '') throw new UsageError(`${name} needs a file name, got ''`);
    return raw;
  },
};

export const TRAIN_OPTIONS = {
  model: choiceOption<ModelName>(MODEL_NAMES),
  dataset: choiceOption<DatasetName>(DATASET_NAMES),
  epochs: intOption(1),
  'batch-size': intOption(1),
  lr: numberOption('> 0', (v) => v > 0),
  optimizer: choiceOption<OptimizerName>(OPTIMIZER_NAMES),
  'weight-decay': numberOption('≥ 0', (v) => v >= 0),
  momentum: numberOption('in [0, 1)', (v) => v >= 0 && v < 1),
  'lr-decay': numberOption('in (0, 1]', (v) => v > 0 && v <= 1),
  hidden: sizesOption(1),
  cell: choiceOption<RecurrentCell>(['gru', 'lstm']),
  seed: intOption(0),
  limit: intOption(1),
  checkpoint: pathOption,
  resume: flag,
  curves: pathOption,
  'no-curves': flag,
  'data-dir': pathOption,
  backend: backendOption,
};

const fmtRecipe = (m: ModelName, d: DatasetName) => {
  const r = RECIPES[m][d];
  return `${m.padEnd(9)} ${d.padEnd(13)} ${String(r.epochs).padStart(2)}   ${String(r.batchSize).padStart(3)}   ${String(r.lr.adam).padEnd(6)} ${String(r.lrDecay).padEnd(4)}  ${r.hidden.join(',')}`;
};

export const TRAIN_HELP = `adjoint train — train a model on digits or Fashion-MNIST, with checkpoints and curves

Trains with cross-entropy, printing a progress bar (steps/s, loss, ETA; plain lines when stdout is not a
terminal) and each epoch's loss, train accuracy (over the epoch's batches, in training mode) and test
accuracy (the whole test split, in eval mode). The curves go to an SVG file; with --checkpoint the model,
optimizer, scheduler, RNG and data order are saved atomically at each epoch end, and --resume continues
to exactly the parameters an uninterrupted run reaches.

Usage
  adjoint train [options]            (from a checkout: npx tsx src/cli/main.ts train [options])

Options
  --model NAME          mlp | cnn | rnn | attention                      default mlp
  --dataset NAME        digits (built in, 8×8) | fashion-mnist (28×28)   default digits
  --epochs N            train up to epoch N (with --resume: in all)      default per model, below
  --batch-size N        images per step                                  default per model
  --optimizer NAME      sgd | adam | adamw                               default adam
  --lr LR               learning rate                                    default per model and optimizer
  --lr-decay G          multiply the lr by G after each epoch            default per model (1: constant)
  --weight-decay WD     L2 (sgd, adam) or decoupled (adamw) decay        default 0, adamw 0.01
  --momentum M          SGD's momentum                                   default 0.9
  --hidden LIST         model sizes: mlp the hidden widths (256,128), cnn the two conv channel counts
                        (8,16), rnn the hidden size, attention the model width
  --cell NAME           gru | lstm, the rnn model's cell                 default gru
  --seed S              seeds initialisation, dropout and the data order default 0
  --limit N             train on the first N training images only (quick runs); the test split is whole
  --checkpoint PATH     save a checkpoint there at each epoch end (safetensors; atomic)
  --resume              continue from --checkpoint PATH: options not given are the checkpoint's; options
                        given must match it, except --epochs
  --curves PATH         where the SVG of the loss and accuracy curves goes, rewritten at each epoch end
                        default MODEL-DATASET-curves.svg
  --no-curves           no SVG
  --data-dir DIR        the Fashion-MNIST files                          default ${FASHION_MNIST_ROOT}
  --backend NAME        js | wasm | blas | auto (the fastest here)       default auto (or ADJOINT_BACKEND)
  -h, --help            this help

Defaults (Adam)
  model     dataset       epochs batch  lr     decay hidden
  ${MODEL_NAMES.flatMap((m) => DATASET_NAMES.map((d) => fmtRecipe(m, d))).join('\n  ')}
  SGD's default lr is larger: ${MODEL_NAMES.map((m) => `${m} ${RECIPES[m].digits.lr.sgd}`).join(', ')} on digits.

Fashion-MNIST is not shipped: on Debian or Ubuntu, sudo apt-get install dataset-fashion-mnist.

Examples
  adjoint train                                         the MLP on digits, about 10 s
  adjoint train --model cnn --checkpoint cnn.ckpt       the CNN, saving each epoch
  adjoint train --checkpoint cnn.ckpt --resume --epochs 10   continue it to epoch 10
  adjoint train --dataset fashion-mnist --curves fashion.svg

Exit status
  0 trained · 1 an error (missing data, an unreadable checkpoint) · 2 bad usage
`;

type Parsed = ReturnType<typeof parseTrainArgs>;

/** Parses argv (after `train`); UsageError on anything malformed. */
export function parseTrainArgs(argv: readonly string[]) {
  return parseArgs('train', argv, TRAIN_OPTIONS);
}

/** The config keys and the option that sets each, for messages. */
const FLAG_OF: Record<Exclude<keyof TrainConfig, 'epochs'>, string> = {
  model: 'model',
  dataset: 'dataset',
  batchSize: 'batch-size',
  lr: 'lr',
  optimizer: 'optimizer',
  weightDecay: 'weight-decay',
  momentum: 'momentum',
  lrDecay: 'lr-decay',
  hidden: 'hidden',
  cell: 'cell',
  seed: 'seed',
  limit: 'limit',
};

/** The options as given on the command line, as config keys (undefined where not given). */
function explicitConfig(a: Parsed): Partial<TrainConfig> {
  return {
    model: a.model,
    dataset: a.dataset,
    epochs: a.epochs,
    batchSize: a['batch-size'],
    lr: a.lr,
    optimizer: a.optimizer,
    weightDecay: a['weight-decay'],
    momentum: a.momentum,
    lrDecay: a['lr-decay'],
    hidden: a.hidden,
    cell: a.cell,
    seed: a.seed,
    limit: a.limit,
  };
}

/** Fills in the defaults for what the command line leaves out, and checks the options fit together. */
export function resolveConfig(given: Partial<TrainConfig>): TrainConfig {
  const model = given.model ?? 'mlp';
  const dataset = given.dataset ?? 'digits';
  const optimizer = given.optimizer ?? 'adam';
  const r = RECIPES[model][dataset];
  if (given.momentum !== undefined && optimizer !== 'sgd')
    throw new UsageError(`train: --momentum is SGD's; ${optimizer} has no momentum option (use --optimizer sgd)`);
  if (given.cell !== undefined && model !== 'rnn')
    throw new UsageError(`train: --cell chooses the rnn model's cell; --model is ${model}`);
  const hidden = given.hidden ?? r.hidden;
  const sizes = MODEL_SIZES[model];
  if (hidden.length < sizes.min || hidden.length > sizes.max)
    throw new UsageError(
      `train: --hidden for ${model} is ${sizes.meaning}: ${sizes.min === sizes.max ? sizes.min : `${sizes.min} or more`} ` +
        `number(s), got ${hidden.length} (${hidden.join(',')}); e.g. --hidden ${r.hidden.join(',')}`,
    );
  return {
    model,
    dataset,
    epochs: given.epochs ?? r.epochs,
    batchSize: given.batchSize ?? r.batchSize,
    lr: given.lr ?? r.lr[optimizer],
    optimizer,
    weightDecay: given.weightDecay ?? WEIGHT_DECAY[optimizer],
    momentum: optimizer === 'sgd' ? (given.momentum ?? SGD_MOMENTUM) : 0,
    lrDecay: given.lrDecay ?? r.lrDecay,
    hidden: [...hidden],
    cell: given.cell ?? 'gru',
    seed: given.seed ?? 0,
    limit: given.limit ?? null,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const showValue = (v: unknown) => (Array.isArray(v) ? v.join(',') : v === null ? 'none' : String(v));

/**
 * The config of a resumed run: the checkpoint's, with --epochs from the command line if given. An option given
 * with another value than the checkpoint's is a UsageError: the run would not be the one that was saved.
 */
export function resumeConfig(saved: TrainConfig, given: Partial<TrainConfig>, path: string): TrainConfig {
  const clashes: string[] = [];
  for (const [k, name] of Object.entries(FLAG_OF) as [keyof typeof FLAG_OF, string][]) {
    const v = given[k];
    if (v !== undefined && !same(v, saved[k]))
      clashes.push(`--${name} ${showValue(v)} (the checkpoint has ${showValue(saved[k])})`);
  }
  if (clashes.length)
    throw new UsageError(
      `train: --resume continues the run saved in ${path}, but ${clashes.join(', ')}; leave ${clashes.length > 1 ? 'these options' : 'the option'} out to ` +
        'continue with the checkpoint’s settings, or start a new run without --resume',
    );
  return { ...saved, epochs: given.epochs ?? saved.epochs };
}

// ---------------------------------------------------------------------------------------------------------------
// Data

export interface TrainData {
  train: { images: Tensor; labels: Tensor };
  test: { images: Tensor; labels: Tensor };
  shape: ImageShape;
  /** Training images before --limit. */
  trainTotal: number;
}

/** Loads the data set's splits, the first `limit` training images if given. */
export function loadData(dataset: DatasetName, limit: number | null, dataDir = FASHION_MNIST_ROOT): TrainData {
  const load = (split: 'train' | 'test') =>
    dataset === 'digits' ? loadDigits({ split }) : loadFashionMnist({ split, root: dataDir });
  const train = load('train');
  const test = load('test');
  const trainTotal = train.labels.shape[0];
  const n = limit === null ? trainTotal : Math.min(limit, trainTotal);
  const [, channels, height, width] = train.images.shape;
  return {
    train: n === trainTotal ? train : { images: train.images.narrow(0, 0, n), labels: train.labels.narrow(0, 0, n) },
    test,
    shape: { channels, height, width, classes: 10 },
    trainTotal,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The run

export interface EpochRecord {
  epoch: number;
  /** Mean cross-entropy over the epoch's training batches (weighted by batch size). */
  trainLoss: number;
  /** Share of the epoch's training images the model got right as it trained on them. */
  trainAcc: number;
  testLoss: number;
  testAcc: number;
  /** The lr the epoch trained with. */
  lr: number;
  /** Seconds of training (and testing) from the start of the run to the end of this epoch. */
  elapsed: number;
}

export interface History {
  epochs: EpochRecord[];
  /** Each step's training loss, in order. */
  stepLoss: number[];
  stepsPerEpoch: number;
}

export interface TrainIO {
  /** Prints a line. */
  out(s: string): void;
  /** Whether to draw a progress bar that rewrites one terminal line (else plain lines). */
  tty: boolean;
  /** Rewrites the current terminal line (only called when tty). */
  status(s: string): void;
  /** Terminal width for the bar. */
  columns: number;
  style: Style;
  /** Milliseconds, for timing (performance.now). */
  now(): number;
}

export interface TrainResult {
  config: TrainConfig;
  history: History;
  model: Module;
}

/** Evaluates in eval mode without recording: mean loss and accuracy over the whole split, in chunks. */
export function evaluate(
  model: Module,
  images: Tensor,
  labels: Tensor,
): { loss: number; acc: number; correct: number } {
  const n = labels.shape[0];
  let loss = 0;
  let correct = 0;
  const wasTraining = model.training;
  model.eval();
  noGrad(() => {
    for (let i = 0; i < n; i += EVAL_BATCH) {
      const k = Math.min(EVAL_BATCH, n - i);
      const y = labels.narrow(0, i, k);
      const logits: Tensor = model.call(images.narrow(0, i, k));
      loss += crossEntropy(logits, y, { reduction: 'sum' }).item();
      correct += logits.argmax(1).eq(y).sum().item();
    }
  });
  model.train(wasTraining);
  return { loss: loss / n, acc: correct / n, correct };
}

function makeOptimizer(cfg: TrainConfig, model: Module): Optimizer<any> {
  const params = model.parameters();
  if (cfg.optimizer === 'sgd')
    return new SGD(params, { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  const Opt = cfg.optimizer === 'adam' ? Adam : AdamW;
  return new Opt(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
}

/** 75 → 1:15, 3725 → 1:02:05. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Seconds with sensible precision: 0.84 s, 12.3 s, 2:05 min. */
function secs(s: number): string {
  if (s >= 120) return `${clock(s)} min`;
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}

const epochs = (n: number) => `${n} epoch${n === 1 ? '' : 's'}`;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** A bar of `width` cells, filled to `frac` (eighths of a cell for a smooth edge). */
function bar(frac: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, frac)) * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part ? ' ▏▎▍▌▋▊▉'[part] : '';
  return '█'.repeat(full) + partial + ' '.repeat(width - full - (part ? 1 : 0));
}

/** The config as saved in a checkpoint's extra, read without building a model (to resume without options). */
export function readCheckpointConfig(path: string): { config: TrainConfig; epoch: number } {
  const { metadata } = loadFileWithMetadata(path);
  let state: { epoch?: number; extra?: { config?: TrainConfig } } | null = null;
  try {
    state = metadata?.format === 'adjoint.checkpoint' && metadata.state ? JSON.parse(metadata.state) : null;
  } catch {
    state = null;
  }
  const config = state?.extra?.config;
  if (!config || typeof config !== 'object' || !MODEL_NAMES.includes(config.model))
    throw new AdjointError(
      `train: ${path} is not a checkpoint written by 'adjoint train' (it has no training config); give another ` +
        '--checkpoint, or drop --resume to start a new run that overwrites it',
    );
  return { config, epoch: state?.epoch ?? 0 };
}

/**
 * Runs `adjoint train` with a resolved config: builds the data, model, optimizer and scheduler, resumes from the
 * checkpoint if asked, trains to cfg.epochs, and returns the history. Prints through io.
 */
export function runTrain(cfg: TrainConfig, paths: TrainPaths, io: TrainIO): TrainResult {
  const { style } = io;
  const data = loadData(cfg.dataset, cfg.limit, paths.dataDir);
  manualSeed(cfg.seed);
  const model = buildModel(cfg.model, data.shape, { hidden: cfg.hidden, cell: cfg.cell });
  const optimizer = makeOptimizer(cfg, model);
  const scheduler = new ExponentialLR(optimizer, cfg.lrDecay);
  const loader = new DataLoader(new TensorDataset(data.train.images, data.train.labels), {
    batchSize: cfg.batchSize,
    shuffle: true,
    seed: cfg.seed,
  });
  const stepsPerEpoch = loader.length;
  let history: History = { epochs: [], stepLoss: [], stepsPerEpoch };
  let step = 0;
  let done = 0;
  if (paths.resume && paths.checkpoint) {
    const ck = loadCheckpoint(paths.checkpoint, { model, optimizer, scheduler });
    const extra = ck.extra as { loader: { generator: number[] | null }; history: History };
    loader.loadStateDict(extra.loader);
    history = extra.history;
    step = ck.step;
    done = ck.epoch ?? history.epochs.length;
  }

  const { channels: c, height: h, width: w } = data.shape;
  const nTrain = data.train.labels.shape[0];
  const nTest = data.test.labels.shape[0];
  const limited = nTrain < data.trainTotal ? ` (--limit: the first ${count(nTrain)} of ${count(data.trainTotal)})` : '';
  io.out(
    `${style.bold('adjoint train')}  ${cfg.model} on ${cfg.dataset}: ${count(nTrain)} train${limited} / ${count(nTest)} ` +
      `test images of ${c}×${h}×${w}, 10 classes`,
  );
  const optName = { sgd: 'SGD', adam: 'Adam', adamw: 'AdamW' }[cfg.optimizer];
  const optDesc =
    `${optName} lr ${cfg.lr}` +
    (cfg.optimizer === 'sgd' ? ` momentum ${cfg.momentum}` : '') +
    (cfg.weightDecay ? ` weight decay ${cfg.weightDecay}` : '') +
    (cfg.lrDecay !== 1 ? `, ×${cfg.lrDecay} per epoch` : '');
  const rows: [string, string][] = [
    ['model', `${describeModel(cfg.model, data.shape, { hidden: cfg.hidden, cell: cfg.cell })}`],
    ['', `${count(parameterCount(model))} parameters`],
    ['training', `${epochs(cfg.epochs)} × ${stepsPerEpoch} steps of ${cfg.batchSize} · ${optDesc} · seed ${cfg.seed}`],
    ['backend', describeBackend()],
  ];
  if (paths.checkpoint) rows.push(['checkpoint', `${paths.checkpoint}, saved at each epoch end`]);
  if (paths.resume) rows.push(['resumed', `after epoch ${done} (step ${count(step)})`]);
  for (const [k, v] of rows) io.out(`  ${style.dim(k.padEnd(10))}  ${v}`);

  const total = cfg.epochs * stepsPerEpoch;
  const prior = history.epochs.at(-1)?.elapsed ?? 0;
  // This session's timing, for the ETA: seconds per training step and per evaluation of the test split.
  let trainSeconds = 0;
  let trainSteps = 0;
  let evalSeconds = 0;
  let evals = 0;
  const eta = (stepsLeft: number, evalsLeft: number, epochSeconds = 0, epochSteps = 0) => {
    const steps = trainSteps + epochSteps;
    if (steps === 0) return Number.NaN;
    return (stepsLeft * (trainSeconds + epochSeconds)) / steps + evalsLeft * (evals ? evalSeconds / evals : 0);
  };
  // Without a terminal, a line every tenth of a long epoch so a log shows progress.
  const logEvery = stepsPerEpoch >= 100 ? Math.ceil(stepsPerEpoch / 10) : 0;
  const ew = String(cfg.epochs).length;
  const epochLabel = (e: number) => `epoch ${String(e).padStart(ew)}/${cfg.epochs}`;

  for (let epoch = done + 1; epoch <= cfg.epochs; epoch++) {
    model.train();
    const lr = optimizer.paramGroups[0].lr;
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let i = 0;
    let lastDraw = Number.NEGATIVE_INFINITY;
    const t0 = io.now();
    for (const [x, y] of loader) {
      const logits: Tensor = model.call(x);
      const loss = crossEntropy(logits, y);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      step++;
      i++;
      const l = loss.item();
      const n = y.shape[0];
      lossSum += l * n;
      seen += n;
      correct += noGrad(() => logits.argmax(1).eq(y).sum().item());
      history.stepLoss.push(l);
      const now = io.now();
      const sofar = (now - t0) / 1000;
      const drawBar = io.tty && (now - lastDraw > 100 || i === stepsPerEpoch);
      const logLine = !io.tty && logEvery > 0 && i % logEvery === 0 && i < stepsPerEpoch;
      if (!drawBar && !logLine) continue;
      const rate = `${(i / sofar).toFixed(1)} steps/s`;
      const left = clock(eta(total - step, cfg.epochs - epoch + 1, sofar, i));
      const mean = (lossSum / seen).toFixed(4);
      if (drawBar) {
        lastDraw = now;
        const head = `${epochLabel(epoch)} `;
        const tail = ` ${i}/${stepsPerEpoch} · ${rate} · loss ${mean} · ETA ${left}`;
        const room = Math.max(10, Math.min(40, io.columns - head.length - tail.length - 1));
        io.status(head + style.cyan(bar(i / stepsPerEpoch, room)) + tail);
      } else io.out(`  ${epochLabel(epoch)}  step ${i}/${stepsPerEpoch}  loss ${mean}  ${rate}  ETA ${left}`);
    }
    const t1 = io.now();
    trainSeconds += (t1 - t0) / 1000;
    trainSteps += i;
    scheduler.step();
    const test = evaluate(model, data.test.images, data.test.labels);
    const t2 = io.now();
    evalSeconds += (t2 - t1) / 1000;
    evals++;
    const elapsed = prior + trainSeconds + evalSeconds;
    const rec: EpochRecord = {
      epoch,
      trainLoss: lossSum / seen,
      trainAcc: correct / seen,
      testLoss: test.loss,
      testAcc: test.acc,
      lr,
      elapsed,
    };
    history.epochs.push(rec);
    if (io.tty) io.status('');
    io.out(
      `${epochLabel(epoch)}  loss ${rec.trainLoss.toFixed(4)}  train ${pct(rec.trainAcc)}  ` +
        `test ${style.bold(pct(rec.testAcc))} (loss ${rec.testLoss.toFixed(4)})  ${secs((t1 - t0) / 1000)}, ` +
        `${(i / ((t1 - t0) / 1000)).toFixed(1)} steps/s` +
        (epoch < cfg.epochs ? `  ETA ${clock(eta(total - step, cfg.epochs - epoch))}` : ''),
    );
    if (paths.checkpoint)
      saveCheckpoint(paths.checkpoint, {
        model,
        optimizer,
        scheduler,
        step,
        epoch,
        extra: { config: cfg, loader: loader.stateDict(), history },
      });
    if (paths.curves) writeCurves(paths.curves, history, cfg);
  }

  const last = history.epochs.at(-1);
  if (!last) {
    io.out('nothing trained');
    return { config: cfg, history, model };
  }
  if (done >= cfg.epochs) {
    io.out(`the checkpoint has already trained ${epochs(done)}; ask for more with --epochs N (N > ${done})`);
    if (paths.curves) writeCurves(paths.curves, history, cfg);
  }
  const best = history.epochs.reduce((a, b) => (b.testAcc > a.testAcc ? b : a));
  const correctN = Math.round(last.testAcc * nTest);
  io.out(
    `${style.bold('done')}  test accuracy ${style.bold(pct(last.testAcc))} (${count(correctN)}/${count(nTest)}) after ` +
      `${epochs(last.epoch)}, ${secs(last.elapsed)}` +
      (best.epoch !== last.epoch ? ` · best ${pct(best.testAcc)} at epoch ${best.epoch}` : ''),
  );
  if (paths.curves) io.out(`  ${style.dim('curves'.padEnd(10))}  ${paths.curves}`);
  if (paths.checkpoint) io.out(`  ${style.dim('checkpoint'.padEnd(10))}  ${paths.checkpoint}`);
  return { config: cfg, history, model };
}

function writeCurves(path: string, history: History, cfg: TrainConfig): void {
  const svg = curvesSvg(history, {
    title: `adjoint train — ${cfg.model} on ${cfg.dataset}`,
    subtitle:
      `${cfg.optimizer} lr ${cfg.lr} · batch ${cfg.batchSize} · seed ${cfg.seed}` +
      (cfg.limit !== null ? ` · first ${cfg.limit} images` : ''),
  });
  writeFileAtomic('train', path, new TextEncoder().encode(svg));
}

/**
 * `adjoint train ARGS`: parses, resolves the config (from the checkpoint on --resume), runs. Returns the exit
 * status; throws UsageError for bad usage (the caller prints it and exits 2).
 */
export function trainCommand(argv: readonly string[], io: TrainIO): number {
  const a = parseTrainArgs(argv);
  if (a.help) {
    io.out(TRAIN_HELP);
    return 0;
  }
  if (a.resume && !a.checkpoint)
    throw new UsageError('train: --resume needs --checkpoint PATH, the checkpoint to continue from');
  if (a.curves && a['no-curves']) throw new UsageError('train: give --curves PATH or --no-curves, not both');
  const given = explicitConfig(a);
  chooseBackend(a.backend);
  try {
    let cfg: TrainConfig;
    if (a.resume) {
      const path = a.checkpoint as string;
      if (!nodeFs('train').existsSync(path))
        throw new UsageError(`train: --resume: there is no checkpoint at ${path}; run without --resume to start one`);
      cfg = resumeConfig(readCheckpointConfig(path).config, given, path);
    } else cfg = resolveConfig(given);
    const paths: TrainPaths = {
      checkpoint: a.checkpoint ?? null,
      resume: a.resume ?? false,
      curves: a['no-curves'] ? null : (a.curves ?? `${cfg.model}-${cfg.dataset}-curves.svg`),
      dataDir: a['data-dir'] ?? FASHION_MNIST_ROOT,
    };
    runTrain(cfg, paths, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || !(e instanceof AdjointError)) throw e;
    if (io.tty) io.status('');
    io.out(`adjoint: ${e.message}`);
    return 1;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The curves as SVG

export interface CurvesLabels {
  title: string;
  subtitle?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Tick values at a 1-2-5 step, about `target` of them, from the last one ≤ lo to the first one ≥ hi. */
export function niceTicks(lo: number, hi: number, target = 5, integer = false): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  for (let k = first; k <= last; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

/** Means of consecutive buckets, so at most `max` points remain (a per-step loss line stays readable and small). */
function bucketed(xs: readonly number[], max: number): { x: number; y: number }[] {
  const size = Math.max(1, Math.ceil(xs.length / max));
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < xs.length; i += size) {
    const part = xs.slice(i, i + size);
    out.push({ x: i + part.length, y: part.reduce((a, b) => a + b, 0) / part.length });
  }
  return out;
}

const TRAIN = '#1f63b4';
const TEST = '#e8710a';
const STEPS = '#9ec3ea';

/**
 * The loss and accuracy curves as a standalone SVG: two panels (loss; accuracy in %) over epochs, train in blue and
 * test in orange, each epoch a dot, the per-step training loss as a thin pale line, ticks, grid lines and a legend.
 */
export function curvesSvg(history: History, labels: CurvesLabels): string {
  const W = 960;
  const H = 456;
  const top = 100;
  const ph = 280;
  const pw = 370;
  const lefts = [80, 560];
  const E = Math.max(1, history.epochs.at(-1)?.epoch ?? 1);
  const spe = Math.max(1, history.stepsPerEpoch);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="32" text-anchor="middle" font-size="20" font-weight="bold">${esc(labels.title)}</text>`,
  );
  const last = history.epochs.at(-1);
  const sub = [labels.subtitle, last ? `test accuracy ${pct(last.testAcc)} after ${epochs(last.epoch)}` : undefined]
    .filter(Boolean)
    .join(' · ');
  if (sub) out.push(`<text x="${W / 2}" y="56" text-anchor="middle" fill="#444">${esc(sub)}</text>`);

  const steps = bucketed(history.stepLoss, 600).map((p) => ({ x: p.x / spe, y: p.y }));
  const ep = history.epochs;
  const lossMax = Math.max(1e-6, ...steps.map((p) => p.y), ...ep.map((e) => Math.max(e.trainLoss, e.testLoss)));
  const accs = ep.flatMap((e) => [e.trainAcc, e.testAcc]);
  const accLo = Math.min(0.9, Math.floor(Math.min(1, ...accs) * 10) / 10);

  type Series = { name: string; color: string; points: { x: number; y: number }[]; dots: boolean; width: number };
  const panel = (
    left: number,
    name: string,
    yLo: number,
    yHi: number,
    yFmt: (v: number) => string,
    series: Series[],
    legendAt: 'top' | 'bottom',
  ) => {
    const xs = (x: number) => left + (x / E) * pw;
    const ys = (y: number) => top + ph - ((y - yLo) / (yHi - yLo)) * ph;
    const yt = niceTicks(yLo, yHi, 5).filter((v) => v >= yLo - 1e-9 && v <= yHi + 1e-9);
    const xt = niceTicks(0, E, Math.min(E, 8), true).filter((v) => v <= E);
    out.push(`<g>`);
    for (const v of yt)
      out.push(
        `<line x1="${left}" y1="${f1(ys(v))}" x2="${left + pw}" y2="${f1(ys(v))}" stroke="#e3e3e3"/>`,
        `<text x="${left - 8}" y="${f1(ys(v) + 4)}" text-anchor="end">${esc(yFmt(v))}</text>`,
      );
    for (const v of xt)
      out.push(
        `<line x1="${f1(xs(v))}" y1="${top + ph}" x2="${f1(xs(v))}" y2="${top + ph + 5}" stroke="#333"/>`,
        `<text x="${f1(xs(v))}" y="${top + ph + 20}" text-anchor="middle">${v}</text>`,
      );
    out.push(
      `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + ph}" stroke="#333"/>`,
      `<line x1="${left}" y1="${top + ph}" x2="${left + pw}" y2="${top + ph}" stroke="#333"/>`,
      `<text x="${left + pw / 2}" y="${top + ph + 42}" text-anchor="middle" font-size="14">epoch</text>`,
      `<text x="${left + pw / 2}" y="${top - 12}" text-anchor="middle" font-size="15" font-weight="bold">${esc(name)}</text>`,
    );
    for (const s of series) {
      if (!s.points.length) continue;
      const pts = s.points.map((p) => `${f1(xs(p.x))},${f1(ys(p.y))}`).join(' ');
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.width}" points="${pts}"/>`);
      if (s.dots)
        for (const p of s.points)
          out.push(`<circle cx="${f1(xs(p.x))}" cy="${f1(ys(p.y))}" r="3.5" fill="${s.color}"/>`);
    }
    const shown = series.filter((s) => s.points.length);
    const lw = 164;
    const lh = 20 * shown.length + 10;
    const lx = left + pw - lw - 8;
    const ly = legendAt === 'top' ? top + 8 : top + ph - lh - 8;
    out.push(
      `<rect x="${lx}" y="${ly}" width="${lw}" height="${lh}" fill="#ffffff" fill-opacity="0.9" stroke="#bbb"/>`,
    );
    shown.forEach((s, i) => {
      const y = ly + 17 + 20 * i;
      out.push(
        `<line x1="${lx + 10}" y1="${y - 4}" x2="${lx + 36}" y2="${y - 4}" stroke="${s.color}" stroke-width="${Math.max(2, s.width)}"/>`,
        `<text x="${lx + 44}" y="${y}">${esc(s.name)}</text>`,
      );
    });
    out.push(`</g>`);
  };

  const at = (get: (e: EpochRecord) => number) => ep.map((e) => ({ x: e.epoch, y: get(e) }));
  const lossTicks = niceTicks(0, lossMax, 5);
  panel(
    lefts[0],
    'cross-entropy loss',
    0,
    lossTicks.at(-1) ?? lossMax,
    (v) => String(v),
    [
      { name: 'train, per step', color: STEPS, points: steps, dots: false, width: 1.2 },
      { name: 'train, epoch mean', color: TRAIN, points: at((e) => e.trainLoss), dots: true, width: 2.5 },
      { name: 'test', color: TEST, points: at((e) => e.testLoss), dots: true, width: 2.5 },
    ],
    'top',
  );
  panel(
    lefts[1],
    'accuracy',
    accLo,
    1,
    (v) => `${Math.round(v * 100)}%`,
    [
      { name: 'train', color: TRAIN, points: at((e) => e.trainAcc), dots: true, width: 2.5 },
      { name: 'test', color: TEST, points: at((e) => e.testAcc), dots: true, width: 2.5 },
    ],
    'bottom',
  );
  out.push('</svg>', '');
  return out.join('\n');
}

/** The IO of a real run: stdout, a progress bar when it is a terminal, colour as the other commands decide it. */
export function terminalIO(style: Style): TrainIO {
  const stdout = process.stdout;
  return {
    out: (s) => stdout.write(`${s}\n`),
    tty: stdout.isTTY === true,
    // Carriage return and erase-line: the bar redraws in place; '' clears it before an epoch's line.
    status: (s) => stdout.write(`\r\x1b[2K${s}`),
    columns: stdout.columns ?? 80,
    style,
    now: () => performance.now(),
  };
}
