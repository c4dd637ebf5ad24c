/**
 * @file The Optimizer base class (torch.optim.Optimizer): parameter groups with their own options, step() under
 * noGrad, zeroGrad, addParamGroup, and a state dict in PyTorch's layout.
 *
 * The state dict is torch's, key for key: `{state: {0: {step, exp_avg, …}, …}, param_groups: [{lr, weight_decay, …,
 * params: [0, 1]}]}`. Live objects use camelCase (`group.weightDecay`, `state.expAvg`, as every adjoint name does);
 * the state dict uses PyTorch's snake_case (`weight_decay`, `exp_avg`, `initial_lr`), exactly as Module.stateDict uses
 * PyTorch's parameter names, so an optimizer state saved by either library loads into the other. Conversion is
 * mechanical (a capital ↔ `_` + lower case). Two deliberate differences from torch: `step` is a number, not a 0-d
 * float32 tensor (loadStateDict accepts either, as torch's own __setstate__ does), and stateDict()/loadStateDict()
 * copy tensors where torch aliases them, so a saved dict never changes under a later step.
 *
 * Options are checked wherever they are set, against one table per optimizer (its OptionRules, made from the
 * constructor's signature): by the constructor, in addParamGroup, on assignment to a live group
 * (`opt.paramGroups[0].lr = x`: each option is an accessor that checks what it is given; schedulers assign through
 * it), in loadStateDict, and again at every step, which catches what an accessor cannot see (an array such as
 * `betas` changed in place, a group replaced wholesale). step() checks every group and every gradient before it
 * updates any parameter, so a step applies to all of them or to none.
 */
