/**
 * @file The Tensor: a strided view (shape, strides, offset, dtype) of a Storage, plus its autograd state.
 * Op methods (x.add(y), x.sum()) are attached by the ops layer from the op table, so this class knows no op.
 */

import type { AccumulateGrad, Node } from '../autograd/node.js';
import type { View } from '../backend/backend.js';
import { kernels } from '../backend/index.js';
import { TENSOR } from '../core/args.js';
import { THIS_COPY } from '../core/copy.js';
import { DTYPES, type DType, type TypedArray } from '../core/dtype.js';
import { AutogradError, fmtShape, ValueError } from '../core/errors.js';
import { contiguousStrides, isContiguous, numel } from '../core/shape.js';
import { formatTensor } from './print.js';
import { Storage } from './storage.js';

export type NestedArray = number | boolean | NestedArray[];

export class Tensor {
  /** Gradient accumulated by backward (leaves, and non-leaves after retainGrad()). */
  grad: Tensor | null = null;
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

  constructor(
    /** @internal */ readonly _storage: Storage,
    readonly shape: readonly number[],
    /** @internal */ readonly _strides: readonly number[],
    /** @internal */ readonly _offset: number,
  ) {}

  /**
   * An optional label (`W1`, `X`, `H1`) that explain mode and graph dumps use for this tensor. Set on a non-leaf, it
   * is also kept on the node that produced it, so explain finds it without holding the tensor.
   */
  get name(): string | null {
    return this._name;
  }
  set name(v: string | null) {
    this._name = v;
    if (this.gradFn) this.gradFn.label = v;
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
    if (on && !(this.dtype === 'float32' || this.dtype === 'float64'))
      throw new AutogradError(
        `requiresGrad: only floating-point tensors can require gradients, got a ${this.dtype} tensor of shape ` +
          `${fmtShape(this.shape)}; cast with .float() or .double() first`,
      );
    this._requiresGrad = on;
    return this;
  }

  /** @internal the kernel's view of this tensor. */
  _view(): View {
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
    const n = this.numel();
    const st = this._storage;
    if (this.isContiguous()) {
      const all = st.backend.readSync(st.buf, st.dtype, st.size);
      return all.slice(this._offset, this._offset + n) as TypedArray;
    }
    const tmp = Storage.alloc(this.dtype, n);
    kernels().copy(
      { buf: tmp.buf, dtype: this.dtype, shape: this.shape, strides: contiguousStrides(this.shape), offset: 0 },
      this._view(),
    );
    return st.backend.readSync(tmp.buf, st.dtype, n).slice() as TypedArray;
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

// The brand core/args.ts recognises tensors by, without importing this class: this copy's mark.
(Tensor.prototype as unknown as Record<symbol, unknown>)[TENSOR] = THIS_COPY;

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

/** A zero-filled contiguous tensor. */
export function emptyTensor(shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(Storage.alloc(dtype, numel(shape)), shape, contiguousStrides(shape), 0);
}
