/**
 * @file Tensor lifetimes: memory scopes (`ad.scope(fn)`, sync or async, tracked per async context so concurrent
 * scopes never release each other's tensors), `ad.keep`, the state slots that adopt a tensor from a scope (a
 * leaf's .grad, optimizer state, module buffers), the use-after-release error, and the leak report. A tensor handle
 * is released at most once (dispose, `using`, its scope's end); its storage goes back to the pool when its last
 * handle and the last graph reference to it are gone (src/tensor/storage.ts counts them).
 */
import { _newAsyncContext } from '../autograd/mode.js';
import { checked, fn, TENSOR, tensor } from '../core/args.js';
import { THIS_COPY } from '../core/copy.js';
import { fmtShape, ReleasedTensorError } from '../core/errors.js';
import type { Tensor } from './tensor.js';

/** Flags the Tensor constructor reads on every tensor: kept in one object so the reads are one load each. */
export const _life = {
  /** Memory scopes open anywhere (any async context): 0 keeps the constructor's scope lookup off. */
  open: 0,
  /** trackMemory(true): record each tensor's creation site, and list live tensors for memoryReport. */
  tracking: false,
};

/** Tensor._lifeFlags bits: kept (no scope releases it), owned by an open scope, taken over by a state slot. */
export const KEEP = 1;
export const SCOPED = 2;
export const SLOT = 4;
/** Released; the bits above say why (one of the R_ reasons). */
export const RELEASED = 8;
export const R_DISPOSE = 16;
export const R_USING = 32;
export const R_SCOPE = 48;
export const R_SLOT = 64;
/** For the engine: a cotangent or intermediate only backward could see, released once consumed. */
export const R_ENGINE = 80;
const REASONS: Record<number, string> = {
  [R_DISPOSE]: 'by dispose()',
  [R_USING]: 'at the end of its `using` block',
  [R_SCOPE]: 'by the ad.scope that created it, when it ended (return it from the scope, or ad.keep() it)',
  [R_SLOT]: 'when the state slot that held it (a .grad, an optimizer state, a module buffer) was reassigned',
  [R_ENGINE]: 'by backward, which made it and consumed it',
};
const WHY = 0xf0;

/** Creation sites, recorded only while trackMemory is on. */
const creationSites = new WeakMap<Tensor, Error>();

/** One ad.scope call: the tensors made inside it, in creation order. */
interface Frame {
  tensors: Tensor[];
  open: boolean;
  parent: Frame | null;
}

let cur: Frame | null = null;
let depth = 0;
let store: ReturnType<typeof _newAsyncContext<Frame>> | undefined;

function currentFrame(): Frame | null {
  if (depth !== 0 || !store) return cur;
  return store.getStore() ?? null;
}

/** @internal the Tensor constructor's call while a scope is open: the innermost open scope of this context owns t. */
export function _adopt(t: Tensor): void {
  const f = currentFrame();
  if (f?.open) {
    f.tensors.push(t);
    t._lifeFlags |= SCOPED;
  }
  if (_life.tracking) {
    creationSites.set(t, new Error());
    liveList.push(new WeakRef(t));
  }
}

/** Tensors made while tracking, for memoryReport (pruned as they are released or collected). */
let liveList: WeakRef<Tensor>[] = [];

/** @internal releases one handle (idempotent): its storage's count drops, and at zero the buffer is pooled. */
export function _release(t: Tensor, why: number): void {
  if ((t._lifeFlags & RELEASED) !== 0) return;
  t._lifeFlags = (t._lifeFlags & ~(SCOPED | SLOT)) | RELEASED | why;
  t._storage._unref();
}

/** @internal marks t long-lived: no scope releases it. */
export function _markKeep(t: Tensor): void {
  t._lifeFlags = (t._lifeFlags | KEEP) & ~SLOT;
}

