/**
 * @file Training checkpoints: model, optimizer and scheduler state, the RNG state and the step in one safetensors
 * file, written atomically. Loading checks the whole file against the model before changing anything, and puts
 * everything back if an optimizer or scheduler refuses its state, so a failed load leaves training as it was.
 */
import { noGrad } from '../autograd/mode.js';
import { any, checked, record, str } from '../core/args.js';
import { AdjointError, DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { getRngState, setRngState } from '../core/rng.js';
import type { Module, StateDict } from '../nn/module.js';
import { fromTypedArray, Tensor } from '../tensor/tensor.js';
import { type WriteOptions, writeFileAtomic } from './atomic.js';
import { showPath } from './node.js';
import { decode, encode, readFile, WRITE_OPTIONS } from './safetensors.js';

/** Anything with PyTorch's state-dict pair: optimizers, schedulers, data loaders. */
export interface Stateful {
  stateDict(): unknown;
  loadStateDict(state: any): unknown;
}

export interface CheckpointState {
  model: Module;
  optimizer?: Stateful | null;
  scheduler?: Stateful | null;
  /** The optimizer step (or any step counter) training resumes from. */
  step: number;
  epoch?: number;
  /** Anything else to keep: numbers, strings, booleans, null, arrays, plain objects and tensors, nested. */
  extra?: unknown;
}

export interface LoadCheckpointOptions {
  model: Module;
  optimizer?: Stateful | null;
  scheduler?: Stateful | null;
  /** Restore the global RNG (ad.manualSeed's generator) to its state at save time; default true. */
  restoreRng?: boolean;
}

export interface LoadedCheckpoint {
  step: number;
  epoch: number | null;
  extra: unknown;
}

const FORMAT = 'adjoint.checkpoint';
const VERSION = '1';

/**
 * Saves a training checkpoint to path, atomically (temporary file, fsync, rename, fsync of the directory): a crash
 * mid-save leaves the previous file at path intact. Layout (docs/DATA.md): model tensors as `model.<key>`, other
 * tensors as `optimizer.<path>` / `scheduler.<path>` / `extra.<path>`, and the rest as JSON in the metadata.
 */
function saveCheckpointFn(path: string, state: CheckpointState, opts: WriteOptions = {}): void {
  const op = 'saveCheckpoint';
  if (!state || typeof state.model?.stateDict !== 'function')
    throw new ValueError(`${op}: state.model must be an nn.Module`);
  if (!Number.isFinite(state.step)) throw new ValueError(`${op}: state.step must be a number, got ${state.step}`);
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(state.model.stateDict())) tensors[`model.${k}`] = t;
  const tree = (name: string, v: unknown) => encodeTree(op, name, v, tensors);
  const json = {
    step: state.step,
    epoch: state.epoch ?? null,
    rng: tree('rng', getRngState()),
    optimizer: state.optimizer ? tree('optimizer', state.optimizer.stateDict()) : null,
    scheduler: state.scheduler ? tree('scheduler', state.scheduler.stateDict()) : null,
    extra: state.extra === undefined ? null : tree('extra', state.extra),
  };
  const bytes = encode(op, tensors, { format: FORMAT, version: VERSION, state: JSON.stringify(json) }, {});
  writeFileAtomic(op, path, bytes, opts);
}

/**
 * Restores a checkpoint written by saveCheckpoint into model (and optimizer, scheduler, the global RNG); returns
 * the step, epoch and extra. Every model key, shape and dtype is checked first; an error leaves everything as it was.
 */
