/**
 * @file Learning-rate schedulers (torch.optim.lr_scheduler, 1.13): StepLR, MultiStepLR, ExponentialLR,
 * CosineAnnealingLR, LinearLR and OneCycleLR. Each computes the next lr from the group's current one (PyTorch's
 * "chainable" recursive form, which is what scheduler.step() runs, with its operations in PyTorch's order), so two
 * schedulers on one optimizer compose, and a run resumed from state dicts repeats the uninterrupted one exactly.
 *
 * Usage, as in PyTorch: construct the scheduler after the optimizer (construction already applies step 0's lr), then
 * per epoch or per batch `opt.step(); sched.step()`. stateDict() uses PyTorch's keys (`base_lrs`, `last_epoch`,
 * `_step_count`, `_last_lr` and the scheduler's own settings, such as `step_size`, `T_max`, `eta_min`); to resume,
 * construct the optimizer and scheduler as before, then load both state dicts.
 *
 * Constructors take PyTorch 1.13's parameters in its order, positionally or by name (`new StepLR(opt, 30, 0.1)`,
 * `new ExponentialLR(opt, {gamma: 0.9})`); each setting has one type, checked at construction and again when a state
 * dict is loaded. A step writes the groups through the optimizer's own checks, all groups or none, so a schedule
 * that runs out of range (an lr that overflows to Infinity) is a typed error and never reaches a parameter.
 */
import {
  type Arg,
  any,
  array,
  bool,
  checkMethods,
  custom,
  describe,
  instance,
  int,
  nullable,
  number,
  oneOf,
  optional,
  record,
  sig,
  union,
} from '../core/args.js';
import { ArgumentError, ValueError } from '../core/errors.js';
import { NON_NEGATIVE, Optimizer, toCamel, toSnake } from './optimizer.js';

/** A scheduler's state dict: PyTorch's keys. */
export interface SchedulerStateDict {
  base_lrs: number[];
  last_epoch: number;
  _step_count: number;
  _last_lr: number[];
  [key: string]: unknown;
}

type AnyOptimizer = Optimizer<any>;
type Group = Record<string, unknown> & { lr: number };

const OPTIMIZER = instance(Optimizer, 'an optimizer (ad.optim.SGD, Adam, …)');
const LAST_EPOCH = int({ min: -1 });
/** PyTorch's verbose prints each new lr; adjoint's schedulers do not print, so only false is accepted. */
const VERBOSE = custom<false>(
  "false (adjoint's schedulers do not print; log getLastLr() after each step)",
  (v) => v === false,
  'custom',
  false,
);
/** A factor applied to the lr: 0 is allowed (it stops training), a negative or non-finite one is not. */
const GAMMA = NON_NEGATIVE;
/** The lrs a state dict records (what groups held; see the optimizer's resting rule). */
const LRS = array(number(), 'an array of numbers');
const STEP_COUNT = int({ min: 0 });

/** One of a scheduler's settings: its field, its key in the state dict, and its type (both places check it). */
interface Setting {
  readonly field: string;
  readonly key: string;
  readonly type: Arg;
}

/** torch.optim.lr_scheduler._LRScheduler(optimizer, ...): subclasses declare the rest. */
const LR_SCHEDULER = sig('LRScheduler', { args: { optimizer: OPTIMIZER } });

