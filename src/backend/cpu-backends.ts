/**
 * @file The fast CPU backends, put together from shared parts: `wasm` (generated WebAssembly SIMD GEMM on a worker
 * pool) and `blas` (the system OpenBLAS through koffi, Node only). Both keep tensors in GC-owned TypedArrays like
 * the reference backend, run matmul and the convolution family through one GEMM driver (gemm-driver.ts), and share
 * the specialised elementwise, reduction and softmax kernels (fast-kernels.ts) and the pooling kernels
 * (pool-kernels.ts), with wasm SIMD under the large elementwise cases it rounds exactly as the reference does
 * (wasm/elementwise.ts), under the float32 LSTM cell and last-dim softmax (wasm/activations.ts, within a few ulp of
 * the reference; softmax's VJP equal to it) and under layer norm (wasm/layer-norm.ts, equal to it); gather,
 * scatterAdd, argsort and scan (cumsum, cumprod) are the reference kernels, not yet
 * specialised (the gathers walk per-element offsets), taken from the spread of the reference kernels below, so they
 * run without the missing-kernel warning. The blas backend exists as soon as the OpenBLAS file is found, but the library
 * (and with it OpenBLAS's threads) is mapped only at its first GEMM, or when it is selected by name.
 */
import { numel } from '../core/shape.js';
import type { Backend, Kernels } from './backend.js';
import { findOpenBlas, loadError, loadOpenBlas } from './blas/openblas.js';
import { fastKernels, _readable as readable } from './fast-kernels.js';
import type { Gemm } from './gemm.js';
import { gemmKernels } from './gemm-driver.js';
import { jsBackend } from './js/index.js';
import { poolKernels } from './pool-kernels.js';
import { onNumThreads } from './threads.js';
import { simdLstmCell, simdLstmCellBackward, simdSoftmax, simdSoftmaxBackward } from './wasm/activations.js';
import { simdAddScaled, simdBinary, simdUnary } from './wasm/elementwise.js';
import { wasmAvailable, wasmGemm } from './wasm/index.js';
import { simdLayerNorm, simdLayerNormBackward } from './wasm/layer-norm.js';

const fastBinary = fastKernels.binary as NonNullable<typeof fastKernels.binary>;
const fastUnary = fastKernels.unary as NonNullable<typeof fastKernels.unary>;
const fastSoftmax = fastKernels.softmax as NonNullable<typeof fastKernels.softmax>;
const fastSoftmaxBackward = fastKernels.softmaxBackward as NonNullable<typeof fastKernels.softmaxBackward>;
const ref = jsBackend.kernels as Kernels;
const refAddScaled = ref.addScaled;

function cpuBackend(name: string, gemm: Gemm): Backend {
  return {
    ...jsBackend,
    name,
    kernels: {
      ...jsBackend.kernels,
      ...fastKernels,
      ...gemmKernels(gemm),
      ...poolKernels,
      binary(op, fn, out, x, y) {
        // Strided operands are made contiguous once, so the SIMD loops take them too.
        x = readable(x);
        y = readable(y);
        if (!simdBinary(op, out, x, y, numel(out.shape))) fastBinary(op, fn, out, x, y);
      },
      addScaled(out, x, y, alpha) {
        if (!simdAddScaled(out, x, y, alpha, numel(out.shape))) refAddScaled(out, x, y, alpha);
      },
      unary(op, fn, out, x, params) {
        x = readable(x);
        if (!simdUnary(op, out, x, numel(out.shape))) fastUnary(op, fn, out, x, params);
      },
      softmax(op, out, x, dim) {
        if (op !== 'softmax' || dim !== x.shape.length - 1 || !simdSoftmax(out, x)) fastSoftmax(op, out, x, dim);
      },
      layerNorm(out, x, eps) {
        if (!simdLayerNorm(out, x, eps)) ref.layerNorm(out, x, eps);
      },
      layerNormBackward(out, g, x, eps) {
        if (!simdLayerNormBackward(out, g, x, eps)) ref.layerNormBackward(out, g, x, eps);
      },
      softmaxBackward(out, g, y, dim) {
        if (dim !== y.shape.length - 1 || !simdSoftmaxBackward(out, g, y)) fastSoftmaxBackward(out, g, y, dim);
      },
      lstmCell(out, gates, c) {
        if (!simdLstmCell(out, gates, c)) ref.lstmCell(out, gates, c);
      },
      lstmCellBackward(dGates, dc, gates, c, g) {
        if (!simdLstmCellBackward(dGates, dc, gates, c, g)) ref.lstmCellBackward(dGates, dc, gates, c, g);
      },
    },
  };
}

/** The wasm backend, or null where the engine lacks WebAssembly SIMD. Its module is compiled at first use. */
export function makeWasmBackend(): Backend | null {
  if (!wasmAvailable()) return null;
  return cpuBackend('wasm', (g) => (wasmGemm() as NonNullable<ReturnType<typeof wasmGemm>>).gemm(g));
}

/** The blas backend and its library's state: found at construction, mapped by `load()` or the first GEMM. */
export interface BlasBackend {
  backend: Backend;
  /** Maps OpenBLAS now (once); false, with the reason in `blasUnavailable()`, when it does not load. */
  load(): boolean;
  /** The library file, once mapped; null before. */
  loadedPath(): string | null;
}

/**
 * The blas backend, or null where no OpenBLAS file (or koffi, or Node) is found; `blasUnavailable()` says why. Only
 * the file system is consulted here. The first GEMM maps the library; if that fails, `onLoadFailure(reason)` is
 * called once and the GEMM it returns runs this and every later call.
 */
export function makeBlasBackend(onLoadFailure: (why: string) => Gemm): BlasBackend | null {
  if (!findOpenBlas()) return null;
  let gemm: Gemm | null = null;
  let path: string | null = null;
  const load = (): boolean => {
    if (path) return true;
    const blas = loadOpenBlas();
    if (!blas) return false;
    onNumThreads((n) => blas.setThreads(n));
    gemm = blas.gemm;
    path = blas.path;
    return true;
  };
  const lazyGemm: Gemm = (g) => {
    if (!gemm && !load()) gemm = onLoadFailure(loadError() ?? 'OpenBLAS did not load');
    (gemm as Gemm)(g);
  };
  return { backend: cpuBackend('blas', lazyGemm), load, loadedPath: () => path };
}

export function blasUnavailable(): string | null {
  return loadError();
}
