/**
 * @file The one argument checker. Every public function, constructor and method declares its parameters here, in
 * PyTorch's order and with PyTorch's names (camelCased): which are positional, which are keyword-only options, and
 * what each accepts. One binder then does what Python's argument binding does for PyTorch — a trailing plain object
 * is the keyword arguments, any parameter may be given by name, a surplus positional argument, an unknown or
 * snake_case option, a wrong type or an out-of-range value is an ArgumentError naming the function, the parameter,
 * what it got and the fix — and nothing has run when it throws. The signatures are registered, so the test suite can
 * feed every exported function wrong arguments derived from its own declaration (test/api-arguments.test.ts).
 *
 * This sits in core, below the Tensor class: tensors are recognised by a brand the Tensor class puts on its prototype
 * (TENSOR), not by an import.
 */
import { THIS_COPY } from './copy.js';
import { DTYPES, type DType } from './dtype.js';
import { ArgumentError, DTypeError } from './errors.js';

/**
 * Set on Tensor.prototype by src/tensor/tensor.ts, so core can recognise a tensor without importing it. Its value is
 * this copy's mark (core/copy.ts): the key is shared by every copy of adjoint in the process, so a tensor of another
 * copy is recognised — and named in the message — but never taken for one of ours.
 */
export const TENSOR: unique symbol = Symbol.for('adjoint.tensor');

export function isTensorLike(v: unknown): v is { shape: readonly number[]; dtype: string } {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[TENSOR] === THIS_COPY;
}

/** A tensor made by another copy of adjoint loaded in the same process. */
function isForeignTensor(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const mark = (v as Record<symbol, unknown>)[TENSOR];
  return mark !== undefined && mark !== THIS_COPY;
}

/** An object literal (`{a: 1}`), not an array, a tensor, a class instance, a typed array or a map. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

// ---------------------------------------------------------------------------------------------------------------
// What a value is, as every message says it.

const MAX_TEXT = 60;

function short(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}

/** A value as a message quotes it: `'0' (a string)`, `a float32 tensor of shape [2, 3]`, `a Promise (await it)`. */
export function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return `${JSON.stringify(short(v))} (a string)`;
    case 'number':
      return Number.isNaN(v) ? 'NaN' : String(v);
    case 'boolean':
      return String(v);
    case 'bigint':
      return `${v}n (a BigInt; pass a number)`;
    case 'symbol':
      return `${String(v)} (a symbol)`;
    case 'function':
      return v.name ? `the function ${v.name}` : 'a function';
  }
  if (isTensorLike(v)) return `a ${v.dtype} tensor of shape [${v.shape.join(', ')}]`;
  if (isForeignTensor(v)) {
    const { dtype, shape } = v as { dtype?: unknown; shape?: unknown };
    const what = Array.isArray(shape) ? `a ${String(dtype)} tensor of shape [${shape.join(', ')}]` : 'a tensor';
    return `${what} of another copy of adjoint (two are loaded in this process: load adjoint one way)`;
  }
  if (typeof (v as { then?: unknown }).then === 'function') return 'a Promise (await it first)';
  if (Array.isArray(v)) {
    let s: string;
    try {
      s = `[${v.map((e) => (typeof e === 'object' && e !== null ? describe(e) : describe(e).replace(/ \(.*\)$/, ''))).join(', ')}]`;
    } catch {
      s = `an array of ${v.length}`;
    }
    return short(s);
  }
  if (ArrayBuffer.isView(v))
    return `a ${v.constructor.name}${'length' in v ? ` of length ${(v as { length: number }).length}` : ''}`;
  if (isPlainObject(v)) return short(`an object {${Object.keys(v).join(', ')}}`);
  const ctor = (v as object).constructor?.name;
  return ctor ? `a ${ctor}` : 'an object';
}

// ---------------------------------------------------------------------------------------------------------------
// Parameter types.