import { enableGrad, noGrad } from '../autograd/mode.js';
import {
  type Arg,
  any,
  bool,
  checkMethods,
  closest,
  describe,
  fn,
  iterable,
  nullable,
  number,
  optional,
  record,
  sig,
  snakeToCamel,
  tensor,
} from '../core/args.js';
import { isFloating } from '../core/dtype.js';
import { ArgumentError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { _addScaledInto, clone, toDtype } from '../ops/index.js';
import { _adoptState } from '../tensor/lifetime.js';
import { checkGradFor, Tensor } from '../tensor/tensor.js';

/** One value in a parameter's optimizer state: a tensor shaped like the parameter, a step count, or absent. */
/** The profiler's span around each optimizer step (src/debug/profiler.ts); null keeps step to one check. */
export interface StepSpan {
  begin(optimizer: object): number;
  end(token: number): void;
}
let stepSpan: StepSpan | null = null;
/** @internal installs (or, with null, removes) the profiler's step span; returns the previous one. */
export function _setStepSpan(s: StepSpan | null): StepSpan | null {
  const prev = stepSpan;
  stepSpan = s;
  return prev;
}

export type StateValue = Tensor | number | null;
export type ParamState = Record<string, StateValue>;

/** A parameter group as given to a constructor or addParamGroup: its tensors and any options it overrides. */
export type ParamGroupInit<O> = Partial<O> & { params: Tensor | Iterable<Tensor>; [option: string]: unknown };

/** What an optimizer optimizes: tensors (module.parameters()) or parameter groups. */
export type Params<O> = Iterable<Tensor> | Iterable<ParamGroupInit<O>>;

/**
 * A live parameter group: the options (all filled in from the defaults) and the tensors. Schedulers add keys
 * (`initialLr`, `maxLr`, …) as they do in PyTorch, hence the open index.
 */
export type ParamGroup<O> = O & { params: Tensor[]; [key: string]: unknown };

/** PyTorch's optimizer state dict (snake_case keys, parameters by position). */
export interface OptimizerStateDict {
  state: Record<number, Record<string, StateValue>>;
  param_groups: (Record<string, unknown> & { params: number[] })[];
}

/** What an optimizer's options must be: each one's type, and any rule between them. */
export interface OptionRules {
  /**
   * Each option's type: the Arg its constructor's signature declares, checked wherever a user sets an option:
   * the constructor, addParamGroup and assignment to a live group.
   */
  readonly types: Readonly<Record<string, Arg>>;
  /**
   * Wider types for what a group may come to hold by PyTorch's own formulas: checked where a scheduler writes,
   * in loadStateDict and at every step, so that whatever a run reaches also steps, saves and loads.
   */
  readonly resting?: Readonly<Record<string, Arg>>;
  /** A rule between options (SGD's Nesterov condition): the message when a group breaks it, else undefined. */
  readonly check?: (group: Readonly<Record<string, unknown>>) => string | undefined;
}

/**
 * The rules of an optimizer whose options are its signature's parameters (all but params, and foreach, which has no
 * effect here), plus a rule between them.
 */
export function optionRules(
  s: { positional: readonly [string, Arg][]; keywords: readonly [string, Arg][] },
  check?: OptionRules['check'],
): OptionRules {
  const types = Object.fromEntries([...s.positional, ...s.keywords].filter(([k]) => k !== 'params' && k !== 'foreach'));
  return { types, resting: RESTING, check };
}

/** A learning rate (and any option that is a rate, a decay or an eps): a finite number ≥ 0, as PyTorch requires. */
export const NON_NEGATIVE = number({ min: 0 });

/**
 * A scheduler may take an lr below 0, never to NaN or ±Infinity. PyTorch's formulas do: OneCycleLR with
 * annealStrategy 'linear' sets an lr below minLr — below 0 — at its last step (lastEpoch = totalSteps extrapolates
 * past the end of the cycle), and CosineAnnealingLR with etaMin above the initial lr comes back to it with a
 * rounding error of either sign (-1e-16 for an initial lr of 0). adjoint follows both bit for bit (the parity
 * fixtures hold it to that), so such an lr must also step, save and load; only a user's own setting must be ≥ 0.
 */
const RESTING = { lr: number() };

/** What an optimizer optimizes. */
export const PARAMS = iterable(
  tensor,
  'an iterable of tensors (model.parameters(), or [t] for one tensor) or of parameter groups ' +
    '({params: [...], lr: 0.1})',
);

/**
 * PyTorch's foreach (its multi-tensor implementation): accepted where PyTorch takes it, for porting, and without
 * effect — adjoint has one implementation of each optimizer, and both of PyTorch's give the same update.
 */
export const FOREACH = optional(nullable(bool));

/** `weightDecay` → `weight_decay`: PyTorch's name for a camelCase key. */
export const toSnake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** `weight_decay` → `weightDecay`; a camelCase key is unchanged. Leading underscores are kept. */
export const toCamel = (k: string): string =>
  k.replace(/(?<=[a-zA-Z0-9])_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A deep copy of a state or group value: tensors cloned, arrays and plain objects copied. */
function copyValue<T>(v: T): T {
  if (v instanceof Tensor) return noGrad(() => clone(v)) as T;
  if (Array.isArray(v)) return v.map(copyValue) as T;
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyValue(x)])) as T;
  return v;
}

function isGroupInit(v: unknown): v is ParamGroupInit<unknown> {
  return v !== null && typeof v === 'object' && !(v instanceof Tensor) && 'params' in v;
}

/** A step count in a state: a whole number ≥ 0 (a NaN or negative count would turn the bias corrections into NaN). */
const STEP = number({ min: 0 });

/** The values behind each live group's accessors, for writes already checked as a whole (_setGroupOptions). */
const STORES = new WeakMap<object, Record<string, unknown>>();

const RULES: OptionRules = { types: { lr: NON_NEGATIVE }, resting: RESTING };

/** torch.optim.Optimizer(params, defaults). */
const OPTIMIZER = sig('Optimizer', {
  args: { params: PARAMS, defaults: record(any, 'an object of default options ({lr: 0.1, ...})') },
});

