/**
 * @file The profiler (torch.profiler's shape): `profile(fn)` records one event per op call (name, input shapes and
 * dtypes, backend, FLOPs from the op's `flops` rule, bytes allocated), one per backward node linked to the forward op
 * that recorded it, one per module forward, optimizer step and `profiler.record` label, the kernels each event
 * called, each wasm worker's share of a threaded kernel, and a live-bytes counter by category; `keyAverages`
 * groups them by op, module or shape, `table` prints them, `exportChromeTrace` writes a trace Perfetto and
 * chrome://tracing open. Built on spans the op dispatcher, the backward engine, nn.Module, Optimizer.step, the kernel
 * table, the wasm worker pool and the storage allocator offer (each one branch while no profiler is active), so every
 * op on every backend is profiled with no per-op code.
 */
import { _setNodeSpan } from '../autograd/engine.js';
import { AccumulateGrad, type Node } from '../autograd/node.js';
import { _setKernelObserver, getBackend } from '../backend/index.js';
import { _setWorkerSpan } from '../backend/wasm/pool.js';
import { bool, checked, checkMethods, fn, int, oneOf, optional, str } from '../core/args.js';
import { AdjointError, ValueError } from '../core/errors.js';
import { _setModuleSpan } from '../nn/hooks.js';
import { _setOpSpan, type OpDef } from '../ops/define.js';
import { _setStepSpan } from '../optim/optimizer.js';
import { _setMemoryObserver } from '../tensor/storage.js';
import type { Tensor } from '../tensor/tensor.js';

/** What one event is: an op call, a backward node's turn, a module forward, or a `profiler.record` label. */
export type EventKind = 'op' | 'backward' | 'module' | 'record' | 'optimizer';

/**
 * What allocated a block of storage, from where it was allocated: a forward op (activations, whether saved for
 * backward or temporary), the backward pass (gradients and the rules' temporaries), an optimizer step (its state and
 * update temporaries), or anything else (tensors the user makes, data loading); 'earlier' counts (negative) the
 * blocks allocated before the profile that were freed during it (last step's gradients, replaced by this one's).
 */
export type MemoryCategory = 'activations' | 'gradients' | 'optimizer' | 'other' | 'earlier';
const CATEGORIES: readonly MemoryCategory[] = ['activations', 'gradients', 'optimizer', 'other', 'earlier'];

/** Live storage bytes above the start of the profile, in all and by category. */
export type MemoryBreakdown = Record<MemoryCategory, number> & { all: number };

/** One recorded span. Times are milliseconds since the profile began. */
export interface ProfilerEvent {
  id: number;
  kind: EventKind;
  /** The op (`matmul`), the backward node (`MatmulBackward`), the module path, or the record's label. */
  name: string;
  start: number;
  duration: number;
  /** duration minus the events directly inside it. */
  self: number;
  /** The enclosing event's id, or −1. */
  parent: number;
  /** 'backward' for backward nodes and everything that runs inside one. */
  phase: 'forward' | 'backward';
  backend: string;
  /** The backend kernels the event itself called, in first-call order (`matmul`, `unary(exp)`); [] for none. */
  kernels: string[];
  /** Input shapes and dtypes (ops; with `shapes: true`). */
  inputShapes: number[][] | null;
  inputDtypes: string[] | null;
  /**
   * Floating-point operations: an op's from its `flops` rule (null when it has none), a backward node's the sum of
   * the ops its rule ran, others 0.
   */
  flops: number | null;
  /** Bytes of storage allocated while the event ran, its children's included. */
  bytes: number;
  /** For a backward node: the forward op event that recorded it (−1 when that op ran before the profile). */
  forwardId: number;
  /** For a backward node: its forward op's name (the row keyAverages puts it in); for an op: its own name. */
  op: string;
  /** The module path the event ran under (`encoder.layers.0.self_attn`; the outermost module by class name). */
  module: string | null;
}

/**
 * One sample of the live-bytes counter: storage bytes in use above the start after an allocation or a release, in
 * all and by the category that allocated them (blocks allocated before the profile and freed during it count
 * negative, in 'earlier').
 */
export interface MemorySample {
  time: number;
  bytes: number;
  byCategory: Record<MemoryCategory, number>;
}