/**
 * The base class (torch's _LRScheduler). A subclass sets its own fields after super(optimizer), then calls
 * this.init(lastEpoch), which records each group's initialLr and runs step 0.
 */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Each group's lr when scheduling began (its initialLr). */
  baseLrs: number[] = [];
  /** The index of the last step taken: 0 after construction. */
  lastEpoch = -1;
  /** @internal steps taken, construction's included (torch's _step_count). */
  _stepCount = 0;
  /** @internal */ _lastLr: number[] = [];

  constructor(optimizer: AnyOptimizer);
  constructor(...args: unknown[]) {
    this.optimizer = LR_SCHEDULER.bind(args).optimizer;
  }

  protected get groups(): Group[] {
    return this.optimizer.paramGroups as Group[];
  }

  /** The settings stateDict saves and loadStateDict checks and restores, beyond the base's. */
  protected settings(): readonly Setting[] {
    return [];
  }

  /**
   * Records each group's initialLr (on a fresh start) and runs step 0. prepare, if given, first sets what the
   * scheduler adds to the groups (OneCycleLR's maxLr, …). If anything throws, every group is put back as it was.
   */
  protected init(lastEpoch: number, prepare?: () => void): void {
    const name = this.constructor.name;
    const saved = this.groups.map((g) => ({ ...g }));
    try {
      prepare?.();
      this.groups.forEach((g, i) => {
        if (lastEpoch === -1) g.initialLr ??= g.lr;
        else if (typeof g.initialLr !== 'number')
          throw new ValueError(
            `${name}: resuming at lastEpoch ${lastEpoch} needs paramGroups[${i}].initialLr, which a scheduler sets ` +
              'on construction; load the optimizer state dict of the interrupted run first',
          );
      });
      this.baseLrs = this.groups.map((g) => g.initialLr as number);
      this.lastEpoch = lastEpoch;
      this._stepCount = 0;
      this.step();
    } catch (e) {
      this.groups.forEach((g, i) => {
        for (const k of Object.keys(g)) if (!Object.hasOwn(saved[i], k)) delete g[k];
      });
      this.optimizer._setGroupOptions(saved, name, '', false);
      throw e;
    }
  }

  /** The lrs for step lastEpoch (already advanced), from the groups' current lrs. */
  protected abstract getLr(): number[];

  /** What a step sets on each group: its lr, and for some schedulers its momentum. */
  protected updates(): Record<string, unknown>[] {
    return this.getLr().map((lr) => ({ lr }));
  }

  /** Advances one step and sets every group's lr: all groups or, if any value is out of range, none. */
  step(): void {
    this._stepCount++;
    this.lastEpoch++;
    const name = this.constructor.name;
    try {
      this.optimizer._setGroupOptions(
        this.updates(),
        `${name}.step`,
        `; that is what ${name} computes for step ${this.lastEpoch}: check its settings`,
      );
    } catch (e) {
      // A refused step (OneCycleLR past its end, an lr out of range) leaves the scheduler where it was.
      this._stepCount--;
      this.lastEpoch--;
      throw e;
    }
    this._lastLr = this.groups.map((g) => g.lr);
  }

  /** The lr of each group set by the last step. */
  getLastLr(): number[] {
    return this._lastLr.slice();
  }

  /** The scheduler's own settings in the state dict, by PyTorch's key. */
  protected ownState(): Record<string, unknown> {
    const self = this as unknown as Record<string, unknown>;
    return Object.fromEntries(this.settings().map((s) => [s.key, self[s.field]]));
  }

  /**
   * Checks the own settings of a state dict (throwing before anything changes) and returns a function that sets
   * them; a key the dict lacks keeps the current value.
   */
  protected loadOwnState(sd: Record<string, unknown>): () => void {
    const name = `${this.constructor.name}.loadStateDict`;
    const values: [string, unknown][] = [];
    for (const s of this.settings()) {
      const v = sd[s.key];
      if (v === undefined) continue;
      if (!s.type.ok(v)) throw new ArgumentError(`${name}: ${s.key} must be ${s.type.what}, got ${describe(v)}`);
      values.push([s.field, v]);
    }
    return () => {
      for (const [f, v] of values) (this as unknown as Record<string, unknown>)[f] = v;
    };
  }

  stateDict(): SchedulerStateDict {
    return {
      base_lrs: this.baseLrs.slice(),
      last_epoch: this.lastEpoch,
      _step_count: this._stepCount,
      _last_lr: this._lastLr.slice(),
      ...structuredClone(this.ownState()),
    };
  }

  /** Restores stateDict()'s values (PyTorch's too: keys it does not use, such as `verbose`, are ignored). */
  loadStateDict(stateDict: SchedulerStateDict): void {
    const sd = stateDict;
    const name = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw new ValueError(`${name}: expected the object stateDict() returns`);
    const n = this.groups.length;
    if (!LRS.ok(sd.base_lrs) || sd.base_lrs.length !== n)
      throw new ArgumentError(
        `${name}: base_lrs must be ${n} number(s), one per parameter group, got ${describe(sd.base_lrs)}`,
      );
    if (!LAST_EPOCH.ok(sd.last_epoch))
      throw new ArgumentError(`${name}: last_epoch must be ${LAST_EPOCH.what}, got ${describe(sd.last_epoch)}`);
    if (!STEP_COUNT.ok(sd._step_count))
      throw new ArgumentError(`${name}: _step_count must be ${STEP_COUNT.what}, got ${describe(sd._step_count)}`);
    if (sd._last_lr !== undefined && (!LRS.ok(sd._last_lr) || sd._last_lr.length !== n))
      throw new ArgumentError(`${name}: _last_lr must be ${n} number(s), got ${describe(sd._last_lr)}`);
    const own = this.loadOwnState(structuredClone(sd));
    this.baseLrs = sd.base_lrs.slice();
    this.lastEpoch = sd.last_epoch;
    this._stepCount = sd._step_count;
    if (sd._last_lr) this._lastLr = sd._last_lr.slice();
    own();
  }
}

