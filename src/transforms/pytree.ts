/**
 * @file Pytrees: nested arrays and plain objects whose leaves are tensors, so a transform can take and return a
 * model's parameters ({w, b}, [layer1, layer2]) as one value. Flattening gives the tensor leaves in a fixed order
 * and a TreeDef describing the rest; anything that is not a tensor, an array or a plain object (numbers, strings,
 * null, class instances) is part of the structure and passes through every transform unchanged.
 */
import { any, array, checked, checkMethods, fn, instance, str } from '../core/args.js';
import { ValueError } from '../core/errors.js';
import { Tensor } from '../tensor/tensor.js';

type Kind = 'tensor' | 'array' | 'object' | 'const';

/** The structure of a pytree with its tensor leaves taken out: enough to rebuild it around other leaves. */
export class TreeDef {
  /** How many tensor leaves a tree of this structure holds. */
  readonly numLeaves: number;

  constructor(
    readonly kind: Kind,
    readonly children: readonly TreeDef[] = [],
    /** An object's keys, in the order its leaves are flattened. */
    readonly keys: readonly string[] = [],
    /** A non-tensor leaf's value, put back as it is. */
    readonly value: unknown = undefined,
  ) {
    this.numLeaves = kind === 'tensor' ? 1 : children.reduce((n, c) => n + c.numLeaves, 0);
  }

  /** `[*, {w: *, b: *}, 3]`: `*` marks a tensor leaf. */
  toString(): string {
    switch (this.kind) {
      case 'tensor':
        return '*';
      case 'array':
        return `[${this.children.map(String).join(', ')}]`;
      case 'object':
        return `{${this.keys.map((k, i) => `${fmtKey(k)}: ${this.children[i]}`).join(', ')}}`;
      default:
        return describeConst(this.value);
    }
  }

  /** Same containers, keys and tensor positions (non-tensor leaves are not compared). */
  equals(other: TreeDef): boolean {
    if (this.kind !== other.kind || this.children.length !== other.children.length) return false;
    if (this.kind === 'object' && !sameKeys(this.keys, other.keys)) return false;
    return this.children.every((c, i) => c.equals(other._childAt(i, this.keys[i])));
  }

  /** The path of each tensor leaf, in flattening order (`args[0].w`). */
  leafPaths(root: string): string[] {
    const out: string[] = [];
    const walk = (d: TreeDef, path: string): void => {
      if (d.kind === 'tensor') out.push(path);
      d.children.forEach((c, i) => walk(c, d.kind === 'object' ? joinKey(path, d.keys[i]) : `${path}[${i}]`));
    };
    walk(this, root);
    return out;
  }

  private _childAt(i: number, key: string | undefined): TreeDef {
    return this.kind === 'object' ? this.children[this.keys.indexOf(key!)] : this.children[i];
  }
}

const TENSOR = new TreeDef('tensor');

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k) => b.includes(k));
}

function fmtKey(k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
}

function joinKey(path: string, k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

function describeConst(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v);
  if (typeof v === 'function') return 'a function';
  return `a ${(v as object).constructor?.name ?? 'object'}`;
}

/** How a value reads in a structure-mismatch message: `a Tensor of shape [2, 3]`, `an array of 2`, `null`. */
function describeValueFn(v: unknown): string {
  if (v instanceof Tensor) return `a Tensor of shape [${v.shape.join(', ')}]`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isPlainObject(v)) return `an object with keys {${Object.keys(v).map(fmtKey).join(', ')}}`;
  if (typeof v === 'number') return `a number (${v})`;
  return describeConst(v);
}

/** The tensor leaves of a tree, in a fixed order (arrays by index, objects by key order), and its structure. */
function treeFlattenFn(tree: unknown): [Tensor[], TreeDef] {
  const leaves: Tensor[] = [];
  const open = new Set<object>();
  const build = (v: unknown): TreeDef => {
    if (v instanceof Tensor) {
      leaves.push(v);
      return TENSOR;
    }
    const isArray = Array.isArray(v);
    if (!isArray && !isPlainObject(v)) return new TreeDef('const', [], [], v);
    if (open.has(v as object))
      throw new ValueError('treeFlatten: the tree contains itself (a cycle); a pytree must be a finite nesting');
    open.add(v as object);
    const def = isArray
      ? new TreeDef('array', (v as unknown[]).map(build))
      : new TreeDef(
          'object',
          Object.keys(v as object).map((k) => build((v as Record<string, unknown>)[k])),
          Object.keys(v as object),
        );
    open.delete(v as object);
    return def;
  };
  const def = build(tree);
  return [leaves, def];
}

/** The tensor leaves of a tree, in flattening order. */
function treeLeavesFn(tree: unknown): Tensor[] {
  return treeFlatten(tree)[0];
}

/** The structure of a tree. */
function treeStructureFn(tree: unknown): TreeDef {
  return treeFlatten(tree)[1];
}