export interface ProfileOptions {
  /** Record the live-bytes counter and peaks by category (default false; bytes per event are always counted). */
  memory?: boolean;
  /** Record input shapes and dtypes of each op (default true; groupBy 'shape' needs them). */
  shapes?: boolean;
  /** Record module forwards and each event's module path (default true). */
  withModules?: boolean;
}

/** One row of keyAverages. Times in milliseconds. */
export interface KeyAverage {
  key: string;
  /** Forward calls (module forwards for groupBy 'module'). */
  calls: number;
  backwardCalls: number;
  forwardMs: number;
  backwardMs: number;
  /** forwardMs + backwardMs. */
  totalMs: number;
  /**
   * Time in this row's events outside any other row's: forward self time, plus the backward nodes' time with the
   * ops their rules ran (those are not rows of their own). Rows' selfMs add up to the profiled op time.
   */
  selfMs: number;
  forwardFlops: number;
  backwardFlops: number;
  /** (forwardFlops + backwardFlops) / totalMs, in GFLOP/s; null without FLOPs. */
  gflops: number | null;
  /** Calls whose op has no `flops` rule (their FLOPs count as 0). */
  missingFlops: number;
  /** Bytes allocated by the row's own events (forward self, and its backward nodes). */
  bytes: number;
  backends: string[];
  /** The kernels the row's forward calls ran (groupBy 'op' and 'shape'; [] for 'module'). */
  kernels: string[];
}

export type GroupBy = 'op' | 'module' | 'shape';
export type SortBy = 'total' | 'self' | 'forward' | 'backward' | 'calls' | 'flops' | 'bytes';

const now = () => performance.now();

/** The finished profile: its events, memory samples and the views over them. */
export class Profile {
  /** Wall time of the profiled function, ms. */
  readonly wallMs: number;
  constructor(
    readonly events: readonly ProfilerEvent[],
    readonly memory: readonly MemorySample[],
    wallMs: number,
    /**
     * Peak live storage bytes above the start (memory: true): `atPeak` is the overall peak split by category,
     * `max` each category's own peak.
     */
    readonly peakBytes: { all: number; atPeak: MemoryBreakdown; max: Record<MemoryCategory, number> } | null,
    /** The worker threads' shares of threaded kernel calls (wasm backend; OpenBLAS's own threads are not seen). */
    readonly threads: readonly WorkerShare[] = [],
  ) {
    this.wallMs = wallMs;
  }

  /** Rows aggregated by op name, module path, or op name and input shapes (torch's key_averages). */
  keyAverages(options: { groupBy?: GroupBy } = {}): KeyAverage[] {
    return keyAveragesOf(this, options.groupBy ?? 'op');
  }

  /** keyAverages as a text table (torch's table()), sorted, the first rowLimit rows, with a totals line. */
  table(options: { groupBy?: GroupBy; sortBy?: SortBy; rowLimit?: number } = {}): string {
    return tableOf(this, options.groupBy ?? 'op', options.sortBy ?? 'total', options.rowLimit ?? 20);
  }

  /** The Chrome trace event format object (what exportChromeTrace writes). */
  toChromeTrace(): { traceEvents: object[]; displayTimeUnit: 'ms'; otherData: object } {
    return chromeTrace(this);
  }

  /** Writes the trace as JSON to `path` (Node), for Perfetto (ui.perfetto.dev) and chrome://tracing. */
  exportChromeTrace(path: string): void {
    const fs = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process?.getBuiltinModule?.(
      'node:fs',
    ) as { writeFileSync(p: string, s: string): void } | undefined;
    if (!fs)
      throw new AdjointError(
        'exportChromeTrace: writing a file needs Node.js; in a browser use profile.toChromeTrace() and save the JSON yourself',
      );
    try {
      fs.writeFileSync(path, JSON.stringify(this.toChromeTrace()));
    } catch (e) {
      throw new AdjointError(
        `exportChromeTrace: could not write ${JSON.stringify(path)} (${(e as Error).message}); pass a path in a ` +
          'directory that exists and is writable',
      );
    }
  }
}

// ----- recording ----------------------------------------------------------------------------------------------------

const zeroCategories = (): Record<MemoryCategory, number> => ({
  activations: 0,
  gradients: 0,
  optimizer: 0,
  other: 0,
  earlier: 0,
});

