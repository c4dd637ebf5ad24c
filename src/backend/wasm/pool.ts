/**
 * @file The wasm backend's threads: workers (worker_threads in Node, Web Workers in browsers) that share one
 * WebAssembly.Memory with the calling thread and run exported kernels on jobs written into that memory. The protocol
 * is a generation counter and a pending count in a control block, driven with Atomics.wait/notify, so a kernel call
 * stays synchronous: the caller runs its own share, then waits for the others. A share that traps is caught where it
 * ran and raised on the caller as a KernelError once all shares are done; the workers keep serving. Workers are
 * unref'd in Node, so a pool never keeps a process alive; setNumThreads shrinking stops the surplus ones.
 */
import { KernelError } from '../../core/errors.js';

/** Byte layout of the control block at the start of the shared memory. */
export const CTRL_BYTES = 4096;
/** One job slot per thread: [fn + 1 (0 = nothing to do), up to 15 i32 arguments]. */
export const JOB_SLOT_BYTES = 64;
export const MAX_THREADS = 64;
export const JOBS_BYTES = JOB_SLOT_BYTES * MAX_THREADS;
// i32 words of the control block. Worker t (1 ≤ t < MAX_THREADS) has one word in each per-thread array.
const GEN = 0;
const PENDING = 1;
/** Worker t's token once it is serving (−token if it could not start), 0 before. */
const READY = 2;
/** The token of slot t's owner (0: none): a stopped worker that still wakes sees it is not the owner, and leaves. */
const OWNER = READY + MAX_THREADS;
/** 1 when worker t's last job threw (a trap), with the message in its MSG bytes. */
const FAULT = OWNER + MAX_THREADS;
/** Nonzero while the profiler wants each worker's share timed (words FAULT + MAX_THREADS … 255 are free). */
const TIMED = FAULT + MAX_THREADS;
/**
 * Where a timed share's start and end (ms since the epoch, float64) go: bytes 8–23 of the worker's job slot, read
 * by then. performance.timeOrigin + performance.now() is the same clock on every thread.
 */
const TIMES_AT = 8;
/** Per thread, the first MSG_BYTES − 1 ASCII characters of a fault's message, NUL-terminated. */
const MSG_AT = 1024;
const MSG_BYTES = 48;

/**
 * The worker's whole program, as source: it instantiates the module over the shared memory and serves jobs. A job
 * that throws (a wasm trap) is caught: the fault and its message are written to the control block for the caller
 * to raise, and the worker goes on serving, so one bad call never leaves a slot unserved.
 */
const WORKER_SOURCE = `
const start = ({ module, memory, index, names, token }) => {
  const ctrl = new Int32Array(memory.buffer, 0, ${CTRL_BYTES / 4});
  const report = (e) => {
    const text = String((e && e.name ? e.name + ': ' : '') + (e && e.message !== undefined ? e.message : e));
    const out = new Uint8Array(memory.buffer, ${MSG_AT} + ${MSG_BYTES} * index, ${MSG_BYTES});
    const n = Math.min(text.length, ${MSG_BYTES - 1});
    for (let i = 0; i < n; i++) out[i] = text.charCodeAt(i) < 128 ? text.charCodeAt(i) : 63;
    out[n] = 0;
  };
  let fns;
  try {
    const inst = new WebAssembly.Instance(module, { env: { memory } });
    fns = names.map((n) => inst.exports[n]);
  } catch (e) {
    report(e);
    Atomics.store(ctrl, ${READY} + index, -token);
    Atomics.notify(ctrl, ${READY} + index);
    return;
  }
  const slot = ${CTRL_BYTES / 4} + ${JOB_SLOT_BYTES / 4} * index;
  let seen = Atomics.load(ctrl, ${GEN});
  Atomics.store(ctrl, ${READY} + index, token);
  Atomics.notify(ctrl, ${READY} + index);
  for (;;) {
    Atomics.wait(ctrl, ${GEN}, seen);
    seen = Atomics.load(ctrl, ${GEN});
    if (Atomics.load(ctrl, ${OWNER} + index) !== token) return;
    const job = new Int32Array(memory.buffer, 0, slot + 16);
    const fn = Atomics.exchange(job, slot, 0);
    if (fn === 0) continue;
    const timed = Atomics.load(ctrl, ${TIMED}) !== 0;
    const t0 = timed ? performance.timeOrigin + performance.now() : 0;
    try {
      fns[fn - 1](job[slot + 1], job[slot + 2], job[slot + 3], job[slot + 4], job[slot + 5], job[slot + 6], job[slot + 7],
        job[slot + 8], job[slot + 9], job[slot + 10], job[slot + 11], job[slot + 12], job[slot + 13], job[slot + 14], job[slot + 15]);
    } catch (e) {
      report(e);
      Atomics.store(ctrl, ${FAULT} + index, 1);
    } finally {
      if (timed) {
        const times = new Float64Array(memory.buffer, ${CTRL_BYTES} + ${JOB_SLOT_BYTES} * index + ${TIMES_AT}, 2);
        times[0] = t0;
        times[1] = performance.timeOrigin + performance.now();
      }
      if (Atomics.sub(ctrl, ${PENDING}, 1) === 1) Atomics.notify(ctrl, ${PENDING});
    }
  }
};
if (typeof require === 'undefined') self.onmessage = (e) => start(e.data);
else start(require('node:worker_threads').workerData);
`;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(ev: string, f: (e: unknown) => void): void;
}