LR_SCHEDULER.describes(LRScheduler);

const METHODS = {
  step: {
    hint: "PyTorch's step(epoch) is deprecated there and not supported here; call step() once per epoch (or batch)",
  },
  getLastLr: {},
  stateDict: {},
  loadStateDict: { args: { stateDict: record(any, 'a state dict, as stateDict() returns') } },
};

/** Declares the methods of a scheduler class, named as users call them ('StepLR.step'). */
function checkScheduler(cls: { prototype: object; name: string }): void {
  checkMethods(cls, METHODS);
}
checkScheduler(LRScheduler);

const STEP_SIZE = int({ min: 1 });

export interface StepLROptions {
  stepSize?: number;
  gamma?: number;
  lastEpoch?: number;
  verbose?: false;
}

/** torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1, verbose=False). */
const STEP_LR = sig('StepLR', {
  args: {
    optimizer: OPTIMIZER,
    stepSize: STEP_SIZE,
    gamma: optional(GAMMA),
    lastEpoch: optional(LAST_EPOCH),
    verbose: optional(VERBOSE),
  },
});
const STEP_LR_SETTINGS: Setting[] = [
  { field: 'stepSize', key: 'step_size', type: STEP_SIZE },
  { field: 'gamma', key: 'gamma', type: GAMMA },
];

/** Multiplies the lr by gamma every stepSize steps: `new StepLR(opt, 30, 0.1)`. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(
    optimizer: AnyOptimizer,
    stepSize: number | StepLROptions,
    gamma?: number | StepLROptions,
    lastEpoch?: number | StepLROptions,
    verbose?: false | StepLROptions,
    opts?: StepLROptions,
  );
  constructor(...args: unknown[]) {
    const a = STEP_LR.bind(args);
    super(a.optimizer);
    this.stepSize = a.stepSize;
    this.gamma = a.gamma ?? 0.1;
    this.init(a.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override settings() {
    return STEP_LR_SETTINGS;
  }
}

const MILESTONES = array(int({ min: 0 }), 'an array of whole numbers ≥ 0 (the steps at which to decay)');

export interface MultiStepLROptions {
  milestones?: number[];
  gamma?: number;
  lastEpoch?: number;
  verbose?: false;
}

/** torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1, verbose=False). */
const MULTI_STEP_LR = sig('MultiStepLR', {
  args: {
    optimizer: OPTIMIZER,
    milestones: MILESTONES,
    gamma: optional(GAMMA),
    lastEpoch: optional(LAST_EPOCH),
    verbose: optional(VERBOSE),
  },
});
const MULTI_STEP_LR_SETTINGS: Setting[] = [{ field: 'gamma', key: 'gamma', type: GAMMA }];