function loadCheckpointFn(path: string, target: LoadCheckpointOptions): LoadedCheckpoint {
  const op = 'loadCheckpoint';
  const where = `${op}: ${showPath(path)}`;
  if (!target || typeof target.model?.stateDict !== 'function')
    throw new ValueError(`${op}: options.model must be the nn.Module to load into`);
  const { tensors, metadata } = decode(op, readFile(op, path), showPath(path));
  if (metadata?.format !== FORMAT)
    throw new ValueError(
      `${where} is a safetensors file but not an adjoint checkpoint (its metadata has no format '${FORMAT}'); ` +
        'load plain weights with ad.io.loadFile and model.loadStateDict',
    );
  if (metadata.version !== VERSION)
    throw new ValueError(
      `${where} has checkpoint version '${metadata.version}'; this adjoint reads version ${VERSION}`,
    );
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(metadata.state);
  } catch (e) {
    throw new ValueError(`${where}: the metadata entry 'state' is not valid JSON (${(e as Error).message})`);
  }
  const tree = (name: string) => decodeTree(where, name, json[name], tensors);

  // 1. Check everything against the targets before touching them.
  const modelSd: StateDict = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) modelSd[k.slice(6)] = t;
  checkModel(where, target.model, modelSd);
  if (typeof json.step !== 'number') throw new ValueError(`${where}: the metadata has no numeric 'step'`);
  const rng = tree('rng') as number[];
  if (!Array.isArray(rng) || rng.length !== getRngState().length || !rng.every((v) => typeof v === 'number'))
    throw new ValueError(`${where}: the RNG state in the metadata is not ${getRngState().length} numbers`);
  const parts: [string, Stateful, unknown][] = [];
  for (const name of ['optimizer', 'scheduler'] as const) {
    const obj = target[name];
    if (!obj) continue;
    if (json[name] === null || json[name] === undefined)
      throw new ValueError(`${where} holds no ${name} state (it was saved without one); load without the ${name}`);
    parts.push([name, obj, tree(name)]);
  }
  const extra = tree('extra');

  // 2. Apply, undoing what was applied if an optimizer or scheduler rejects its state.
  const undo: (() => void)[] = [];
  try {
    const before = snapshot(target.model.stateDict()) as StateDict;
    target.model.loadStateDict(modelSd);
    undo.push(() => target.model.loadStateDict(before));
    for (const [name, obj, sd] of parts) {
      const prev = snapshot(obj.stateDict());
      try {
        obj.loadStateDict(sd);
      } catch (e) {
        undo.push(() => obj.loadStateDict(prev));
        throw new AdjointError(`${where}: the ${name} rejected its saved state: ${(e as Error).message}`, {
          cause: e,
        });
      }
      undo.push(() => obj.loadStateDict(prev));
    }
  } catch (e) {
    // Best effort: an object whose loadStateDict validates before changing anything (as ours do) needs no undo,
    // and one that cannot take back its own old state must not hide the original error.
    for (const u of undo.reverse())
      try {
        u();
      } catch {}
    throw e;
  }
  if (target.restoreRng ?? true) setRngState(rng);
  return { step: json.step, epoch: typeof json.epoch === 'number' ? json.epoch : null, extra };
}

function checkModel(where: string, model: Module, sd: StateDict): void {
  const own = model.stateDict();
  const missing = Object.keys(own).filter((k) => !Object.hasOwn(sd, k));
  const unexpected = Object.keys(sd).filter((k) => !Object.hasOwn(own, k));
  if (missing.length || unexpected.length)
    throw new ValueError(
      `${where} does not match ${model.constructor.name}: ` +
        [
          missing.length ? `missing keys ${missing.join(', ')}` : '',
          unexpected.length ? `unexpected keys ${unexpected.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ') +
        '. Build the same model the checkpoint was saved from',
    );
  for (const [k, t] of Object.entries(own)) {
    const s = sd[k];
    if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i]))
      throw new ShapeError(
        `${where}: 'model.${k}' has shape ${fmtShape(s.shape)} but the model's is ${fmtShape(t.shape)}`,
      );
    // int32 loads into int64 exactly: checkpoints written before BatchNorm's num_batches_tracked became int64 hold
    // it as int32.
    if (s.dtype !== t.dtype && !(s.dtype === 'int32' && t.dtype === 'int64'))
      throw new DTypeError(`${where}: 'model.${k}' is ${s.dtype} but the model's is ${t.dtype}`);
  }
}

/** A deep copy of a state (tensors copied into new storage), so later in-place updates cannot change it. */
function snapshot(v: unknown): unknown {
  if (v instanceof Tensor) return noGrad(() => fromTypedArray(v.dataSync(), v.shape, v.dtype));
  if (Array.isArray(v)) return v.map(snapshot);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, snapshot(x)]));
  return v;
}

// ----- state trees as JSON with tensors stored beside them -------------------------------------------------------
// JSON has no NaN, infinities or -0, and a tensor is stored as a file entry: both become one-key marker objects
// ({$num}, {$tensor}); a plain object that happens to look like a marker is wrapped in {$obj} so it reads back as is.

const MARKERS = ['$tensor', '$num', '$obj'];
/** How deeply state trees may nest (Python's default recursion limit, which bounds what torch.save pickles). */
const MAX_TREE_DEPTH = 1000;

/** A path for a message: a deeply nested one keeps its two ends. */
function shortPath(path: string): string {
  return path.length <= 120 ? path : `${path.slice(0, 50)}…${path.slice(-50)}`;
}