interface SpawnData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  index: number;
  names: string[];
  token: number;
}

/** A started worker: `stop()` terminates it; `exited` settles once its thread is gone. */
interface Handle {
  stop(): void;
  exited: Promise<void>;
}

type Spawn = (data: SpawnData, onExit: () => void) => Handle;

function spawner(): Spawn | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const wt = proc?.getBuiltinModule?.('node:worker_threads') as
    | { Worker: new (src: string, o: object) => NodeWorker }
    | undefined;
  if (wt) {
    return (data, onExit) => {
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: data });
      w.unref();
      // Faults inside a job are caught in the worker; this is for a worker that dies otherwise (out of memory).
      w.on('error', () => {});
      const exited = new Promise<void>((resolve) =>
        w.on('exit', () => {
          onExit();
          resolve();
        }),
      );
      return { stop: () => void w.terminate(), exited };
    };
  }
  const G = globalThis as { Worker?: new (url: string) => Worker; Blob?: typeof Blob; URL?: typeof URL };
  if (G.Worker && G.Blob && G.URL) {
    const url = G.URL.createObjectURL(new G.Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    return (data, onExit) => {
      const w = new (G.Worker as new (url: string) => Worker)(url);
      w.postMessage(data);
      // terminate() ends a Web Worker at once; there is no exit event to wait for.
      return {
        stop: () => {
          w.terminate();
          onExit();
        },
        exited: Promise.resolve(),
      };
    };
  }
  return null;
}

/** Atomics.wait is not allowed on a browser's main thread; there the caller spins on Atomics.load instead. */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

let nextToken = 1;

/**
 * The profiler's record of each worker's share of a kernel call (src/debug/profiler.ts): thread t ≥ 1, the kernel's
 * name, start and end in ms since the epoch. Null keeps a call to one check.
 */
export type WorkerSpan = (kernel: string, thread: number, start: number, end: number) => void;
let workerSpan: WorkerSpan | null = null;
/** @internal installs (or, with null, removes) the profiler's worker span; returns the previous one. */
export function _setWorkerSpan(s: WorkerSpan | null): WorkerSpan | null {
  const prev = workerSpan;
  workerSpan = s;
  return prev;
}