/** Rebuilds a tree of structure `def` with `leaves` (any values: gradients, tangents, nulls) in the tensors' places. */
function treeUnflattenFn(def: TreeDef, leaves: readonly unknown[]): any {
  if (leaves.length !== def.numLeaves)
    throw new ValueError(
      `treeUnflatten: the structure ${def} has ${def.numLeaves} tensor leaves but ${leaves.length} were given`,
    );
  let next = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case 'tensor':
        return leaves[next++];
      case 'array':
        return d.children.map(build);
      case 'object': {
        const o: Record<string, unknown> = {};
        d.children.forEach((c, i) => {
          o[d.keys[i]] = build(c);
        });
        return o;
      }
      default:
        return d.value;
    }
  };
  return build(def);
}

/** Names for a structure-mismatch message: the transform, the tree being matched and the one it must match. */
export interface MatchNames {
  fn: string;
  /** The tree being matched, as the user knows it (`tangents`). */
  what: string;
  /** The reference tree (`primals`). */
  ref: string;
}

/**
 * The values of `tree` at the tensor positions of `def` (whatever they are: the caller checks them), checking that
 * its containers match. A null where `def` has a subtree stands for all-null leaves there when `nullIsZero` (a
 * symbolic zero tangent or cotangent); at `def`'s non-tensor leaves `tree` may hold anything.
 */
export function flattenUpTo(def: TreeDef, tree: unknown, names: MatchNames, nullIsZero = false): unknown[] {
  const out: unknown[] = [];
  const fail = (path: string, v: unknown, d: TreeDef): never => {
    throw new ValueError(
      `${names.fn}: ${names.what} must have the same structure as ${names.ref}, but at ${path} ${names.ref} has ` +
        `${d.kind === 'tensor' ? 'a Tensor' : d.kind === 'array' ? `an array of ${d.children.length}` : `an object with keys {${d.keys.map(fmtKey).join(', ')}}`} ` +
        `and ${names.what} has ${describeValue(v)}; ${names.ref} is ${def}`,
    );
  };
  const walk = (d: TreeDef, v: unknown, path: string): void => {
    if (d.kind === 'const') return;
    if (d.kind === 'tensor') {
      out.push(v);
      return;
    }
    if (v === null && nullIsZero) {
      for (let i = 0; i < d.numLeaves; i++) out.push(null);
      return;
    }
    if (d.kind === 'array') {
      if (!Array.isArray(v) || v.length !== d.children.length) fail(path, v, d);
      d.children.forEach((c, i) => walk(c, (v as unknown[])[i], `${path}[${i}]`));
      return;
    }
    if (!isPlainObject(v)) fail(path, v, d);
    const keys = Object.keys(v as object);
    if (!sameKeys(keys, d.keys)) {
      const missing = d.keys.filter((k) => !keys.includes(k));
      const extra = keys.filter((k) => !d.keys.includes(k));
      throw new ValueError(
        `${names.fn}: ${names.what} must have the same structure as ${names.ref}, but at ${path} the keys differ` +
          (missing.length ? `: ${names.what} lacks ${missing.map(fmtKey).join(', ')}` : '') +
          (extra.length ? `${missing.length ? ' and' : ':'} has extra ${extra.map(fmtKey).join(', ')}` : '') +
          `; ${names.ref} is ${def}`,
      );
    }
    d.children.forEach((c, i) => walk(c, (v as Record<string, unknown>)[d.keys[i]], joinKey(path, d.keys[i])));
  };
  walk(def, tree, names.what);
  return out;
}

/**
 * fn applied to every tensor leaf of `tree` (with the leaves at the same place in `rest`, which must have the same
 * structure); non-tensor leaves pass through.
 */
function treeMapFn(fn: (leaf: Tensor, ...rest: any[]) => unknown, tree: unknown, ...rest: unknown[]): any {
  const [leaves, def] = treeFlatten(tree);
  const others = rest.map((r, i) =>
    flattenUpTo(def, r, { fn: 'treeMap', what: `tree ${i + 1}`, ref: 'tree 0' }).map((v, k) => {
      if (!(v instanceof Tensor))
        throw new ValueError(
          `treeMap: tree ${i + 1} has ${describeValue(v)} where tree 0 has a Tensor (${def.leafPaths('tree 0')[k]}); ` +
            `every tree must hold tensors in the same places`,
        );
      return v;
    }),
  );
  return treeUnflatten(
    def,
    leaves.map((x, k) => fn(x, ...others.map((o) => o[k]))),
  );
}

// ----- the public pytree functions, with their declared parameters ---------------------------------------------------
// A tree is any value (tensors nested in arrays and plain objects, other leaves kept as they are), hence `any`.

export const describeValue = checked('describeValue', { args: { value: any } }, describeValueFn);
export const treeFlatten = checked('treeFlatten', { args: { tree: any } }, treeFlattenFn);
export const treeLeaves = checked('treeLeaves', { args: { tree: any } }, treeLeavesFn);
export const treeStructure = checked('treeStructure', { args: { tree: any } }, treeStructureFn);
export const treeUnflatten = checked(
  'treeUnflatten',
  {
    args: {
      treedef: instance(TreeDef, 'a TreeDef (from treeFlatten or treeStructure)'),
      leaves: array(any, 'an array of leaves'),
    },
  },
  treeUnflattenFn,
);
export const treeMap = checked('treeMap', { args: { fn, tree: any }, rest: any }, treeMapFn);

checkMethods(TreeDef, {
  toString: {},
  equals: { args: { other: instance(TreeDef, 'a TreeDef') } },
  leafPaths: { args: { root: str } },
});
