/**
 * @file `ad.nn`: torch.nn — Module, Parameter, layers, and `ad.nn.functional` (= `ad.F`).
 */
export * as functional from '../api/functional.js';
export * from './module.js';
