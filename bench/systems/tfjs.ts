/**
 * @file TensorFlow.js on its 'cpu' backend (plain JS kernels) or on @tensorflow/tfjs-backend-wasm (XNNPACK). Both run
 * ops eagerly and synchronously, so a case is timed without readback; gradients come from tf.grads and training from
 * optimizer.minimize, TensorFlow.js's own ways. tfjs has no float64 and no NCHW conv2d on CPU: the conv runs NHWC,
 * its native layout. In Node the wasm backend is single-threaded: tfjs turns multithreading off there (its
 * WASM_HAS_MULTITHREAD_SUPPORT flag returns false under Node, tfjs issue #3830).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CHAIN, CONV, LIN, MLP, seededLabels, seededNormals } from '../lib/measure.js';
import type { System } from '../lib/system.js';

export async function tfjsSystem(backend: 'cpu' | 'wasm'): Promise<System> {
  const notes: string[] = [];
  let variant: string | undefined;
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm files are read from disk: point tfjs at the package's dist folder (a directory, trailing /).
    const req = createRequire(import.meta.url);
    const dir = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(`${dir}${path.sep}`);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  if (backend === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    variant = `${simd ? 'simd' : 'plain'}${mt ? '+threads' : ''}`;
    if (!mt) notes.push('tfjs-wasm: single-threaded (tfjs disables wasm threads under Node)');
  }
  const rnd = seededNormals(7);
  const t = (shape: number[], scale = 1) =>
    tf.tensor(
      rnd(
        shape.reduce((a, b) => a * b, 1),
        scale,
      ),
      shape,
    );
  const keep = (xs: tf.Tensor[]) => () => tf.dispose(xs);

  const chain = (x: tf.Tensor): tf.Scalar => {
    for (let i = 0; i < CHAIN.links; i++) x = tf.add(tf.mul(x, 1.0001), 0.0001);
    return tf.sum(x) as tf.Scalar;
  };
  const linear = (X: tf.Tensor, W: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(X, W), b);

  return {
    version: `${tf.version.tfjs}${backend === 'wasm' ? ` (wasm ${variant})` : ''}`,
    variant,
    notes,
    skipReason: backend === 'cpu' ? 'too slow' : undefined,
    // The cpu backend's big cases take seconds; its kernels have nothing to compile, so one warm-up call is enough.
    warm: backend === 'cpu' ? 1 : 2,
    gemm(n, dtype, transA) {
      if (dtype !== 'float32') return 'tfjs has no float64';
      const A = t([n, n]);
      const B = t([n, n]);
      // tfjs expresses a transposed operand as matMul's transposeA flag (it has no strided views).
      return { fn: () => tf.matMul(A, B, transA).dispose(), dispose: keep([A, B]) };
    },
    linearFwd() {
      const X = t([LIN.N, LIN.D]);
      const W = t([LIN.D, LIN.M], 1 / Math.sqrt(LIN.D));
      const b = t([LIN.M]);
      return { fn: () => linear(X, W, b).dispose(), dispose: keep([X, W, b]) };
    },
    linearFwdBwd() {
      const X = t([LIN.N, LIN.D]);
      const W = t([LIN.D, LIN.M], 1 / Math.sqrt(LIN.D));
      const b = t([LIN.M]);
      const G = t([LIN.N, LIN.M]);
      const grads = tf.grads((x: tf.Tensor, w: tf.Tensor, bb: tf.Tensor) => linear(x, w, bb));
      return { fn: () => tf.dispose(grads([X, W, b], G)), dispose: keep([X, W, b, G]) };
    },
    mlpStep() {
      const [i, h1, h2, o] = MLP.sizes;
      const layer = (fin: number, fout: number) => [
        tf.variable(t([fin, fout], 1 / Math.sqrt(fin))),
        tf.variable(tf.zeros([fout])),
      ];
      const params = [layer(i, h1), layer(h1, h2), layer(h2, o)];
      const x = t([MLP.batch, i]);
      const y = tf.oneHot(tf.tensor1d(seededLabels(8, MLP.batch, o), 'int32'), o);
      const opt = tf.train.sgd(MLP.lr);
      const loss = () => {
        let h: tf.Tensor = x;
        params.forEach(([W, b], k) => {
          h = tf.add(tf.matMul(h, W), b);
          if (k < params.length - 1) h = tf.relu(h);
        });
        return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
      };
      // minimize zeroes nothing (tfjs computes fresh gradients each call), runs forward, backward and the update.
      return { fn: () => tf.dispose(opt.minimize(loss, true) ?? []), dispose: keep([x, y, ...params.flat()]) };
    },
    chainFwd() {
      const x = t([CHAIN.len]);
      // No tape is recorded outside a gradient function: this is tfjs's forward without a graph.
      return { fn: () => tf.tidy(() => chain(x)).dispose(), dispose: keep([x]) };
    },
    chainFwdBwd() {
      const x = t([CHAIN.len]);
      const g = tf.grad(chain);
      return { fn: () => tf.tidy(() => g(x)).dispose(), dispose: keep([x]) };
    },
    convFwdBwd() {
      const { N, C, O, H, W, K } = CONV;
      const x = t([N, H, W, C]);
      const w = t([K, K, C, O], 1 / Math.sqrt(C * K * K));
      const b = t([O]);
      const G = t([N, H, W, O]);
      // Gradients for the weight and bias only, as for a first layer (x does not require grad elsewhere either).
      const grads = tf.grads((ww: tf.Tensor, bb: tf.Tensor) =>
        tf.add(tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'), bb),
      );
      return { fn: () => tf.dispose(grads([w, b], G)), dispose: keep([x, w, b, G]) };
    },
  };
}
