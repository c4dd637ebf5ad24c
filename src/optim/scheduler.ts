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
 */
import { ValueError } from '../core/errors.js';
import { Optimizer, toCamel, toSnake } from './optimizer.js';

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

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNums = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

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

  constructor(optimizer: AnyOptimizer) {
    if (!(optimizer instanceof Optimizer))
      throw new ValueError(`${this.constructor.name}: the first argument must be an optimizer (ad.optim.SGD, ...)`);
    this.optimizer = optimizer;
  }

  protected get groups(): Group[] {
    return this.optimizer.paramGroups as Group[];
  }

  protected init(lastEpoch: number): void {
    if (!isInt(lastEpoch) || lastEpoch < -1)
      throw new ValueError(`${this.constructor.name}: lastEpoch must be an integer ≥ -1, got ${lastEpoch}`);
    this.groups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (typeof g.initialLr !== 'number')
        throw new ValueError(
          `${this.constructor.name}: resuming at lastEpoch ${lastEpoch} needs paramGroups[${i}].initialLr, which ` +
            'a scheduler sets on construction; load the optimizer state dict of the interrupted run first',
        );
    });
    this.baseLrs = this.groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this._stepCount = 0;
    this.step();
  }

  /** The lrs for step lastEpoch (already advanced), from the groups' current lrs. */
  protected abstract getLr(): number[];

  /** Advances one step and sets every group's lr. */
  step(): void {
    this._stepCount++;
    this.lastEpoch++;
    let lrs: number[];
    try {
      lrs = this.getLr();
    } catch (e) {
      // A refused step (OneCycleLR past its end) leaves the scheduler where it was.
      this._stepCount--;
      this.lastEpoch--;
      throw e;
    }
    this.groups.forEach((g, i) => {
      g.lr = lrs[i];
    });
    this._lastLr = this.groups.map((g) => g.lr);
  }

  /** The lr of each group set by the last step. */
  getLastLr(): number[] {
    return this._lastLr.slice();
  }

  /** The scheduler's own settings in the state dict, by PyTorch's key. */
  protected ownState(): Record<string, unknown> {
    return {};
  }
  /** Checks the own settings of a state dict (throwing before anything changes) and returns a function that sets them. */
  protected loadOwnState(_sd: Record<string, unknown>): () => void {
    return () => {};
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
  loadStateDict(sd: SchedulerStateDict): void {
    const name = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw new ValueError(`${name}: expected the object stateDict() returns`);
    const n = this.groups.length;
    if (!isNums(sd.base_lrs) || sd.base_lrs.length !== n)
      throw new ValueError(
        `${name}: base_lrs must be ${n} number(s), one per parameter group, got ${JSON.stringify(sd.base_lrs)}`,
      );
    if (!isInt(sd.last_epoch)) throw new ValueError(`${name}: last_epoch must be an integer, got ${sd.last_epoch}`);
    if (!isInt(sd._step_count)) throw new ValueError(`${name}: _step_count must be an integer, got ${sd._step_count}`);
    if (sd._last_lr !== undefined && (!isNums(sd._last_lr) || sd._last_lr.length !== n))
      throw new ValueError(`${name}: _last_lr must be ${n} number(s), got ${JSON.stringify(sd._last_lr)}`);
    const own = this.loadOwnState(structuredClone(sd));
    this.baseLrs = sd.base_lrs.slice();
    this.lastEpoch = sd.last_epoch;
    this._stepCount = sd._step_count;
    if (sd._last_lr) this._lastLr = sd._last_lr.slice();
    own();
  }
}

/** Reads a number setting from a state dict, or keeps the current value when the key is absent. */
function num(sd: Record<string, unknown>, key: string, current: number, sched: string): number {
  const v = sd[key];
  if (v === undefined) return current;
  if (typeof v !== 'number') throw new ValueError(`${sched}.loadStateDict: ${key} must be a number, got ${String(v)}`);
  return v;
}

