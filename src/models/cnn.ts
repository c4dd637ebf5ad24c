/**
 * @file The convolutional network of `adjoint train --model cnn`: two blocks of 3×3 convolution (padding 1, so the
 * size is kept), ReLU and 2×2 max pooling, then Flatten and a Linear to the classes — an nn.Sequential with the
 * same state-dict keys as the torch.nn.Sequential of the same layers.
 */
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/index.js';
import type { ImageShape } from './shape.js';

/**
 * Conv2d(C, c1, 3, padding=1) → ReLU → MaxPool2d(2) → Conv2d(c1, c2, 3, padding=1) → ReLU → MaxPool2d(2) → Flatten
 * → Linear(c2·⌊H/4⌋·⌊W/4⌋, classes). Each pooling halves the size (rounding down): 8×8 → 4×4 → 2×2 for digits,
 * 28×28 → 14×14 → 7×7 for Fashion-MNIST.
 */
export function cnn(input: ImageShape, channels: readonly [number, number]): Sequential {
  const [c1, c2] = channels;
  const h = Math.floor(Math.floor(input.height / 2) / 2);
  const w = Math.floor(Math.floor(input.width / 2) / 2);
  return new Sequential(
    new Conv2d(input.channels, c1, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(c1, c2, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(c2 * h * w, input.classes),
  );
}
