/**
 * @file `ad.autograd`: PyTorch's torch.autograd namespace (grad, backward).
 */
export { backward, type GradOptions, grad } from '../ops/autograd.js';
