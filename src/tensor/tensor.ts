/// <reference lib="esnext.disposable" preserve="true" />
/**
 * @file The Tensor: a strided view (shape, strides, offset, dtype) of a Storage, plus its autograd state.
 * Op methods (x.add(y), x.sum()) are attached by the ops layer from the op table, so this class knows no op.
 */

import type { AccumulateGrad, Node } from '../autograd/node.js';
import type { View } from '../backend/backend.js';
import { kernels } from '../backend/index.js';
import { bool, checkMethods, describe, dim, fn, optional, TENSOR } from '../core/args.js';
import { THIS_COPY } from '../core/copy.js';
import { DTYPES, type DType, isFloating, type TypedArray } from '../core/dtype.js';
import { AutogradError, DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { contiguousStrides, isContiguous, numel } from '../core/shape.js';
import {
  _adopt,
  _adoptState,
  _life,
  _release,
  _throwReleased,
  KEEP,
  R_DISPOSE,
  R_USING,
  RELEASED,
} from './lifetime.js';
import { formatTensor } from './print.js';
import { Storage } from './storage.js';

// `using t = …` (TypeScript's and esbuild's downlevelled form) looks up Symbol.dispose; older runtimes lack it.
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for('Symbol.dispose');

export type NestedArray = number | boolean | NestedArray[];

/** Warned once per process, as Python's warning filter shows PyTorch's. */
let warnedNonLeafGrad = false;

export class Tensor {
  /** @internal the gradient behind `_grad`. */
  __grad: Tensor | null = null;
  /** @internal */ _name: string | null = null;
  /** The node that produced this tensor; null for leaves. */
  gradFn: Node | null = null;
  /** @internal */ _requiresGrad = false;
  /** @internal the tensor whose storage this view shares (null when it owns it). */
  _base: Tensor | null = null;
  /** @internal a JS number lifted to a 0-d tensor: weaker in type promotion. */
  _wrapped = false;
  /** @internal leaf gradient sink, created on first use so edges to a leaf are shared. */
  _accumulator: AccumulateGrad | null = null;
  /** @internal hooks on a leaf's gradient. */
  _hooks: ((g: Tensor) => Tensor | undefined | void)[] | null = null;
  /** @internal forward-mode tangents (dual parts), one per forward-AD level, set only inside forwardAD scopes. */
  _tangents: { level: number; t: Tensor }[] | null = null;
  /** @internal keep .grad on a non-leaf. */
  _retainsGrad = false;
  /** @internal the backward run that last handed this tensor to a node, and whether it handed it out twice. */
  _gradEpoch = 0;
  /** @internal */ _gradShared = false;
  /**
   * @internal lifetime bits (src/tensor/lifetime.ts): KEEP (no scope releases it), SCOPED (an open scope owns it),
   * SLOT (a state slot took it from a scope), RELEASED (and why). One small integer, so a tensor stays small.
   */
  _lifeFlags = 0;
  /** @internal the op whose output this is (null for factories and the engine's own), for release errors. */
  _madeBy: string | null = null;

  constructor(
    /** @internal */ readonly _storage: Storage,
    readonly shape: readonly number[],
    /** @internal */ readonly _strides: readonly number[],
    /** @internal */ readonly _offset: number,
  ) {
    _storage._refs++;
    if (_life.open !== 0 || _life.tracking) _adopt(this);
  }

  /**
   * @internal the gradient behind the checked `grad` accessor; the engine writes it directly. A slot: a gradient
   * made inside a memory scope is kept for it, and released when the slot is reassigned (zeroGrad, the next sum).
   */
  get _grad(): Tensor | null {
    return this.__grad;
  }
  set _grad(g: Tensor | null) {
    const prev = this.__grad;
    this.__grad = g;
    if (g !== prev && (g !== null || prev !== null)) _adoptState(g, prev);
  }

  /**
   * Releases this handle now (idempotent): the storage goes back to the backend's pool once no other handle (a
   * view, a detach()) and no recorded graph needs it. Using the tensor afterwards throws ReleasedTensorError.
   * A graph that saved it keeps its storage until backward frees the graph, so disposing after the forward is safe.
   */
  dispose(): void {
    _release(this, R_DISPOSE);
  }
  /** `using t = …` disposes t at the end of the block. */
  [Symbol.dispose](): void {
    _release(this, R_USING);
  }
  /** Whether this handle was released (dispose, `using`, or the end of the scope that made it). */
  get isDisposed(): boolean {
    return (this._lifeFlags & RELEASED) !== 0;
  }

  /**
   * An optional label (`W1`, `X`, `H1`) that explain mode and graph dumps use for this tensor. Set on a non-leaf, it
   * is also kept on the node that produced it, so explain finds it without holding the tensor.
   */
  get name(): string | null {
    return this._name;
  }
  set name(v: string | null) {
    if (v !== null && typeof v !== 'string')
      throw new ValueError(`Tensor.name: a name is a string (or null for none), got ${describe(v)}`);
    this._name = v;
    if (this.gradFn) this.gradFn.label = v;
  }

  /**
   * The gradient accumulated by backward (leaves, and non-leaves after retainGrad()). Reading it on a non-leaf that
   * does not retain its gradient warns once, as PyTorch does: backward never fills it. Assigning checks what
   * PyTorch checks — a tensor (or null) of this tensor's shape and dtype — so an optimizer never sees a gradient
   * that would broadcast.
   */
  get grad(): Tensor | null {
    if (this.gradFn !== null && !this._retainsGrad && !warnedNonLeafGrad) {
      warnedNonLeafGrad = true;
      console.warn(
        `adjoint: the .grad of a non-leaf tensor (shape ${fmtShape(this.shape)}, produced by ${this.gradFn.name}) ` +
          'is being read; backward does not fill it. Call retainGrad() on it before backward if you want its ' +
          'gradient, or read .grad on the leaf you differentiate with respect to (this warning is shown once)',
      );
    }
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g !== null) checkGradFor(this, g, 'Tensor.grad');
    this._grad = g;
  }

  get dtype(): DType {
    return this._storage.dtype;
  }
  get ndim(): number {
    return this.shape.length;
  }
  dim(): number {
    return this.shape.length;
  }
  numel(): number {
    return numel(this.shape);
  }
  /** size() is the shape; size(d) one dim (negative counts from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return this.shape.slice();
    const d = dim < 0 ? dim + this.ndim : dim;
    if (d < 0 || d >= this.ndim)
      throw new ValueError(`size: dim ${dim} is out of range for shape ${fmtShape(this.shape)}`);
    return this.shape[d];
  }
  stride(): number[] {
    return this._strides.slice();
  }
  isContiguous(): boolean {
    return isContiguous(this.shape, this._strides);
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(on: boolean) {
    this.requiresGrad_(on);
  }
  /** Marks a leaf as a parameter to differentiate with respect to (torch.Tensor.requires_grad_). */
  requiresGrad_(on = true): this {
    if (!this.isLeaf && !on)
      throw new AutogradError(
        `requiresGrad: cannot turn off requiresGrad on a non-leaf tensor of shape ${fmtShape(this.shape)}; use detach()`,
      );
    if (on && !isFloating(this.dtype))
      throw new AutogradError(
        `requiresGrad: only floating-point tensors can require gradients, got a ${this.dtype} tensor of shape ` +
          `${fmtShape(this.shape)}; cast with .float() or .double() first`,
      );
    this._requiresGrad = on;
    return this;
  }

  /** @internal the kernel's view of this tensor. */
  _view(): View {
    if ((this._lifeFlags & RELEASED) !== 0) _throwReleased(this, 'a kernel');
    return {
      buf: this._storage.buf,
      dtype: this.dtype,
      shape: this.shape,
      strides: this._strides,
      offset: this._offset,
    };
  }

  /** A new contiguous TypedArray with this tensor's elements in row-major order. */
  dataSync(): TypedArray {
    if ((this._lifeFlags & RELEASED) !== 0) _throwReleased(this, 'dataSync');
    const n = this.numel();
    const st = this._storage;
    if (this.isContiguous()) {
      const all = st.backend.readSync(st.buf, st.dtype, st.size);
      return all.slice(this._offset, this._offset + n) as TypedArray;
    }
    const tmp = Storage.alloc(this.dtype, n, true);
    kernels().copy(
      { buf: tmp.buf, dtype: this.dtype, shape: this.shape, strides: contiguousStrides(this.shape), offset: 0 },
      this._view(),
    );
    const out = st.backend.readSync(tmp.buf, st.dtype, n).slice() as TypedArray;
    tmp._free(); // no handle ever saw it
    return out;
  }

  /** Reads back asynchronously: the only readback a GPU backend offers. */
  async data(): Promise<TypedArray> {
    return this.dataSync();
  }

  /** Nested JS arrays (booleans for bool tensors), like torch.Tensor.tolist(). */
  toArray(): NestedArray {
    const d = this.dataSync();
    const isBool = this.dtype === 'bool';
    const build = (dim: number, off: number): NestedArray => {
      if (dim === this.ndim) return isBool ? d[off] !== 0 : d[off];
      const inner = numel(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, off + i * inner));
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1)
      throw new ValueError(
        `item: only one-element tensors can be converted to a number, got shape ${fmtShape(this.shape)} (${this.numel()} elements); index or reduce first`,
      );
    return this.dataSync()[0];
  }

  /**
   * A tensor sharing this storage (and so its version counter) but cut from the graph (torch.Tensor.detach). It is
   * not a differentiable view: writing into it never rewrites this tensor's history.
   */
  detach(): Tensor {
    return new Tensor(this._storage, this.shape, this._strides, this._offset);
  }

  /**
   * @internal PyTorch's `t.data = src`, for Module.to(dtype): this tensor takes over src's storage, strides and
   * offset (and so its dtype) and keeps its identity, name, requiresGrad and gradient, so whoever holds it (an
   * optimizer built earlier, the user) sees the new data. src must have this shape and be used for nothing else.
   * Both storages' versions move past the old one's, so a graph that saved this tensor (or a view of it, such as
   * linear's weight.T) before the swap fails its backward with the in-place error, instead of computing gradients
   * of the old data for the new.
   */
  _setData(src: Tensor): void {
    if (!this.isLeaf || src.shape.length !== this.shape.length || src.shape.some((d, i) => d !== this.shape[i]))
      throw new ValueError(
        `_setData: needs a leaf and a tensor of its shape, got ${this.isLeaf ? 'a leaf' : 'a non-leaf'} of shape ` +
          `${fmtShape(this.shape)} and new data of shape ${fmtShape(src.shape)}`,
      );
    const old = this._storage;
    src._storage._refs++; // this handle moves from the old storage to src's
    old.version++;
    src._storage.version = Math.max(src._storage.version, old.version);
    // The fields are readonly to every other caller; this swap is the one place that rewrites them.
    const self = this as unknown as { _storage: Storage; _strides: readonly number[]; _offset: number };
    self._storage = src._storage;
    self._strides = src._strides;
    self._offset = src._offset;
    this._base = null;
    old._unref();
  }

  /** Keeps .grad on a non-leaf after backward. */
  retainGrad(): void {
    if (!this._requiresGrad)
      throw new AutogradError(`retainGrad: the tensor of shape ${fmtShape(this.shape)} does not require grad`);
    if (this.gradFn) {
      this.gradFn.retained = this;
      this._retainsGrad = true;
    }
  }
  get retainsGrad(): boolean {
    return this._retainsGrad;
  }

  /**
   * Calls fn with this tensor's gradient whenever it is computed; a returned tensor replaces the gradient.
   * Returns a handle whose remove() unregisters it.
   */
  registerHook(fn: (g: Tensor) => Tensor | undefined | void): { remove(): void } {
    if (!this._requiresGrad)
      throw new AutogradError(
        `registerHook: cannot register a hook on a tensor of shape ${fmtShape(this.shape)} that does not require grad`,
      );
    const list = this.gradFn ? (this.gradFn.hooks ??= []) : (this._hooks ??= []);
    list.push(fn);
    return {
      remove: () => {
        const i = list.indexOf(fn);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }

  toString(): string {
    return formatTensor(this);
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * A gradient for t must be a tensor of t's shape and dtype (PyTorch's "assigned grad has data of a different size /
 * type"): checked where a gradient is assigned (Tensor.grad) and where the optimizers and the clipping functions read
 * one. `who` is the caller ('Tensor.grad', 'Adam.step'), `what` the tensor ('paramGroups[0].params[1]').
 */
export function checkGradFor(t: Tensor, g: unknown, who: string, what = 'the tensor'): asserts g is Tensor {
  if (!(g instanceof Tensor))
    throw new ValueError(
      `${who}: ${what} got ${describe(g)} as its .grad; a gradient must be a Tensor of its shape ` +
        `${fmtShape(t.shape)} and dtype ${t.dtype}, or null`,
    );
  if (g.shape.length !== t.shape.length || g.shape.some((d, i) => d !== t.shape[i]))
    throw new ShapeError(
      `${who}: ${what} has shape ${fmtShape(t.shape)} but its .grad has shape ${fmtShape(g.shape)}; a gradient ` +
        `must have exactly the shape of its tensor (it is never broadcast): set .grad to a tensor of shape ` +
        `${fmtShape(t.shape)}, or to null`,
    );
  if (g.dtype !== t.dtype)
    throw new DTypeError(
      `${who}: ${what} is ${t.dtype} but its .grad is ${g.dtype}; cast the gradient with .to('${t.dtype}')`,
    );
}

// The brand core/args.ts recognises tensors by, without importing this class: this copy's mark.
(Tensor.prototype as unknown as Record<symbol, unknown>)[TENSOR] = THIS_COPY;

// The class's own public methods, checked like every public function (op methods are checked where they are defined).
const NONE = {};
checkMethods(Tensor, {
  dim: NONE,
  numel: NONE,
  size: { args: { dim: optional(dim) } },
  stride: NONE,
  isContiguous: NONE,
  requiresGrad_: { args: { requiresGrad: optional(bool) } },
  dataSync: NONE,
  data: NONE,
  toArray: NONE,
  item: NONE,
  detach: NONE,
  dispose: NONE,
  retainGrad: NONE,
  registerHook: { args: { hook: fn } },
  toString: NONE,
});

/** Creates a tensor that owns fresh contiguous storage. */
export function fromTypedArray(data: TypedArray, shape: readonly number[], dtype: DType): Tensor {
  const n = numel(shape);
  if (data.length !== n)
    throw new ValueError(
      `tensor: data has ${data.length} elements but shape ${fmtShape(shape)} needs ${n}; pass data of length ${n} or fix the shape`,
    );
  const arr = data instanceof DTYPES[dtype].array ? data : new DTYPES[dtype].array(data as ArrayLike<number>);
  return new Tensor(Storage.from(dtype, arr as TypedArray), shape.slice(), contiguousStrides(shape), 0);
}

/**
 * A zero-filled contiguous tensor; with `overwrite`, its contents are unspecified (a recycled buffer) and the caller
 * writes every element before anything reads one.
 */
export function emptyTensor(shape: readonly number[], dtype: DType, overwrite = false): Tensor {
  return new Tensor(Storage.alloc(dtype, numel(shape), overwrite), shape, contiguousStrides(shape), 0);
}

/**
 * @internal a handle the graph holds in place of a saved tensor whose own handle was released: it shares the
 * storage, history and leaf sink, and counts no reference of its own (the graph's saved reference covers it).
 */
export function _graphAlias(t: Tensor): Tensor {
  const a = new Tensor(t._storage, t.shape, t._strides, t._offset);
  t._storage._refs--;
  a._lifeFlags = KEEP;
  a.gradFn = t.gradFn;
  a._requiresGrad = t._requiresGrad;
  a._base = t._base;
  a._wrapped = t._wrapped;
  a._accumulator = t._accumulator;
  a._madeBy = t._madeBy;
  a._name = t._name;
  return a;
}