/** One parameter's type: what it accepts, and how messages describe it. */
export interface Arg<T = unknown> {
  /** What a valid value is: 'a boolean', 'a whole number ≥ 1', 'a tensor or a number'. */
  readonly what: string;
  /** True for a valid value (undefined is handled by the binder: it means "not given"). */
  readonly ok: (v: unknown) => boolean;
  /** May be left out (or undefined). */
  readonly optional: boolean;
  /** Accepts a plain object, so a trailing object in this position is the value, not the options. */
  readonly objects: boolean;
  /** For the API test: the family of the type ('tensor', 'number', …) and a valid value where core can make one. */
  readonly kind: string;
  readonly example?: unknown;
  /** For a union, its members; for an array, its element type. */
  readonly parts?: readonly Arg[];
  /** The error class a wrong value throws (default ArgumentError): a dtype name that does not exist is a DTypeError. */
  readonly error?: new (
    message: string,
  ) => Error;
  /** The message for a wrong value, when "KEY must be WHAT, got V" is not the clearest way to say it. */
  readonly message?: (key: string, v: unknown) => string;
  /** The class an `instance` accepts. */
  readonly cls?: abstract new (
    ...a: any[]
  ) => unknown;
  /** Phantom: the TypeScript type of a valid value. */
  readonly _t?: T;
}

type Infer<A> = A extends Arg<infer T> ? T : never;

function make<T>(what: string, ok: (v: unknown) => boolean, kind: string, more: Partial<Arg<T>> = {}): Arg<T> {
  return { what, ok, optional: false, objects: false, kind, ...more };
}

/** May be omitted: undefined means "not given", and the function's default applies. */
export function optional<T>(a: Arg<T>): Arg<T | undefined> {
  return { ...a, optional: true };
}

/** Also accepts null (PyTorch's None). */
export function nullable<T>(a: Arg<T>): Arg<T | null> {
  // 'a number or a Tensor' + null reads 'a number, a Tensor or null'.
  const what = a.what.includes(' or ') ? `${a.what.replace(/ or (?!.* or )/, ', ')} or null` : `${a.what} or null`;
  return { ...a, what, ok: (v) => v === null || a.ok(v), example: a.example };
}

/** Any one of the members. */
export function union<A extends Arg[]>(...members: A): Arg<Infer<A[number]>> {
  const what =
    members.length === 2
      ? `${members[0].what} or ${members[1].what}`
      : members
          .map((m) => m.what)
          .join(', ')
          .replace(/, ([^,]*)$/, ' or $1');
  // Loops, not some/every with a closure: these run on every call of an op (reshape's shape is a union).
  const oks = members.map((m) => m.ok);
  const ok = (v: unknown): boolean => {
    for (let i = 0; i < oks.length; i++) if (oks[i](v)) return true;
    return false;
  };
  return make(what, ok, 'union', {
    objects: members.some((m) => m.objects),
    parts: members,
    example: members.find((m) => m.example !== undefined)?.example,
  });
}

/** Anything (a value this function hands on unread, such as a pytree leaf or a user's metadata). */
export const any: Arg<any> = make('any value', () => true, 'any', { objects: true, example: 0 });

export const bool: Arg<boolean> = make('a boolean (true or false)', (v) => typeof v === 'boolean', 'boolean', {
  example: true,
});

export const str: Arg<string> = make('a string', (v) => typeof v === 'string', 'string', { example: 'x' });

export const fn: Arg<(...a: any[]) => any> = make('a function', (v) => typeof v === 'function', 'function', {
  example: () => undefined,
});

export interface NumberBounds {
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Exclusive bounds. */
  gt?: number;
  lt?: number;
  /** Whole numbers only (safe integers). */
  int?: boolean;
  /** ±Infinity allowed (never NaN). Default false. */
  infinite?: boolean;
}

/** The range as messages say it: ' ≥ 0', ' in (0, 1)', ''. */
function rangeText(b: NumberBounds): string {
  const lo = b.gt !== undefined ? `(${b.gt}` : b.min !== undefined ? `[${b.min}` : null;
  const hi = b.lt !== undefined ? `${b.lt})` : b.max !== undefined ? `${b.max}]` : null;
  if (lo && hi) return ` in ${lo}, ${hi}`;
  if (b.gt !== undefined) return ` > ${b.gt}`;
  if (b.min !== undefined) return ` ≥ ${b.min}`;
  if (b.lt !== undefined) return ` < ${b.lt}`;
  if (b.max !== undefined) return ` ≤ ${b.max}`;
  return '';
}

