/**
 * @file The whole exported API fed wrong arguments. Every exported function, every exported class's constructor and
 * the public methods of Tensor, modules, optimizers, schedulers and loaders declare their parameters
 * (src/core/args.ts); this test walks the exports, requires a declaration for each, and from each declaration
 * derives wrong calls — a value of the wrong type in every position, a surplus positional argument, an unknown and a
 * snake_case option — each of which must throw an AdjointError whose message names the function. It is a property
 * over the API, not a hand list: an export added without a declaration fails here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Arg, type Signature, signatureOf } from '../src/core/args.js';
import * as ad from '../src/index.js';

type AnyFn = (...a: unknown[]) => unknown;
type Ctor = new (...a: unknown[]) => unknown;

const isClass = (v: unknown): v is Ctor =>
  typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v));

/** Exports that take no declared arguments on purpose, with the reason. */
const EXEMPT: Record<string, string> = {
  // Error classes take a message, as Error does; they are thrown, not called by users with options.
  AdjointError: 'an Error subclass',
  ShapeError: 'an Error subclass',
  DTypeError: 'an Error subclass',
  AutogradError: 'an Error subclass',
  IndexError: 'an Error subclass',
  ValueError: 'an Error subclass',
  ArgumentError: 'an Error subclass',
  AnomalyError: 'an Error subclass',
  KernelError: 'an Error subclass',
  ReleasedTensorError: 'an Error subclass',
  // Tensors are made by ad.tensor / zeros / …; the constructor is the internal view constructor.
  Tensor: 'constructed internally (ad.tensor and the creation functions are the public way)',
  TreeDef: 'made by treeFlatten and treeStructure, never by users (its methods are checked)',
  Profile: 'made by ad.profile, never by users (its methods are checked)',
};

/**
 * Methods that are extension points — a subclass overrides them and the base class calls them, never a user — and
 * need no declaration of their own.
 */
const EXTENSION_POINTS = new Set(['Module.forward']);
/**
 * The optimizers' and schedulers' protected hooks (TypeScript `protected`, which JavaScript cannot see): each
 * optimizer's update rule and option rules, each scheduler's formula, called by step() and never by users.
 */
const PROTECTED = new Set([
  'rules',
  'update',
  'groupAdded',
  'init',
  'addGroup',
  'checkOptions',
  'checkStep',
  'live',
  'stateOf',
  'getLr',
  'settings',
  'ownState',
  'loadOwnState',
  'updates',
]);
/**
 * Methods that take nothing and read nothing, called by printing or by a layer's own constructor: a surplus argument
 * has nothing to be mistaken for. (Every other zero-argument public method declares its empty signature.)
 */
/**
 * Base classes users subclass, often without a constructor of their own — and a JS class without one passes all its
 * arguments to super(). Their constructors take nothing, so they do not refuse a surplus argument: that would break
 * `class MyData extends Dataset { … }` built as `new MyData(rows)`.
 */
const SUBCLASSED = new Set(['Module', 'Dataset']);
const REPR_AND_RESET = new Set(['extraRepr', 'toString', 'resetParameters', 'resetRunningStats']);

/** Every exported function and class, by dotted name (ad.nn.Linear → 'nn.Linear'). */
function exportsOf(ns: Record<string, unknown>, prefix = '', seen = new Set<unknown>()): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(ns)) {
    const name = prefix + k;
    if (typeof v === 'function') out.push([name, v]);
    else if (v && typeof v === 'object' && !Array.isArray(v) && !seen.has(v) && /^[a-z]/.test(k)) {
      seen.add(v);
      out.push(...exportsOf(v as Record<string, unknown>, `${name}.`, seen));
    }
  }
  return out;
}

const API = exportsOf(ad as unknown as Record<string, unknown>);
// One name per value: ad.func.grad and ad.grad are the same function.
const UNIQUE = [...new Map(API.map(([n, v]) => [v, n] as const)).entries()].map(([v, n]) => [n, v] as const);

