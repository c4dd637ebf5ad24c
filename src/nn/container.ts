/**
 * @file Containers: Sequential, ModuleList and ModuleDict, as torch.nn's. Their children are kept in order in a Map
 * (not as properties, whose order JavaScript changes for number-like keys), named '0', '1', … or by their keys, so
 * parameter names are PyTorch's (`0.weight`, `layers.1.bias`, `heads.cls.weight`).
 */
import {
  any,
  checkMethods,
  describe,
  instance,
  int,
  iterable,
  nullable,
  optional,
  record,
  sig,
  str,
  union,
} from '../core/args.js';
import { IndexError, ValueError } from '../core/errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

const MODULE = instance(Module, 'a Module');
const MODULES = iterable(MODULE, 'an iterable of Modules');

/** The modules of an iterable, every one checked before any is added, so a bad one changes nothing. */
function modulesOf(where: string, modules: Iterable<unknown>): Module[] {
  const list = [...modules];
  list.forEach((m, i) => {
    if (!(m instanceof Module)) throw new ValueError(`${where}: element ${i} must be a Module, got ${describe(m)}`);
  });
  return list as Module[];
}

/** i (negative counts from the end) as a position in [0, n), or an IndexError. */
function position(where: string, i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n)
    throw new IndexError(
      `${where}: index ${i} is out of range for ${n} module${n === 1 ? '' : 's'}` +
        (n ? ` (valid: ${-n} to ${n - 1})` : ''),
    );
  return i < 0 ? i + n : i;
}

/** Python's slice bounds: negative from the end, clamped to [0, n]. */
function bound(v: number | undefined, dflt: number, n: number): number {
  if (v === undefined) return dflt;
  return Math.min(Math.max(v < 0 ? v + n : v, 0), n);
}

/** Renumbers children '0', '1', … in their current order, as PyTorch does after a deletion or insertion. */
function renumbered(mods: Iterable<Module>): Map<string, Module> {
  return new Map([...mods].map((m, i) => [String(i), m]));
}

/**
 * torch.nn.Sequential(*args): modules, or one object of them by name (PyTorch's OrderedDict form), whose names are
 * checked by the constructor.
 */
const SEQUENTIAL = sig('Sequential', { rest: union(MODULE, record(MODULE, 'an object of Modules by name')) });

/**
 * Modules applied in order, each to the previous one's output (torch.nn.Sequential). Children are named '0', '1', …,
 * or by the keys of an object: `new Sequential({fc: new Linear(4, 2), act: new ReLU()})` (PyTorch's OrderedDict form).
 */
export class Sequential extends Module {
  /** @internal the children in order. */
  _modules: Map<string, Module>;

  constructor(...modules: Module[] | [Record<string, Module>]);
  constructor(...args: unknown[]) {
    super();
    const modules = SEQUENTIAL.bind(args).rest as (Module | Record<string, Module>)[];
    this._modules = new Map();
    const first = modules[0];
    if (modules.length === 1 && !(first instanceof Module)) {
      for (const k of Object.keys(first)) checkName('Sequential', k);
      for (const [k, m] of Object.entries(first)) this._modules.set(k, m);
    } else
      modules.forEach((m, i) => {
        if (!(m instanceof Module))
          throw new ValueError(
            `Sequential: argument ${i + 1} is an object of modules, which must be the only argument (the named ` +
              `form); give modules, or one object of them`,
          );
        this._modules.set(String(i), m);
      });
  }

  override *namedChildren(): Generator<[string, Module]> {
    yield* this._modules;
    // Modules a subclass holds as properties come after the contained ones.
    yield* super.namedChildren();
  }

  get length(): number {
    return this._modules.size;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    return [...this._modules.values()][position('Sequential.at', i, this._modules.size)];
  }

  /** The modules from start to end (exclusive, Python's slice rules), as a Sequential sharing them. */
  slice(start?: number, end?: number): Sequential {
    const entries = [...this._modules];
    const n = entries.length;
    const out = new Sequential();
    // PyTorch keeps the sliced children's names.
    for (const [k, m] of entries.slice(bound(start, 0, n), bound(end, n, n))) out._modules.set(k, m);
    return out;
  }

  /** Adds a module at the end, named by its position. Returns this. */
  append(module: Module): this {
    this._modules.set(String(this._modules.size), module);
    return this;
  }