/**
 * The base class: subclasses give their defaults (an undefined default is a required option, as PyTorch's
 * `required`), the rules their options follow (rules()), and `update(group)`, which reads each parameter's .grad
 * and writes the parameter in place; step() checks everything, then runs update under noGrad.
 */
export abstract class Optimizer<O extends { lr: number } = { lr: number }> {
  /** The options a group gets when it does not set them. */
  readonly defaults: O;
  paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state (momentum buffers, moment estimates, step counts), created on a parameter's first step. */
  state: Map<Tensor, ParamState> = new StateMap();

  constructor(params: Params<O>, defaults: O);
  constructor(...args: unknown[]) {
    const a = OPTIMIZER.bind(args);
    const name = this.constructor.name;
    this.defaults = a.defaults as O;
    const broken = this.rules().check?.(this.defaults);
    if (broken) throw new ValueError(`${name}: ${broken}`);
    const list = [...(a.params as Iterable<unknown>)];
    if (list.length === 0) throw new ValueError(`${name}: got an empty parameter list; pass the tensors to optimize`);
    if (isGroupInit(list[0])) list.forEach((g, i) => this.addGroup(g, name, `paramGroups[${i}]`));
    else this.addGroup({ params: list as Tensor[] }, name, '');
  }

  /** The types of this optimizer's options and the rules between them; a subclass with options of its own says them. */
  protected rules(): OptionRules {
    return RULES;
  }

  /** The update for one group: every parameter with a gradient, in place. Runs under noGrad, after every check. */
  protected abstract update(group: ParamGroup<O>): void;

  /** Called after a group is added (Adagrad creates its state up front, as PyTorch's does). */
  protected groupAdded(_group: ParamGroup<O>): void {}

  /**
   * Checks a group's options against rules(). `who` names the caller ('SGD', 'Adam.step'), `where` the group
   * ('paramGroups[0]', '' for the constructor's own list); `key` spells an option as the message shows it.
   */
  protected checkOptions(
    g: Readonly<Record<string, unknown>>,
    who: string,
    where: string,
    key: (k: string) => string = (k) => k,
    fix = '',
    resting = false,
  ): void {
    const { types, check, resting: wider } = this.rules();
    for (const k in types) {
      const a = (resting && wider?.[k]) || types[k];
      const v = g[k];
      if (!a.ok(v))
        throw new ArgumentError(
          `${who}: ${where ? `${where}.` : ''}${key(k)} must be ${a.what}, got ${describe(v)}${fix}`,
        );
    }
    const broken = check?.(g);
    if (broken) throw new ValueError(`${who}: ${where ? `${where}: ` : ''}${broken}${fix}`);
  }

  /**
   * Adds a group of parameters with its own options (fine-tuning a layer that was frozen). Options it leaves out
   * come from the defaults. A parameter may belong to one group only.
   */
  addParamGroup(paramGroup: ParamGroupInit<O>): void {
    this.addGroup(paramGroup, `${this.constructor.name}.addParamGroup`, 'paramGroup');
  }

