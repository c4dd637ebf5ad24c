/**
 * @file Every op module, imported once so its methods and test samples are registered.
 */

export * from './attention.js';
export * from './autograd.js';
export * from './conv.js';
export * from './creation.js';
export * from './cumulative.js';
export * from './einsum.js';
export * from './elementwise.js';
export * from './indexing.js';
export * from './inplace.js';
export * from './join.js';
export * from './linalg.js';
export * from './loss.js';
export * from './nnops.js';
export * from './norm.js';
export * from './pool.js';
export * from './reduce.js';
export * from './rnn-cell.js';
export * from './sampling.js';
export * from './shape.js';
export * from './softmax.js';
export * from './sort.js';