  /** Appends every module of an iterable (all checked first). Returns this. */
  extend(modules: Iterable<Module>): this {
    for (const m of modulesOf('Sequential.extend', modules)) this.append(m);
    return this;
  }

  /** Inserts a module before position i (i = length appends); the children are renumbered. Returns this. */
  insert(i: number, module: Module): this {
    const n = this._modules.size;
    const at = i === n ? n : position('Sequential.insert', i, n);
    const mods = [...this._modules.values()];
    mods.splice(at, 0, module);
    this._modules = renumbered(mods);
    return this;
  }

  /** Removes and returns the i-th module (default: the last); the rest are renumbered, as PyTorch's del. */
  pop(i = -1): Module {
    const mods = [...this._modules.values()];
    const [m] = mods.splice(position('Sequential.pop', i, mods.length), 1);
    this._modules = renumbered(mods);
    return m;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this._modules.values();
  }

  override forward(input: Tensor): Tensor {
    let x = input;
    for (const m of this._modules.values()) x = m.call(x);
    return x;
  }
}

SEQUENTIAL.describes(Sequential);
// PyTorch's names: idx for indexing, index for insert, key for pop.
checkMethods(Sequential, {
  namedChildren: {},
  at: { args: { idx: int() } },
  slice: { args: { start: optional(int()), end: optional(int()) } },
  append: { args: { module: MODULE } },
  extend: { args: { sequential: MODULES } },
  insert: { args: { index: int(), module: MODULE } },
  pop: { args: { key: optional(int()) } },
  // The first module reads the input; whatever it takes is its forward's to check.
  forward: { args: { input: any } },
});

/** torch.nn.ModuleList(modules=None). */
const MODULE_LIST = sig('ModuleList', { args: { modules: optional(nullable(MODULES)) } });

/**
 * A list of modules whose parameters the owner finds (torch.nn.ModuleList), named '0', '1', …; it has no forward:
 * the owner's forward decides how to call them.
 */
export class ModuleList<M extends Module = Module> extends Module {
  /** @internal the children in order; their names are their positions. */
  _list: M[];

  constructor(modules?: Iterable<M> | null);
  constructor(...args: unknown[]) {
    super();
    this._list = [];
    this.extend((MODULE_LIST.bind(args).modules ?? []) as Iterable<M>);
  }

  override *namedChildren(): Generator<[string, Module]> {
    for (let i = 0; i < this._list.length; i++) yield [String(i), this._list[i]];
    yield* super.namedChildren();
  }

  get length(): number {
    return this._list.length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): M {
    return this._list[position('ModuleList.at', i, this._list.length)];
  }

  /** Replaces the i-th module. */
  set(i: number, module: M): this {
    this._list[position('ModuleList.set', i, this._list.length)] = module;
    return this;
  }

  /** The modules from start to end (exclusive, Python's slice rules), as a ModuleList sharing them. */
  slice(start?: number, end?: number): ModuleList<M> {
    const n = this._list.length;
    return new ModuleList(this._list.slice(bound(start, 0, n), bound(end, n, n)));
  }

  /** Adds a module at the end (PyTorch's append). Returns this. */
  append(module: M): this {
    this._list.push(module);
    return this;
  }

  /** Adds modules at the end, as Array.push; returns the new length. */
  push(...modules: M[]): number {
    this._list.push(...modules);
    return this._list.length;
  }

  /** Appends every module of an iterable (all checked first). Returns this. */
  extend(modules: Iterable<M>): this {
    this._list.push(...(modulesOf('ModuleList.extend', modules) as M[]));
    return this;
  }

  /** Inserts a module before position i (i = length appends); later ones move up one. Returns this. */
  insert(i: number, module: M): this {
    const n = this._list.length;
    this._list.splice(i === n ? n : position('ModuleList.insert', i, n), 0, module);
    return this;
  }

  /** Removes and returns the i-th module (default: the last); later ones move down one. */
  pop(i = -1): M {
    return this._list.splice(position('ModuleList.pop', i, this._list.length), 1)[0];
  }

  [Symbol.iterator](): Iterator<M> {
    return this._list[Symbol.iterator]();
  }
}

MODULE_LIST.describes(ModuleList);
checkMethods(ModuleList, {
  namedChildren: {},
  at: { args: { idx: int() } },
  set: { args: { idx: int(), module: MODULE } },
  slice: { args: { start: optional(int()), end: optional(int()) } },
  append: { args: { module: MODULE } },
  push: { rest: MODULE },
  extend: { args: { modules: MODULES } },
  insert: { args: { index: int(), module: MODULE } },
  pop: { args: { key: optional(int()) } },
});