/**
 * @internal a state slot (a leaf's .grad, an optimizer's state entry, a module buffer) takes `next` and lets go of
 * `prev`. A tensor a scope would release is kept for the slot instead, and released when the slot lets go of it;
 * one the user owns (made outside every scope, returned from the outermost, or kept) is only kept.
 */
export function _adoptState(next: unknown, prev: unknown): void {
  if (next === prev) return;
  if (isTensor(next) && (next._lifeFlags & (RELEASED | KEEP)) === 0)
    next._lifeFlags |= (next._lifeFlags & SCOPED) !== 0 ? KEEP | SLOT : KEEP;
  if (isTensor(prev) && (prev._lifeFlags & SLOT) !== 0) _release(prev, R_SLOT);
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[TENSOR] === THIS_COPY;
}

/** Every tensor in a returned value: tensors, arrays, plain objects, Maps and Sets, however nested. */
function collect(v: unknown, into: Set<Tensor>, seen: Set<object>): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (isTensor(v)) {
    into.add(v);
    // A view keeps its base (in-place writes through it reach the base), a dual tensor its tangents.
    if (v._base !== null) collect(v._base, into, seen);
    if (v._tangents !== null) for (const d of v._tangents) collect(d.t, into, seen);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, into, seen);
  else if (v instanceof Map)
    for (const [k, x] of v) {
      collect(k, into, seen);
      collect(x, into, seen);
    }
  else if (v instanceof Set) for (const x of v) collect(x, into, seen);
  else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)
    for (const x of Object.values(v)) collect(x, into, seen);
}

/** Ends a scope: what `result` holds moves to the enclosing scope; the rest is released, except kept state. */
function close(frame: Frame, result: unknown, why = R_SCOPE): void {
  frame.open = false;
  _life.open--;
  const keep = new Set<Tensor>();
  // A rule's result is a list of cotangents; a view among them holds its storage by its own count, and nothing
  // writes through a cotangent's base, so the base handle (a temporary of the rule) is released.
  if (why === R_ENGINE) {
    // (A rule that threw, or returned something else than a list, leaves nothing to keep; the engine reports it.)
    if (Array.isArray(result)) for (const t of result) if (isTensor(t)) keep.add(t);
  } else collect(result, keep, new Set());
  const parent = frame.parent?.open ? frame.parent : null;
  for (const t of frame.tensors) {
    if (keep.has(t)) {
      if (parent !== null) parent.tensors.push(t);
      else t._lifeFlags &= ~SCOPED;
      continue;
    }
    // Long-lived state: kept tensors (ad.keep, state slots) and parameters (leaves that require grad).
    if ((t._lifeFlags & KEEP) !== 0 || (t._requiresGrad && t.gradFn === null)) continue;
    _release(t, why);
  }
  frame.tensors.length = 0;
}

/**
 * @internal runs a synchronous fn (a VJP rule, for the engine) in a scope of its own: what fn made and does not
 * return is released when it returns — as R_ENGINE, since only backward could see those tensors.
 */
export function _engineScope<T>(f: () => T): T {
  const frame: Frame = { tensors: [], open: true, parent: currentFrame() };
  _life.open++;
  const prev = cur;
  cur = frame;
  depth++;
  let result: T | undefined;
  try {
    result = f();
    return result;
  } finally {
    depth--;
    cur = prev;
    close(frame, result, R_ENGINE);
  }
}

const AsyncFunction = (async () => {}).constructor;

/**
 * Runs fn and releases every tensor created inside it, except what it returns (tensors anywhere in returned arrays,
 * plain objects, Maps and Sets, which move to the enclosing scope) and long-lived state: parameters, gradients
 * backward or an assignment put in .grad, optimizer state, module buffers, and tensors given to ad.keep. An async fn
 * is scoped across its awaits (AsyncLocalStorage); concurrent scopes release only their own tensors. The result is
 * fn's (its promise, for an async fn). A released tensor throws ReleasedTensorError when used.
 */