/** Multiplies the lr by gamma every stepSize steps. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: AnyOptimizer, stepSize: number, opts: { gamma?: number; lastEpoch?: number } = {}) {
    super(optimizer);
    if (!isInt(stepSize) || stepSize < 1)
      throw new ValueError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    this.stepSize = stepSize;
    this.gamma = opts.gamma ?? 0.1;
    this.init(opts.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override ownState() {
    return { step_size: this.stepSize, gamma: this.gamma };
  }
  protected override loadOwnState(sd: Record<string, unknown>) {
    const stepSize = num(sd, 'step_size', this.stepSize, 'StepLR');
    const gamma = num(sd, 'gamma', this.gamma, 'StepLR');
    return () => {
      this.stepSize = stepSize;
      this.gamma = gamma;
    };
  }
}

/** Multiplies the lr by gamma at each milestone (a milestone listed twice multiplies by gamma²). */
export class MultiStepLR extends LRScheduler {
  /** Milestone → how many times it is listed (torch's Counter). */
  milestones: Map<number, number>;
  gamma: number;
  constructor(optimizer: AnyOptimizer, milestones: number[], opts: { gamma?: number; lastEpoch?: number } = {}) {
    super(optimizer);
    if (!Array.isArray(milestones) || !milestones.every(isInt))
      throw new ValueError(`MultiStepLR: milestones must be an array of integers, got ${JSON.stringify(milestones)}`);
    this.milestones = new Map();
    for (const m of milestones) this.milestones.set(m, (this.milestones.get(m) ?? 0) + 1);
    this.gamma = opts.gamma ?? 0.1;
    this.init(opts.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    const count = this.milestones.get(this.lastEpoch);
    if (count === undefined) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** count);
  }
  protected override ownState() {
    return { milestones: Object.fromEntries(this.milestones), gamma: this.gamma };
  }
  protected override loadOwnState(sd: Record<string, unknown>) {
    const gamma = num(sd, 'gamma', this.gamma, 'MultiStepLR');
    let milestones = this.milestones;
    if (sd.milestones !== undefined) {
      const m = sd.milestones;
      if (m === null || typeof m !== 'object' || !Object.entries(m).every(([k, c]) => isInt(Number(k)) && isInt(c)))
        throw new ValueError(`MultiStepLR.loadStateDict: milestones must map each milestone to its count`);
      milestones = new Map(Object.entries(m).map(([k, c]) => [Number(k), c as number]));
    }
    return () => {
      this.gamma = gamma;
      this.milestones = milestones;
    };
  }
}

/** Multiplies the lr by gamma every step. */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  constructor(optimizer: AnyOptimizer, gamma: number, opts: { lastEpoch?: number } = {}) {
    super(optimizer);
    this.gamma = gamma;
    this.init(opts.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override ownState() {
    return { gamma: this.gamma };
  }
  protected override loadOwnState(sd: Record<string, unknown>) {
    const gamma = num(sd, 'gamma', this.gamma, 'ExponentialLR');
    return () => {
      this.gamma = gamma;
    };
  }
}

/**
 * Cosine annealing from each group's lr down to etaMin over tMax steps (then back up, periodically, as PyTorch's
 * formula continues): lr_t = etaMin + (lr₀ − etaMin)(1 + cos(πt/tMax))/2, computed recursively from the previous lr
 * as PyTorch does, so it composes with other changes to the lr.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(optimizer: AnyOptimizer, tMax: number, opts: { etaMin?: number; lastEpoch?: number } = {}) {
    super(optimizer);
    if (typeof tMax !== 'number' || !(tMax > 0))
      throw new ValueError(`CosineAnnealingLR: tMax must be a positive number of steps, got ${tMax}`);
    this.tMax = tMax;
    this.etaMin = opts.etaMin ?? 0;
    this.init(opts.lastEpoch ?? -1);
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
  protected override ownState() {
    return { T_max: this.tMax, eta_min: this.etaMin };
  }
  protected override loadOwnState(sd: Record<string, unknown>) {
    const tMax = num(sd, 'T_max', this.tMax, 'CosineAnnealingLR');
    const etaMin = num(sd, 'eta_min', this.etaMin, 'CosineAnnealingLR');
    return () => {
      this.tMax = tMax;
      this.etaMin = etaMin;
    };
  }
}

export interface LinearLROptions {
  /** The factor of the lr at step 0 (default 1/3). */
  startFactor?: number;
  /** The factor reached at step totalIters and kept after (default 1). */
  endFactor?: number;
  /** Steps to go from startFactor to endFactor (default 5). */
  totalIters?: number;
  lastEpoch?: number;
}