/** A number (never NaN; finite unless `infinite`), in a range. */
export function number(b: NumberBounds = {}): Arg<number> {
  const what = `${b.int ? 'a whole number' : b.infinite ? 'a number' : 'a finite number'}${rangeText(b)}`;
  const ok = (v: unknown): boolean =>
    typeof v === 'number' &&
    !Number.isNaN(v) &&
    (b.int ? Number.isSafeInteger(v) : b.infinite || Number.isFinite(v)) &&
    (b.min === undefined || v >= b.min) &&
    (b.max === undefined || v <= b.max) &&
    (b.gt === undefined || v > b.gt) &&
    (b.lt === undefined || v < b.lt);
  const example =
    b.min ?? (b.gt !== undefined ? b.gt + (b.int ? 1 : 0.5) : (b.max ?? (b.lt !== undefined ? b.lt - 1 : 1)));
  return make(what, ok, 'number', { example: b.int ? Math.ceil(example) : example });
}

/** A safe integer in a range. */
export function int(b: Omit<NumberBounds, 'int' | 'infinite'> = {}): Arg<number> {
  return number({ ...b, int: true });
}

/** One of these strings (`'mean' | 'sum' | 'none'`). */
export function oneOf<const S extends string>(values: readonly S[]): Arg<S> {
  return make(`one of ${values.map((s) => `'${s}'`).join(', ')}`, (v) => values.includes(v as S), 'oneOf', {
    example: values[0],
  });
}

/** A dtype name, from the dtype table (so a new row is accepted everywhere at once). */
export const dtype: Arg<DType> = make(
  `a dtype (${Object.keys(DTYPES)
    .map((d) => `'${d}'`)
    .join(', ')})`,
  (v) => typeof v === 'string' && Object.hasOwn(DTYPES, v),
  'dtype',
  {
    example: 'float32',
    error: DTypeError,
    message: (key, v) =>
      typeof v === 'string'
        ? `unknown dtype '${v}'${key === 'dtype' ? '' : ` (${key})`}; use one of ${Object.keys(DTYPES).join(', ')}`
        : `${key} must be a dtype name (${Object.keys(DTYPES).join(', ')}), got ${describe(v)}`,
  },
);

/** A tensor. */
export const tensor: Arg<any> = make('a Tensor', isTensorLike, 'tensor');

/** A tensor or a JS number/boolean (an op operand: `x.add(2)`). */
export const scalarOrTensor: Arg<any> = make(
  'a Tensor, a number or a boolean',
  (v) => isTensorLike(v) || typeof v === 'number' || typeof v === 'boolean',
  'scalarOrTensor',
  { example: 1 },
);

/** A plain number or boolean (a fill value). NaN and ±Infinity are numbers here: a float tensor can hold them. */
export const scalar: Arg<number | boolean> = make(
  'a number or a boolean',
  (v) => typeof v === 'number' || typeof v === 'boolean',
  'scalar',
  { example: 1 },
);

/** A dim index (negative counts from the end). Its range is the op's to check: it depends on the input. */
export const dim: Arg<number> = make('a whole number (a dim)', (v) => Number.isSafeInteger(v), 'dim', { example: 0 });

/** One dim or a list of dims. */
export const dims: Arg<number | number[]> = make(
  'a dim (a whole number) or an array of dims',
  (v) => Number.isSafeInteger(v) || (Array.isArray(v) && v.every((d) => Number.isSafeInteger(d))),
  'dims',
  { example: 0 },
);

/** A shape: an array of whole numbers ≥ 0. */
export const shape: Arg<number[]> = make(
  'a shape (an array of whole numbers ≥ 0)',
  (v) => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0),
  'shape',
  { example: [2] },
);

/** An array whose every element is `of`. */
export function array<T>(of: Arg<T>, what = `an array of ${of.what.replace(/^an? /, '')}s`): Arg<T[]> {
  const ok = (v: unknown): boolean => {
    if (!Array.isArray(v)) return false;
    for (let i = 0; i < v.length; i++) if (!of.ok(v[i])) return false;
    return true;
  };
  return make(what, ok, 'array', {
    parts: [of],
    example: of.example === undefined ? undefined : [of.example],
  });
}

/** A fixed-length array: `[beta1, beta2]`. */
export function tuple<A extends Arg[]>(members: A, what: string): Arg<{ [K in keyof A]: Infer<A[K]> }> {
  return make(
    what,
    (v) => Array.isArray(v) && v.length === members.length && members.every((m, i) => m.ok(v[i])),
    'tuple',
    {
      parts: members,
      example: members.every((m) => m.example !== undefined) ? members.map((m) => m.example) : undefined,
    },
  );
}

