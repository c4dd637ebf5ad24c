/**
 * @file The autograd modes of the code that is running — grad mode (do ops record the graph), anomaly mode, the
 * forward-AD levels — and how scopes set them. `noGrad(fn)`, `enableGrad(fn)`, `detectAnomaly(fn)` and
 * `forwardAD(fn)` set a mode for everything fn runs: synchronously, and, when fn is an async function, across its awaits, without
 * touching other async work running meanwhile (AsyncLocalStorage in Node). `setGradEnabled` / `setDetectAnomaly`
 * change the innermost scope's mode (outside any scope: the default), for the rest of that scope.
 *
 * The modes are read on every op, so the read is cheap: one frame object `cur`, valid while a scope's synchronous
 * part is on the call stack (`depth > 0`, where no other context can run) and at depth 0 until the first async scope;
 * only code resuming after an await, once an async scope has been used, asks the AsyncLocalStorage for its frame.
 * Where AsyncLocalStorage is absent (browsers), scopes cover fn's synchronous part only (docs/ARCHITECTURE.md).
 */
import { bool, checked, fn } from '../core/args.js';

/** One context's modes. Scopes make a new frame; setGradEnabled, setDetectAnomaly and the engine change the current. */
export interface Modes {
  grad: boolean;
  anomaly: boolean;
  /** Active forward-AD level ids, outermost first; never changed in place (a new level makes a new array). */
  levels: readonly number[];
  /** How many of `levels` ops see: all of them, except while a JVP rule runs below its own level. */
  visible: number;
}

/** The defaults: what code outside every scope sees. */
const root: Modes = { grad: true, anomaly: false, levels: [], visible: 0 };
/** The innermost scope on the call stack (root at depth 0). */
let cur: Modes = root;
let depth = 0;

interface ContextStore {
  getStore(): Modes | undefined;
  run<R>(store: Modes, fn: () => R): R;
}
/** undefined: not looked up yet (it is, at the first async scope); null: this runtime has none. */
let store: ContextStore | null | undefined;

function contextStore(): ContextStore | null {
  if (store !== undefined) return store;
  store = _newAsyncContext<Modes>();
  return store;
}

/**
 * A new AsyncLocalStorage (a value that follows async work across awaits), or null where the runtime has none; the
 * memory scopes (src/tensor/lifetime.ts) keep their own, so a memory scope does not start a new mode frame.
 */
export function _newAsyncContext<T>(): {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
} | null {
  const G = globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown };
    AsyncLocalStorage?: new () => ContextStore;
  };
  // Fetched at run time, never imported, so the browser bundle has no node: import (Deno and workerd expose it too).
  const hooks = G.process?.getBuiltinModule?.('node:async_hooks') as
    | { AsyncLocalStorage?: new () => ContextStore }
    | undefined;
  const ALS = hooks?.AsyncLocalStorage ?? G.AsyncLocalStorage;
  return ALS ? (new ALS() as never) : null;
}

/** The modes of the running code. */
export function modes(): Modes {
  return depth !== 0 || !store ? cur : (store.getStore() ?? root);
}

/** Whether async scopes hold across awaits here (AsyncLocalStorage exists); false in browsers. */
export function asyncScopes(): boolean {
  return contextStore() !== null;
}

const AsyncFunction = (async () => {}).constructor;
const warned = new Set<string>();

function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  console.warn(message);
}

/**
 * Runs fn with `frame` as its modes: for its synchronous part through `cur`, and, for an async fn where
 * AsyncLocalStorage exists, for everything it awaits or starts through the store. A plain function that returns a
 * promise is scoped for its synchronous part only, with a warning (its awaits were set up outside the store).
 */
export function scope<T>(name: string, frame: Modes, f: () => T): T {
  const isAsync = (f as { constructor?: unknown }).constructor === AsyncFunction;
  const ctx = isAsync ? contextStore() : null;
  const prev = cur;
  cur = frame;
  depth++;
  let result: T;
  try {
    result = ctx ? ctx.run(frame, f) : f();
  } finally {
    depth--;
    cur = prev;
  }
  if (!ctx && typeof (result as { then?: unknown } | null)?.then === 'function') {
    if (isAsync)
      warnOnce(
        'no-async-context',
        `adjoint: ${name}(async fn): this runtime has no AsyncLocalStorage, so the mode holds only until fn's first ` +
          `await. Scope the synchronous code between awaits instead: const x = await load(); ${name}(() => work(x)) ` +
          '(docs/ARCHITECTURE.md, "Modes and async code")',
      );
    else
      warnOnce(
        'promise-from-sync',
        `adjoint: ${name}(fn): fn is not an async function but returned a promise, so the mode held only until its ` +
          `first await. Pass an async function, ${name}(async () => …), to keep the mode across its awaits`,
      );
  }
  return result;
}

/** A frame like the current one with grad mode set to on. */
function withGrad(on: boolean): Modes {
  const m = modes();
  return { grad: on, anomaly: m.anomaly, levels: m.levels, visible: m.visible };
}

/** Whether ops record the graph here (torch.is_grad_enabled). */
export const isGradEnabled = checked('isGradEnabled', {}, function isGradEnabled(): boolean {
  return modes().grad;
});

/**
 * Turns graph recording on or off for the rest of the innermost noGrad/enableGrad scope (outside any scope: the
 * default everywhere); torch.set_grad_enabled as a function.
 */
export const setGradEnabled = checked(
  'setGradEnabled',
  { args: { mode: bool } },
  function setGradEnabled(mode: boolean): void {
    modes().grad = mode;
  },
);

/**
 * Runs fn without recording a graph (torch.no_grad): results do not require grad. An async fn keeps grad mode off
 * across its awaits, and other async work running meanwhile is not affected.
 */
export const noGrad = checked('noGrad', { args: { fn } }, function noGrad<T>(fn: () => T): T {
  return scope('noGrad', withGrad(false), fn);
}) as <T>(fn: () => T) => T;

/** Runs fn with recording on, even inside noGrad (torch.enable_grad); async fns as noGrad. */
export const enableGrad = checked('enableGrad', { args: { fn } }, function enableGrad<T>(fn: () => T): T {
  return scope('enableGrad', withGrad(true), fn);
}) as <T>(fn: () => T) => T;
