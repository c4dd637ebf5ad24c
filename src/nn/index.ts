/**
 * @file `ad.nn`: torch.nn — Module, Parameter, layers, and `ad.nn.functional` (= `ad.F`).
 */
export * as functional from '../api/functional.js';
export * from './activation.js';
export * from './attention.js';
export * from './container.js';
export * from './conv.js';
export * from './dropout.js';
export * from './embedding.js';
export type { ForwardHook, ForwardPreHook, FullBackwardHook, RemovableHandle } from './hooks.js';
export * as init from './init.js';
export * from './linear.js';
export * from './loss.js';
export * from './module.js';
export * from './norm.js';
export * from './pool.js';
export * from './rnn.js';
export * from './transformer.js';
export * as utils from './utils.js';