/** An instance of a class (a Module, an Optimizer). */
export function instance<C extends abstract new (...a: any[]) => unknown>(cls: C, what: string): Arg<InstanceType<C>> {
  return make(what, (v) => v instanceof cls, 'instance', { cls });
}

/** Any iterable but a string (a list of tensors, model.parameters(), a generator). */
export function iterable<T>(of: Arg<T>, what = `an iterable of ${of.what.replace(/^an? /, '')}s`): Arg<Iterable<T>> {
  return make(
    what,
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as Iterable<T>)[Symbol.iterator] === 'function' &&
      !isTensorLike(v),
    'iterable',
    { parts: [of], objects: false },
  );
}

/** A plain object (a state dict, a pytree, a record of tensors); `of` checks each value. */
export function record<T>(of: Arg<T> = any, what = 'an object'): Arg<Record<string, T>> {
  return make(what, (v) => isPlainObject(v) && Object.values(v).every((e) => of.ok(e)), 'record', {
    objects: true,
    parts: [of],
    example: {},
  });
}

/** A narrower custom check, for what no combinator says (an int32 range, a whole-number-or-list rule). */
export function custom<T>(
  what: string,
  ok: (v: unknown) => boolean,
  more: Partial<Arg<T>> | string = {},
  example?: unknown,
): Arg<T> {
  // custom(what, ok, kind, example) is the short form of custom(what, ok, {kind, example}).
  const m: Partial<Arg<T>> = typeof more === 'string' ? { kind: more, example } : more;
  return make(what, ok, m.kind ?? 'custom', m);
}

// ---------------------------------------------------------------------------------------------------------------
// Signatures.

export type Params = Record<string, Arg>;

type Bound<P extends Params> = { [K in keyof P]: Infer<P[K]> };

export interface SignatureSpec<P extends Params, K extends Params> {
  /** The positional parameters, in order; each may also be given by name in the options. */
  args?: P;
  /** Keyword-only parameters: given only in the trailing options object. */
  options?: K;
  /** Extra positional arguments, each of this type (`x.permute(0, 2, 1)`, `x.view(2, 3)`). */
  rest?: Arg;
  /** Names for a snake_case or other habit that the camelCase rule does not find (`padding_mode` → advice). */
  renames?: Record<string, string>;
  /** Said after an unknown option or a surplus argument: where the thing the user wanted lives. */
  hint?: string;
}

/** Every declared signature by name, for the API test. */
export const SIGNATURES = new Map<string, Signature<Params, Params>>();
const SIGNATURE_OF = new WeakMap<object, Signature<Params, Params>>();

/** The signature declared for a function, class or method (undefined when none was). */
export function signatureOf(f: object): Signature<Params, Params> | undefined {
  return SIGNATURE_OF.get(f);
}