  private addGroup(group: unknown, who: string, where: string): void {
    const at = (j: number) => `${where ? `${where}.` : ''}params[${j}]`;
    if (!isGroupInit(group))
      throw new ValueError(
        `${who}: a parameter group is an object {params: [...], ...options}, got ${describe(group)}`,
      );
    const raw = group.params;
    if (!(raw instanceof Tensor) && (raw === null || typeof raw !== 'object' || !(Symbol.iterator in raw)))
      throw new ValueError(
        `${who}: ${where ? `${where}.` : ''}params must be a tensor or an iterable of tensors, got ${describe(raw)}`,
      );
    const params: unknown[] = raw instanceof Tensor ? [raw] : [...(raw as Iterable<unknown>)];
    params.forEach((p, j) => {
      if (!(p instanceof Tensor))
        throw new ValueError(`${who}: optimizers can only optimize tensors, but ${at(j)} is ${describe(p)}`);
      if (!p.isLeaf && !p.retainsGrad)
        throw new ValueError(
          `${who}: ${at(j)} (shape ${fmtShape(p.shape)}) is not a leaf tensor, so backward never fills its ` +
            `.grad; optimize the leaves it is computed from, or detach() it and call requiresGrad_()`,
        );
      if (!isFloating(p.dtype))
        throw new ValueError(
          `${who}: ${at(j)} (shape ${fmtShape(p.shape)}) is ${p.dtype}; only floating-point tensors can be ` +
            'optimized; cast with .float() or .double() first',
        );
      // A step writes the parameter in place, which an expanded tensor (several elements in one place) refuses.
      const d = p.shape.findIndex((n, i) => n > 1 && p.stride()[i] === 0);
      if (d >= 0)
        throw new ValueError(
          `${who}: ${at(j)} (shape ${fmtShape(p.shape)}) is expanded (dim ${d} has stride 0), so a step cannot ` +
            'update it in place; clone() it first',
        );
    });
    const tensors = params as Tensor[];
    if (new Set(tensors).size !== tensors.length)
      throw new ValueError(`${who}: a parameter group lists the same tensor twice; list each parameter once`);
    for (const [i, g] of this.paramGroups.entries())
      for (const p of tensors)
        if (g.params.includes(p))
          throw new ValueError(
            `${who}: a parameter of shape ${fmtShape(p.shape)} is already in parameter group ${i}; a parameter ` +
              'may belong to one group only',
          );
    // A snake_case or misspelt option in a group would otherwise sit there unread while the default applies.
    const known = Object.keys(this.rules().types);
    for (const k of Object.keys(group)) {
      if (k === 'params' || known.includes(k)) continue;
      const camel = snakeToCamel(k);
      if (camel !== k && known.includes(camel))
        throw new ArgumentError(`${who}: unknown option '${k}' in ${where || 'the parameter group'}; use ${camel}`);
      const near = closest(k, known);
      if (near)
        throw new ArgumentError(
          `${who}: unknown option '${k}' in ${where || 'the parameter group'} (did you mean ${near}?); the options ` +
            `are ${known.join(', ')}`,
        );
    }
    const filled: Record<string, unknown> = { ...group, params: tensors };
    for (const [k, v] of Object.entries(this.defaults)) {
      if (filled[k] !== undefined) continue;
      if (v === undefined)
        throw new ValueError(
          `${who}: ${where ? `${where} does` : 'the parameters do'} not set the required option '${k}' and there ` +
            `is no default; pass it to the constructor (new ${this.constructor.name}(params, {${k}: ...})) or set ` +
            'it in each group',
        );
      filled[k] = copyValue(v);
    }
    this.checkOptions(filled, who, where);
    const g = this.live(filled);
    this.paramGroups.push(g);
    this.groupAdded(g);
  }

  /** A live group: each option an accessor that checks what is assigned to it, so a group never holds a bad value. */
  private live(values: Record<string, unknown>): ParamGroup<O> {
    const { types } = this.rules();
    const g: Record<string, unknown> = {};
    const store: Record<string, unknown> = {};
    STORES.set(g, store);
    for (const [k, v] of Object.entries(values)) {
      if (!Object.hasOwn(types, k)) {
        g[k] = v;
        continue;
      }
      store[k] = v;
      Object.defineProperty(g, k, {
        enumerable: true,
        configurable: true,
        get: () => store[k],
        set: (x: unknown) => {
          this.checkOptions(
            { ...g, [k]: x },
            this.constructor.name,
            `paramGroups[${this.paramGroups.indexOf(g as ParamGroup<O>)}]`,
          );
          store[k] = x;
        },
      });
    }
    return g as ParamGroup<O>;
  }