/** Scales the lr linearly from startFactor to endFactor over totalIters steps: the usual warm-up. */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(optimizer: AnyOptimizer, opts: LinearLROptions = {}) {
    super(optimizer);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    for (const k of ['startFactor', 'endFactor'] as const)
      if (!(this[k] >= 0 && this[k] <= 1)) throw new ValueError(`LinearLR: ${k} must be in [0, 1], got ${this[k]}`);
    this.init(opts.lastEpoch ?? -1);
  }
  protected getLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    if (e === 0) return this.groups.map((g) => g.lr * s);
    if (e > n) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
  protected override ownState() {
    return { start_factor: this.startFactor, end_factor: this.endFactor, total_iters: this.totalIters };
  }
  protected override loadOwnState(sd: Record<string, unknown>) {
    const s = num(sd, 'start_factor', this.startFactor, 'LinearLR');
    const f = num(sd, 'end_factor', this.endFactor, 'LinearLR');
    const n = num(sd, 'total_iters', this.totalIters, 'LinearLR');
    return () => {
      this.startFactor = s;
      this.endFactor = f;
      this.totalIters = n;
    };
  }
}

export interface OneCycleLROptions {
  /** The number of steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
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
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

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

  constructor(optimizer: AnyOptimizer, maxLr: number | number[], opts: OneCycleLROptions = {}) {
    super(optimizer);
    const { epochs, stepsPerEpoch } = opts;
    if (opts.totalSteps !== undefined) {
      if (!isInt(opts.totalSteps) || opts.totalSteps <= 0)
        throw new ValueError(`OneCycleLR: totalSteps must be a positive integer, got ${opts.totalSteps}`);
      this.totalSteps = opts.totalSteps;
    } else if (epochs !== undefined || stepsPerEpoch !== undefined) {
      if (!isInt(epochs) || epochs <= 0)
        throw new ValueError(`OneCycleLR: epochs must be a positive integer, got ${epochs}`);
      if (!isInt(stepsPerEpoch) || stepsPerEpoch <= 0)
        throw new ValueError(`OneCycleLR: stepsPerEpoch must be a positive integer, got ${stepsPerEpoch}`);
      this.totalSteps = epochs * stepsPerEpoch;
    } else throw new ValueError('OneCycleLR: give either totalSteps or both epochs and stepsPerEpoch');
    const pct = opts.pctStart ?? 0.3;
    if (typeof pct !== 'number' || !(pct >= 0 && pct <= 1))
      throw new ValueError(`OneCycleLR: pctStart must be a number in [0, 1], got ${pct}`);
    const total = this.totalSteps;
    const phase = (endStep: number, startLr: string, endLr: string, startMomentum: string, endMomentum: string) => ({
      endStep,
      startLr,
      endLr,
      startMomentum,
      endMomentum,
    });
    // Each phase names the group keys it anneals between, as PyTorch's _schedule_phases do.
    this.schedulePhases = opts.threePhase
      ? [
          phase(pct * total - 1, 'initialLr', 'maxLr', 'maxMomentum', 'baseMomentum'),
          phase(2 * pct * total - 2, 'maxLr', 'initialLr', 'baseMomentum', 'maxMomentum'),
          phase(total - 1, 'initialLr', 'minLr', 'maxMomentum', 'maxMomentum'),
        ]
      : [
          phase(pct * total - 1, 'initialLr', 'maxLr', 'maxMomentum', 'baseMomentum'),
          phase(total - 1, 'maxLr', 'minLr', 'baseMomentum', 'maxMomentum'),
        ];
    const strategy = opts.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear')
      throw new ValueError(`OneCycleLR: annealStrategy must be 'cos' or 'linear', got ${String(strategy)}`);
    this.annealStrategy = strategy;
    const lastEpoch = opts.lastEpoch ?? -1;
    const divFactor = opts.divFactor ?? 25;
    const finalDivFactor = opts.finalDivFactor ?? 1e4;
    const maxLrs = this.perGroup('maxLr', maxLr);
    this.cycleMomentum = opts.cycleMomentum ?? true;
    this.useBeta1 = 'betas' in optimizer.defaults;
    let maxMomentums: number[] = [];
    let baseMomentums: number[] = [];
    if (this.cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !this.useBeta1)
        throw new ValueError(
          `OneCycleLR: ${optimizer.constructor.name} has no momentum or betas to cycle; pass {cycleMomentum: false}`,
        );
      maxMomentums = this.perGroup('maxMomentum', opts.maxMomentum ?? 0.95);
      baseMomentums = this.perGroup('baseMomentum', opts.baseMomentum ?? 0.85);
    }
    if (lastEpoch === -1)
      this.groups.forEach((g, i) => {
        const initialLr = maxLrs[i] / divFactor;
        g.initialLr = initialLr;
        g.maxLr = maxLrs[i];
        g.minLr = initialLr / finalDivFactor;
        if (!this.cycleMomentum) return;
        if (this.useBeta1) g.betas = [maxMomentums[i], ...(g.betas as number[]).slice(1)];
        else g.momentum = maxMomentums[i];
        g.maxMomentum = maxMomentums[i];
        g.baseMomentum = baseMomentums[i];
      });
    this.init(lastEpoch);
  }

  private perGroup(name: string, v: number | number[]): number[] {
    const n = this.groups.length;
    if (Array.isArray(v)) {
      if (v.length !== n) throw new ValueError(`OneCycleLR: expected ${n} values for ${name}, got ${v.length}`);
      return v.slice();
    }
    return new Array(n).fill(v);
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos') return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  protected getLr(): number[] {
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
          const pct = (step - start) / (end - start);
          if (this.cycleMomentum) {
            const m = this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct);
            if (this.useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
            else g.momentum = m;
          }
          return this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
        }
        start = end;
      }
      throw new Error('unreachable');
    });
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
    const bad = (what: string) => new ValueError(`OneCycleLR.loadStateDict: ${what}`);
    const totalSteps = num(sd, 'total_steps', this.totalSteps, 'OneCycleLR');
    let phases = this.schedulePhases;
    if (sd._schedule_phases !== undefined) {
      if (!Array.isArray(sd._schedule_phases)) throw bad('_schedule_phases must be an array of phases');
      phases = sd._schedule_phases.map((p: Record<string, unknown>) => {
        const q = Object.fromEntries(
          Object.entries(p ?? {}).map(([k, v]) => [toCamel(k), typeof v === 'string' ? toCamel(v) : v]),
        ) as unknown as Phase;
        if (typeof q.endStep !== 'number' || typeof q.startLr !== 'string' || typeof q.endLr !== 'string')
          throw bad(`each phase needs end_step, start_lr and end_lr, got ${JSON.stringify(p)}`);
        return q;
      });
    }
    const strategy = sd._anneal_func_type ?? this.annealStrategy;
    if (strategy !== 'cos' && strategy !== 'linear')
      throw bad(`_anneal_func_type must be 'cos' or 'linear', got ${String(strategy)}`);
    const cycle = sd.cycle_momentum ?? this.cycleMomentum;
    const beta1 = sd.use_beta1 ?? this.useBeta1;
    if (typeof cycle !== 'boolean' || typeof beta1 !== 'boolean')
      throw bad('cycle_momentum and use_beta1 must be booleans');
    return () => {
      this.totalSteps = totalSteps;
      this.schedulePhases = phases;
      this.annealStrategy = strategy;
      this.cycleMomentum = cycle;
      this.useBeta1 = beta1;
    };
  }
}
