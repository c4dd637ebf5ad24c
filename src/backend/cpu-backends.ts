/**
 * @file The fast CPU backends, put together from shared parts: `wasm` (generated WebAssembly SIMD GEMM on a worker
 * pool) and `blas` (the system OpenBLAS through koffi, Node only). Both keep tensors in GC-owned TypedArrays like
 * the reference backend, run matmul and the convolution family through one GEMM driver (gemm-driver.ts), and share
 * the specialised elementwise, reduction and softmax kernels (fast-kernels.ts) and the pooling kernels
 * (pool-kernels.ts), with wasm SIMD under the large elementwise cases it rounds exactly as the reference does
 * (wasm/elementwise.ts); gather, scatterAdd, argsort and scan (cumsum, cumprod) are the reference kernels on purpose
 * (index-bound or sequential, nothing to speed up), taken from the spread of the reference kernels below, so they run
 * without the missing-kernel warning.
 */
import { numel } from '../core/shape.js';
import type { Backend, Kernels } from './backend.js';
import { loadError, loadOpenBlas } from './blas/openblas.js';
import { fastKernels } from './fast-kernels.js';
import type { Gemm } from './gemm.js';
import { gemmKernels } from './gemm-driver.js';
import { jsBackend } from './js/index.js';
import { poolKernels } from './pool-kernels.js';
import { onNumThreads } from './threads.js';
import { simdAddScaled, simdBinary, simdUnary } from './wasm/elementwise.js';
import { wasmAvailable, wasmGemm } from './wasm/index.js';

const fastBinary = fastKernels.binary as NonNullable<typeof fastKernels.binary>;
const fastUnary = fastKernels.unary as NonNullable<typeof fastKernels.unary>;
const refAddScaled = (jsBackend.kernels as Kernels).addScaled;

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
        if (!simdBinary(op, out, x, y, numel(out.shape))) fastBinary(op, fn, out, x, y);
      },
      addScaled(out, x, y, alpha) {
        if (!simdAddScaled(out, x, y, alpha, numel(out.shape))) refAddScaled(out, x, y, alpha);
      },
      unary(op, fn, out, x, params) {
        if (!simdUnary(op, out, x, numel(out.shape))) fastUnary(op, fn, out, x, params);
      },
    },
  };
}

/** The wasm backend, or null where the engine lacks WebAssembly SIMD. Its module is compiled at first use. */
export function makeWasmBackend(): Backend | null {
  if (!wasmAvailable()) return null;
  return cpuBackend('wasm', (g) => (wasmGemm() as NonNullable<ReturnType<typeof wasmGemm>>).gemm(g));
}

/** The blas backend, or null where OpenBLAS (or koffi, or Node) is missing; `blasUnavailable()` says why. */
export function makeBlasBackend(): Backend | null {
  const blas = loadOpenBlas();
  if (!blas) return null;
  onNumThreads((n) => blas.setThreads(n));
  return cpuBackend('blas', blas.gemm);
}

export function blasUnavailable(): string | null {
  return loadError();
}
