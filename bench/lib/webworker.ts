/**
 * @file A minimal Web Worker over node:worker_threads, for jax-js: its wasm backend runs kernels on a pool of Web
 * Workers (sized by navigator.hardwareConcurrency) when `Worker` and SharedArrayBuffer exist, and Node 20 has neither
 * a global Worker nor navigator, so without this jax-js runs on one thread. The pool hands over a blob: URL of a
 * classic script that talks through self.onmessage / postMessage; this resolves the blob, prepends those globals
 * and runs it with `eval`. Installed only in the child process that measures jax-js at more than one thread.
 */
import { resolveObjectURL } from 'node:buffer';
import { Worker as NodeWorker } from 'node:worker_threads';

const PRELUDE = `const { parentPort } = require('node:worker_threads');
globalThis.self = globalThis;
globalThis.postMessage = (m, t) => parentPort.postMessage(m, t);
parentPort.on('message', (data) => globalThis.onmessage && globalThis.onmessage({ data }));
`;

class WebWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  readonly #worker: Promise<NodeWorker>;

  constructor(url: string | URL) {
    const blob = resolveObjectURL(String(url));
    if (!blob) throw new Error(`Worker shim: only blob: URLs are supported, got ${url}`);
    // The blob's text is only readable asynchronously, so messages wait on the worker's start.
    this.#worker = blob.text().then((src) => {
      const w = new NodeWorker(PRELUDE + src, { eval: true });
      w.on('message', (data) => this.onmessage?.({ data }));
      w.on('error', (e) => this.onerror?.({ message: e.message }));
      return w;
    });
  }

  postMessage(message: unknown, transfer?: readonly Transferable[]): void {
    void this.#worker.then((w) => w.postMessage(message, transfer as never));
  }

  terminate(): void {
    void this.#worker.then((w) => w.terminate());
  }
}

/** Makes `Worker` and `navigator.hardwareConcurrency` (= threads) visible to code loaded after this call. */
export function installWebWorker(threads: number): void {
  const g = globalThis as Record<string, unknown>;
  g.Worker = WebWorker;
  const nav = (g.navigator ?? {}) as Record<string, unknown>;
  Object.defineProperty(nav, 'hardwareConcurrency', { value: threads, configurable: true });
  if (!g.navigator) g.navigator = nav;
}
