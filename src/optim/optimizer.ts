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
 */
import { enableGrad, noGrad } from '../autograd/mode.js';
import { isFloating } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { clone, toDtype } from '../ops/index.js';
import { Tensor } from '../tensor/tensor.js';

/** One value in a parameter's optimizer state: a tensor shaped like the parameter, a step count, or absent. */
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

/**
 * The base class: subclasses give their defaults (and which options are required) and implement `update(group)`,
 * which reads each parameter's .grad and writes the parameter in place; step() runs it under noGrad.
 */
export abstract class Optimizer<O extends { lr: number } = { lr: number }> {
  /** The options a group gets when it does not set them. */
  readonly defaults: O;
  paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state (momentum buffers, moment estimates, step counts), created on a parameter's first step. */
  state = new Map<Tensor, ParamState>();
  /** @internal options without which a group is invalid (SGD's lr). */
  protected readonly _required: readonly string[];

  constructor(params: Params<O>, defaults: O, required: readonly string[] = []) {
    const name = this.constructor.name;
    this.defaults = defaults;
    this._required = required;
    if (params instanceof Tensor)
      throw new ValueError(
        `${name}: params must be an iterable of tensors or of parameter groups, got a single tensor of shape ` +
          `${fmtShape(params.shape)}; pass [t]`,
      );
    if (params === null || typeof params !== 'object' || !(Symbol.iterator in params))
      throw new ValueError(
        `${name}: params must be an iterable of tensors (model.parameters()) or of parameter groups ` +
          `({params: [...], lr: 0.1}), got ${params === null ? 'null' : typeof params}`,
      );
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new ValueError(`${name}: got an empty parameter list; pass the tensors to optimize`);
    const groups = isGroupInit(list[0]) ? (list as ParamGroupInit<O>[]) : [{ params: list as Tensor[] }];
    for (const g of groups) this.addParamGroup(g as ParamGroupInit<O>);
  }

  /** Checks a group's filled-in options; subclasses throw ValueError naming the option and the fix. */
  protected validate(_group: ParamGroup<O>): void {}

  /** The update for one group: every parameter with a gradient, in place. Runs under noGrad. */
  protected abstract update(group: ParamGroup<O>): void;

  /**
   * Adds a group of parameters with its own options (fine-tuning a layer that was frozen). Options it leaves out
   * come from the defaults. A parameter may belong to one group only.
   */
  addParamGroup(group: ParamGroupInit<O>): void {
    const name = this.constructor.name;
    if (!isGroupInit(group))
      throw new ValueError(`${name}.addParamGroup: a parameter group is an object {params: [...], ...options}`);
    const raw = group.params;
    const params: unknown[] = raw instanceof Tensor ? [raw] : [...(raw as Iterable<unknown>)];
    params.forEach((p, i) => {
      if (!(p instanceof Tensor))
        throw new ValueError(`${name}: optimizers can only optimize tensors, but params[${i}] is ${typeof p}`);
      if (!p.isLeaf && !p.retainsGrad)
        throw new ValueError(
          `${name}: params[${i}] (shape ${fmtShape(p.shape)}) is not a leaf tensor, so backward never fills its ` +
            `.grad; optimize the leaves it is computed from, or detach() it and call requiresGrad_()`,
        );
      if (!isFloating(p.dtype))
        throw new ValueError(
          `${name}: params[${i}] (shape ${fmtShape(p.shape)}) is ${p.dtype}; only floating-point tensors can be ` +
            'optimized; cast with .float() or .double() first',
        );
    });
    const tensors = params as Tensor[];
    if (new Set(tensors).size !== tensors.length)
      throw new ValueError(`${name}: a parameter group lists the same tensor twice; list each parameter once`);
    for (const [i, g] of this.paramGroups.entries())
      for (const p of tensors)
        if (g.params.includes(p))
          throw new ValueError(
            `${name}: a parameter of shape ${fmtShape(p.shape)} is already in parameter group ${i}; a parameter ` +
              'may belong to one group only',
          );
    const filled: Record<string, unknown> = { ...group, params: tensors };
    for (const [k, v] of Object.entries(this.defaults)) {
      if (filled[k] !== undefined) continue;
      if (v === undefined && this._required.includes(k))
        throw new ValueError(
          `${name}: parameter group ${this.paramGroups.length} does not set the required option '${k}' and there ` +
            `is no default; pass it to the constructor ({${k}: ...}) or in the group`,
        );
      filled[k] = copyValue(v);
    }
    const g = filled as ParamGroup<O>;
    this.validate(g);
    this.paramGroups.push(g);
  }

  /**
   * Performs one update of every parameter that has a gradient. closure, if given, re-evaluates the model (with
   * grad recording on) and returns the loss, which step returns.
   */
  step(closure?: () => Tensor): Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() => {
      for (const g of this.paramGroups) this.update(g);
    });
    return loss;
  }

  /**
   * Clears the gradients of every optimized parameter: sets them to null (the default, PyTorch 2's), or with
   * {setToNone: false} detaches and zeroes them in place.
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const setToNone = opts.setToNone ?? true;
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
    if (!s) this.state.set(p, (s = {}));
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
   * options and every parameter's state. The groups must have the same sizes as this optimizer's; state tensors
   * must have their parameter's shape and are cast to its dtype. Everything is checked before anything changes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
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
    const state = new Map<Tensor, ParamState>();
    for (const [key, entries] of Object.entries(sd.state)) {
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
        else throw new ValueError(`${name}: state[${key}].${k} must be a tensor, a number or null, got ${typeof v}`);
      }
      state.set(p, s);
    }
    const groups = saved.map((g, i) => {
      const group: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') group[toCamel(k)] = copyValue(v);
      // Options a saved group lacks (a state dict from an older version) take the defaults, as torch's
      // __setstate__ fills them in.
      for (const [k, v] of Object.entries(this.defaults)) if (group[k] === undefined) group[k] = copyValue(v);
      group.params = this.paramGroups[i].params;
      return group as ParamGroup<O>;
    });
    for (const g of groups) this.validate(g);
    this.paramGroups = groups;
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

/** The parameters of a group that have a gradient, with it: the ones a step updates. */
export function withGrad(group: { params: Tensor[] }): [Tensor, Tensor][] {
  return group.params.filter((p) => p.grad !== null).map((p) => [p, p.grad!]);
}

/** Throws unless v is a number ≥ 0: the check every optimizer makes of lr, eps, weightDecay, … */
export function checkNonNegative(opt: string, key: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0)) throw new ValueError(`${opt}: ${key} must be a number ≥ 0, got ${String(v)}`);
}