/** One worker thread's share of a threaded kernel call (the wasm backend's pool), in ms since the profile began. */
export interface WorkerShare {
  /** The worker's number, 1 … threads − 1 (the calling thread's share is inside the op event itself). */
  thread: number;
  /** The kernel, as the pool names it (`GEMM kernel gemm_f32`), and the call's sizes. */
  kernel: string;
  detail: string;
  start: number;
  duration: number;
  /** The op or backward event the call ran in, or −1. */
  parent: number;
}

/** One profile being recorded. */
class Recorder {
  readonly events: ProfilerEvent[] = [];
  readonly memory: MemorySample[] = [];
  readonly threads: WorkerShare[] = [];
  /** Open events, innermost last. */
  readonly stack: ProfilerEvent[] = [];
  /** Children's time per open event (parallel to stack). */
  private readonly childMs: number[] = [];
  readonly t0 = now();
  /** Bytes allocated since the start (monotonic), and the live bytes above the start. */
  allocated = 0;
  live = 0;
  /** Live bytes above the start by category, the overall peak's split and each category's own peak. */
  private readonly byCat = zeroCategories();
  private atPeak: MemoryBreakdown = { ...zeroCategories(), all: 0 };
  private readonly maxCat = zeroCategories();
  /** The category each block allocated during the profile was counted in (weak: GC'd storages drop out). */
  private readonly catOf = new WeakMap<object, MemoryCategory>();
  private optimizerDepth = 0;
  private backend = getBackend();
  /** The forward op event behind each node recorded while profiling. */
  readonly forwardOf = new WeakMap<object, ProfilerEvent>();
  /** Module paths: each module's name in its parent, found on first call. */
  private readonly childName = new WeakMap<object, Map<object, string>>();
  private readonly modulePaths: string[] = [];
  private readonly moduleObjects: object[] = [];
  private backwardDepth = 0;

  constructor(readonly options: Required<ProfileOptions>) {}

  private open(kind: EventKind, name: string): number {
    const parent = this.stack.length ? this.stack[this.stack.length - 1] : null;
    const e: ProfilerEvent = {
      id: this.events.length,
      kind,
      name,
      start: now() - this.t0,
      duration: 0,
      self: 0,
      parent: parent ? parent.id : -1,
      phase: this.backwardDepth > 0 || kind === 'backward' ? 'backward' : 'forward',
      backend: this.backend,
      kernels: [],
      inputShapes: null,
      inputDtypes: null,
      flops: 0,
      bytes: -this.allocated,
      forwardId: -1,
      op: name,
      module: this.modulePaths.length ? this.modulePaths[this.modulePaths.length - 1] : null,
    };
    this.events.push(e);
    this.stack.push(e);
    this.childMs.push(0);
    return this.stack.length - 1;
  }

  /** Closes the event at stack depth `token` (and any left open inside it by a throw). */
  private close(token: number): ProfilerEvent | null {
    if (token >= this.stack.length) return null;
    let e: ProfilerEvent | null = null;
    while (this.stack.length > token) {
      e = this.stack.pop()!;
      const children = this.childMs.pop()!;
      e.duration = now() - this.t0 - e.start;
      e.self = Math.max(0, e.duration - children);
      e.bytes += this.allocated;
      const n = this.childMs.length;
      if (n > 0) this.childMs[n - 1] += e.duration;
    }
    return e;
  }

  /** The backward node event enclosing the innermost open event, if any. */
  private enclosingBackward(): ProfilerEvent | null {
    for (let i = this.stack.length - 1; i >= 0; i--) if (this.stack[i].kind === 'backward') return this.stack[i];
    return null;
  }

  opBegin(op: OpDef, ins: readonly Tensor[]): number {
    this.backend = getBackend();
    const token = this.open('op', op.name);
    if (this.options.shapes) {
      const e = this.stack[token];
      e.inputShapes = ins.map((x) => [...x.shape]);
      e.inputDtypes = ins.map((x) => x.dtype);
    }
    return token;
  }

  opEnd(token: number, op: OpDef, ins: readonly Tensor[], out: Tensor | null, p: unknown): void {
    const e = this.stack[token];
    if (!e) return;
    if (out !== null) {
      e.flops = op.flops ? op.flops(ins, { shape: [...out.shape], dtype: out.dtype }, p) : null;
      const node = out.gradFn;
      if (node !== null && !this.forwardOf.has(node)) this.forwardOf.set(node, e);
    }
    this.close(token);
    const bw = this.enclosingBackward();
    if (bw && e.flops !== null) bw.flops = (bw.flops ?? 0) + e.flops;
  }

