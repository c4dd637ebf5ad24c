/**
 * @file The wasm backend's threads: workers (worker_threads in Node, Web Workers in browsers) that share one
 * WebAssembly.Memory with the calling thread and run exported kernels on jobs written into that memory. The protocol
 * is a generation counter and a pending count in a control block, driven with Atomics.wait/notify, so a kernel call
 * stays synchronous: the caller runs its own share, then waits for the others. Workers are unref'd in Node, so a
 * pool never keeps a process alive.
 */

/** Byte layout of the control block at the start of the shared memory. */
export const CTRL_BYTES = 4096;
/** One job slot per thread: [fn + 1 (0 = nothing to do), up to 15 i32 arguments]. */
export const JOB_SLOT_BYTES = 64;
export const MAX_THREADS = 64;
export const JOBS_BYTES = JOB_SLOT_BYTES * MAX_THREADS;
const GEN = 0;
const PENDING = 1;
const READY = 2; // READY + t for worker t (1 ≤ t < MAX_THREADS)

/** The worker's whole program, as source: it instantiates the module over the shared memory and serves jobs. */
const WORKER_SOURCE = `
const start = ({ module, memory, index, names }) => {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  const fns = names.map((n) => inst.exports[n]);
  const ctrl = new Int32Array(memory.buffer, 0, ${CTRL_BYTES / 4});
  const slot = ${(CTRL_BYTES + 0) / 4} + ${JOB_SLOT_BYTES / 4} * index;
  let seen = Atomics.load(ctrl, ${GEN});
  Atomics.store(ctrl, ${READY} + index, 1);
  Atomics.notify(ctrl, ${READY} + index);
  for (;;) {
    Atomics.wait(ctrl, ${GEN}, seen);
    seen = Atomics.load(ctrl, ${GEN});
    const job = new Int32Array(memory.buffer, 0, slot + 16);
    const fn = job[slot];
    if (fn === 0) continue;
    try {
      fns[fn - 1](job[slot + 1], job[slot + 2], job[slot + 3], job[slot + 4], job[slot + 5], job[slot + 6], job[slot + 7],
        job[slot + 8], job[slot + 9], job[slot + 10], job[slot + 11], job[slot + 12], job[slot + 13], job[slot + 14], job[slot + 15]);
    } finally {
      job[slot] = 0;
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

type Spawn = (data: { module: WebAssembly.Module; memory: WebAssembly.Memory; index: number; names: string[] }) => {
  stop(): void;
};

function spawner(): Spawn | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const wt = proc?.getBuiltinModule?.('node:worker_threads') as
    | { Worker: new (src: string, o: object) => NodeWorker }
    | undefined;
  if (wt) {
    return (data) => {
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: data });
      w.unref();
      // A worker that dies leaves its slot unserved; the pool stops using workers rather than hang (see run()).
      w.on('error', () => {});
      return { stop: () => void w.terminate() };
    };
  }
  const G = globalThis as { Worker?: new (url: string) => Worker; Blob?: typeof Blob; URL?: typeof URL };
  if (G.Worker && G.Blob && G.URL) {
    const url = G.URL.createObjectURL(new G.Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    return (data) => {
      const w = new (G.Worker as new (url: string) => Worker)(url);
      w.postMessage(data);
      return { stop: () => w.terminate() };
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

export class Pool {
  private readonly workers: { stop(): void }[] = [];
  private readonly spawn: Spawn | null;
  private readonly block = canBlock();
  private broken = false;

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
    return 1 + Math.min(this.running(), want - 1);
  }

  /** Starts workers up to `want` threads in all, without waiting; false where there can be no threads. */
  start(want: number): boolean {
    if (!this.spawn || this.broken || want <= 1) return false;
    for (let t = this.workers.length + 1; t < Math.min(want, MAX_THREADS); t++)
      this.workers.push(this.spawn({ module: this.module, memory: this.memory, index: t, names: this.names }));
    return true;
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
   * index into `names`. `run0` runs the caller's own share.
   */
  run(jobs: Int32Array[], run0: () => void): void {
    const n = jobs.length;
    if (n <= 1) {
      run0();
      return;
    }
    const ctrl = this.ctrl();
    const slots = new Int32Array(this.memory.buffer, CTRL_BYTES, JOBS_BYTES / 4);
    for (let t = 1; t < n; t++) {
      const base = (t * JOB_SLOT_BYTES) / 4;
      slots[base] = jobs[t][0] + 1;
      for (let i = 1; i < jobs[t].length; i++) slots[base + i] = jobs[t][i];
    }
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
        // A worker that never answers (killed, out of memory): stop threading rather than hang forever.
        this.broken = true;
        throw new Error('adjoint wasm backend: a worker thread stopped answering; continuing single-threaded');
      }
    }
    if (failure) throw failure;
  }

  /** Worker threads started and ready, besides the caller's. */
  running(): number {
    if (!this.spawn || this.broken) return 0;
    const ctrl = this.ctrl();
    let n = 0;
    while (n + 1 < MAX_THREADS && Atomics.load(ctrl, READY + n + 1) === 1) n++;
    return n;
  }

  /** Terminates the workers (tests; a process exits without this). */
  close(): void {
    for (const w of this.workers) w.stop();
    this.workers.length = 0;
    this.broken = true;
  }
}
