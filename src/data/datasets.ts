/**
 * @file The built-in data sets: digits (1,797 8×8 images shipped in data/digits.csv.gz, split deterministically into
 * train and test) and Fashion-MNIST (read from Debian's dataset-fashion-mnist package). Both return float32 images
 * and int32 labels; wrap them in a TensorDataset for a DataLoader.
 */
import { bool, checked, instance, number, oneOf, optional, str, union } from '../core/args.js';
import { AdjointError } from '../core/errors.js';
import { maybeGunzip, nodeFs, showPath } from '../io/node.js';
import { fromTypedArray, type Tensor } from '../tensor/tensor.js';
import { Generator } from './generator.js';
import { IDX1_UBYTE, IDX3_UBYTE, NUMBERS, readIdx } from './idx.js';

export type Split = 'train' | 'test';

export interface ImageData {
  /** float32, [N, 1, H, W] (or [N, H·W] with flatten). */
  images: Tensor;
  /** int32 class indices, [N]. */
  labels: Tensor;
}

export interface ImageDataOptions {
  split?: Split | 'all';
  /** Scale pixels to [0, 1] (default true); false keeps the raw counts as float32. */
  normalize?: boolean;
  /** Images as [N, H·W] rows instead of [N, 1, H, W]. */
  flatten?: boolean;
}

function images(pixels: Uint8Array, idx: readonly number[], h: number, w: number, scale: number, flat: boolean) {
  const size = h * w;
  const out = new Float32Array(idx.length * size);
  idx.forEach((src, k) => {
    for (let j = 0; j < size; j++) out[k * size + j] = pixels[src * size + j] / scale;
  });
  return fromTypedArray(out, flat ? [idx.length, size] : [idx.length, 1, h, w], 'float32');
}

// ----- digits -------------------------------------------------------------------------------------------------

export interface DigitsOptions extends ImageDataOptions {
  /** The share of each class held out for the test split (default 0.2: 359 test, 1,438 train images). */
  testFraction?: number;
  /** Where digits.csv.gz is (default: the copy in the package's data/ folder). */
  path?: string | URL;
}

/** The seed of the fixed permutation that picks each class's test images; part of the split's definition. */
export const DIGITS_SPLIT_SEED = 0;

const DEFAULT_DIGITS = new URL('../../data/digits.csv.gz', import.meta.url);
let digitsCache: { key: string; pixels: Uint8Array; labels: Int32Array } | null = null;

/** Parses digits.csv (64 pixel counts 0..16 then the label 0..9 per line). */
export const parseDigitsCsv = checked(
  'parseDigitsCsv',
  { args: { text: str, name: optional(str) } },
  (text: string, name = 'digits.csv'): { pixels: Uint8Array; labels: Int32Array } => {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const pixels = new Uint8Array(lines.length * 64);
    const labels = new Int32Array(lines.length);
    lines.forEach((line, r) => {
      const v = line.split(',').map(Number);
      if (v.length !== 65 || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= 16) || v[64] > 9)
        throw new AdjointError(
          `loadDigits: line ${r + 1} of ${name} is not 64 pixel values in 0..16 and a label in 0..9 (it has ` +
            `${v.length} fields); the file is corrupt`,
        );
      pixels.set(v.slice(0, 64), r * 64);
      labels[r] = v[64];
    });
    return { pixels, labels };
  },
);

/** The share of each class held out for the test split. */
const TEST_FRACTION = number({ min: 0, lt: 1 });

/**
 * The positions of the train and test images: stratified, so each digit keeps its share. For each class (0 to 9
 * in turn), its images in file order are permuted by one Generator seeded DIGITS_SPLIT_SEED, and the first
 * round(testFraction · count) go to test. Both splits list positions in file order.
 */
export const digitsSplit = checked(
  'digitsSplit',
  { args: { labels: NUMBERS, testFraction: optional(TEST_FRACTION) } },
  (labels: ArrayLike<number>, testFraction = 0.2): { train: number[]; test: number[] } => {
    const g = new Generator(DIGITS_SPLIT_SEED);
    const isTest = new Uint8Array(labels.length);
    for (let c = 0; c <= 9; c++) {
      const members: number[] = [];
      for (let i = 0; i < labels.length; i++) if (labels[i] === c) members.push(i);
      const perm = g.randperm(members.length);
      const k = Math.round(testFraction * members.length);
      for (let j = 0; j < k; j++) isTest[members[perm[j]]] = 1;
    }
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < labels.length; i++) (isTest[i] ? test : train).push(i);
    return { train, test };
  },
);

const IMAGE_OPTIONS = { normalize: optional(bool), flatten: optional(bool) };