/** Instances for the `instance` parameter type, and for probing methods. */
function exampleInstance(cls: unknown): unknown {
  const p = ad.nn.Parameter(ad.zeros([1]));
  if (cls === ad.Tensor) return ad.ones([1]);
  if (cls === ad.nn.Module) return new ad.nn.Linear(1, 1);
  if (cls === ad.optim.Optimizer) return new ad.optim.SGD([p], { lr: 0.1 });
  if (cls === ad.optim.LRScheduler) return new ad.optim.StepLR(new ad.optim.SGD([p], { lr: 0.1 }), 1);
  if (cls === ad.data.Dataset) return new ad.data.TensorDataset(ad.zeros([2, 1]));
  if (cls === ad.data.Generator) return new ad.data.Generator();
  if (cls === ad.TreeDef) return ad.treeStructure([]);
  // Classes whose required arguments must fit together (a learning rate for SGD, a length for OneCycleLR).
  if (cls === ad.data.TensorDataset) return new ad.data.TensorDataset(ad.zeros([2, 1]));
  if (cls === ad.data.DataLoader) return new ad.data.DataLoader(new ad.data.TensorDataset(ad.zeros([2, 1])));
  if (cls === ad.nn.Bilinear) return new ad.nn.Bilinear(1, 1, 1);
  if (cls === ad.optim.SGD) return new ad.optim.SGD([p], 0.1);
  if (cls === ad.optim.lrScheduler.OneCycleLR)
    return new ad.optim.lrScheduler.OneCycleLR(new ad.optim.SGD([p], 0.1), 0.1, { totalSteps: 10 });
  return undefined;
}

/** A valid value of a parameter's type (the probe's prefix), or undefined when none can be made. */
function example(a: Arg): unknown {
  if (a.kind === 'tensor' || a.kind === 'scalarOrTensor') return ad.ones([1]);
  if (a.kind === 'instance') return exampleInstance(a.cls);
  if (a.kind === 'generator') return new ad.data.Generator();
  if (a.kind === 'union' && a.parts) {
    for (const p of a.parts) {
      const e = example(p);
      if (e !== undefined && a.ok(e)) return e;
    }
  }
  if (a.kind === 'array' && a.parts) {
    const e = example(a.parts[0]);
    return e === undefined ? undefined : [e];
  }
  if (a.kind === 'iterable' && a.parts) {
    const e = example(a.parts[0]);
    return e === undefined ? undefined : [e];
  }
  return a.example;
}

/** Values no sensible parameter accepts, and values most do not. Plain objects are options, so none are here. */
const WRONG: [string, () => unknown][] = [
  ['a symbol', () => Symbol('wrong')],
  ['a BigInt', () => 10n],
  ['a string', () => 'wrong'],
  ['NaN', () => Number.NaN],
  ['-1.5', () => -1.5],
  ['a function', () => () => 0],
  ['a Promise', () => Promise.resolve(1)],
  ['a DataView', () => new DataView(new ArrayBuffer(4))],
  ['true', () => true],
  ['an array of symbols', () => [Symbol('x')]],
  ['null', () => null],
];

interface Target {
  /** What the probe calls: a function, a constructor (new), or a method on an instance. */
  call: (args: unknown[]) => unknown;
  sig: Signature<any, any>;
}

function targets(): { found: Target[]; missing: string[]; unprobed: string[] } {
  const found: Target[] = [];
  const missing: string[] = [];
  const unprobed: string[] = [];
  for (const [name, v] of UNIQUE) {
    const bare = name.replace(/^.*\./, '');
    if (EXEMPT[bare]) continue;
    const sig = signatureOf(v as object);
    if (!sig) {
      missing.push(name);
      continue;
    }
    if (isClass(v)) {
      if (!SUBCLASSED.has(bare)) found.push({ sig, call: (args) => new (v as Ctor)(...args) });
    } else found.push({ sig, call: (args) => (v as AnyFn)(...args) });
  }
  // Methods: on Tensor, and on an instance of each exported class that can be built from its examples.
  const classes = UNIQUE.filter(([, v]) => isClass(v)) as [string, Ctor][];
  for (const [name, cls] of classes) {
    let inst: unknown = exampleInstance(cls);
    if (inst === undefined || !(inst instanceof cls)) {
      const sig = signatureOf(cls);
      if (!sig) continue;
      try {
        const args = sig.positional.filter(([, a]) => !a.optional).map(([, a]) => example(a));
        inst = new cls(...args);
      } catch {
        unprobed.push(`${name} (methods: no instance from its examples)`);
        continue;
      }
    }
    const seenMethods = new Set<string>();
    for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto))
      for (const m of Object.getOwnPropertyNames(proto)) {
        if (m === 'constructor' || m.startsWith('_') || seenMethods.has(m)) continue;
        const d = Object.getOwnPropertyDescriptor(proto, m);
        if (!d || typeof d.value !== 'function') continue;
        seenMethods.add(m);
        const sig = signatureOf(d.value);
        if (!sig) {
          const owner = `${(proto.constructor as { name: string }).name}.${m}`;
          const optimOrScheduler = inst instanceof ad.optim.Optimizer || inst instanceof ad.optim.LRScheduler;
          if (optimOrScheduler && PROTECTED.has(m)) continue;
          if (proto === cls.prototype && !EXTENSION_POINTS.has(owner) && !REPR_AND_RESET.has(m))
            missing.push(`${name}.${m}`);
          continue;
        }
        // The method the instance really has: a subclass may declare its own (SGD.step over Optimizer.step).
        const f = (inst as Record<string, AnyFn>)[m];
        found.push({ sig: signatureOf(f) ?? sig, call: (args) => f.apply(inst, args) });
      }
  }
  return { found, missing: [...new Set(missing)], unprobed };
}