  /**
   * @internal Sets options of every group at once (a scheduler's step): all are checked, with the group's other
   * options, before any is set. `values[i]` holds group i's new values; keys that are not options (initialLr) are
   * set as they are. check false puts back values a group held before (a failed constructor's undo).
   */
  _setGroupOptions(values: readonly Record<string, unknown>[], who: string, fix = '', check = true): void {
    if (check)
      this.paramGroups.forEach((g, i) => {
        if (values[i]) this.checkOptions({ ...g, ...values[i] }, who, `paramGroups[${i}]`, undefined, fix, true);
      });
    this.paramGroups.forEach((g, i) => {
      const store = STORES.get(g);
      for (const [k, v] of Object.entries(values[i] ?? {}))
        if (store && Object.hasOwn(store, k)) store[k] = v;
        else (g as Record<string, unknown>)[k] = v;
    });
  }

  /**
   * Performs one update of every parameter that has a gradient. closure, if given, re-evaluates the model (with
   * grad recording on) and returns the loss, which step returns. Every group's options and every gradient are
   * checked first: a step moves every parameter or none.
   */
  step(closure?: (() => Tensor) | null): Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    this.checkStep(`${this.constructor.name}.step`);
    const span = stepSpan;
    const token = span !== null ? span.begin(this) : 0;
    try {
      noGrad(() => {
        for (const g of this.paramGroups) this.update(g);
      });
    } finally {
      if (span !== null) span.end(token);
    }
    return loss;
  }

  /** Everything update() relies on, in every group, before any parameter moves. */
  private checkStep(who: string): void {
    if (!Array.isArray(this.paramGroups))
      throw new ValueError(
        `${who}: paramGroups must be an array of parameter groups, got ${describe(this.paramGroups)}`,
      );
    this.paramGroups.forEach((g, i) => {
      const where = `paramGroups[${i}]`;
      if (g === null || typeof g !== 'object' || !Array.isArray(g.params))
        throw new ValueError(
          `${who}: ${where} must be a parameter group {params: [...], ...options}, got ${describe(g)}`,
        );
      this.checkOptions(g, who, where, undefined, '', true);
      g.params.forEach((p, j) => {
        // The messages (and their strings) are made only when a check fails: this runs on every step.
        if (!(p instanceof Tensor))
          throw new ValueError(`${who}: ${where}.params[${j}] is ${describe(p)}; optimizers can only optimize tensors`);
        const grad = p.grad;
        if (grad === null) return;
        if (!(grad instanceof Tensor) || grad.dtype !== p.dtype || !sameShape(grad.shape, p.shape))
          checkGradFor(p, grad, who, `${where}.params[${j}]`);
        const s = this.state.get(p);
        if (s && !stateFits(p, s)) checkState(who, `the state of ${where}.params[${j}]`, p, s, (k) => k);
      });
    });
  }

  /**
   * Clears the gradients of every optimized parameter: sets them to null (the default, PyTorch 2's), or with
   * setToNone false (`zeroGrad(false)`, `zeroGrad({setToNone: false})`) detaches and zeroes them in place.
   */
  zeroGrad(setToNone?: boolean | { setToNone?: boolean }): void;
  zeroGrad(setToNone: unknown = true): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) p.grad = null;
        else {
          if (p.grad.gradFn) p.grad = p.grad.detach();
          noGrad(() => p.grad!.zero_());
        }
      }
  }

  /** The state of p, created empty on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      this.state.set(p, {});
      s = this.state.get(p)!;
    }
    return s;
  }

  /**
   * The optimizer's state in PyTorch's layout: parameters are numbered in group order, state and groups use
   * PyTorch's snake_case keys. Tensors are copies, so the dict is a snapshot.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') packed[toSnake(k)] = copyValue(v);
      packed.params = g.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return packed as OptimizerStateDict['param_groups'][number];
    });
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      state[i] = Object.fromEntries(Object.entries(s).map(([k, v]) => [toSnake(k), copyValue(v)]));
    }
    return { state, param_groups: paramGroups };
  }

  /**
   * Restores a state dict from stateDict() (adjoint's or PyTorch's, snake_case or camelCase keys): the groups'
   * options and every parameter's state. The groups must have the same sizes as this optimizer's, their options
   * pass the same checks as the constructor's; state tensors must have their parameter's shape and are cast to its
   * dtype. Everything is checked before anything changes.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const sd = stateDict;
    const name = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || typeof sd.state !== 'object')
      throw new ValueError(`${name}: expected {state: {...}, param_groups: [...]} as stateDict() returns`);
    const saved = sd.param_groups;
    if (saved.length !== this.paramGroups.length)
      throw new ValueError(
        `${name}: the state dict has ${saved.length} parameter group(s) but the optimizer has ` +
          `${this.paramGroups.length}; build the optimizer with the same groups as the one that was saved`,
      );
    const idMap = new Map<number, Tensor>();
    saved.forEach((g, i) => {
      const mine = this.paramGroups[i].params;
      if (!Array.isArray(g?.params) || g.params.length !== mine.length)
        throw new ValueError(
          `${name}: parameter group ${i} has ${Array.isArray(g?.params) ? g.params.length : 'no'} parameter(s) in ` +
            `the state dict but ${mine.length} in the optimizer; build the optimizer with the same groups`,
        );
      g.params.forEach((id, j) => idMap.set(id, mine[j]));
    });
    const state: Map<Tensor, ParamState> = new StateMap();
    for (const [key, entries] of Object.entries(sd.state ?? {})) {
      const p = idMap.get(Number(key));
      if (!p)
        throw new ValueError(
          `${name}: the state dict has state for parameter ${key}, which no parameter group lists (ids ` +
            `${[...idMap.keys()].join(', ')})`,
        );
      const s: ParamState = {};
      for (const [k, v] of Object.entries(entries ?? {})) {
        const ck = toCamel(k);
        if (v instanceof Tensor) {
          if (ck === 'step') {
            if (v.numel() !== 1)
              throw new ShapeError(`${name}: state[${key}].${k} must be a number or a one-element tensor`);
            s[ck] = v.item();
            continue;
          }
          if (!sameShape(v.shape, p.shape))
            throw new ShapeError(
              `${name}: state[${key}].${k} has shape ${fmtShape(v.shape)} but its parameter has shape ` +
                `${fmtShape(p.shape)}; the state dict belongs to a different model`,
            );
          s[ck] = noGrad(() => (v.dtype === p.dtype ? clone(v) : toDtype(v, p.dtype)));
        } else if (v === null || typeof v === 'number') s[ck] = v;
        else throw new ValueError(`${name}: state[${key}].${k} must be a tensor, a number or null, got ${describe(v)}`);
      }
      checkState(name, `state[${key}]`, p, s, toSnake);
      state.set(p, s);
    }
    const groups = saved.map((g, i) => {
      const group: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') group[toCamel(k)] = copyValue(v);
      // Options a saved group lacks (a state dict from an older version) take the defaults, as torch's
      // __setstate__ fills them in.
      for (const [k, v] of Object.entries(this.defaults)) if (group[k] === undefined) group[k] = copyValue(v);
      group.params = this.paramGroups[i].params;
      this.checkOptions(group, name, `param_groups[${i}]`, toSnake, '', true);
      return group;
    });
    this.paramGroups = groups.map((g) => this.live(g));
    this.state = state;
  }

  toString(): string {
    const lines = this.paramGroups.map((g, i) => {
      const opts = Object.keys(g)
        .filter((k) => k !== 'params')
        .sort()
        .map((k) => `    ${k}: ${JSON.stringify(g[k])}`);
      return `Parameter Group ${i}\n${opts.join('\n')}`;
    });
    return `${this.constructor.name} (\n${lines.join('\n')}\n)`;
  }
}

/** Whether a parameter's state is as update() reads it (checkState says what is wrong when it is not). */
function stateFits(p: Tensor, s: ParamState): boolean {
  for (const k in s) {
    const v = s[k];
    if (v instanceof Tensor ? v.dtype !== p.dtype || !sameShape(v.shape, p.shape) : k === 'step' && !STEP.ok(v))
      return false;
  }
  return true;
}

