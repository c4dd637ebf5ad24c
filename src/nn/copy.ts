/**
 * @file A deep copy of a module, Python's copy.deepcopy(module) as torch.nn's stacks use it (_get_clones): the copy
 * has the same classes, settings and initial weights as the original in tensors of its own, so training one copy
 * never moves another. Objects reached twice (a weight tied between two submodules) are copied once and stay tied
 * in the copy, as deepcopy's memo keeps them.
 */
import { noGrad } from '../autograd/mode.js';
import { AutogradError, fmtShape } from '../core/errors.js';
import { clone } from '../ops/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { isParameter, Module, Parameter } from './module.js';

/**
 * A deep copy of m: modules and other objects are rebuilt with their own prototype and copied own properties,
 * tensors are cloned (a Parameter stays a Parameter, with its requiresGrad and a copy of its gradient), arrays,
 * Maps, Sets and typed arrays are copied element by element. Functions are shared, as deepcopy shares them: a
 * closure stored on a module still sees the original module, so keep such state in properties. Two tensors that
 * are views of one storage become two separate tensors (deepcopy would keep them sharing).
 */
export function deepCopyModule<M extends Module>(m: M): M {
  return noGrad(() => copyValue(m, new Map(), m.constructor.name)) as M;
}

function copyValue(v: unknown, memo: Map<object, unknown>, path: string): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const seen = memo.get(v);
  if (seen !== undefined) return seen;
  if (v instanceof Tensor) return copyTensor(v, memo, path);
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    memo.set(v, out);
    v.forEach((e, i) => {
      out.push(copyValue(e, memo, `${path}[${i}]`));
    });
    return out;
  }
  if (v instanceof Map) {
    const out = new Map();
    memo.set(v, out);
    for (const [k, e] of v) out.set(copyValue(k, memo, path), copyValue(e, memo, `${path}.get(${String(k)})`));
    return out;
  }
  if (v instanceof Set) {
    const out = new Set();
    memo.set(v, out);
    for (const e of v) out.add(copyValue(e, memo, path));
    return out;
  }
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const out = (v as unknown as { slice(): object }).slice();
    memo.set(v, out);
    return out;
  }
  const out = Object.create(Object.getPrototypeOf(v)) as Record<PropertyKey, unknown>;
  memo.set(v, out);
  for (const key of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key) as PropertyDescriptor;
    if ('value' in d) d.value = copyValue(d.value, memo, `${path}.${String(key)}`);
    Object.defineProperty(out, key, d);
  }
  // A registered buffer's accessor closes over the module it was registered on: register it again on the copy.
  if (v instanceof Module) {
    const copy = out as unknown as Module;
    for (const [k, t] of copy._buffers) Module.prototype.registerBuffer.call(copy, k, t, !v._nonPersistent.has(k));
  }
  if (Object.isFrozen(v)) Object.freeze(out);
  return out;
}

function copyTensor(t: Tensor, memo: Map<object, unknown>, path: string): Tensor {
  if (!t.isLeaf)
    throw new AutogradError(
      `deepcopy: ${path} is a non-leaf tensor of shape ${fmtShape(t.shape)} (the result of a recorded op); only ` +
        `leaves can be copied, as in PyTorch: store t.detach() on the module, or compute it in forward`,
    );
  const data = clone(t.detach());
  const grads = t.requiresGrad;
  const out = isParameter(t) ? Parameter(data, grads) : grads ? data.requiresGrad_(true) : data;
  memo.set(t, out);
  out.name = t.name;
  if (t.grad) out.grad = copyValue(t.grad, memo, `${path}.grad`) as Tensor;
  return out;
}
