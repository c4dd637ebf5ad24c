/**
 * @file jax-js on its wasm device, eager (every op dispatched as it is called) or jit (the function traced once and
 * compiled, its elementwise ops fused). jax-js counts references: every array passed to a function is consumed, so
 * inputs are passed as `.ref` and results disposed. It computes asynchronously: each timed call awaits
 * blockUntilReady. Gradients are jax's: grad of ⟨f(…), G⟩ for a given upstream gradient G, which is the VJP.
 */
import { readFileSync } from 'node:fs';
import { CHAIN, CONV, LIN, MLP, seededLabels, seededNormals } from '../lib/measure.js';
import type { System } from '../lib/system.js';
import { installWebWorker } from '../lib/webworker.js';

export async function jaxSystem(mode: 'jit' | 'eager', threads: number): Promise<System> {
  const notes: string[] = [];
  // jax-js sizes its worker pool once, at init, from navigator.hardwareConcurrency; with no Worker it runs inline.
  if (threads > 1) installWebWorker(threads);
  const jax: any = await import('@jax-js/jax');
  const { numpy: np, lax, nn, tree, grad, jit, blockUntilReady } = jax;
  const devices: string[] = await jax.init('wasm');
  if (!devices.includes('wasm')) throw new Error(`jax-js: no wasm device (got ${devices.join(', ')})`);
  jax.defaultDevice('wasm');
  const variant = threads > 1 ? `worker pool ×${threads} (worker_threads shim)` : 'one thread (no Worker)';
  if (threads > 1) notes.push('jax-js threads: a Web Worker shim over worker_threads (bench/lib/webworker.ts)');
  if (mode === 'jit')
    notes.push('jax-jit chain: jit fuses the 1000 ops into one kernel, so µs/op is not per-op overhead');
  // The package's exports hide package.json; it sits one folder above the entry point.
  const version = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.resolve('@jax-js/jax')), 'utf8'),
  ).version;

  const rnd = seededNormals(9);
  const arr = (shape: number[], scale = 1, dtype?: unknown) => {
    const a = np
      .array(
        rnd(
          shape.reduce((x, y) => x * y, 1),
          scale,
        ),
      )
      .reshape(shape);
    return dtype ? a.astype(dtype) : a;
  };
  const J = <F>(f: F): any => (mode === 'jit' ? jit(f) : f);
  /** One timed call: run, wait for the device, free the outputs. */
  const sync = (f: () => unknown) => async () => {
    const out = await blockUntilReady(f());
    tree.dispose(out);
  };
  const freeing =
    (xs: any[], fns: any[] = []) =>
    () => {
      for (const x of xs) x.dispose();
      for (const f of fns) f.dispose?.();
    };

  const linear = (X: any, W: any, b: any) => np.matmul(X, W).add(b);
  const chain = (x: any) => {
    for (let i = 0; i < CHAIN.links; i++) x = x.mul(1.0001).add(0.0001);
    return x.sum();
  };

  return {
    version: `${version} ${mode}`,
    variant,
    notes,
    warm: 2,
    gemm(n, dtype, transA) {
      const dt = dtype === 'float32' ? np.float32 : np.float64;
      const A = arr([n, n], 1, dt);
      const B = arr([n, n], 1, dt);
      // Inside jit the transpose is folded into the matmul's indexing; eager, it is a view of the contiguous A.
      const f = J(transA ? (a: any, bb: any) => np.matmul(a.transpose(), bb) : (a: any, bb: any) => np.matmul(a, bb));
      return { fn: sync(() => f(A.ref, B.ref)), dispose: freeing([A, B], [f]) };
    },
    linearFwd() {
      const [X, W, b] = [arr([LIN.N, LIN.D]), arr([LIN.D, LIN.M], 1 / Math.sqrt(LIN.D)), arr([LIN.M])];
      const f = J(linear);
      return { fn: sync(() => f(X.ref, W.ref, b.ref)), dispose: freeing([X, W, b], [f]) };
    },
    linearFwdBwd() {
      const [X, W, b] = [arr([LIN.N, LIN.D]), arr([LIN.D, LIN.M], 1 / Math.sqrt(LIN.D)), arr([LIN.M])];
      const G = arr([LIN.N, LIN.M]);
      const f = J(grad((x: any, w: any, bb: any, g: any) => linear(x, w, bb).mul(g).sum(), { argnums: [0, 1, 2] }));
      return { fn: sync(() => f(X.ref, W.ref, b.ref, G.ref)), dispose: freeing([X, W, b, G], [f]) };
    },
    mlpStep() {
      const [i, h1, h2, o] = MLP.sizes;
      const layer = (fin: number, fout: number) => [arr([fin, fout], 1 / Math.sqrt(fin)), np.zeros([fout])];
      let params: any = [layer(i, h1), layer(h1, h2), layer(h2, o)];
      const x = arr([MLP.batch, i]);
      const y = nn.oneHot(np.array(seededLabels(10, MLP.batch, o), { dtype: np.int32 }), o);
      const loss = (p: any[][], xx: any, yy: any) => {
        let h = xx;
        p.forEach(([W, b], k) => {
          h = np.matmul(h, W).add(b);
          if (k < p.length - 1) h = nn.relu(h);
        });
        return nn
          .logSoftmax(h, -1)
          .mul(yy)
          .sum()
          .mul(-1 / MLP.batch);
      };
      // The SGD step as a pure function of the parameters: jax's idiom (no optimizer state for plain SGD).
      const step = J((p: any, xx: any, yy: any) => {
        const g = grad(loss)(tree.ref(p), xx, yy);
        return tree.map((w: any, gw: any) => w.sub(gw.mul(MLP.lr)), p, g);
      });
      return {
        fn: async () => {
          params = await blockUntilReady(step(params, x.ref, y.ref));
        },
        dispose: () => {
          tree.dispose(params);
          freeing([x, y], [step])();
        },
      };
    },
    chainFwd() {
      const x = arr([CHAIN.len]);
      const f = J(chain);
      return { fn: sync(() => f(x.ref)), dispose: freeing([x], [f]) };
    },
    chainFwdBwd() {
      const x = arr([CHAIN.len]);
      const f = J(grad(chain));
      return { fn: sync(() => f(x.ref)), dispose: freeing([x], [f]) };
    },
    convFwdBwd() {
      const { N, C, O, H, W, K, pad } = CONV;
      const x = arr([N, C, H, W]);
      const w = arr([O, C, K, K], 1 / Math.sqrt(C * K * K));
      const b = arr([O]);
      const G = arr([N, O, H, W]);
      const conv = (ww: any, bb: any, xx: any) =>
        lax
          .convGeneralDilated(
            xx,
            ww,
            [1, 1],
            [
              [pad, pad],
              [pad, pad],
            ],
          )
          .add(bb.reshape([1, O, 1, 1]));
      const f = J(grad((ww: any, bb: any, xx: any, g: any) => conv(ww, bb, xx).mul(g).sum(), { argnums: [0, 1] }));
      return { fn: sync(() => f(w.ref, b.ref, x.ref, G.ref)), dispose: freeing([x, w, b, G], [f]) };
    },
  };
}
