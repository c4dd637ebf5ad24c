/**
 * @file torch.utils.data.DataLoader: batches of a dataset, in order or shuffled, the last short batch kept or
 * dropped. Shuffling with a seed (or a Generator) uses the loader's own generator, so it neither reads nor moves
 * the global stream and each epoch's order follows from the seed alone; without one, each epoch draws its seed from
 * the global generator, so manualSeed makes it reproducible (PyTorch does the same).
 */
import { noGrad } from '../autograd/mode.js';
import {
  type Arg,
  any,
  array,
  bool,
  checked,
  checkMethods,
  custom,
  fn,
  instance,
  int,
  isPlainObject,
  nullable,
  optional,
  record,
  sig,
} from '../core/args.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { randomInt } from '../core/rng.js';
import { tensor } from '../ops/creation.js';
import { stack } from '../ops/join.js';
import { Tensor } from '../tensor/tensor.js';
import type { Collated, DatasetLike } from './dataset.js';
import { Generator } from './generator.js';

export interface DataLoaderOptions<T, B> {
  dataset?: DatasetLike<T>;
  /** Items per batch (default 1). */
  batchSize?: number;
  /** A new random order every epoch (default false: dataset order). */
  shuffle?: boolean | null;
  /** Drop the last batch when it is short (default false). */
  dropLast?: boolean;
  /** Seeds the loader's own shuffling generator (adjoint's shorthand for torch's `generator=Generator(seed)`). */
  seed?: number;
  /** Or pass the generator itself. */
  generator?: Generator | null;
  /** Builds a batch from a list of items (default: defaultCollate). */
  collateFn?: ((items: T[]) => B) | null;
  /** PyTorch's parameters for what adjoint's loader does not do; only their "off" values are accepted. */
  sampler?: null;
  batchSampler?: null;
  numWorkers?: 0;
  pinMemory?: false;
  timeout?: 0;
  workerInitFn?: null;
  multiprocessingContext?: null;
}

/** A parameter of PyTorch's DataLoader that adjoint's does not support: only its default is accepted. */
function only<V>(value: V, why: string): Arg<V | undefined> {
  return optional(custom<V>(`${JSON.stringify(value)} (${why})`, (v) => v === value, 'custom', value));
}

/** Any object with an integer length and a getItem(i) method (an object literal too, so it is never an options object). */
const DATASET: Arg<DatasetLike<unknown>> = {
  ...custom<DatasetLike<unknown>>(
    'a dataset (an object with an integer length and a getItem(i) method)',
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as DatasetLike<unknown>).getItem === 'function' &&
      Number.isSafeInteger((v as DatasetLike<unknown>).length) &&
      (v as DatasetLike<unknown>).length >= 0,
  ),
  objects: true,
};

/**
 * torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
 * num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
 * multiprocessing_context=None, generator=None, *, ...), and adjoint's `seed`: `new DataLoader(ds, 32, true)` or
 * `new DataLoader(ds, {batchSize: 32, shuffle: true})`.
 */
const DATA_LOADER = sig('DataLoader', {
  args: {
    dataset: DATASET,
    batchSize: optional(int({ min: 1 })),
    shuffle: optional(nullable(bool)),
    sampler: only(null, 'adjoint has no samplers: use shuffle, a generator, or a dataset in the order you want'),
    batchSampler: only(null, 'adjoint has no batch samplers: use batchSize and dropLast'),
    numWorkers: only(0, 'adjoint loads batches in the calling thread'),
    collateFn: optional(nullable(fn)),
    pinMemory: only(false, 'adjoint has no pinned memory'),
    dropLast: optional(bool),
    timeout: only(0, 'there are no worker processes to wait for'),
    workerInitFn: only(null, 'there are no worker processes'),
    multiprocessingContext: only(null, 'there are no worker processes'),
    generator: optional(nullable(instance(Generator, 'a data.Generator'))),
  },
  options: { seed: optional(int()) },
});

/** One of DataLoader's options objects. */
type Opts<T, B> = DataLoaderOptions<T, B>;

export class DataLoader<T, B = Collated<T>> implements Iterable<B> {
  readonly dataset: DatasetLike<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** The shuffling generator when a seed or generator was given, else null (each epoch seeds from the global one). */
  readonly generator: Generator | null;
  private readonly collateFn: ((items: T[]) => B) | null;

  constructor(dataset: DatasetLike<T> | Opts<T, B>, opts?: Opts<T, B>);
  constructor(dataset: DatasetLike<T>, batchSize: number | Opts<T, B>, opts?: Opts<T, B>);
  constructor(dataset: DatasetLike<T>, batchSize: number, shuffle: boolean | null | Opts<T, B>, opts?: Opts<T, B>);
  constructor(
    dataset: DatasetLike<T>,
    batchSize?: number,
    shuffle?: boolean | null,
    sampler?: null,
    batchSampler?: null,
    numWorkers?: 0,
    collateFn?: ((items: T[]) => B) | null,
    pinMemory?: false,
    dropLast?: boolean,
    timeout?: 0,
    workerInitFn?: null,
    multiprocessingContext?: null,
    generator?: Generator | null,
    opts?: Opts<T, B>,
  );
  constructor(...args: unknown[]) {
    // A lone object literal with no getItem is the options (`{dataset, batchSize}`), not a dataset.
    const first = args[0] as { getItem?: unknown } | undefined;
    const byName = args.length === 1 && isPlainObject(first) && typeof first.getItem !== 'function';
    const a = DATA_LOADER.bind(byName ? [undefined, first] : args);
    if (a.seed !== undefined && a.generator) throw new ValueError('DataLoader: pass a seed or a generator, not both');
    this.dataset = a.dataset as DatasetLike<T>;
    this.batchSize = a.batchSize ?? 1;
    this.shuffle = a.shuffle ?? false;
    this.dropLast = a.dropLast ?? false;
    this.generator = a.generator ?? (a.seed !== undefined ? new Generator(a.seed) : null);
    this.collateFn = (a.collateFn as ((items: T[]) => B) | null | undefined) ?? null;
  }