/** A parameter's state as update() reads it: tensors of the parameter's shape and dtype, a step count ≥ 0. */
function checkState(who: string, what: string, p: Tensor, s: ParamState, key: (k: string) => string): void {
  for (const k in s) {
    const v = s[k];
    if (v instanceof Tensor) {
      if (!sameShape(v.shape, p.shape) || v.dtype !== p.dtype)
        throw new ShapeError(
          `${who}: ${what}.${key(k)} is a ${v.dtype} tensor of shape ${fmtShape(v.shape)} but its parameter is ` +
            `${p.dtype} of shape ${fmtShape(p.shape)}; the state belongs to another parameter (load the state dict ` +
            'saved with this model)',
        );
    } else if (k === 'step' && !STEP.ok(v))
      throw new ValueError(`${who}: ${what}.${key(k)} must be ${STEP.what} (the steps taken), got ${describe(v)}`);
  }
}

/** The parameters of a group that have a gradient, with it: the ones a step updates. */
export function withGrad(group: { params: Tensor[] }): [Tensor, Tensor][] {
  return group.params.filter((p) => p.grad !== null).map((p) => [p, p.grad!]);
}

/**
 * The gradient a step descends along, as torch.optim's updates begin: negated with maximize, then plus
 * weightDecay·θ (an L2 penalty; AdamW decays θ itself and passes 0).
 */