/**
 * The UCI handwritten digits (sklearn's load_digits): 1,797 images of 8×8 pixels, labels 0..9. Images are scaled
 * from 0..16 to [0, 1] unless normalize is false. Split 'train' (default) or 'test' as digitsSplit defines, or 'all'.
 */
export const loadDigits = checked(
  'loadDigits',
  {
    options: {
      split: optional(oneOf(['train', 'test', 'all'])),
      ...IMAGE_OPTIONS,
      testFraction: optional(TEST_FRACTION),
      path: optional(union(str, instance(URL, 'a file URL'))),
    },
  },
  (opts: DigitsOptions = {}): ImageData => {
    const split = opts.split ?? 'train';
    const path = opts.path ?? DEFAULT_DIGITS;
    const key = String(path);
    if (digitsCache?.key !== key) {
      let bytes: Uint8Array;
      try {
        bytes = nodeFs('loadDigits').readFileSync(path);
      } catch (e) {
        throw new AdjointError(
          `loadDigits: cannot read ${showPath(path)} (${(e as Error).message}); it ships in the package's data/ ` +
            'folder; pass {path} if it lives elsewhere',
          { cause: e },
        );
      }
      const text = new TextDecoder().decode(maybeGunzip('loadDigits', bytes, showPath(path)));
      digitsCache = { key, ...parseDigitsCsv(text, showPath(path)) };
    }
    const { pixels, labels } = digitsCache;
    const n = labels.length;
    const idx =
      split === 'all' ? Array.from({ length: n }, (_, i) => i) : digitsSplit(labels, opts.testFraction ?? 0.2)[split];
    return {
      images: images(pixels, idx, 8, 8, opts.normalize === false ? 1 : 16, opts.flatten ?? false),
      labels: fromTypedArray(
        Int32Array.from(idx, (i) => labels[i]),
        [idx.length],
        'int32',
      ),
    };
  },
);

// ----- Fashion-MNIST ------------------------------------------------------------------------------------------

export interface FashionMnistOptions extends ImageDataOptions {
  split?: Split;
  /** The folder with the four IDX files (default: where Debian's dataset-fashion-mnist installs them). */
  root?: string;
}

export const FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/**
 * Fashion-MNIST (Zalando; 60,000 train and 10,000 test images of 28×28 pixels, 10 classes) from its IDX files
 * (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-…`; gzip or not). Images are scaled from
 * 0..255 to [0, 1] unless normalize is false.
 */
export const loadFashionMnist = checked(
  'loadFashionMnist',
  { options: { split: optional(oneOf(['train', 'test'])), ...IMAGE_OPTIONS, root: optional(str) } },
  (opts: FashionMnistOptions = {}): ImageData => {
    const op = 'loadFashionMnist';
    const split = opts.split ?? 'train';
    const root = opts.root ?? FASHION_MNIST_ROOT;
    const fs = nodeFs(op);
    const prefix = split === 'train' ? 'train' : 't10k';
    const find = (base: string): string => {
      for (const f of [`${root}/${base}.gz`, `${root}/${base}`]) if (fs.existsSync(f)) return f;
      throw new AdjointError(
        `${op}: Fashion-MNIST is not installed: ${root} has no ${base}.gz (nor ${base}). On Debian or Ubuntu install ` +
          "it with 'sudo apt-get install dataset-fashion-mnist' (it goes to /usr/share/datasets/fashion-mnist); " +
          'or download the four IDX files from https://github.com/zalandoresearch/fashion-mnist and pass {root: DIR}',
      );
    };
    const imgPath = find(`${prefix}-images-idx3-ubyte`);
    const lblPath = find(`${prefix}-labels-idx1-ubyte`);
    const img = readIdx(imgPath, { magic: IDX3_UBYTE });
    const lbl = readIdx(lblPath, { magic: IDX1_UBYTE });
    if (img.shape[0] !== lbl.shape[0])
      throw new AdjointError(
        `${op}: ${imgPath} holds ${img.shape[0]} images but ${lblPath} holds ${lbl.shape[0]} labels; reinstall the data`,
      );
    const [n, h, w] = img.shape;
    const labels = Int32Array.from(lbl.data);
    const bad = labels.findIndex((v) => v > 9);
    if (bad >= 0) throw new AdjointError(`${op}: ${lblPath}: label ${bad} is ${labels[bad]}, outside 0..9`);
    const all = Array.from({ length: n }, (_, i) => i);
    return {
      images: images(img.data as Uint8Array, all, h, w, opts.normalize === false ? 1 : 255, opts.flatten ?? false),
      labels: fromTypedArray(labels, [n], 'int32'),
    };
  },
);
