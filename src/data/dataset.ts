/**
 * @file torch.utils.data's Dataset: anything with a length and getItem(i). TensorDataset holds tensors that share
 * their first dim and also serves whole batches in one gather per tensor (getBatch), which DataLoader prefers.
 */
import { noGrad } from '../autograd/mode.js';
import { array, checkMethods, int, sig, tensor } from '../core/args.js';
import { fmtShape, IndexError, ShapeError, ValueError } from '../core/errors.js';
import { indexSelect } from '../ops/indexing.js';
import { narrow, reshape, squeeze } from '../ops/shape.js';
import { fromTypedArray, type Tensor } from '../tensor/tensor.js';

/** What DataLoader needs: a length and items by index (and optionally whole collated batches). */
export interface DatasetLike<T> {
  readonly length: number;
  getItem(index: number): T;
  /** The collated batch of these items, when the dataset can build it faster than getItem + collate. */
  getBatch?(indices: readonly number[]): Collated<T>;
}

/**
 * A batch as DataLoader's default collate builds it from items of type T: tensors stacked along a new first dim,
 * numbers and booleans made into 1-D tensors, arrays and objects collated position by position, strings listed.
 */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> }
          : T;

/** The base class of map-style datasets (torch.utils.data.Dataset): implement `length` and `getItem(i)`. */
export abstract class Dataset<T> implements DatasetLike<T> {
  abstract get length(): number;
  abstract getItem(index: number): T;
}

/** torch.utils.data.Dataset(): no parameters. */
sig('Dataset').describes(Dataset);

/** The position `index` refers to in a dataset of `length` items (negative counts from the end), or an IndexError. */
function checkIndex(op: string, index: number, length: number): number {
  const i = index < 0 ? index + length : index;
  if (!Number.isInteger(index) || i < 0 || i >= length)
    throw new IndexError(
      `${op}: index ${index} is out of range for a dataset of ${length} items; use 0..${length - 1} (or -${length}..-1)`,
    );
  return i;
}

/** torch.utils.data.TensorDataset(*tensors). */
const TENSOR_DATASET = sig('TensorDataset', { rest: tensor });

/** Items are the i-th rows of each tensor (torch.utils.data.TensorDataset): `[images[i], labels[i]]`. */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    TENSOR_DATASET.bind(tensors);
    if (!tensors.length) throw new ValueError('TensorDataset: pass at least one tensor');
    tensors.forEach((t) => {
      if (t.ndim === 0 || t.shape[0] !== tensors[0].shape[0])
        throw new ShapeError(
          `TensorDataset: every tensor must have the same size in dim 0 (one row per item), but the shapes are ` +
            `${tensors.map((u) => fmtShape(u.shape)).join(', ')}`,
        );
    });
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  getItem(index: number): Tensor[] {
    const i = checkIndex('TensorDataset.getItem', index, this.length);
    return noGrad(() => this.tensors.map((t) => squeeze(narrow(t, 0, i, 1), 0)));
  }

  getBatch(indices: readonly number[]): Tensor[] {
    const idx = Int32Array.from(indices, (i) => checkIndex('TensorDataset.getBatch', i, this.length));
    const index = fromTypedArray(idx, [idx.length], 'int32');
    return noGrad(() =>
      this.tensors.map((t) => {
        // The gather kernel is several times faster on rows of a 2-D view than on the same rows of a 4-D image batch.
        if (t.ndim <= 2 || !t.isContiguous()) return indexSelect(t, 0, index);
        const rest = t.shape.slice(1);
        const rows = indexSelect(reshape(t, [t.shape[0], rest.reduce((a, b) => a * b, 1)]), 0, index);
        return reshape(rows, [idx.length, ...rest]);
      }),
    );
  }
}

TENSOR_DATASET.describes(TensorDataset);
checkMethods(TensorDataset, {
  getItem: { args: { index: int() } },
  getBatch: { args: { indices: array(int(), 'an array of whole numbers (item indices)') } },
});