/** `weight_decay` → `weightDecay`. */
export function snakeToCamel(k: string): string {
  return k.replace(/(?<=[a-zA-Z0-9])_([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Edit distance, for "did you mean": a transposition counts as one edit. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const c = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + c);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The known name a misspelt one most likely meant, if one is close. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : distance(lower, k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(2, Math.floor(name.length / 4))) ? best : undefined;
}

/**
 * A function's parameters. `bind(args)` returns the arguments by name, checked; `wrap(impl)` returns a function
 * that binds its arguments and calls impl with the positional ones in order, then (when there are keyword-only
 * options) one options object holding them.
 */
export class Signature<P extends Params, K extends Params> {
  readonly positional: readonly [string, Arg][];
  readonly keywords: readonly [string, Arg][];
  readonly rest: Arg | undefined;
  private readonly index = new Map<string, number>();
  private readonly all: Map<string, Arg>;
  private readonly renames: Record<string, string>;
  private readonly hint: string | undefined;

  constructor(
    readonly name: string,
    private readonly spec: SignatureSpec<P, K>,
    register = true,
  ) {
    this.positional = Object.entries(spec.args ?? {});
    this.keywords = Object.entries(spec.options ?? {});
    this.rest = spec.rest;
    this.positional.forEach(([k], i) => this.index.set(k, i));
    this.all = new Map([...this.positional, ...this.keywords]);
    this.renames = spec.renames ?? {};
    this.hint = spec.hint;
    if (register) SIGNATURES.set(name, this as unknown as Signature<Params, Params>);
  }

  /**
   * The signature as a method sees it: the first parameter is `this` (x.sum(1) is sum(x, 1)). For the API test's
   * probes; the function's own signature still checks the call, so messages are the same.
   */
  withoutFirst(): Signature<Params, K> {
    const args = Object.fromEntries(this.positional.slice(1));
    return new Signature(this.name, { ...this.spec, args } as SignatureSpec<Params, K>, false);
  }

  /** The option names a trailing object may hold. */
  get optionNames(): string[] {
    return [...this.all.keys()];
  }

  private fail(msg: string): never {
    throw new ArgumentError(`${this.name}: ${msg}`);
  }

  private usage(): string {
    const pos = this.positional.map(([k, a]) => (a.optional ? `${k}?` : k));
    if (this.rest) pos.push('...');
    if (this.keywords.length) pos.push(`{${this.keywords.map(([k]) => k).join(', ')}}`);
    return `${this.name}(${pos.join(', ')})`;
  }

  /** Is the argument at index i (the last one) the options object? */
  private isOptions(v: unknown, i: number): boolean {
    if (!isPlainObject(v)) return false;
    if (i < this.positional.length) return !this.positional[i][1].objects;
    return !this.rest?.objects;
  }

  private unknownOption(key: string): never {
    const names = this.optionNames.filter((k) => this.all.get(k)?.optional);
    const camel = snakeToCamel(key).toLowerCase();
    const use =
      this.renames[key] ?? (key.includes('_') ? this.optionNames.find((k) => k.toLowerCase() === camel) : undefined);
    if (use) this.fail(`unknown option '${key}'; use ${use}`);
    const near = closest(key, names);
    this.fail(
      `unknown option '${key}'${near ? ` (did you mean ${near}?)` : ''}; ` +
        (names.length ? `the options are ${names.join(', ')}` : 'it takes no options') +
        (this.hint ? `; ${this.hint}` : ''),
    );
  }

  private check(key: string, a: Arg, v: unknown, where: string): void {
    if (v === undefined) {
      if (!a.optional) this.fail(`missing ${where} '${key}' (${a.what}); call it as ${this.usage()}`);
      return;
    }
    if (!a.ok(v)) {
      const msg = `${this.name}: ${a.message ? a.message(key, v) : `${key} must be ${a.what}, got ${describe(v)}`}`;
      throw new (a.error ?? ArgumentError)(msg);
    }
  }

  /** Splits and checks the arguments; throws ArgumentError before anything runs. */
  bindParts(args: ArrayLike<unknown>): { pos: unknown[]; extra: unknown[]; opts: Record<string, unknown> | undefined } {
    let n = args.length;
    // Trailing undefineds are arguments not given (f(x, undefined) is f(x)), as JS defaults treat them.
    while (n > 0 && args[n - 1] === undefined) n--;
    let opts: Record<string, unknown> | undefined;
    if (n > 0 && this.isOptions(args[n - 1], n - 1)) {
      opts = args[n - 1] as Record<string, unknown>;
      n--;
    }
    const np = this.positional.length;
    if (n > np && !this.rest) {
      const names = this.positional.map(([k]) => k).join(', ');
      this.fail(
        `takes ${np === 0 ? 'no' : `at most ${np}`} positional argument${np === 1 ? '' : 's'}${np ? ` (${names})` : ''}` +
          `${this.all.size ? ' and an options object' : ''}, got ${n}: ${describe(args[np])} is one too many` +
          (this.keywords.length
            ? `; give ${this.keywords.map(([k]) => k).join(', ')} as options ({${this.keywords[0][0]}: …})`
            : '') +
          (this.hint ? `; ${this.hint}` : ''),
      );
    }
    const pos: unknown[] = new Array(np);
    for (let i = 0; i < np; i++) pos[i] = i < n ? args[i] : undefined;
    const extra: unknown[] = [];
    for (let i = np; i < n; i++) extra.push(args[i]);
    let kw: Record<string, unknown> | undefined;
    if (opts) {
      for (const key of Object.keys(opts)) {
        const v = opts[key];
        const at = this.index.get(key);
        if (at !== undefined) {
          if (pos[at] !== undefined && v !== undefined)
            this.fail(`${key} was given twice, as argument ${at + 1} and as an option; give it once`);
          pos[at] = v;
        } else if (!this.all.has(key)) this.unknownOption(key);
        else if (v !== undefined) (kw ??= {})[key] = v;
      }
    }
    for (let i = 0; i < np; i++) this.check(this.positional[i][0], this.positional[i][1], pos[i], 'argument');
    if (this.rest) extra.forEach((v, i) => this.check(`argument ${np + i + 1}`, this.rest as Arg, v, 'argument'));
    for (const [key, a] of this.keywords) this.check(key, a, kw?.[key], 'option');
    return { pos, extra, opts: kw };
  }

  /** The arguments by name (positional and options together), checked. */
  bind(args: ArrayLike<unknown>): Bound<P> & Partial<Bound<K>> & { rest: unknown[] } {
    const { pos, extra, opts } = this.bindParts(args);
    const out: Record<string, unknown> = { ...opts, rest: extra };
    this.positional.forEach(([k], i) => {
      out[k] = pos[i];
    });
    return out as Bound<P> & Partial<Bound<K>> & { rest: unknown[] };
  }

  /**
   * A function that checks its arguments and calls impl(positional..., rest..., options?): the positional
   * parameters in declared order (undefined where not given, so impl's defaults apply), any rest arguments, and,
   * when keyword-only options were given, one object holding them.
   */
  wrap<F extends (...a: any[]) => any>(impl: F): F {
    const sig = this;
    const np = this.positional.length;
    const oks = this.positional.map(([, a]) => a.ok);
    const opt = this.positional.map(([, a]) => a.optional);
    const hasKw = this.keywords.length > 0;
    const rest = this.rest;
    const general = function (this: unknown, ...args: unknown[]): unknown {
      // Fast path: no options object, no surplus, every argument of its declared type.
      const n = args.length;
      if (n <= np || rest) {
        let fine = true;
        for (let i = 0; i < n; i++) {
          const v = args[i];
          if (i >= np) {
            if (!(rest as Arg).ok(v) || isPlainObject(v)) {
              fine = false;
              break;
            }
          } else if (v === undefined ? !opt[i] : !oks[i](v)) {
            fine = false;
            break;
          }
        }
        for (let i = n; fine && i < np; i++) if (!opt[i]) fine = false;
        if (fine) return impl.apply(this, args);
      }
      const { pos, extra, opts } = sig.bindParts(args);
      if (extra.length) pos.push(...extra);
      if (hasKw && opts) {
        if (rest) pos.push(opts);
        else pos[np] = opts;
      }
      return impl.apply(this, pos);
    };
    const wrapped = (np <= 4 ? fixedArity(np, oks, opt, impl, general) : general) as unknown as F;
    // The Tensor method form (x.mul(2) is mul(x, 2)): one frame that checks `this` as the first argument.
    if (np >= 1 && np <= 5) METHOD_OF.set(wrapped, fixedArityMethod(np, oks, opt, impl, general));
    return this.finish(wrapped, impl);
  }

  private finish<F extends (...a: any[]) => any>(wrapped: F, impl: F): F {
    Object.defineProperty(wrapped, 'name', { value: impl.name || this.name.replace(/^.*\./, '') });
    SIGNATURE_OF.set(wrapped, this as unknown as Signature<Params, Params>);
    return wrapped;
  }

  /** Records this as the signature of a class (its constructor) or of a method, for the API test. */
  describes(target: object): void {
    SIGNATURE_OF.set(target, this as unknown as Signature<Params, Params>);
  }
}

/**
 * The fast path of a function of at most four positional parameters: the arguments checked where they arrive, with
 * no array built for them (the general wrapper collects a rest array on every call, which costs ~10% of a small
 * op's time), and impl called with exactly the arguments given. Anything else (an options object, a surplus, a
 * rest or a wrong argument) goes to the general wrapper.
 */
function fixedArity<F extends (...a: any[]) => any>(
  np: number,
  oks: readonly ((v: unknown) => boolean)[],
  opt: readonly boolean[],
  impl: F,
  general: (this: unknown, ...args: unknown[]) => unknown,
): F {
  const ok0 = oks[0];
  const ok1 = oks[1];
  const ok2 = oks[2];
  const ok3 = oks[3];
  const [o0, o1, o2, o3] = opt;
  const fits = (i: number, ok: (v: unknown) => boolean, optional: boolean, v: unknown) =>
    i >= np || (v === undefined ? optional : ok(v));
  return function (this: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown): unknown {
    // biome-ignore lint/complexity/noArguments: the count of arguments given, without building an array of them
    const n = arguments.length;
    if (n <= np && fits(0, ok0, o0, a) && fits(1, ok1, o1, b) && fits(2, ok2, o2, c) && fits(3, ok3, o3, d)) {
      switch (n) {
        case 0:
          return impl.call(this);
        case 1:
          return impl.call(this, a);
        case 2:
          return impl.call(this, a, b);
        case 3:
          return impl.call(this, a, b, c);
        default:
          return impl.call(this, a, b, c, d);
      }
    }
    // biome-ignore lint/complexity/noArguments: passed on unchanged, so no array is built on the fast path above
    return general.apply(this, arguments as unknown as unknown[]);
  } as unknown as F;
}

const METHOD_OF = new WeakMap<object, (this: unknown, ...a: unknown[]) => unknown>();

/**
 * The method form of a checked function whose first parameter is the receiver (a Tensor method installed from an
 * op), or undefined: `x.mul(2)` then runs one checking frame, not a method wrapper around the function's wrapper.
 */
export function methodOf(f: object): ((this: unknown, ...a: unknown[]) => unknown) | undefined {
  return METHOD_OF.get(f);
}

/** fixedArity for a method: `this` is argument 0, and up to four more arrive as a, b, c, d. */
function fixedArityMethod(
  np: number,
  oks: readonly ((v: unknown) => boolean)[],
  opt: readonly boolean[],
  impl: (...a: any[]) => any,
  general: (this: unknown, ...args: unknown[]) => unknown,
): (this: unknown, ...a: unknown[]) => unknown {
  const [ok0, ok1, ok2, ok3, ok4] = oks;
  const [, o1, o2, o3, o4] = opt;
  const fits = (i: number, ok: (v: unknown) => boolean, optional: boolean, v: unknown) =>
    i >= np || (v === undefined ? optional : ok(v));
  return function (this: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown): unknown {
    // biome-ignore lint/complexity/noArguments: the count of arguments given, without building an array of them
    const n = arguments.length + 1;
    if (
      n <= np &&
      ok0(this) &&
      fits(1, ok1, o1, a) &&
      fits(2, ok2, o2, b) &&
      fits(3, ok3, o3, c) &&
      fits(4, ok4, o4, d)
    ) {
      switch (n) {
        case 1:
          return impl(this);
        case 2:
          return impl(this, a);
        case 3:
          return impl(this, a, b);
        case 4:
          return impl(this, a, b, c);
        default:
          return impl(this, a, b, c, d);
      }
    }
    // biome-ignore lint/complexity/noArguments: the slow path builds the argument list once
    return general.apply(undefined, [this, ...(arguments as unknown as unknown[])]);
  };
}

/** Declares a signature: `sig('sum', {args: {input: tensor, dim: optional(dims)}, options: {dtype: …}})`. */
export function sig<P extends Params = Record<never, Arg>, K extends Params = Record<never, Arg>>(
  name: string,
  spec: SignatureSpec<P, K> = {},
): Signature<P, K> {
  return new Signature(name, spec);
}

/** Declares and applies a signature: `export const sum = checked('sum', {...}, (x, dim, keepdim, opts) => …)`. */
export function checked<F extends (...a: any[]) => any>(name: string, spec: SignatureSpec<Params, Params>, impl: F): F {
  return sig(name, spec).wrap(impl);
}

/**
 * Replaces methods of a class with checked ones: `checkMethods(Module, {train: {args: {mode: optional(bool)}}})`.
 * The signature is named `Class.method`.
 */
export function checkMethods(
  cls: { prototype: object; name: string },
  specs: Record<string, SignatureSpec<Params, Params>>,
  prefix = cls.name,
): void {
  const proto = cls.prototype as Record<string, unknown>;
  for (const [m, spec] of Object.entries(specs)) {
    const f = proto[m];
    if (typeof f !== 'function') throw new Error(`checkMethods: ${cls.name}.${m} is not a method`);
    proto[m] = sig(`${prefix}.${m}`, spec).wrap(f as (...a: any[]) => any);
  }
}