/** Multiplies the lr by gamma at each milestone (a milestone listed twice multiplies by gamma²). */
export class MultiStepLR extends LRScheduler {
  /** Milestone → how many times it is listed (torch's Counter). */
  milestones: Map<number, number>;
  gamma: number;
  constructor(
    optimizer: AnyOptimizer,
    milestones: number[] | MultiStepLROptions,
    gamma?: number | MultiStepLROptions,
    lastEpoch?: number | MultiStepLROptions,
    verbose?: false | MultiStepLROptions,
    opts?: MultiStepLROptions,
  );
  constructor(...args: unknown[]) {
    const a = MULTI_STEP_LR.bind(args);
    super(a.optimizer);
    this.milestones = new Map();
    for (const m of a.milestones) this.milestones.set(m, (this.milestones.get(m) ?? 0) + 1);
    this.gamma = a.gamma ?? 0.1;
    this.init(a.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    const count = this.milestones.get(this.lastEpoch);
    if (count === undefined) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** count);
  }
  protected override settings() {
    return MULTI_STEP_LR_SETTINGS;
  }
  protected override ownState() {
    return { milestones: Object.fromEntries(this.milestones), ...super.ownState() };
  }
  protected override loadOwnState(sd: Record<string, unknown>) {
    const rest = super.loadOwnState(sd);
    let milestones = this.milestones;
    if (sd.milestones !== undefined) {
      const m = sd.milestones;
      const whole = int({ min: 0 });
      if (!record(int({ min: 1 })).ok(m) || !Object.keys(m as object).every((k) => whole.ok(Number(k))))
        throw new ArgumentError(
          `MultiStepLR.loadStateDict: milestones must map each milestone (a whole number ≥ 0) to its count ` +
            `(a whole number ≥ 1), got ${describe(m)}`,
        );
      milestones = new Map(Object.entries(m as Record<string, number>).map(([k, c]) => [Number(k), c]));
    }
    return () => {
      rest();
      this.milestones = milestones;
    };
  }
}

export interface ExponentialLROptions {
  gamma?: number;
  lastEpoch?: number;
  verbose?: false;
}

/** torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma, last_epoch=-1, verbose=False). */
const EXPONENTIAL_LR = sig('ExponentialLR', {
  args: { optimizer: OPTIMIZER, gamma: GAMMA, lastEpoch: optional(LAST_EPOCH), verbose: optional(VERBOSE) },
});
const EXPONENTIAL_LR_SETTINGS: Setting[] = [{ field: 'gamma', key: 'gamma', type: GAMMA }];