/**
 * A state tree as JSON, its tensors moved into `tensors`. `open` holds the arrays and objects being encoded, outside
 * in, with their paths: meeting one of them again is a cycle, which JSON cannot hold (a value shared by two branches
 * is fine; it is stored twice).
 */
function encodeTree(
  op: string,
  path: string,
  v: unknown,
  tensors: Record<string, Tensor>,
  open: Map<object, string> = new Map(),
): unknown {
  if (v instanceof Tensor) {
    let key = path;
    for (let i = 1; Object.hasOwn(tensors, key); i++) key = `${path}~${i}`;
    tensors[key] = v;
    return { $tensor: key };
  }
  if (typeof v === 'number') {
    if (Number.isNaN(v) || !Number.isFinite(v) || Object.is(v, -0))
      return { $num: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  }
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  const isArray = Array.isArray(v);
  if (isArray || (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)) {
    const o = v as object;
    const outer = open.get(o);
    if (outer !== undefined)
      throw new ValueError(
        `${op}: '${shortPath(path)}' is '${shortPath(outer)}' itself, which contains it: the state is cyclic, ` +
          'and a checkpoint stores a tree; store the repeated part once (or an index or name that refers to it) ' +
          'instead of the object',
      );
    if (open.size >= MAX_TREE_DEPTH)
      throw new ValueError(
        `${op}: '${shortPath(path)}' is nested ${open.size + 1} levels deep, more than the ${MAX_TREE_DEPTH} ` +
          "a checkpoint's state may have; flatten it",
      );
    open.set(o, path);
    let out: unknown;
    if (isArray) out = (v as unknown[]).map((x, i) => encodeTree(op, `${path}.${i}`, x, tensors, open));
    else {
      const entries = Object.fromEntries(
        Object.entries(v as object)
          .filter(([, x]) => x !== undefined)
          .map(([k, x]) => [k, encodeTree(op, `${path}.${k}`, x, tensors, open)]),
      );
      const keys = Object.keys(entries);
      out = keys.length === 1 && MARKERS.includes(keys[0]) ? { $obj: entries } : entries;
    }
    open.delete(o);
    return out;
  }
  throw new ValueError(
    `${op}: '${path}' is ${v === undefined ? 'undefined' : typeof v === 'object' ? `a ${v.constructor?.name}` : typeof v}, ` +
      'which a checkpoint cannot store; use numbers, strings, booleans, null, arrays, plain objects and tensors',
  );
}

function decodeTree(where: string, path: string, v: unknown, tensors: Record<string, Tensor>, depth = 0): unknown {
  if (v === null || typeof v !== 'object') return v;
  // Containers sit at depths 0 … MAX_TREE_DEPTH − 1 when saved; a {$tensor} or {$num} marker one deeper.
  if (depth > MAX_TREE_DEPTH)
    throw new ValueError(
      `${where}: '${shortPath(path)}' is nested more than ${MAX_TREE_DEPTH} levels deep, which saveCheckpoint ` +
        'never writes: the file is corrupt or not from adjoint',
    );
  if (Array.isArray(v)) return v.map((x, i) => decodeTree(where, `${path}.${i}`, x, tensors, depth + 1));
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === '$tensor') {
    const key = o.$tensor as string;
    if (typeof key !== 'string' || !Object.hasOwn(tensors, key) || key.startsWith('model.'))
      throw new ValueError(`${where}: '${path}' refers to tensor '${String(key)}', which the file does not hold`);
    return tensors[key];
  }
  if (keys.length === 1 && keys[0] === '$num') return o.$num === '-0' ? -0 : Number(o.$num);
  const inner = keys.length === 1 && keys[0] === '$obj' ? (o.$obj as Record<string, unknown>) : o;
  // fromEntries defines own properties, so a key named "__proto__" stays data.
  return Object.fromEntries(
    Object.entries(inner).map(([k, x]) => [k, decodeTree(where, `${path}.${k}`, x, tensors, depth + 1)]),
  );
}

// ----- the public functions, with their declared parameters --------------------------------------------------------
// The state and the target are objects of named parts ({model, optimizer, …}); each part is checked by name above.

export const saveCheckpoint = checked(
  'saveCheckpoint',
  {
    args: { path: str, state: record(any, 'an object {model, optimizer?, scheduler?, step, epoch?, extra?}') },
    options: WRITE_OPTIONS,
  },
  saveCheckpointFn,
);
export const loadCheckpoint = checked(
  'loadCheckpoint',
  { args: { path: str, target: record(any, 'an object {model, optimizer?, scheduler?, restoreRng?}') } },
  loadCheckpointFn,
);
