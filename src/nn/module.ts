/**
 * @file nn.Module: parameters, buffers and children found from the module's own properties (in definition order,
 * as PyTorch's registration order), dotted names identical to PyTorch's, train/eval, stateDict/loadStateDict.
 */
import { noGrad } from '../autograd/mode.js';
import {
  any,
  bool,
  checked,
  checkMethods,
  custom,
  describe,
  fn,
  instance,
  isTensorLike,
  nullable,
  optional,
  record,
  sig,
  str,
  tensor,
} from '../core/args.js';
import { DTYPES, type DType, isFloating } from '../core/dtype.js';
import { AdjointError, DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { toDtype } from '../ops/elementwise.js';
import { _adoptState, _markKeep } from '../tensor/lifetime.js';
import type { Tensor } from '../tensor/tensor.js';
import { Tensor as TensorClass } from '../tensor/tensor.js';
import {
  addHook,
  type ForwardHook,
  type ForwardPreHook,
  type FullBackwardHook,
  type ModuleHooks,
  type RemovableHandle,
  runForward,
} from './hooks.js';

const parameters = new WeakSet<Tensor>();

/** A module's hook tables, made at its first registration. */
function hookTable(m: Module): ModuleHooks {
  m._hooks ??= { pre: new Map(), post: new Map(), backward: new Map() };
  return m._hooks;
}

/**
 * Marks t as a module parameter (nn.Parameter(data, requires_grad=True)): a leaf that requires grad and is found by
 * parameters().
 */
export const Parameter = checked(
  'Parameter',
  { args: { data: tensor, requiresGrad: optional(bool) } },
  function Parameter(t: Tensor, requiresGrad = true): Tensor {
    const p = t.isLeaf ? t : t.detach();
    p.requiresGrad_(requiresGrad);
    _markKeep(p); // long-lived: a module made inside ad.scope keeps its parameters
    parameters.add(p);
    return p;
  },
);

const isParam = (v: unknown): v is Tensor => v instanceof TensorClass && parameters.has(v);

/** Whether v is a module parameter; any value may be asked about, hence `any`. */
export const isParameter = checked('isParameter', { args: { value: any } }, isParam);

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * The base class of layers and models. Assign parameters (`this.weight = Parameter(...)`), submodules
 * (`this.fc1 = new Linear(4, 3)`) and buffers (`this.registerBuffer('runningMean', t)`) in the constructor; they are
 * found in property order. Subclasses implement forward(...); call the module itself as `m.forward(x)` or `m.call(x)`.
 */
export class Module {
  /** train() / eval() mode: dropout and batch norm read it. */
  training = true;
  /** @internal buffers by name, and which ones are not saved in the state dict. */
  _buffers = new Map<string, Tensor | null>();
  _nonPersistent = new Set<string>();

  /** @internal this module's hooks (registerForwardHook and the rest); null while none was ever registered. */
  _hooks: ModuleHooks | null = null;

  /** torch.nn.Module(): no arguments; a subclass declares its own. */
  constructor();
  constructor(...args: unknown[]) {
    MODULE.bind(args);
    // forward as the subclass defines it, run through the hooks (PyTorch's module(x) does the same); an own
    // property, so `m.forward(x)` and `m.call(x)` both reach them and the class's forward keeps its types.
    // `this` is the receiver, not the module constructed here: a copied module (clones in the transformer stacks)
    // carries this property along and must run on itself.
    const inner = this.forward;
    Object.defineProperty(this, 'forward', {
      value: function forward(this: Module, ...a: any[]) {
        return runForward(this, this._hooks, inner, a);
      },
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  /**
   * Runs hook(module, args) before every forward; returning an array replaces the arguments, any other value but
   * undefined becomes the only argument (PyTorch's register_forward_pre_hook).
   */
  registerForwardPreHook(hook: ForwardPreHook<this>): RemovableHandle {
    return addHook(hookTable(this).pre, hook as ForwardPreHook);
  }

  /** Runs hook(module, args, output) after every forward; returning anything but undefined replaces the output. */
  registerForwardHook(hook: ForwardHook<this>): RemovableHandle {
    return addHook(hookTable(this).post, hook as ForwardHook);
  }

  /**
   * Runs hook(module, gradInput, gradOutput) in backward, once the gradients with respect to this module's tensor
   * inputs are known (with respect to its outputs, when no input needs one); returning an array replaces
   * gradInput (PyTorch's register_full_backward_hook). With several tensor inputs the hook runs when the last of
   * their gradients arrives, and only that one can still be replaced.
   */
  registerFullBackwardHook(hook: FullBackwardHook<this>): RemovableHandle {
    return addHook(hookTable(this).backward, hook as FullBackwardHook);
  }

  forward(..._args: any[]): any {
    throw new AdjointError(`${this.constructor.name}: forward() is not implemented`);
  }

  /** Runs forward (PyTorch's module(x)). */
  call(...args: any[]): any {
    return this.forward(...args);
  }

  /** A buffer: state saved with the model but not trained (running statistics). */
  registerBuffer(name: string, t: Tensor | null, persistent = true): void {
    if (Object.hasOwn(this, name) && !this._buffers.has(name))
      throw new ValueError(
        `Module.registerBuffer: attribute '${name}' already exists on ${this.constructor.name}; a buffer needs a name of ` +
          `its own`,
      );
    // Buffers are state slots: one made inside ad.scope outlives it; one replaced is released if a scope made it.
    _adoptState(t, this._buffers.get(name));
    this._buffers.set(name, t);
    if (!persistent) this._nonPersistent.add(name);
    else this._nonPersistent.delete(name);
    Object.defineProperty(this, name, {
      get: () => this._buffers.get(name) ?? null,
      set: (v: Tensor | null) => {
        _adoptState(v, this._buffers.get(name));
        this._buffers.set(name, v);
      },
      enumerable: false,
      configurable: true,
    });
  }

  /** Direct children, in definition order. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [k, v] of Object.entries(this)) if (v instanceof Module) yield [k, v];
  }
  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /**
   * This module and every descendant, with dotted names ('' for this one); a module reached twice is listed once
   * unless removeDuplicate is false. memo holds the modules already listed (shared across the recursion).
   */
  *namedModules(memo: Set<Module> | null = null, prefix = '', removeDuplicate = true): Generator<[string, Module]> {
    const seen = memo ?? new Set<Module>();
    if (seen.has(this)) return;
    if (removeDuplicate) seen.add(this);
    yield [prefix, this];
    for (const [k, m] of this.namedChildren())
      yield* m.namedModules(seen, prefix ? `${prefix}.${k}` : k, removeDuplicate);
  }
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** Own parameters (not recursing). */
  *_ownParameters(): Generator<[string, Tensor]> {
    for (const [k, v] of Object.entries(this)) if (isParam(v)) yield [k, v];
  }

  /** Every parameter with its dotted name, PyTorch's order (own first, then children's), each tensor once. */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods = recurse ? [...this.namedModules(null, prefix)] : [[prefix, this] as [string, Module]];
    for (const [p, m] of mods)
      for (const [k, t] of m._ownParameters()) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([p ? `${p}.${k}` : k, t]);
      }
    return out;
  }
  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map(([, t]) => t);
  }

  /** Every buffer with its dotted name (own first, then children's), each tensor once, as PyTorch's. */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods = recurse ? [...this.namedModules(null, prefix)] : [[prefix, this] as [string, Module]];
    for (const [p, m] of mods)
      for (const [k, t] of m._buffers) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        out.push([p ? `${p}.${k}` : k, t]);
      }
    return out;
  }
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, t]) => t);
  }

  /** Sets training mode here and below; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /**
   * Clears every parameter's gradient: set to null by default, as PyTorch 2 does; zeroGrad(false) (or
   * {setToNone: false}) zeroes it in place.
   */
  zeroGrad(setToNone?: boolean | { setToNone?: boolean }): void;
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (!p.grad) continue;
      if (setToNone) p.grad = null;
      else noGrad(() => (p.grad as Tensor & { zero_(): Tensor }).zero_());
    }
  }

  /** Calls fn on every module (children first, then this), like torch's apply; returns this. */
  apply(fn: (m: Module) => void): this {
    for (const m of this.children()) m.apply(fn);
    fn(this);
    return this;
  }

  /** Sets requiresGrad on every parameter (freezes the module with false); returns this (torch's requires_grad_). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Parameters and persistent buffers by dotted name: the same keys and layouts as PyTorch's state_dict. */
  stateDict(): StateDict {
    const sd: StateDict = {};
    // Every name a shared module has, as PyTorch's state_dict.
    for (const [p, m] of this.namedModules(null, '', false)) {
      for (const [k, t] of m._ownParameters()) sd[p ? `${p}.${k}` : k] = t.detach();
      for (const [k, t] of m._buffers) if (t && !m._nonPersistent.has(k)) sd[p ? `${p}.${k}` : k] = t.detach();
    }
    return sd;
  }

  /**
   * Copies a state dict's values into this module's parameters and buffers (in place, without recording). Every key,
   * shape and dtype is checked first, so an error leaves the module untouched. strict (default) requires the keys
   * to match exactly.
   */
  loadStateDict(stateDict: StateDict, strict?: boolean | { strict?: boolean }): LoadResult;
  loadStateDict(sd: StateDict, strict = true): LoadResult {
    const own = this.stateDict();
    const targets = new Map<string, Tensor>();
    for (const [p, m] of this.namedModules(null, '', false)) {
      for (const [k, t] of m._ownParameters()) targets.set(p ? `${p}.${k}` : k, t);
      for (const [k, t] of m._buffers) if (t && !m._nonPersistent.has(k)) targets.set(p ? `${p}.${k}` : k, t);
    }
    const missingKeys = Object.keys(own).filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !(k in own));
    if (strict && (missingKeys.length || unexpectedKeys.length))
      throw new ValueError(
        `loadStateDict: the state dict does not match ${this.constructor.name}: ` +
          (missingKeys.length ? `missing keys ${missingKeys.join(', ')}` : '') +
          (missingKeys.length && unexpectedKeys.length ? '; ' : '') +
          (unexpectedKeys.length ? `unexpected keys ${unexpectedKeys.join(', ')}` : '') +
          `. Pass {strict: false} to load the keys that match`,
      );
    for (const [k, src] of Object.entries(sd)) {
      const dst = targets.get(k);
      if (!dst) continue;
      if (!(src instanceof TensorClass))
        throw new ValueError(`loadStateDict: the value for '${k}' must be a Tensor, got ${describe(src)}`);
      if (!sameShape(src.shape, dst.shape))
        throw new ShapeError(
          `loadStateDict: '${k}' has shape ${fmtShape(src.shape)} in the state dict but ${fmtShape(dst.shape)} in the model`,
        );
    }
    noGrad(() => {
      for (const [k, src] of Object.entries(sd)) {
        const dst = targets.get(k) as (Tensor & { copy_(s: Tensor): Tensor }) | undefined;
        if (dst) dst.copy_(src);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Converts every floating-point parameter (with its gradient) and buffer to dtype, here and below, and returns
   * this (torch.nn.Module.to(dtype); given a tensor, its dtype). Integer and bool buffers (BatchNorm's
   * num_batches_tracked) are left alone, as PyTorch leaves them. A parameter keeps its identity: as PyTorch sets
   * `param.data`, the same Parameter object takes the converted data (Tensor._setData), so an optimizer built before
   * still updates the model's tensors. A buffer is replaced by its converted copy, as PyTorch replaces it. Everything
   * is converted before anything is swapped, so a failed call changes nothing.
   */
  to(dtypeOrTensor: DType | Tensor): this {
    const d = isTensorLike(dtypeOrTensor) ? dtypeOrTensor.dtype : dtypeOrTensor;
    if (!Object.hasOwn(DTYPES, d) || !isFloating(d)) throw new DTypeError(moduleDtypeMessage('Module.to', String(d)));
    return this._castFloating(d);
  }
  /** Floating-point parameters and buffers to float64 (torch.nn.Module.double). */
  double(): this {
    return this._castFloating('float64');
  }
  /** Floating-point parameters and buffers to float32 (torch.nn.Module.float). */
  float(): this {
    return this._castFloating('float32');
  }
  /** torch.nn.Module.half: float16 does not exist in adjoint yet, so this throws a DTypeError saying so. */
  half(): never {
    throw new DTypeError(moduleDtypeMessage('Module.half', 'float16'));
  }
  /** torch.nn.Module.bfloat16: bfloat16 does not exist in adjoint yet, so this throws a DTypeError saying so. */
  bfloat16(): never {
    throw new DTypeError(moduleDtypeMessage('Module.bfloat16', 'bfloat16'));
  }

  /** @internal to(dtype)'s work, for a floating dtype. */
  _castFloating(dtype: DType): this {
    const swaps: [Tensor, Tensor][] = [];
    const buffers: [Module, string, Tensor][] = [];
    // A buffer registered in two modules becomes one converted tensor, still shared.
    const converted = new Map<Tensor, Tensor>();
    const cast = (t: Tensor) => noGrad(() => toDtype(t.detach(), dtype));
    for (const p of this.parameters()) {
      if (!isFloating(p.dtype) || p.dtype === dtype) continue;
      swaps.push([p, cast(p)]);
      if (p.grad && isFloating(p.grad.dtype) && p.grad.dtype !== dtype) swaps.push([p.grad, cast(p.grad)]);
    }
    for (const m of this.modules())
      for (const [k, b] of m._buffers) {
        if (!b || !isFloating(b.dtype) || b.dtype === dtype) continue;
        let c = converted.get(b);
        if (!c) {
          c = cast(b);
          if (b.requiresGrad) c.requiresGrad_(true);
          converted.set(b, c);
        }
        buffers.push([m, k, c]);
      }
    for (const [t, c] of swaps) t._setData(c);
    for (const [m, k, c] of buffers) {
      _adoptState(c, m._buffers.get(k));
      m._buffers.set(k, c);
    }
    return this;
  }

  /** A summary like PyTorch's repr. */
  toString(): string {
    const kids = [...this.namedChildren()];
    const extra = this.extraRepr();
    if (!kids.length) return `${this.constructor.name}(${extra})`;
    const lines = kids.map(([k, m]) => `  (${k}): ${m.toString().replace(/\n/g, '\n  ')}`);
    return `${this.constructor.name}(${extra ? `${extra}\n` : '\n'}${lines.join('\n')}\n)`;
  }
  extraRepr(): string {
    return '';
  }
}

/** Why Module.to/half/bfloat16 cannot convert to dtype d. */
function moduleDtypeMessage(op: string, d: string): string {
  const floats = Object.keys(DTYPES).filter((k) => isFloating(k as DType));
  const list = floats.map((k) => `'${k}'`).join(', ');
  if (d === 'float16' || d === 'bfloat16' || d === 'half')
    return (
      `${op}: ${d === 'half' ? 'float16' : d} does not exist in adjoint yet (its floating-point dtypes are ${list}); ` +
      `keep the model in float32 (.float()) or float64 (.double())`
    );
  if (Object.hasOwn(DTYPES, d))
    return (
      `${op}: modules convert only to a floating-point dtype (${list}), got '${d}', as PyTorch's Module.to; ` +
      `convert an integer tensor itself with t.to('${d}')`
    );
  if (d === 'cpu' || d.startsWith('cuda') || d === 'mps')
    return `${op}: '${d}' is a device, and adjoint has none: tensors live on the active backend (ad.setBackend); drop the call`;
  return `${op}: unknown dtype '${d}'; use one of ${list}`;
}

const MODULE = sig('Module');
MODULE.describes(Module);

/** A buffer's name: PyTorch refuses an empty one and one with a dot (the dot separates names in the state dict). */
const NAME = custom<string>(
  "a non-empty name without '.' (the dot separates names in the state dict)",
  (v) => typeof v === 'string' && v !== '' && !v.includes('.'),
  { example: 'b' },
);

checkMethods(Module, {
  // The base forward says a subclass must write its own; call hands its arguments to forward unread.
  forward: { rest: any },
  call: { rest: any },
  registerForwardPreHook: { args: { hook: fn } },
  registerForwardHook: { args: { hook: fn } },
  registerFullBackwardHook: { args: { hook: fn } },
  registerBuffer: { args: { name: NAME, tensor: nullable(tensor), persistent: optional(bool) } },
  namedChildren: {},
  children: {},
  namedModules: {
    args: {
      memo: optional(nullable(instance(Set, 'a Set of modules'))),
      prefix: optional(str),
      removeDuplicate: optional(bool),
    },
  },
  modules: {},
  namedParameters: { args: { prefix: optional(str), recurse: optional(bool) } },
  parameters: { args: { recurse: optional(bool) } },
  namedBuffers: { args: { prefix: optional(str), recurse: optional(bool) } },
  buffers: { args: { recurse: optional(bool) } },
  train: { args: { mode: optional(bool) } },
  eval: {},
  zeroGrad: { args: { setToNone: optional(bool) } },
  apply: { args: { fn } },
  requiresGrad_: { args: { requiresGrad: optional(bool) } },
  stateDict: {},
  // The values are checked key by key as they are loaded, so the message names the key.
  loadStateDict: {
    args: { stateDict: record(any, 'a state dict (an object of Tensors by name)'), strict: optional(bool) },
  },

  to: {
    args: {
      dtype: custom(
        "a dtype name ('float32', 'float64') or a Tensor",
        (v) => typeof v === 'string' || isTensorLike(v),
        { example: 'float64' },
      ),
    },
  },
  double: {},
  float: {},
  half: {},
  bfloat16: {},
});