/** Multiplies the lr by gamma every step: `new ExponentialLR(opt, 0.9)` or `new ExponentialLR(opt, {gamma: 0.9})`. */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  constructor(
    optimizer: AnyOptimizer,
    gamma: number | ExponentialLROptions,
    lastEpoch?: number | ExponentialLROptions,
    verbose?: false | ExponentialLROptions,
    opts?: ExponentialLROptions,
  );
  constructor(...args: unknown[]) {
    const a = EXPONENTIAL_LR.bind(args);
    super(a.optimizer);
    this.gamma = a.gamma;
    this.init(a.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override settings() {
    return EXPONENTIAL_LR_SETTINGS;
  }
}

const T_MAX = int({ min: 1 });

export interface CosineAnnealingLROptions {
  tMax?: number;
  etaMin?: number;
  lastEpoch?: number;
  verbose?: false;
}

/** torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min=0, last_epoch=-1, verbose=False). */
const COSINE_ANNEALING_LR = sig('CosineAnnealingLR', {
  args: {
    optimizer: OPTIMIZER,
    tMax: T_MAX,
    etaMin: optional(NON_NEGATIVE),
    lastEpoch: optional(LAST_EPOCH),
    verbose: optional(VERBOSE),
  },
  // PyTorch's T_max camelCases to TMax; adjoint's name is tMax.
  renames: { TMax: 'tMax', T_max: 'tMax' },
});
const COSINE_SETTINGS: Setting[] = [
  { field: 'tMax', key: 'T_max', type: T_MAX },
  { field: 'etaMin', key: 'eta_min', type: NON_NEGATIVE },
];

/**
 * Cosine annealing from each group's lr down to etaMin over tMax steps (then back up, periodically, as PyTorch's
 * formula continues): lr_t = etaMin + (lr₀ − etaMin)(1 + cos(πt/tMax))/2, computed recursively from the previous lr
 * as PyTorch does, so it composes with other changes to the lr. `new CosineAnnealingLR(opt, 100, 0.001)`.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(
    optimizer: AnyOptimizer,
    tMax: number | CosineAnnealingLROptions,
    etaMin?: number | CosineAnnealingLROptions,
    lastEpoch?: number | CosineAnnealingLROptions,
    verbose?: false | CosineAnnealingLROptions,
    opts?: CosineAnnealingLROptions,
  );
  constructor(...args: unknown[]) {
    const a = COSINE_ANNEALING_LR.bind(args);
    super(a.optimizer);
    this.tMax = a.tMax;
    this.etaMin = a.etaMin ?? 0;
    this.init(a.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return this.groups.map((g) => g.lr);
    if (this._stepCount === 1 && e > 0)
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    if ((e - 1 - T) % (2 * T) === 0)
      return this.groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    return this.groups.map(
      (g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin,
    );
  }
  protected override settings() {
    return COSINE_SETTINGS;
  }
}

const START_FACTOR = number({ gt: 0, max: 1 });
const END_FACTOR = number({ min: 0, max: 1 });
const TOTAL_ITERS = int({ min: 0 });

export interface LinearLROptions {
  /** The factor of the lr at step 0 (default 1/3), in (0, 1]. */
  startFactor?: number;
  /** The factor reached at step totalIters and kept after (default 1), in [0, 1]. */
  endFactor?: number;
  /** Steps to go from startFactor to endFactor (default 5). */
  totalIters?: number;
  lastEpoch?: number;
  verbose?: false;
}

/**
 * torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5, last_epoch=-1,
 * verbose=False), with PyTorch's ranges: a start factor of 0 would divide by zero in the recursive form.
 */
const LINEAR_LR = sig('LinearLR', {
  args: {
    optimizer: OPTIMIZER,
    startFactor: optional(START_FACTOR),
    endFactor: optional(END_FACTOR),
    totalIters: optional(TOTAL_ITERS),
    lastEpoch: optional(LAST_EPOCH),
    verbose: optional(VERBOSE),
  },
});
const LINEAR_SETTINGS: Setting[] = [
  { field: 'startFactor', key: 'start_factor', type: START_FACTOR },
  { field: 'endFactor', key: 'end_factor', type: END_FACTOR },
  { field: 'totalIters', key: 'total_iters', type: TOTAL_ITERS },
];

