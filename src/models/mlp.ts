/**
 * @file The multilayer perceptron of `adjoint train --model mlp`: Flatten → Linear → ReLU → … → Linear, as an
 * nn.Sequential, so its state-dict keys ('1.weight', '1.bias', '3.weight', …) are those of the same
 * torch.nn.Sequential and the weights move between the two libraries unchanged.
 */
import { Flatten, Linear, ReLU, Sequential } from '../nn/index.js';
import type { ImageShape } from './shape.js';

/**
 * Flatten, then one Linear + ReLU per hidden width, then a Linear to the classes. PyTorch:
 * `nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))` for digits with hidden [128].
 */
export function mlp(input: ImageShape, hidden: readonly number[]): Sequential {
  const model = new Sequential(new Flatten());
  let width = input.channels * input.height * input.width;
  for (const h of hidden) {
    model.append(new Linear(width, h)).append(new ReLU());
    width = h;
  }
  return model.append(new Linear(width, input.classes));
}
