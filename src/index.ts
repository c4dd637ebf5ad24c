/**
 * @file The public API: `import * as ad from 'adjoint'`.
 */

export * as autograd from './api/autograd.js';
export * from './api/custom.js';
export * as F from './api/functional.js';
export { forwardAD, makeDual, unpackDual } from './autograd/forward.js';
export { enableGrad, isGradEnabled, noGrad, setGradEnabled } from './autograd/mode.js';
export type { Backend, Kernels, View } from './backend/backend.js';
export {
  backendNames,
  describeBackend,
  fastestBackend,
  getBackend,
  ready,
  registerBackend,
  setBackend,
} from './backend/index.js';
export { getNumThreads, setNumThreads } from './backend/threads.js';
export * from './check/checkop.js';
export * from './check/gradcheck.js';
export type { DType } from './core/dtype.js';
export { promoteTypes } from './core/dtype.js';
export * from './core/errors.js';
export { getRngState, manualSeed, setRngState } from './core/rng.js';
export * as data from './data/index.js';
export * from './debug/index.js';
export * as io from './io/index.js';
export * as nn from './nn/index.js';
export * from './ops/index.js';
export * as optim from './optim/index.js';
export { type MemoryStats, memoryStats, resetPeakMemory, trackMemory } from './tensor/storage.js';
export { type NestedArray, Tensor } from './tensor/tensor.js';
export * from './transforms/index.js';
// JAX's grad(f) is the top-level grad; PyTorch's grad(outputs, inputs) is ad.autograd.grad, as torch.autograd.grad.
export { type GradOptions, grad } from './transforms/transforms.js';
