/**
 * @file `ad.data`: torch.utils.data — Dataset, TensorDataset, DataLoader, a seeded Generator, and the digits and
 * Fashion-MNIST data sets with the IDX reader. File access goes through process.getBuiltinModule at call time, so
 * this module bundles for browsers.
 */
export * from './dataloader.js';
export * from './dataset.js';
export * from './datasets.js';
export * from './generator.js';
export * from './idx.js';
