/**
 * @file `ad.nn.utils`: torch.nn.utils — gradient clipping (defined with the optimizers in src/optim/clip.ts).
 */
export { clipGradNorm_, clipGradValue_ } from '../optim/clip.js';
