/**
 * @file torch.optim as `ad.optim`: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad), learning-rate schedulers (also
 * under `ad.optim.lrScheduler`, torch's place) and gradient clipping.
 */
export { Adagrad, type AdagradArgs, type AdagradOptions } from './adagrad.js';
export { Adam, type AdamArgs, type AdamOptions, AdamW } from './adam.js';
export { clipGradNorm_, clipGradValue_ } from './clip.js';
export {
  Optimizer,
  type OptimizerStateDict,
  type OptionRules,
  type ParamGroup,
  type ParamGroupInit,
  type ParamState,
  type Params,
  type StateValue,
} from './optimizer.js';
export { RMSprop, type RMSpropArgs, type RMSpropOptions } from './rmsprop.js';
export * from './scheduler.js';
export * as lrScheduler from './scheduler.js';
export { SGD, type SGDArgs, type SGDOptions } from './sgd.js';
