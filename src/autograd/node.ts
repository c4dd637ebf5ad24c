/**
 * @file The recorded graph: one Node per differentiable op call (its VJP rule, saved tensors with their versions,
 * and an edge per input), and AccumulateGrad, where a leaf's gradient lands. Edges are fixed when the op runs, so
 * an in-place op that later re-points a tensor's gradFn cannot make the graph cyclic.
 */
import type { DType } from '../core/dtype.js';
import { AutogradError, fmtShape } from '../core/errors.js';
import { _graphAlias, type Tensor } from '../tensor/tensor.js';

/** What a VJP rule may return per input: a gradient, or nothing (no gradient flows there). */
export type Grad = Tensor | null | undefined | false;

export interface RuleCtx<P = any> {
  /** Saved inputs; an entry the op did not declare as saved is undefined. */
  inputs: readonly (Tensor | undefined)[];
  /** The saved output, when the op declared saveOutput. */
  out: Tensor | undefined;
  params: P;
  /** needs[i]: does input i need a gradient? Rules may skip the others. */
  needs: readonly boolean[];
  inShapes: readonly (readonly number[])[];
  inDtypes: readonly DType[];
  outShape: readonly number[];
}

/** The part of an op definition the engine calls. */
export interface NodeOp {
  name: string;
  backwardName: string;
  vjp?: (g: Tensor, c: RuleCtx) => readonly Grad[];
  /** Adds the VJP for input 0 into dst (input-shaped, engine-owned) in place; see OpDef.accumulateInto. */
  accumulateInto?: (dst: Tensor, g: Tensor, c: RuleCtx) => void;
}

export type Edge = Node | AccumulateGrad | null;

let seqCounter = 0;

/** Per-backward scratch space kept on the nodes themselves, so the engine's hot loop needs no Maps. */
class Scratch {
  /** @internal the backward run that last touched this node. */
  _epoch = 0;
  /** @internal edges from not-yet-run nodes that still point here. */
  _deps = 0;
  /** @internal the gradient accumulated so far in this run. */
  _grad: Tensor | null = null;
  /** @internal _grad when the engine allocated it in this run and nothing else holds it (it may add into it). */
  _owned: Tensor | null = null;
}

export class AccumulateGrad extends Scratch {
  readonly name = 'AccumulateGrad';
  readonly seq = seqCounter++;
  constructor(readonly tensor: Tensor) {
    super();
  }
}

export class Node extends Scratch {
  readonly seq = seqCounter++;
  /** Set by backward when the graph is freed (retainGraph false); a second backward then fails clearly. */
  freed = false;
  /** Hooks registered on the non-leaf tensor this node produced: they may replace its gradient. */
  hooks: ((g: Tensor) => Tensor | undefined | void)[] | null = null;
  /** The tensor whose .grad should be kept (retainGrad on a non-leaf). */
  retained: Tensor | null = null;
  /** The name the user gave the tensor this node produced (tensor.name), for explain mode. */
  label: string | null = null;
  constructor(
    readonly op: NodeOp,
    readonly edges: Edge[],
    public ctx: RuleCtx,
    /** Versions of ctx.inputs (and, last, of ctx.out) when they were saved. */
    readonly versions: number[],
    readonly needs: readonly boolean[],
  ) {
    super();
  }

  get name(): string {
    return this.op.backwardName;
  }

  /**
   * Throws PyTorch's in-place error if a saved tensor changed since the op ran. Run before the rule reads ctx: a
   * saved tensor whose handle the user released since (its storage is the graph's to keep) is swapped for an alias
   * of it here, so the rule reads it as PyTorch's saved variables are read.
   */
  checkVersions(): void {
    const c = this.ctx;
    for (let i = 0; i < c.inputs.length; i++) {
      const t = c.inputs[i];
      if (t?.isDisposed) (c.inputs as (Tensor | undefined)[])[i] = _graphAlias(t);
    }
    if (c.out?.isDisposed) c.out = _graphAlias(c.out);
    const saved = [...c.inputs, c.out];
    for (let i = 0; i < saved.length; i++) {
      const t = saved[i];
      if (!t) continue;
      const now = t._storage.version;
      if (now !== this.versions[i]) {
        const which = i === saved.length - 1 ? 'its output' : `input ${i}`;
        throw new AutogradError(
          `backward: one of the tensors needed for gradient computation has been modified by an in-place op: ` +
            `the ${t.dtype} tensor of shape ${fmtShape(t.shape)} saved by ${this.op.name} (${this.name}) as ${which} ` +
            `is at version ${now}; expected version ${this.versions[i]} instead. ` +
            `Fix: use the out-of-place op (x.add(y), not x.add_(y)) or change a clone() of the tensor.`,
        );
      }
    }
  }
}

/**
 * @internal drops the graph's references to node's saved tensors (the engine calls it where it frees a node after
 * backward, retainGraph false): a storage nothing else holds goes back to the pool. Idempotent.
 */
export function _freeSaved(node: Node): void {
  const c = node.ctx;
  for (const t of c.inputs) if (t !== undefined) t._storage._unref();
  if (c.out !== undefined) c.out._storage._unref();
  node.ctx = { ...c, inputs: [], out: undefined };
}