  nodeBegin(node: Node | AccumulateGrad): number {
    this.backwardDepth++;
    const token = this.open('backward', node.name);
    const e = this.stack[token];
    const fwd = node instanceof AccumulateGrad ? undefined : this.forwardOf.get(node);
    if (fwd) {
      e.forwardId = fwd.id;
      e.op = fwd.name;
      e.module = fwd.module;
    } else e.op = node instanceof AccumulateGrad ? 'AccumulateGrad' : node.op.name;
    return token;
  }

  nodeEnd(token: number): void {
    this.backwardDepth--;
    this.close(token);
  }

  moduleBegin(m: object): number {
    const parent = this.moduleObjects.length ? this.moduleObjects[this.moduleObjects.length - 1] : null;
    let path: string;
    if (parent === null) path = (m as { constructor: { name: string } }).constructor.name;
    else {
      const name = this.nameIn(parent, m);
      const up = this.modulePaths[this.modulePaths.length - 1];
      // Children of the outermost module are named from it (`encoder.layers.0`), as in stateDict.
      path = this.moduleObjects.length === 1 ? name : `${up}.${name}`;
    }
    // The event (and its row) also names the module's class: `3 (Conv2d)`; the path alone is what events run under.
    const cls = (m as { constructor: { name: string } }).constructor.name;
    const token = this.open('module', parent === null ? path : `${path} (${cls})`);
    this.moduleObjects.push(m);
    this.modulePaths.push(path);
    this.stack[token].module = path;
    return token;
  }

  moduleEnd(token: number): void {
    this.moduleObjects.pop();
    this.modulePaths.pop();
    this.close(token);
  }