  /** Batches per epoch (len(loader)). */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The item order of the next epoch; draws from the generator when shuffling. */
  private _order(): number[] {
    const n = this.dataset.length;
    if (!this.shuffle) return Array.from({ length: n }, (_, i) => i);
    return (this.generator ?? new Generator(randomInt(0, 2 ** 31))).randperm(n);
  }

  /** One epoch. The order is drawn when iteration starts, so each `for (const b of loader)` is a new epoch. */
  [Symbol.iterator](): Iterator<B> {
    const order = this._order();
    const count = this.length;
    const fetch = (idx: number[]): B => {
      if (this.collateFn) return this.collateFn(idx.map((i) => this.dataset.getItem(i)));
      if (this.dataset.getBatch) return this.dataset.getBatch(idx) as B;
      return defaultCollate(idx.map((i) => this.dataset.getItem(i))) as B;
    };
    let b = 0;
    return {
      next: (): IteratorResult<B> => {
        if (b >= count) return { done: true, value: undefined };
        const idx = order.slice(b * this.batchSize, (b + 1) * this.batchSize);
        b++;
        return { done: false, value: fetch(idx) };
      },
      [Symbol.iterator]() {
        return this;
      },
    } as Iterator<B>;
  }

  /** The shuffling generator's state, to resume with the same epoch orders (empty without a seed or generator). */
  stateDict(): { generator: number[] | null } {
    return { generator: this.generator ? this.generator.getState() : null };
  }
  loadStateDict(stateDict: { generator: number[] | null }): void {
    const state = stateDict;
    if (!this.generator || !state?.generator) {
      if (this.generator || state?.generator)
        throw new ValueError(
          'DataLoader.loadStateDict: the state and this loader disagree on having a seeded generator; create the ' +
            'loader with the same {seed} it was saved with',
        );
      return;
    }
    this.generator.setState(state.generator);
  }
}

/**
 * torch's default_collate: tensors stacked along a new dim 0, numbers to a 1-D tensor (int32 when all are whole,
 * else float32, our defaults, where PyTorch gives int64 / float64), booleans to bool, arrays and plain objects
 * collated per position / key, strings kept as a list.
 */
export const defaultCollate = checked(
  'defaultCollate',
  // The items are collated by kind, position by position; defaultCollate itself says what it cannot collate.
  { args: { batch: array(any, 'an array of items (tensors, numbers, booleans, strings, arrays or objects)') } },
  function defaultCollate<T>(items: T[]): Collated<T> {
    if (!items.length) throw new ValueError('defaultCollate: cannot collate an empty batch');
    const first = items[0] as unknown;
    if (first instanceof Tensor) {
      const ts = items as unknown as Tensor[];
      ts.forEach((t, i) => {
        if (
          !(t instanceof Tensor) ||
          t.shape.length !== first.shape.length ||
          t.shape.some((d, j) => d !== first.shape[j])
        )
          throw new ShapeError(
            `defaultCollate: every item must have the same shape to stack into a batch, but item 0 has ` +
              `${fmtShape(first.shape)} and item ${i} has ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}; pad the ` +
              'items or pass a collateFn',
          );
      });
      return noGrad(() => stack(ts, 0)) as Collated<T>;
    }
    if (typeof first === 'number') {
      const xs = items as unknown as number[];
      return tensor(xs, { dtype: xs.every(Number.isInteger) ? 'int32' : 'float32' }) as Collated<T>;
    }
    if (typeof first === 'boolean') return tensor(items as unknown as boolean[], { dtype: 'bool' }) as Collated<T>;
    if (typeof first === 'string') return items.slice() as Collated<T>;
    if (Array.isArray(first)) {
      const rows = items as unknown as unknown[][];
      if (rows.some((r) => !Array.isArray(r) || r.length !== first.length))
        throw new ShapeError('defaultCollate: every item must be an array of the same length');
      return first.map((_, j) => defaultCollate(rows.map((r) => r[j]))) as Collated<T>;
    }
    if (first && typeof first === 'object') {
      const objs = items as unknown as Record<string, unknown>[];
      return Object.fromEntries(
        Object.keys(first).map((k) => [k, defaultCollate(objs.map((o) => o[k]))]),
      ) as Collated<T>;
    }
    throw new ValueError(`defaultCollate: cannot collate items of type ${typeof first}; pass a collateFn`);
  },
);

DATA_LOADER.describes(DataLoader);
checkMethods(DataLoader, {
  stateDict: {},
  loadStateDict: { args: { stateDict: record(any, 'the object stateDict() returns ({generator})') } },
});