function expectNamed(
  sig: Signature<any, any>,
  what: string,
  call: () => unknown,
  ...fragments: string[]
): string | null {
  let err: unknown;
  try {
    const r = call();
    if (r instanceof Promise) r.catch(() => undefined);
  } catch (e) {
    err = e;
  }
  if (err === undefined) return `${sig.name} ${what}: nothing was thrown`;
  if (!(err instanceof ad.AdjointError))
    return `${sig.name} ${what}: threw an untyped ${(err as Error)?.name}: ${(err as Error)?.message}`;
  if (!err.message.startsWith(`${sig.name}:`))
    return `${sig.name} ${what}: the message does not name it: ${err.message}`;
  for (const f of fragments)
    if (!err.message.includes(f)) return `${sig.name} ${what}: the message lacks "${f}": ${err.message}`;
  return null;
}

const { found, missing, unprobed } = targets();

describe('the exported API declares its arguments', () => {
  test('every exported function, class and public method has a declared signature', () => {
    assert.deepEqual(missing, [], `without a signature (declare one with src/core/args.ts): ${missing.join(', ')}`);
  });

  test('every class with methods can be built from its declared examples (so its methods are probed)', () => {
    assert.deepEqual(unprobed, []);
  });

  test('a wrong-typed value in any position is a typed error naming the function and the parameter', (t) => {
    const failures: string[] = [];
    let probes = 0;
    for (const { sig, call } of found) {
      const prefix: unknown[] = [];
      for (const [pname, a] of sig.positional) {
        for (const [wname, make] of WRONG) {
          const w = make();
          if (a.ok(w)) continue;
          probes++;
          const r = expectNamed(sig, `with ${wname} as ${pname}`, () => call([...prefix, w]), pname);
          if (r) failures.push(r);
        }
        if (a.optional) prefix.push(undefined);
        else {
          const e = example(a);
          if (e === undefined) break; // later positions cannot be reached with a valid prefix
          prefix.push(e);
        }
      }
    }
    t.diagnostic(`${found.length} functions, constructors and methods; ${probes} wrong-typed calls`);
    assert.ok(probes > 1000, `only ${probes} probes ran`);
    assert.deepEqual(failures, []);
  });

  test('a surplus positional argument, an unknown option and a snake_case option are typed errors', () => {
    const failures: string[] = [];
    for (const { sig, call } of found) {
      const required: unknown[] = [];
      for (const [, a] of sig.positional) {
        if (a.optional) break;
        required.push(example(a));
      }
      if (required.some((e) => e === undefined)) continue;
      const check = (r: string | null) => r && failures.push(r);
      if (!sig.rest) {
        // A symbol is never an options object and never a valid value: after every parameter it can only be surplus.
        const full = [...required, ...sig.positional.slice(required.length).map(() => undefined)];
        check(
          expectNamed(sig, 'with a surplus argument', () => call([...full, Symbol('surplus')]), 'positional argument'),
        );
      }
      // A trailing object is the options unless the next parameter takes objects itself (a state dict, a pytree).
      const next = sig.positional[required.length]?.[1] ?? sig.rest;
      if (next?.objects) continue;
      check(
        expectNamed(
          sig,
          'with an unknown option',
          () => call([...required, { zzNotAnOption: 1 }]),
          "unknown option 'zzNotAnOption'",
        ),
      );
      for (const name of sig.optionNames) {
        if (!/[A-Z]/.test(name)) continue;
        const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        check(
          expectNamed(
            sig,
            `with ${snake}`,
            () => call([...required, { [snake]: undefined }]),
            `'${snake}'`,
            // It must point somewhere: at the camelCase name, or (PyTorch's deprecated size_average) at its successor.
            '; use ',
          ),
        );
      }
    }
    assert.deepEqual(failures, []);
  });
});