export function descentGrad(p: Tensor, grad: Tensor, maximize: boolean, weightDecay: number): Tensor {
  const d = maximize ? grad.neg() : grad;
  if (weightDecay === 0) return d;
  // d + weightDecay·p in one pass: into the negated copy when there is one (it is ours), else into a fresh tensor.
  return _addScaledInto(maximize ? d : null, d, p, weightDecay);
}

const GROUP = record(any, 'a parameter group {params: [...], ...options}');
const METHODS = {
  step: { args: { closure: optional(nullable(fn)) } },
  zeroGrad: { args: { setToNone: optional(bool) } },
  addParamGroup: { args: { paramGroup: GROUP } },
  stateDict: {},
  loadStateDict: { args: { stateDict: record(any, 'a state dict {state, param_groups}, as stateDict() returns') } },
  toString: {},
};

/** Declares the methods of an optimizer class, named as users call them ('Adam.step'). */
export function checkOptimizer(cls: { prototype: object; name: string }): void {
  checkMethods(cls, METHODS);
}

OPTIMIZER.describes(Optimizer);
checkOptimizer(Optimizer);

/**
 * The optimizer's state map: each parameter's state object is stored as one whose entries are state slots. A tensor
 * stored in it (a momentum buffer, Adam's moments, made lazily in the first step, perhaps inside ad.scope) is
 * long-lived, not released by the scope, and one replaced is released if a scope handed it over
 * (src/tensor/lifetime.ts).
 */
class StateMap extends Map<Tensor, ParamState> {
  override set(p: Tensor, s: ParamState): this {
    return super.set(p, stateSlots(s));
  }
}

function stateSlots(s: ParamState): ParamState {
  if (proxies.has(s)) return s;
  for (const v of Object.values(s)) _adoptState(v, undefined);
  const proxy = new Proxy(s, {
    set(target, k, v) {
      const prev = (target as Record<string | symbol, unknown>)[k];
      (target as Record<string | symbol, unknown>)[k] = v;
      _adoptState(v, prev);
      return true;
    },
  });
  proxies.add(proxy);
  return proxy;
}
const proxies = new WeakSet<object>();
