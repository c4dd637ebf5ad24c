/**
 * @file Module hooks with PyTorch's semantics: forward pre-hooks (may replace the arguments), forward hooks (may
 * replace the output) and full backward hooks (see the gradients with respect to the module's inputs and outputs,
 * and may replace the input gradients), each registration returning a removable handle; and the profiler's span
 * around every module forward. Every module's `forward` runs through `runForward`, which costs one check when no
 * hook and no profiler is active.
 */
import { _markGradShared } from '../autograd/engine.js';
import { AutogradError } from '../core/errors.js';
import { apply, defineOp, type OpDef } from '../ops/define.js';
import type { Tensor } from '../tensor/tensor.js';
import { Tensor as TensorClass } from '../tensor/tensor.js';

/** What every hook registration returns (torch.utils.hooks.RemovableHandle): remove() unregisters the hook. */
export interface RemovableHandle {
  /** The registration's number, unique within the process. */
  readonly id: number;
  /** Unregisters the hook; a second call does nothing. */
  remove(): void;
}

/** Called before forward with the arguments; returning an array replaces them, another value is the only one. */
export type ForwardPreHook<M = any> = (module: M, args: any[]) => unknown;
/** Called after forward with the arguments and the output; returning anything but undefined replaces the output. */
export type ForwardHook<M = any> = (module: M, args: any[], output: any) => unknown;
/**
 * Called in backward once the gradients with respect to the module's tensor inputs are known, with those
 * (gradInput, null where an input gets none) and the gradients with respect to its outputs (gradOutput); returning
 * an array replaces gradInput.
 */
