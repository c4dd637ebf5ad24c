/**
 * @file `ad.data`: torch.utils.data — Dataset, TensorDataset, DataLoader, a seeded Generator, and the digits and
 * Fashion-MNIST data sets with the IDX reader. File access goes through process.getBuiltinModule at call time, so
 * this module bundles for browsers. The public names are listed here one by one.
 */
export { DataLoader, type DataLoaderOptions, defaultCollate } from './dataloader.js';
export { type Collated, Dataset, type DatasetLike, TensorDataset } from './dataset.js';
export {
  DIGITS_SPLIT_SEED,
  type DigitsOptions,
  digitsSplit,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_ROOT,
  type FashionMnistOptions,
  type ImageData,
  type ImageDataOptions,
  loadDigits,
  loadFashionMnist,
  parseDigitsCsv,
  type Split,
} from './datasets.js';
export { Generator } from './generator.js';
export {
  IDX1_UBYTE,
  IDX3_UBYTE,
  type IdxArray,
  type IdxType,
  type ReadIdxOptions,
  readIdx,
  writeIdx,
} from './idx.js';