export class Pool {
  /** workers[t − 1] serves slot t; null where none runs (never started, stopped, or exited). */
  private readonly workers: (Handle | null)[] = [];
  private readonly exits = new Set<Promise<void>>();
  private readonly spawn: Spawn | null;
  private readonly block = canBlock();
  private broken = false;
  private alive = 0;
  private fault: { thread: number; corrupt: (job: Int32Array) => void } | null = null;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly module: WebAssembly.Module,
    private readonly names: string[],
  ) {
    this.spawn =
      typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer ? spawner() : null;
  }

  private ctrl(): Int32Array {
    return new Int32Array(this.memory.buffer, 0, CTRL_BYTES / 4);
  }

  /**
   * Threads ready to take a share now, the caller included, up to `want`. Where the caller may block (Node, a
   * worker), starting workers waits for them (up to a few seconds, once), so the first threaded call already runs
   * threaded. A browser's main thread must not wait: its workers start only once it returns to the event loop, so
   * there the first calls run on one thread and `await ready()` lets the pool come up first.
   */
  threads(want: number): number {
    if (!this.start(want)) return 1;
    want = Math.min(want, MAX_THREADS);
    const ctrl = this.ctrl();
    if (this.block) {
      const deadline = Date.now() + 5000;
      for (let t = 1; t < want; t++)
        while (Atomics.load(ctrl, READY + t) === 0 && Date.now() < deadline) Atomics.wait(ctrl, READY + t, 0, 50);
    }
    for (let t = 1; t < want; t++)
      if (Atomics.load(ctrl, READY + t) < 0) {
        // A worker that cannot instantiate the module here never will: thread no more rather than respawn it.
        console.warn(
          `adjoint: wasm backend: a worker thread could not start (${this.faultMessage(t)}); running single-threaded`,
        );
        this.close();
        return 1;
      }
    return 1 + Math.min(this.running(), want - 1);
  }

  /** Starts workers up to `want` threads in all (replacing any that exited), without waiting; false if none can run. */
  start(want: number): boolean {
    if (!this.spawn || this.broken || want <= 1) return false;
    const ctrl = this.ctrl();
    for (let t = 1; t < Math.min(want, MAX_THREADS); t++) {
      if (this.workers[t - 1]) continue;
      const token = nextToken++;
      Atomics.store(ctrl, READY + t, 0);
      Atomics.store(ctrl, FAULT + t, 0);
      Atomics.store(ctrl, OWNER + t, token);
      const h = this.spawn({ module: this.module, memory: this.memory, index: t, names: this.names, token }, () => {
        this.alive--;
        // A worker that exited on its own (not stopped) gives its slot back, so the next call starts another.
        if (this.workers[t - 1] === h) {
          this.workers[t - 1] = null;
          Atomics.store(ctrl, OWNER + t, 0);
        }
      });
      this.alive++;
      this.workers[t - 1] = h;
      this.exits.add(h.exited);
      void h.exited.then(() => this.exits.delete(h.exited));
    }
    return true;
  }

  /**
   * Stops the workers beyond `threads` in all (setNumThreads shrinking): they are no longer used, are told to
   * leave, and are terminated. Between calls only: kernel calls are synchronous, so none is running.
   */
  shrink(threads: number): void {
    const ctrl = this.ctrl();
    for (let t = Math.max(1, threads); t <= this.workers.length; t++) {
      const h = this.workers[t - 1];
      if (!h) continue;
      this.workers[t - 1] = null;
      Atomics.store(ctrl, OWNER + t, 0);
      Atomics.store(ctrl, READY + t, 0);
      h.stop();
    }
    while (this.workers.length && this.workers[this.workers.length - 1] === null) this.workers.pop();
  }

  /** Resolves when `want` threads (the caller included) are ready, or after `timeoutMs`; to the number ready. */
  async ready(want: number, timeoutMs = 10_000): Promise<number> {
    if (!this.start(want)) return 1;
    const deadline = Date.now() + timeoutMs;
    while (this.running() + 1 < Math.min(want, MAX_THREADS) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    return this.running() + 1;
  }

  /**
   * Runs jobs[t] on thread t (t = 0 on the caller) and returns when all are done. A job is [fn, ...args] with fn an
   * index into `names`. `run0` runs the caller's own share. A share that throws (a trap in the generated code, on
   * any thread) is a KernelError naming the thread and the trap, raised once every share has finished; the
   * workers keep serving, so the next call runs as usual.
   */
  run(jobs: Int32Array[], run0: () => void, what = this.names.join('/')): void {
    const n = jobs.length;
    if (this.fault && this.fault.thread < n) {
      this.fault.corrupt(jobs[this.fault.thread]);
      this.fault = null;
    }
    if (n <= 1) {
      try {
        run0();
      } catch (e) {
        throw this.error(what, [`the calling thread: ${message(e)}`], e);
      }
      return;
    }
    const ctrl = this.ctrl();
    const slots = new Int32Array(this.memory.buffer, CTRL_BYTES, JOBS_BYTES / 4);
    for (let t = 1; t < n; t++) {
      const base = (t * JOB_SLOT_BYTES) / 4;
      slots[base] = jobs[t][0] + 1;
      for (let i = 1; i < jobs[t].length; i++) slots[base + i] = jobs[t][i];
    }
    const span = workerSpan;
    Atomics.store(ctrl, TIMED, span !== null ? 1 : 0);
    Atomics.store(ctrl, PENDING, n - 1);
    Atomics.add(ctrl, GEN, 1);
    Atomics.notify(ctrl, GEN);
    // The caller's share may throw; the workers' shares must still finish before the memory is reused.
    let failure: unknown = null;
    try {
      run0();
    } catch (e) {
      failure = e;
    }
    const deadline = Date.now() + 60_000;
    for (let v = Atomics.load(ctrl, PENDING); v !== 0; v = Atomics.load(ctrl, PENDING)) {
      if (this.block) Atomics.wait(ctrl, PENDING, v, 1000);
      if (Date.now() > deadline) {
        // A worker that never answers (its thread killed from outside mid-job): it may still write into the shared
        // memory, so no thread shares it from now on.
        this.broken = true;
        throw this.error(what, ['a worker thread, which stopped answering for 60 s'], null, false);
      }
    }
    if (span !== null)
      for (let t = 1; t < n; t++) {
        const times = new Float64Array(this.memory.buffer, CTRL_BYTES + JOB_SLOT_BYTES * t + TIMES_AT, 2);
        span(what, t, times[0], times[1]);
      }
    const faults: string[] = [];
    if (failure) faults.push(`the calling thread: ${message(failure)}`);
    for (let t = 1; t < n; t++)
      if (Atomics.exchange(ctrl, FAULT + t, 0) === 1) faults.push(`worker thread ${t}: ${this.faultMessage(t)}`);
    if (faults.length) throw this.error(what, faults, failure);
  }

  private faultMessage(t: number): string {
    const bytes = new Uint8Array(this.memory.buffer, MSG_AT + MSG_BYTES * t, MSG_BYTES);
    const end = bytes.indexOf(0);
    return String.fromCharCode(...bytes.subarray(0, end < 0 ? MSG_BYTES : end));
  }

  private error(what: string, faults: string[], cause: unknown, intact = true): KernelError {
    return new KernelError(
      `wasm backend: ${what} failed on ${faults.join('; ')}. The call produced no result; ` +
        (intact
          ? 'the worker pool is intact, so the next call runs as usual. A trap in generated code is a bug in ' +
            "adjoint: please report it with the op and shapes (ad.setBackend('js') avoids the wasm kernels meanwhile)"
          : 'the backend runs single-threaded from now on'),
      cause === null || cause === undefined ? undefined : { cause },
    );
  }

  /**
   * @internal Test-only fault injection: the next call with a share for `thread` (0 = the caller) passes that
   * share's job through `corrupt` first, so a test can make a real trap happen in a worker (test/threads.test.ts).
   */
  injectFault(thread: number, corrupt: (job: Int32Array) => void): void {
    this.fault = { thread, corrupt };
  }

  /** Worker threads started and ready, besides the caller's: slots 1, 2, … in a row whose owner is serving. */
  running(): number {
    if (!this.spawn || this.broken) return 0;
    const ctrl = this.ctrl();
    let n = 0;
    while (n + 1 < MAX_THREADS) {
      const token = Atomics.load(ctrl, OWNER + n + 1);
      if (token === 0 || Atomics.load(ctrl, READY + n + 1) !== token) break;
      n++;
    }
    return n;
  }

  /** Worker threads that exist now (started and not yet exited, stopped ones included until they are gone). */
  liveThreads(): number {
    return this.alive;
  }

  /** Resolves once every worker that was stopped or exited is gone. */
  async settled(): Promise<void> {
    while (this.exits.size) await Promise.race(this.exits);
  }

  /** Terminates the workers (tests; a process exits without this). */
  close(): void {
    this.shrink(1);
    this.broken = true;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