  /** child's attribute name in parent, or its class name when it is not one of parent's properties. */
  private nameIn(parent: object, child: object): string {
    let names = this.childName.get(parent);
    if (!names) {
      names = new Map();
      const visit = (v: unknown, prefix: string) => {
        if (v === null || typeof v !== 'object') return;
        if (!names!.has(v)) names!.set(v, prefix);
      };
      // Every descendant by its dotted name (a ModuleList's items are called by their owner, not the list).
      const named = (parent as { namedModules?: () => Iterable<[string, object]> }).namedModules;
      if (typeof named === 'function') for (const [k, v] of named.call(parent)) if (k !== '') visit(v, k);
      for (const [k, v] of Object.entries(parent)) {
        visit(v, k);
        if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${k}.${i}`));
      }
      this.childName.set(parent, names);
    }
    return names.get(child) ?? (child as { constructor: { name: string } }).constructor.name;
  }

  recordBegin(label: string): number {
    return this.open('record', label);
  }

  recordEnd(token: number): void {
    this.close(token);
  }

  optimizerBegin(opt: object): number {
    this.optimizerDepth++;
    return this.open('optimizer', `${(opt as { constructor: { name: string } }).constructor.name}.step`);
  }

  optimizerEnd(token: number): void {
    this.optimizerDepth--;
    this.close(token);
  }

  kernelCall(name: string): void {
    const e = this.stack[this.stack.length - 1];
    if (e && !e.kernels.includes(name)) e.kernels.push(name);
  }

  workerShare(what: string, thread: number, start: number, end: number): void {
    const origin = performance.timeOrigin + this.t0;
    const parent = this.stack.length ? this.stack[this.stack.length - 1].id : -1;
    const kernel = what.replace(/^the /, '').replace(/ \(.*$/, '');
    this.threads.push({ thread, kernel, detail: what, start: start - origin, duration: end - start, parent });
  }

  /** The category of a block allocated now, from where the allocation happens. */
  private categoryNow(): MemoryCategory {
    if (this.optimizerDepth > 0) return 'optimizer';
    if (this.backwardDepth > 0) return 'gradients';
    for (let i = this.stack.length - 1; i >= 0; i--) if (this.stack[i].kind === 'op') return 'activations';
    return 'other';
  }

  memoryChange(bytes: number, storage: object): void {
    if (bytes > 0) this.allocated += bytes;
    this.live += bytes;
    if (!this.options.memory) return;
    let cat: MemoryCategory;
    if (bytes > 0) {
      cat = this.categoryNow();
      this.catOf.set(storage, cat);
    } else cat = this.catOf.get(storage) ?? 'earlier';
    this.byCat[cat] += bytes;
    if (this.byCat[cat] > this.maxCat[cat]) this.maxCat[cat] = this.byCat[cat];
    this.memory.push({ time: now() - this.t0, bytes: this.live, byCategory: { ...this.byCat } });
    if (this.live > this.atPeak.all) this.atPeak = { ...this.byCat, all: this.live };
  }

  finish(): Profile {
    this.close(0);
    const peak = this.options.memory ? { all: this.atPeak.all, atPeak: this.atPeak, max: { ...this.maxCat } } : null;
    return new Profile(this.events, this.memory, now() - this.t0, peak, this.threads);
  }
}

let active: Recorder | null = null;

function install(r: Recorder): void {
  active = r;
  _setOpSpan({ begin: (op, ins) => r.opBegin(op, ins), end: (t, op, ins, out, p) => r.opEnd(t, op, ins, out, p) });
  _setNodeSpan({ begin: (n) => r.nodeBegin(n), end: (t) => r.nodeEnd(t) });
  if (r.options.withModules) _setModuleSpan({ begin: (m) => r.moduleBegin(m), end: (t) => r.moduleEnd(t) });
  _setStepSpan({ begin: (o) => r.optimizerBegin(o), end: (t) => r.optimizerEnd(t) });
  _setMemoryObserver((b, s) => r.memoryChange(b, s));
  _setWorkerSpan((k, t, a, b) => r.workerShare(k, t, a, b));
  _setKernelObserver((k) => r.kernelCall(k));
}

function uninstall(): void {
  active = null;
  _setOpSpan(null);
  _setNodeSpan(null);
  _setModuleSpan(null);
  _setStepSpan(null);
  _setMemoryObserver(null);
  _setWorkerSpan(null);
  _setKernelObserver(null);
}

function profileFn<T>(
  f: () => T,
  options: ProfileOptions = {},
): T extends Promise<unknown> ? Promise<Profile> : Profile {
  if (active !== null)
    throw new ValueError(
      'profile: a profile is already being recorded (profiles do not nest); use ad.profiler.record(label, fn) to ' +
        'mark a region inside it',
    );
  const r = new Recorder({
    memory: options.memory ?? false,
    shapes: options.shapes ?? true,
    withModules: options.withModules ?? true,
  });
  install(r);
  let result: T;
  try {
    result = f();
  } catch (e) {
    uninstall();
    throw e;
  }
  if (result instanceof Promise)
    return result.then(
      () => {
        uninstall();
        return r.finish();
      },
      (e) => {
        uninstall();
        throw e;
      },
    ) as T extends Promise<unknown> ? Promise<Profile> : Profile;
  uninstall();
  return r.finish() as T extends Promise<unknown> ? Promise<Profile> : Profile;
}

/**
 * Runs fn (sync or async) with the profiler on and returns its Profile (a promise of one for an async fn); what
 * fn returns is dropped. Everything that runs meanwhile is recorded, including other async work in flight.
 */
export const profile = checked(
  'profile',
  {
    args: { fn },
    options: { memory: optional(bool), shapes: optional(bool), withModules: optional(bool) },
  },
  profileFn,
) as <T>(f: () => T, options?: ProfileOptions) => T extends Promise<unknown> ? Promise<Profile> : Profile;

/**
 * Marks fn's run as one event named `label` in the profile being recorded (torch.profiler.record_function); records
 * nest. Without an active profile it only runs fn. Returns what fn returns (a promise: the event lasts until it
 * settles).
 */
const record = checked('profiler.record', { args: { label: str, fn } }, function record<
  T,
>(label: string, f: () => T): T {
  const r = active;
  if (r === null) return f();
  const token = r.recordBegin(label);
  let out: T;
  try {
    out = f();
  } catch (e) {
    r.recordEnd(token);
    throw e;
  }
  if (out instanceof Promise)
    return out.finally(() => {
      if (active === r) r.recordEnd(token);
    }) as T;
  r.recordEnd(token);
  return out;
});

/** Whether a profile is being recorded. */
const isProfiling = checked('profiler.isProfiling', {}, function isProfiling(): boolean {
  return active !== null;
});

export const profiler = { record, isProfiling };

// ----- views ----------------------------------------------------------------------------------------------------

const GROUP = oneOf(['op', 'module', 'shape'] as const);

function newRow(key: string): KeyAverage {
  return {
    key,
    calls: 0,
    backwardCalls: 0,
    forwardMs: 0,
    backwardMs: 0,
    totalMs: 0,
    selfMs: 0,
    forwardFlops: 0,
    backwardFlops: 0,
    gflops: null,
    missingFlops: 0,
    bytes: 0,
    backends: [],
    kernels: [],
  };
}

/** Bytes an event allocated outside its children. */
function selfBytes(e: ProfilerEvent, kids: Map<number, ProfilerEvent[]>): number {
  let b = e.bytes;
  for (const c of kids.get(e.id) ?? []) b -= c.bytes;
  return b;
}

function keyAveragesOf(p: Profile, groupBy: GroupBy): KeyAverage[] {
  if (!['op', 'module', 'shape'].includes(groupBy))
    throw new ValueError(`keyAverages: groupBy must be 'op', 'module' or 'shape', got ${JSON.stringify(groupBy)}`);
  const rows = new Map<string, KeyAverage>();
  const row = (k: string) => {
    let r = rows.get(k);
    if (!r) rows.set(k, (r = newRow(k)));
    return r;
  };
  const kids = new Map<number, ProfilerEvent[]>();
  for (const e of p.events) if (e.parent >= 0) (kids.get(e.parent) ?? kids.set(e.parent, []).get(e.parent)!).push(e);
  const byId = p.events;
  const addBackend = (r: KeyAverage, b: string) => {
    if (!r.backends.includes(b)) r.backends.push(b);
  };
  const shapeKey = (e: ProfilerEvent) =>
    `${e.name} ${(e.inputShapes ?? []).map((s) => `[${s.join('×')}]`).join(' ')}`.trimEnd();

  if (groupBy === 'module') {
    for (const e of p.events) {
      if (e.kind === 'module') {
        const r = row(e.name);
        r.calls++;
        r.forwardMs += e.duration;
        addBackend(r, e.backend);
      }
    }
    // The module rows an event counts in: the module forwards enclosing it (a backward node: its forward op's).
    const modulesOf = (e: ProfilerEvent): Set<string> => {
      const out = new Set<string>();
      for (let q = e.parent; q >= 0; q = byId[q].parent) if (byId[q].kind === 'module') out.add(byId[q].name);
      return out;
    };
    for (const e of p.events) {
      if (e.kind === 'op' && e.phase === 'forward')
        for (const key of modulesOf(e)) {
          const r = rows.get(key)!;
          r.forwardFlops += e.flops ?? 0;
          if (e.flops === null) r.missingFlops++;
          r.bytes += selfBytes(e, kids);
        }
      if (e.kind === 'backward' && e.forwardId >= 0)
        for (const key of modulesOf(byId[e.forwardId])) {
          const r = rows.get(key)!;
          r.backwardCalls++;
          r.backwardMs += e.duration;
          r.backwardFlops += e.flops ?? 0;
          r.bytes += selfBytes(e, kids);
        }
    }
    // A module's own time: its forward minus its submodules' forwards.
    for (const e of p.events)
      if (e.kind === 'module') {
        const r = rows.get(e.name)!;
        const sub = (kids.get(e.id) ?? []).filter((c) => c.kind === 'module').reduce((s, c) => s + c.duration, 0);
        r.selfMs += e.duration - sub;
      }
  } else {
    for (const e of p.events) {
      if (e.kind === 'op' && e.phase === 'forward') {
        const r = row(groupBy === 'shape' ? shapeKey(e) : e.name);
        r.calls++;
        r.forwardMs += e.duration;
        r.selfMs += e.self;
        r.forwardFlops += e.flops ?? 0;
        if (e.flops === null) r.missingFlops++;
        r.bytes += selfBytes(e, kids);
        addBackend(r, e.backend);
        for (const k of e.kernels) if (!r.kernels.includes(k)) r.kernels.push(k);
      } else if (e.kind === 'backward') {
        const fwd = e.forwardId >= 0 ? byId[e.forwardId] : null;
        const r = row(fwd && groupBy === 'shape' ? shapeKey(fwd) : e.op);
        r.backwardCalls++;
        // Nested backward nodes (a backward inside a rule) are their own rows' time.
        const nested = (kids.get(e.id) ?? []).filter((c) => c.kind === 'backward').reduce((s, c) => s + c.duration, 0);
        r.backwardMs += e.duration - nested;
        r.selfMs += e.duration - nested;
        r.backwardFlops += e.flops ?? 0;
        r.bytes += selfBytes(e, kids);
        addBackend(r, e.backend);
      }
    }
  }
  for (const r of rows.values()) {
    r.totalMs = r.forwardMs + r.backwardMs;
    const f = r.forwardFlops + r.backwardFlops;
    r.gflops = f > 0 && r.totalMs > 0 ? f / r.totalMs / 1e6 : null;
  }
  return [...rows.values()];
}

const SORT_KEYS: Record<SortBy, (r: KeyAverage) => number> = {
  total: (r) => r.totalMs,
  self: (r) => r.selfMs,
  forward: (r) => r.forwardMs,
  backward: (r) => r.backwardMs,
  calls: (r) => r.calls + r.backwardCalls,
  flops: (r) => r.forwardFlops + r.backwardFlops,
  bytes: (r) => r.bytes,
};

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
function si(v: number, unit: string): string {
  if (v === 0) return '0';
  const k = ['', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < k.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v >= 100 || i === 0 ? 0 : 1)} ${k[i]}${unit}`;
}
function bytesText(v: number): string {
  if (v === 0) return '0';
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}

const isOpLike = (e: ProfilerEvent) => e.kind === 'op' || e.kind === 'backward';

function tableOf(p: Profile, groupBy: GroupBy, sortBy: SortBy, rowLimit: number): string {
  if (!(sortBy in SORT_KEYS))
    throw new ValueError(
      `table: sortBy must be one of ${Object.keys(SORT_KEYS).join(', ')}, got ${JSON.stringify(sortBy)}`,
    );
  if (!Number.isInteger(rowLimit) || rowLimit < 1)
    throw new ValueError(`table: rowLimit must be a whole number ≥ 1, got ${rowLimit}`);
  const all = keyAveragesOf(p, groupBy).sort((a, b) => SORT_KEYS[sortBy](b) - SORT_KEYS[sortBy](a));
  const shown = all.slice(0, rowLimit);
  const selfTotal = all.reduce((s, r) => s + (Number.isNaN(r.selfMs) ? 0 : r.selfMs), 0);
  const head = [
    groupBy === 'module' ? 'Module' : groupBy === 'shape' ? 'Op and input shapes' : 'Op',
    'Calls',
    'Fwd ms',
    'Bwd ms',
    'Total ms',
    'Self ms',
    'Self %',
    'FLOPs',
    'GFLOP/s',
    'Alloc',
    'Backend',
  ];
  const lines = shown.map((r) => [
    r.key + (r.missingFlops ? ' *' : ''),
    r.backwardCalls ? `${r.calls}/${r.backwardCalls}` : String(r.calls),
    ms(r.forwardMs),
    r.backwardCalls ? ms(r.backwardMs) : '-',
    ms(r.totalMs),
    ms(r.selfMs),
    selfTotal > 0 ? `${((100 * r.selfMs) / selfTotal).toFixed(1)}%` : '-',
    si(r.forwardFlops + r.backwardFlops, ''),
    r.gflops === null ? '-' : r.gflops.toFixed(r.gflops >= 10 ? 1 : 2),
    bytesText(r.bytes),
    r.backends.join(','),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [rule, fmt(head), rule, ...lines.map(fmt), rule];
  // Time covered by op and backward events that no other op or backward event encloses (records and module forwards
  // around them do not count as op time).
  const inOp = (e: ProfilerEvent): boolean => {
    for (let q = e.parent; q >= 0; q = p.events[q].parent) if (isOpLike(p.events[q])) return true;
    return false;
  };
  const opMs = p.events.filter((e) => isOpLike(e) && !inOp(e)).reduce((s, e) => s + e.duration, 0);
  out.push(
    `Wall time ${ms(p.wallMs)} ms; ${all.length} rows (${shown.length} shown), self time ${ms(selfTotal)} ms` +
      (groupBy === 'module' ? '' : `, ${ms(Math.max(0, p.wallMs - opMs))} ms outside any op`) +
      '. Calls a/b: a forward calls, b backward nodes.',
  );
  if (all.some((r) => r.missingFlops > 0)) out.push('* an op without a flops rule: its FLOPs count as 0.');
  if (p.peakBytes) {
    const split = CATEGORIES.filter((c) => p.peakBytes!.atPeak[c] !== 0)
      .map((c) => `${c} ${bytesText(p.peakBytes!.atPeak[c])}`)
      .join(', ');
    out.push(
      `Peak live storage above the start: ${bytesText(p.peakBytes.all)}${split ? ` (${split})` : ''}; ` +
        `each category's own peak: ${CATEGORIES.filter((c) => c !== 'earlier')
          .map((c) => `${c} ${bytesText(p.peakBytes!.max[c])}`)
          .join(', ')}.`,
    );
  }
  return out.join('\n');
}

function chromeTrace(p: Profile): { traceEvents: object[]; displayTimeUnit: 'ms'; otherData: object } {
  const us = (t: number) => Math.round(t * 1000 * 1000) / 1000;
  // End rounded, not duration: rounding is monotonic, so events nested in time stay nested in the trace.
  const dur = (start: number, duration: number) => Math.round((us(start + duration) - us(start)) * 1000) / 1000;
  const pid = 1;
  const tid = 1;
  const ev: object[] = [
    { name: 'process_name', ph: 'M', pid, tid, args: { name: 'adjoint' } },
    { name: 'thread_name', ph: 'M', pid, tid, args: { name: 'main (ops, backward, modules)' } },
  ];
  for (const e of p.events) {
    const args: Record<string, unknown> = { phase: e.phase, backend: e.backend, bytes: e.bytes };
    if (e.kernels.length) args.kernels = e.kernels;
    if (e.inputShapes) args['input shapes'] = e.inputShapes;
    if (e.inputDtypes) args['input dtypes'] = e.inputDtypes;
    if (e.kind === 'op' || e.kind === 'backward') args.flops = e.flops;
    if (e.module) args.module = e.module;
    if (e.kind === 'backward') args['forward op'] = e.op;
    ev.push({ name: e.name, cat: e.kind, ph: 'X', ts: us(e.start), dur: dur(e.start, e.duration), pid, tid, args });
  }
  // Each worker thread's shares of threaded kernels on a track of its own (tid 1 + worker number).
  const workers = new Set<number>();
  for (const w of p.threads) {
    if (!workers.has(w.thread)) {
      workers.add(w.thread);
      ev.push({ name: 'thread_name', ph: 'M', pid, tid: 1 + w.thread, args: { name: `wasm worker ${w.thread}` } });
    }
    const args = { call: w.detail, op: w.parent >= 0 ? p.events[w.parent].name : null };
    const [ts, d] = [us(w.start), dur(w.start, w.duration)];
    ev.push({ name: w.kernel, cat: 'kernel', ph: 'X', ts, dur: d, pid, tid: 1 + w.thread, args });
  }
  // Forward → backward links, as PyTorch's fwdbwd flows: from the forward op to the node it recorded.
  for (const e of p.events) {
    if (e.kind !== 'backward' || e.forwardId < 0) continue;
    const f = p.events[e.forwardId];
    ev.push({ name: 'fwdbwd', cat: 'fwdbwd', ph: 's', id: e.id, ts: us(f.start), pid, tid });
    ev.push({ name: 'fwdbwd', cat: 'fwdbwd', ph: 'f', bp: 'e', id: e.id, ts: us(e.start), pid, tid });
  }
  // Perfetto and chrome://tracing draw a counter's args as stacked series: one per category.
  for (const m of p.memory)
    ev.push({ name: 'live storage bytes', ph: 'C', ts: us(m.time), pid, args: { ...m.byCategory } });
  return { traceEvents: ev, displayTimeUnit: 'ms', otherData: { producer: 'adjoint profiler', wallMs: p.wallMs } };
}

checkMethods(Profile, {
  keyAverages: { options: { groupBy: optional(GROUP) } },
  table: {
    options: {
      groupBy: optional(GROUP),
      sortBy: optional(oneOf(Object.keys(SORT_KEYS) as SortBy[])),
      rowLimit: optional(int({ min: 1 })),
    },
  },
  toChromeTrace: {},
  exportChromeTrace: { args: { path: str } },
});