export type FullBackwardHook<M = any> = (
  module: M,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | undefined | void;

/** One module's hooks, by kind, in registration order. */
export interface ModuleHooks {
  pre: Map<number, ForwardPreHook>;
  post: Map<number, ForwardHook>;
  backward: Map<number, FullBackwardHook>;
}

let nextHandle = 0;

/** Adds `hook` to `table` and returns the handle that takes it out again. */
export function addHook<H>(table: Map<number, H>, hook: H): RemovableHandle {
  const id = nextHandle++;
  table.set(id, hook);
  return { id, remove: () => void table.delete(id) };
}

/** The profiler's span around each module forward (src/debug/profiler.ts); null keeps forward to one check. */
export interface ModuleSpan {
  begin(module: object): number;
  end(token: number, module: object): void;
}
let moduleSpan: ModuleSpan | null = null;
/** @internal installs (or, with null, removes) the profiler's module span; returns the previous one. */
export function _setModuleSpan(s: ModuleSpan | null): ModuleSpan | null {
  const prev = moduleSpan;
  moduleSpan = s;
  return prev;
}

const isTensor = (v: unknown): v is Tensor => v instanceof TensorClass;

/** Runs a module's forward with its hooks (and the profiler's span) around it. */
export function runForward(module: object, hooks: ModuleHooks | null, inner: (...a: any[]) => any, args: any[]): any {
  if (hooks === null && moduleSpan === null) return inner.apply(module, args);
  const span = moduleSpan;
  const token = span !== null ? span.begin(module) : 0;
  try {
    if (hooks === null) return inner.apply(module, args);
    for (const hook of [...hooks.pre.values()]) {
      const r = hook(module, args);
      if (r !== undefined) args = Array.isArray(r) ? r : [r];
    }
    const bw = hooks.backward.size > 0 ? new BackwardHookState(module, hooks) : null;
    if (bw) args = bw.wrapInputs(args);
    let out = inner.apply(module, args);
    for (const hook of [...hooks.post.values()]) {
      const r = hook(module, args, out);
      if (r !== undefined) out = r;
    }
    if (bw) out = bw.wrapOutputs(out);
    return out;
  } finally {
    if (span !== null) span.end(token, module);
  }
}

/** Where one identity node sits: which module call, which side, which position. */
interface HookPoint {
  state: BackwardHookState;
  side: 'input' | 'output';
  index: number;
}

/**
 * The identity whose backward reports the gradient passing through it (PyTorch's BackwardHookFunction): applied to
 * each tensor input before forward and to each tensor output after, so the engine hands the module's gradients to
 * the hook state as they flow. A view of its input: no copy.
 */
const hookIdentity: OpDef<HookPoint> = defineOp<HookPoint>({
  name: 'backwardHook',
  backwardName: 'BackwardHookFunctionBackward',
  infer: ([x]) => ({ shape: [...x.shape], dtype: x.dtype }),
  view: (x) => ({ strides: [...x._strides], offset: x._offset }),
  saveInputs: 'none',
  vjp: (g, c) => [c.params.state.arrive(c.params.side, c.params.index, g)],
  flops: () => 0,
});

/** One forward call's backward hooks: collects gradOutput, then gradInput, and calls the hooks once. */
class BackwardHookState {
  private gradInput: (Tensor | null)[] = [];
  private gradOutput: (Tensor | null)[] = [];
  private inputsLeft = 0;
  private outputsLeft = 0;
  /** Inputs whose gradient has been passed on already (a later replacement cannot reach them). */
  private passed = new Set<number>();
  private fired = false;

  constructor(
    private readonly module: object,
    private readonly hooks: ModuleHooks,
  ) {}

  wrapInputs(args: any[]): any[] {
    this.gradInput = args.filter(isTensor).map(() => null);
    let k = 0;
    return args.map((a) => {
      if (!isTensor(a)) return a;
      const i = k++;
      if (!a.requiresGrad) return a;
      this.inputsLeft++;
      return apply(hookIdentity, [a], { state: this, side: 'input', index: i });
    });
  }

  wrapOutputs(out: any): any {
    const wrap = (t: Tensor, i: number) => {
      this.gradOutput[i] = null;
      if (!t.requiresGrad) return t;
      this.outputsLeft++;
      return apply(hookIdentity, [t], { state: this, side: 'output', index: i });
    };
    if (isTensor(out)) return wrap(out, 0);
    if (Array.isArray(out)) {
      let k = 0;
      return out.map((v) => (isTensor(v) ? wrap(v, k++) : v));
    }
    return out;
  }

  /** One gradient arriving at an identity node: recorded, the hooks run when the last input's arrives. */
  arrive(side: 'input' | 'output', index: number, g: Tensor): Tensor {
    _markGradShared(g); // the hook may keep what it is shown
    if (side === 'output') {
      this.gradOutput[index] = g;
      // A module none of whose inputs needs a gradient: the hooks run once the outputs' gradients are in.
      if (--this.outputsLeft === 0 && this.inputsLeft === 0) this.fire();
      return g;
    }
    this.gradInput[index] = g;
    if (--this.inputsLeft > 0) {
      this.passed.add(index);
      return g;
    }
    const replaced = this.fire();
    return replaced?.[index] ?? g;
  }

  private fire(): (Tensor | null)[] | null {
    if (this.fired) return null;
    this.fired = true;
    let result: (Tensor | null)[] | null = null;
    const name = (this.module as { constructor: { name: string } }).constructor.name;
    for (const hook of [...this.hooks.backward.values()]) {
      const r = hook(this.module, [...(result ?? this.gradInput)], [...this.gradOutput]);
      if (r === undefined || r === null) continue;
      if (!Array.isArray(r) || r.length !== this.gradInput.length || r.some((v) => v !== null && !isTensor(v)))
        throw new AutogradError(
          `registerFullBackwardHook: a hook on ${name} returned ${Array.isArray(r) ? `an array of ${r.length}` : typeof r}, ` +
            `but gradInput has ${this.gradInput.length} entr${this.gradInput.length === 1 ? 'y' : 'ies'}; return an ` +
            'array of that length (a tensor or null each) to replace them, or nothing to keep them',
        );
      r.forEach((v, i) => {
        const was = this.gradInput[i];
        if (v !== null && was !== null && (v.dtype !== was.dtype || v.shape.join() !== was.shape.join()))
          throw new AutogradError(
            `registerFullBackwardHook: a hook on ${name} replaced gradInput[${i}] (${was.dtype} [${was.shape}]) with ` +
              `a ${v.dtype} tensor of shape [${v.shape}]; a replacement must have the gradient's shape and dtype`,
          );
      });
      for (const i of this.passed)
        if (r[i] !== this.gradInput[i])
          throw new AutogradError(
            `registerFullBackwardHook: a hook on ${name} replaced gradInput[${i}], but that gradient had already ` +
              'been passed on: adjoint calls the hook when the last tensor input’s gradient arrives, so with several ' +
              'tensor inputs only that last one can be replaced; return the other entries unchanged',
          );
      result = r;
    }
    return result;
  }
}