export const scope = checked('scope', { args: { fn } }, function scope<T>(f: () => T): T {
  if (store === undefined) store = _newAsyncContext<Frame>();
  const frame: Frame = { tensors: [], open: true, parent: currentFrame() };
  _life.open++;
  const isAsync = (f as { constructor?: unknown }).constructor === AsyncFunction;
  const prev = cur;
  cur = frame;
  depth++;
  let result: T;
  try {
    result = isAsync && store ? store.run(frame, f) : f();
  } catch (e) {
    depth--;
    cur = prev;
    close(frame, undefined);
    throw e;
  }
  depth--;
  cur = prev;
  if (typeof (result as { then?: unknown } | null)?.then === 'function')
    return (result as unknown as Promise<unknown>).then(
      (v) => {
        close(frame, v);
        return v;
      },
      (e) => {
        close(frame, undefined);
        throw e;
      },
    ) as T;
  close(frame, result);
  return result;
}) as <T>(fn: () => T) => T;

/**
 * Marks t as long-lived (TF.js's tf.keep): no scope releases it; t.dispose() still does. Returns t.
 */
export const keep = checked('keep', { args: { tensor } }, function keep<T extends Tensor>(t: T): T {
  _markKeep(t);
  return t;
}) as <T extends Tensor>(t: T) => T;

/** @internal the error for a use of released t by `who` (an op's name, dataSync, a kernel). */
export function _throwReleased(t: Tensor, who: string): never {
  const made = t._madeBy ? `made by ${t._madeBy}` : 'made by a factory or a view';
  const e = creationSites.get(t);
  const site = e ? siteOf(e) : null;
  throw new ReleasedTensorError(
    `${who}: the ${t.dtype} tensor of shape ${fmtShape(t.shape)}${t._name ? ` ('${t._name}')` : ''} (${made}) was ` +
      `released ${REASONS[t._lifeFlags & WHY]}, so its buffer may hold other data now. ` +
      (site
        ? `It was created at ${site}. `
        : 'Call ad.trackMemory(true) before it is created to see where it was created. ') +
      'Keep it alive longer: return it from the scope, ad.keep() it, or clone() it before it is released',
  );
}

const SRC_DIR = (() => {
  try {
    return new URL('../', import.meta.url).pathname;
  } catch {
    return '\u0000';
  }
})();

/** The first stack frame outside adjoint's own source: where user code made the tensor. */
function siteOf(e: Error): string {
  const lines = (e.stack ?? '').split('\n').slice(1);
  for (const l of lines) {
    const s = l.trim().replace(/^at /, '');
    if (s.includes(SRC_DIR) || s.includes('node:') || s.includes('node_modules')) continue;
    return s;
  }
  return 'an unknown site';
}

/** One creation site of memoryReport: how many live tensors were made there, and the bytes of their storages. */
export interface LeakSite {
  site: string;
  count: number;
  bytes: number;
}

/**
 * The tensors made since trackMemory(true) that are neither released nor collected, grouped by the line that made
 * them, the largest total first. Bytes are those of each tensor's storage (a storage shared by views counts once
 * per site).
 */
export const memoryReport = checked('memoryReport', {}, function memoryReport(): LeakSite[] {
  const sites = new Map<string, { count: number; storages: Set<object>; bytes: number }>();
  const kept: WeakRef<Tensor>[] = [];
  for (const r of liveList) {
    const t = r.deref();
    if (t === undefined || (t._lifeFlags & RELEASED) !== 0) continue;
    kept.push(r);
    const e0 = creationSites.get(t);
    const site = e0 ? siteOf(e0) : 'an unknown site';
    let e = sites.get(site);
    if (!e) sites.set(site, (e = { count: 0, storages: new Set(), bytes: 0 }));
    e.count++;
    if (!e.storages.has(t._storage)) {
      e.storages.add(t._storage);
      e.bytes += t._storage._bytes;
    }
  }
  liveList = kept;
  return [...sites.entries()]
    .map(([site, e]) => ({ site, count: e.count, bytes: e.bytes }))
    .sort((a, b) => b.bytes - a.bytes || b.count - a.count);
});