/** Scales the lr linearly from startFactor to endFactor over totalIters steps: the usual warm-up. */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(
    optimizer: AnyOptimizer,
    startFactor?: number | LinearLROptions,
    endFactor?: number | LinearLROptions,
    totalIters?: number | LinearLROptions,
    lastEpoch?: number | LinearLROptions,
    verbose?: false | LinearLROptions,
    opts?: LinearLROptions,
  );
  constructor(...args: unknown[]) {
    const a = LINEAR_LR.bind(args);
    super(a.optimizer);
    this.startFactor = a.startFactor ?? 1 / 3;
    this.endFactor = a.endFactor ?? 1;
    this.totalIters = a.totalIters ?? 5;
    this.init(a.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    if (e === 0) return this.groups.map((g) => g.lr * s);
    if (e > n) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
  protected override settings() {
    return LINEAR_SETTINGS;
  }
}

const ONE_OR_MORE = nullable(int({ min: 1 }));
/** A value for every group, or one per group. */
const PER_GROUP = union(NON_NEGATIVE, array(NON_NEGATIVE, 'an array of such numbers, one per parameter group'));
const ANNEAL = oneOf(['cos', 'linear']);
const TOTAL_STEPS = int({ min: 1 });

export interface OneCycleLROptions {
  /** The peak lr, or one per group. */
  maxLr?: number | number[];
  /** The number of steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number | null;
  epochs?: number | null;
  stepsPerEpoch?: number | null;
  /** The fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD, RMSprop) or beta1 (Adam, AdamW) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** A third phase that anneals to minLr after returning to initialLr (fast.ai's schedule). */
  threePhase?: boolean;
  lastEpoch?: number;
  verbose?: false;
}

/**
 * torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
 * pct_start=0.3, anneal_strategy='cos', cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
 * div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1, verbose=False).
 */
const ONE_CYCLE_LR = sig('OneCycleLR', {
  args: {
    optimizer: OPTIMIZER,
    maxLr: PER_GROUP,
    totalSteps: optional(ONE_OR_MORE),
    epochs: optional(ONE_OR_MORE),
    stepsPerEpoch: optional(ONE_OR_MORE),
    pctStart: optional(number({ min: 0, max: 1 })),
    annealStrategy: optional(ANNEAL),
    cycleMomentum: optional(bool),
    baseMomentum: optional(PER_GROUP),
    maxMomentum: optional(PER_GROUP),
    divFactor: optional(number({ gt: 0 })),
    finalDivFactor: optional(number({ gt: 0 })),
    threePhase: optional(bool),
    lastEpoch: optional(LAST_EPOCH),
    verbose: optional(VERBOSE),
  },
});
const ONE_CYCLE_SETTINGS: Setting[] = [
  { field: 'totalSteps', key: 'total_steps', type: TOTAL_STEPS },
  { field: 'annealStrategy', key: '_anneal_func_type', type: ANNEAL },
  { field: 'cycleMomentum', key: 'cycle_momentum', type: bool },
];

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/** Any OneCycleLR parameter, positionally or in the trailing options. */
type Or<T> = T | OneCycleLROptions;

/**
 * The 1cycle policy: the lr rises from maxLr/divFactor to maxLr over pctStart of the steps, then anneals to
 * initialLr/finalDivFactor, while momentum moves the opposite way between maxMomentum and baseMomentum. It sets
 * initialLr, maxLr, minLr, maxMomentum and baseMomentum on each group, as PyTorch does. Step it once per batch; more
 * than totalSteps steps is an error.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1: boolean;
  schedulePhases: Phase[];

  constructor(
    optimizer: AnyOptimizer,
    maxLr: Or<number | number[]>,
    totalSteps?: Or<number | null>,
    epochs?: Or<number | null>,
    stepsPerEpoch?: Or<number | null>,
    pctStart?: Or<number>,
    annealStrategy?: Or<'cos' | 'linear'>,
    cycleMomentum?: Or<boolean>,
    baseMomentum?: Or<number | number[]>,
    maxMomentum?: Or<number | number[]>,
    divFactor?: Or<number>,
    finalDivFactor?: Or<number>,
    threePhase?: Or<boolean>,
    lastEpoch?: Or<number>,
    verbose?: Or<false>,
    opts?: OneCycleLROptions,
  );
  constructor(...args: unknown[]) {
    const a = ONE_CYCLE_LR.bind(args);
    super(a.optimizer);
    const { epochs, stepsPerEpoch } = a;
    if (a.totalSteps !== undefined && a.totalSteps !== null) this.totalSteps = a.totalSteps;
    else if (epochs != null && stepsPerEpoch != null) this.totalSteps = epochs * stepsPerEpoch;
    else
      throw new ValueError(
        'OneCycleLR: give either totalSteps or both epochs and stepsPerEpoch' +
          (epochs != null || stepsPerEpoch != null ? ` (got epochs ${epochs} and stepsPerEpoch ${stepsPerEpoch})` : ''),
      );
    const pct = a.pctStart ?? 0.3;
    const total = this.totalSteps;
    const phase = (endStep: number, startLr: string, endLr: string, startMomentum: string, endMomentum: string) => ({
      endStep,
      startLr,
      endLr,
      startMomentum,
      endMomentum,
    });
    // Each phase names the group keys it anneals between, as PyTorch's _schedule_phases do.
    this.schedulePhases = a.threePhase
      ? [
          phase(pct * total - 1, 'initialLr', 'maxLr', 'maxMomentum', 'baseMomentum'),
          phase(2 * pct * total - 2, 'maxLr', 'initialLr', 'baseMomentum', 'maxMomentum'),
          phase(total - 1, 'initialLr', 'minLr', 'maxMomentum', 'maxMomentum'),
        ]
      : [
          phase(pct * total - 1, 'initialLr', 'maxLr', 'maxMomentum', 'baseMomentum'),
          phase(total - 1, 'maxLr', 'minLr', 'baseMomentum', 'maxMomentum'),
        ];
    this.annealStrategy = a.annealStrategy ?? 'cos';
    const lastEpoch = a.lastEpoch ?? -1;
    const divFactor = a.divFactor ?? 25;
    const finalDivFactor = a.finalDivFactor ?? 1e4;
    const maxLrs = this._perGroup('maxLr', a.maxLr);
    this.cycleMomentum = a.cycleMomentum ?? true;
    this.useBeta1 = 'betas' in a.optimizer.defaults;
    let maxMomentums: number[] = [];
    let baseMomentums: number[] = [];
    if (this.cycleMomentum) {
      if (!('momentum' in a.optimizer.defaults) && !this.useBeta1)
        throw new ValueError(
          `OneCycleLR: ${a.optimizer.constructor.name} has no momentum or betas to cycle; pass {cycleMomentum: false}`,
        );
      maxMomentums = this._perGroup('maxMomentum', a.maxMomentum ?? 0.95);
      baseMomentums = this._perGroup('baseMomentum', a.baseMomentum ?? 0.85);
    }
    this.init(lastEpoch, () => {
      if (lastEpoch !== -1) return;
      const values = this.groups.map((g, i) => {
        const initialLr = maxLrs[i] / divFactor;
        const v: Record<string, unknown> = { initialLr, maxLr: maxLrs[i], minLr: initialLr / finalDivFactor };
        if (!this.cycleMomentum) return v;
        if (this.useBeta1) v.betas = [maxMomentums[i], ...(g.betas as number[]).slice(1)];
        else v.momentum = maxMomentums[i];
        v.maxMomentum = maxMomentums[i];
        v.baseMomentum = baseMomentums[i];
        return v;
      });
      this.optimizer._setGroupOptions(values, 'OneCycleLR', '; OneCycleLR starts each group at maxMomentum');
    });
  }

  private _perGroup(name: string, v: number | number[]): number[] {
    const n = this.groups.length;
    if (Array.isArray(v)) {
      if (v.length !== n)
        throw new ValueError(`OneCycleLR: expected ${n} values for ${name} (one per parameter group), got ${v.length}`);
      return v.slice();
    }
    return new Array(n).fill(v);
  }

  private _anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos') return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  protected getLr(): number[] {
    return this.updates().map((u) => u.lr as number);
  }

  protected override updates(): Record<string, unknown>[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps)
      throw new ValueError(
        `OneCycleLR: tried to step ${step + 1} times, but the schedule has totalSteps ${this.totalSteps}; ` +
          'make totalSteps (or epochs × stepsPerEpoch) cover every step',
      );
    const phases = this.schedulePhases;
    return this.groups.map((g) => {
      let start = 0;
      for (const [i, phase] of phases.entries()) {
        const end = phase.endStep;
        if (step <= end || i === phases.length - 1) {
          // PyTorch divides by zero here (a ZeroDivisionError); the anneal would be NaN.
          if (end === start)
            throw new ValueError(
              `OneCycleLR: step ${step} falls in phase ${i + 1} of the cycle, which has no length (it starts and ends ` +
                `at step ${end}) with these pctStart and totalSteps ${this.totalSteps}; choose a pctStart that gives ` +
                'every phase at least one step',
            );
          const pct = (step - start) / (end - start);
          const u: Record<string, unknown> = {
            lr: this._anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct),
          };
          if (this.cycleMomentum) {
            const m = this._anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct);
            if (this.useBeta1) u.betas = [m, ...(g.betas as number[]).slice(1)];
            else u.momentum = m;
          }
          return u;
        }
        start = end;
      }
      throw new Error('unreachable');
    });
  }

  protected override settings() {
    return ONE_CYCLE_SETTINGS;
  }

  protected override ownState() {
    return {
      total_steps: this.totalSteps,
      _schedule_phases: this.schedulePhases.map((p) =>
        Object.fromEntries(Object.entries(p).map(([k, v]) => [toSnake(k), typeof v === 'string' ? toSnake(v) : v])),
      ),
      // torch 1.13 saves the bound anneal function itself; later versions save this name of it.
      _anneal_func_type: this.annealStrategy,
      cycle_momentum: this.cycleMomentum,
      // PyTorch sets use_beta1 only when it cycles momentum.
      ...(this.cycleMomentum ? { use_beta1: this.useBeta1 } : {}),
    };
  }

  protected override loadOwnState(sd: Record<string, unknown>) {
    const bad = (what: string) => new ArgumentError(`OneCycleLR.loadStateDict: ${what}`);
    const rest = super.loadOwnState(sd);
    let phases = this.schedulePhases;
    if (sd._schedule_phases !== undefined) {
      if (!Array.isArray(sd._schedule_phases)) throw bad('_schedule_phases must be an array of phases');
      phases = sd._schedule_phases.map((p: Record<string, unknown>) => {
        const q = Object.fromEntries(
          Object.entries(p ?? {}).map(([k, v]) => [toCamel(k), typeof v === 'string' ? toCamel(v) : v]),
        ) as unknown as Phase;
        if (
          !number().ok(q.endStep) ||
          ![q.startLr, q.endLr, q.startMomentum, q.endMomentum].every((k) => typeof k === 'string')
        )
          throw bad(
            `each phase needs a number end_step and the group keys start_lr, end_lr, start_momentum and ` +
              `end_momentum, got ${describe(p)}`,
          );
        return q;
      });
    }
    const beta1 = sd.use_beta1 ?? this.useBeta1;
    if (typeof beta1 !== 'boolean') throw bad(`use_beta1 must be a boolean, got ${describe(beta1)}`);
    return () => {
      rest();
      this.schedulePhases = phases;
      this.useBeta1 = beta1;
    };
  }
}

STEP_LR.describes(StepLR);
MULTI_STEP_LR.describes(MultiStepLR);
EXPONENTIAL_LR.describes(ExponentialLR);
COSINE_ANNEALING_LR.describes(CosineAnnealingLR);
LINEAR_LR.describes(LinearLR);
ONE_CYCLE_LR.describes(OneCycleLR);
for (const cls of [StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR]) checkScheduler(cls);