function checkName(where: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '' || key.includes('.'))
    throw new ValueError(
      `${where}: a module's name must be a non-empty string without '.', got ${JSON.stringify(key)}; the dot ` +
        `separates names in parameter paths`,
    );
}

/** An object of modules by name, a Map, or [key, module] pairs (each entry is checked by update). */
const MODULE_ENTRIES = union(
  record(MODULE, 'an object of Modules by name'),
  iterable(any, 'a Map or an iterable of [key, module] pairs'),
);
/** torch.nn.ModuleDict(modules=None). */
const MODULE_DICT = sig('ModuleDict', { args: { modules: optional(nullable(MODULE_ENTRIES)) } });

/**
 * Modules by name, in insertion order (torch.nn.ModuleDict); the keys are the children's names, so a parameter is
 * `heads.cls.weight`. Iterating it gives the keys, as PyTorch's does; entries() gives [key, module] pairs.
 */
export class ModuleDict<M extends Module = Module> extends Module {
  /** @internal the children by name, in insertion order. */
  _modules: Map<string, M>;

  constructor(modules?: Record<string, M> | Iterable<[string, M]> | null);
  constructor(...args: unknown[]) {
    super();
    this._modules = new Map();
    this.update((MODULE_DICT.bind(args).modules ?? {}) as Record<string, M>);
  }

  override *namedChildren(): Generator<[string, Module]> {
    yield* this._modules;
    // Modules a subclass holds as properties come after the contained ones.
    yield* super.namedChildren();
  }

  get length(): number {
    return this._modules.size;
  }

  /** The module named key; an error naming the keys if there is none. */
  get(key: string): M {
    const m = this._modules.get(key);
    if (!m)
      throw new ValueError(
        `ModuleDict.get: no module named ${JSON.stringify(key)}; the keys are ${[...this._modules.keys()].join(', ') || '(none)'}`,
      );
    return m;
  }

  /** Adds or replaces the module named key (a replaced one keeps its place). Returns this. */
  set(key: string, module: M): this {
    checkName('ModuleDict.set', key);
    this._modules.set(key, module);
    return this;
  }

  has(key: string): boolean {
    return this._modules.has(key);
  }

  /** Removes and returns the module named key. */
  pop(key: string): M {
    const m = this.get(key);
    this._modules.delete(key);
    return m;
  }

  clear(): void {
    this._modules.clear();
  }

  /**
   * Adds or replaces modules from an object, a Map or [key, module] pairs, in their order; every entry is checked
   * before any is added. Returns this.
   */
  update(modules: Record<string, M> | Iterable<[string, M]>): this {
    const entries = [
      ...(typeof (modules as Iterable<[string, M]>)[Symbol.iterator] === 'function'
        ? (modules as Iterable<unknown>)
        : Object.entries(modules as Record<string, M>)),
    ];
    entries.forEach((e, i) => {
      if (!Array.isArray(e) || e.length !== 2)
        throw new ValueError(`ModuleDict.update: entry ${i} must be a [key, module] pair, got ${describe(e)}`);
      checkName('ModuleDict.update', e[0]);
      if (!(e[1] instanceof Module))
        throw new ValueError(`ModuleDict.update: the value for '${e[0]}' must be a Module, got ${describe(e[1])}`);
    });
    for (const [k, m] of entries as [string, M][]) this._modules.set(k, m);
    return this;
  }

  keys(): IterableIterator<string> {
    return this._modules.keys();
  }
  values(): IterableIterator<M> {
    return this._modules.values();
  }
  entries(): IterableIterator<[string, M]> {
    return this._modules.entries();
  }
  /** PyTorch's name for entries(). */
  items(): IterableIterator<[string, M]> {
    return this._modules.entries();
  }

  [Symbol.iterator](): Iterator<string> {
    return this._modules.keys();
  }
}

MODULE_DICT.describes(ModuleDict);
checkMethods(ModuleDict, {
  namedChildren: {},
  get: { args: { key: str } },
  set: { args: { key: str, module: MODULE } },
  has: { args: { key: str } },
  pop: { args: { key: str } },
  clear: {},
  update: { args: { modules: MODULE_ENTRIES } },
  keys: {},
  values: {},
  entries: {},
  items: {},
});
